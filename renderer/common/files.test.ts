import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64, extractUrls, readFileBase64, readFileText, sortFiles } from './files.js';

describe('sortFiles', () => {
  it('tells ad lists from images from anything else', () => {
    const files = [new File(['a'], 'ads.csv'), new File(['b'], 'photo.JPG'), new File(['c'], 'notes.pdf', { type: 'application/pdf' }), new File(['d'], 'blob', { type: 'image/png' })];
    const sorted = sortFiles(files);
    expect(sorted.lists.map((f) => f.name)).toEqual(['ads.csv']);
    expect(sorted.images.map((f) => f.name)).toEqual(['photo.JPG', 'blob']);
    expect(sorted.ignored.map((f) => f.name)).toEqual(['notes.pdf']);
    expect(sortFiles([new File(['PK'], 'Q4.XLSX'), new File(['x'], 'notes.pdf')]).workbooks.map((f) => f.name)).toEqual(['Q4.XLSX']);
  });
});

describe('base64', () => {
  it('round-trips bytes larger than one conversion chunk', () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 31) % 256);
    expect(base64ToBytes(bytesToBase64(bytes))).toEqual(bytes);
  });
  it('reads files as text and base64', async () => {
    const file = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], 'x.png');
    expect(await readFileBase64(file)).toBe(btoa('\x89PNG'));
    expect(await readFileText(new File(['hello'], 'a.txt'))).toBe('hello');
  });
});

describe('extractUrls', () => {
  it('keeps http(s) lines and skips uri-list comments and other text', () => {
    expect(extractUrls('# comment\nhttps://a.example/1.png\n\nftp://x\n  http://b.example/2.jpg  \nnot a url')).toEqual(['https://a.example/1.png', 'http://b.example/2.jpg']);
  });
});
