import { describe, expect, it } from 'vitest';
import { icdarEntry, parseIcdarWords, readingOrderText } from './icdar-ground-truth.js';

describe('ICDAR 2013 word ground truth', () => {
  it('parses word lines, CRLF and a BOM, and leaves out ### regions', () => {
    const words = parseIcdarWords('\uFEFF178, 11, 209, 25, "flying"\r\n215, 11, 249, 24, "today"\r\n1, 2, 3, 4, "###"\r\n\r\n');
    expect(words).toEqual([
      { text: 'flying', box: [178, 11, 209, 25] },
      { text: 'today', box: [215, 11, 249, 24] },
    ]);
  });

  it('names the line that is not a word', () => {
    expect(() => parseIcdarWords('1, 2, 3, 4, "a"\nnot a word', 'gt_img_7.txt')).toThrow('gt_img_7.txt line 2');
  });

  it('orders words in lines top to bottom and left to right, whatever the file order', () => {
    const text = readingOrderText([
      { text: 'Ultimate', box: [119, 210, 170, 225] },
      { text: '7', box: [222, 185, 231, 200] },
      { text: 'Windows', box: [120, 182, 215, 208] },
      { text: 'Buy', box: [10, 5, 40, 20] },
      { text: 'now', box: [50, 8, 80, 22] },
    ]);
    expect(text).toBe('Buy now\nWindows 7\nUltimate');
  });

  it('builds an entry with the image size when known', () => {
    expect(icdarEntry('img_3.png', '5, 5, 20, 15, "Sale"', { width: 100, height: 40 })).toEqual({
      file: 'img_3.png',
      width: 100,
      height: 40,
      text: 'Sale',
      words: [{ text: 'Sale', box: [5, 5, 20, 15] }],
    });
  });
});
