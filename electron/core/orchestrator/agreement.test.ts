import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { editDistance, normalizeWhitespace, pairwiseAgreement, textAgreement } from './agreement.js';

describe('textAgreement', () => {
  it('is 1 for texts that differ only in whitespace', () => {
    expect(textAgreement('SALE  50%\nOFF', ' SALE 50% OFF ')).toBe(1);
  });

  it('is 1 − edit distance ÷ longer length', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(textAgreement('kitten', 'sitting')).toBeCloseTo(1 - 3 / 7, 10);
  });

  it('is 0 when one text is empty and the other is not, 1 when both are', () => {
    expect(textAgreement('', 'abc')).toBe(0);
    expect(textAgreement(' \n', '')).toBe(1);
  });

  it('counts characters, not UTF-16 units', () => {
    expect(editDistance('😀a', '😀b')).toBe(1);
  });

  it('is symmetric and within [0, 1]', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (a, b) => {
        const score = textAgreement(a, b);
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThanOrEqual(1);
        expect(textAgreement(b, a)).toBeCloseTo(score, 12);
        expect(textAgreement(a, a)).toBe(1);
      }),
    );
  });

  it('edit distance obeys the triangle inequality', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), (a, b, c) => {
        expect(editDistance(a, c)).toBeLessThanOrEqual(editDistance(a, b) + editDistance(b, c));
      }),
    );
  });

  it('normalises every kind of whitespace run to one space', () => {
    expect(normalizeWhitespace('\ta\u00a0 b\r\n')).toBe('a b');
  });
});

describe('pairwiseAgreement', () => {
  it('scores every pair once, in the outputs\' order', () => {
    const pairs = pairwiseAgreement([
      { engine: 'a', text: 'kitten' },
      { engine: 'b', text: 'sitting' },
      { engine: 'c', text: 'kitten' },
    ]);
    expect(pairs).toEqual([
      { a: 'a', b: 'b', score: textAgreement('kitten', 'sitting') },
      { a: 'a', b: 'c', score: 1 },
      { a: 'b', b: 'c', score: textAgreement('sitting', 'kitten') },
    ]);
    expect(pairwiseAgreement([{ engine: 'a', text: 'x' }])).toEqual([]);
  });
});
