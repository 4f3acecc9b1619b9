import { describe, expect, it } from 'vitest';
import { contentTypeFor, sniffBlob, sniffImage } from './image';

const bytes = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? Array.from(p, (c) => c.charCodeAt(0)) : p)));

describe('sniffImage', () => {
  it('recognizes the formats by their magic bytes', () => {
    expect(sniffImage(bytes([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffImage(bytes([0x89], 'PNG', [0x0d, 0x0a]))).toBe('png');
    expect(sniffImage(bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 '))).toBe('webp');
    expect(sniffImage(bytes('GIF89a'))).toBe('gif');
    expect(sniffImage(bytes('BM', [0, 0]))).toBe('bmp');
    expect(sniffImage(bytes([0, 0, 0, 24], 'ftypheic'))).toBe('heic');
    expect(sniffImage(bytes([0, 0, 0, 24], 'ftypavif'))).toBe('avif');
  });
  it('says unknown for text, truncated and empty input', () => {
    expect(sniffImage(bytes('hello world'))).toBe('unknown');
    expect(sniffImage(bytes([0xff, 0xd8]))).toBe('unknown');
    expect(sniffImage(new Uint8Array())).toBe('unknown');
  });
  it('reads a Blob', async () => {
    expect(await sniffBlob(new Blob([bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a])]))).toBe('png');
  });
});

describe('contentTypeFor', () => {
  it('trusts the bytes over the file name', () => {
    expect(contentTypeFor('png', 'image/jpeg')).toBe('image/png');
  });
  it('falls back to the file type, then to octet-stream', () => {
    expect(contentTypeFor('unknown', 'image/tiff')).toBe('image/tiff');
    expect(contentTypeFor('unknown', 'text/plain')).toBe('application/octet-stream');
    expect(contentTypeFor('unknown', undefined)).toBe('application/octet-stream');
  });
});
