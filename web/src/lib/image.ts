// Image bytes: sniffing the format from the first bytes, and the formats each side can decode.

export type ImageKind = 'jpeg' | 'png' | 'webp' | 'gif' | 'bmp' | 'heic' | 'avif' | 'unknown';

export function sniffImage(head: Uint8Array): ImageKind {
  const at = (i: number) => head[i] ?? -1;
  const ascii = (from: number, len: number) =>
    String.fromCharCode(...Array.from(head.subarray(from, from + len)));
  if (at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return 'jpeg';
  if (at(0) === 0x89 && ascii(1, 3) === 'PNG') return 'png';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') return 'webp';
  if (ascii(0, 4) === 'GIF8') return 'gif';
  if (ascii(0, 2) === 'BM') return 'bmp';
  if (ascii(4, 4) === 'ftyp') {
    const brand = ascii(8, 4);
    if (brand.startsWith('avi')) return 'avif';
    if (['heic', 'heix', 'mif1', 'msf1', 'hevc'].includes(brand)) return 'heic';
  }
  return 'unknown';
}

/** Formats `morsel serve` decodes (the server answers 415 for the others). */
export const SERVER_FORMATS: readonly ImageKind[] = ['jpeg', 'png', 'webp'];

const MIME: Partial<Record<ImageKind, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  bmp: 'image/bmp',
  heic: 'image/heic',
  avif: 'image/avif',
};

/** The Content-Type to send for these bytes: the sniffed type, else the file's own, else JPEG's. */
export function contentTypeFor(kind: ImageKind, fileType: string | undefined): string {
  return MIME[kind] ?? (fileType && fileType.startsWith('image/') ? fileType : 'application/octet-stream');
}

export async function sniffBlob(blob: Blob): Promise<ImageKind> {
  const head = new Uint8Array(await blob.slice(0, 16).arrayBuffer());
  return sniffImage(head);
}
