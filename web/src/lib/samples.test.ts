import { describe, expect, it } from 'vitest';
import { parseSamples, sampleUrl } from './samples';

describe('parseSamples', () => {
  it('keeps entries with a plain file name and a name', () => {
    const s = parseSamples([
      { file: 'a013.jpg', name: 'Cereals (A013)' },
      { file: '../etc/passwd', name: 'x' },
      { file: 'b.jpg' },
      'c.jpg',
    ]);
    expect(s).toEqual([{ file: 'a013.jpg', name: 'Cereals (A013)' }]);
    expect(sampleUrl(s[0]!)).toBe('samples/a013.jpg');
  });
  it('is empty for anything but a list', () => {
    expect(parseSamples({ file: 'a.jpg' })).toEqual([]);
  });
});
