import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { characterErrorRate, editDistance, evaluationHalf, normalizeWhitespace, scoreDataset, scoreImage, wordCounts, wordF1 } from './ocr-metrics.js';

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('flaw', 'lawn')).toBe(2);
  });

  it('counts a code point outside the BMP or a symbol as one character', () => {
    expect(editDistance('30€', '30')).toBe(1);
    expect(editDistance('a😀b', 'ab')).toBe(1);
  });

  it('is a metric: zero only on equal strings, symmetric, triangle inequality', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b, c) => {
        expect(editDistance(a, b) === 0).toBe(a === b);
        expect(editDistance(a, b)).toBe(editDistance(b, a));
        expect(editDistance(a, c)).toBeLessThanOrEqual(editDistance(a, b) + editDistance(b, c));
        expect(editDistance(a, b)).toBeGreaterThanOrEqual(Math.abs(Array.from(a).length - Array.from(b).length));
      }),
    );
  });
});

describe('characterErrorRate', () => {
  it('ignores how whitespace is laid out', () => {
    expect(normalizeWhitespace('  SALE\n\n50%  off\t')).toBe('SALE 50% off');
    expect(characterErrorRate('BIG SALE\nTODAY', 'BIG  SALE TODAY ')).toBe(0);
  });

  it('divides edits by the reference length', () => {
    // "LoveatFirst" vs "Love at First": 2 missing spaces over 13 reference characters.
    expect(characterErrorRate('Love at First', 'LoveatFirst')).toBeCloseTo(2 / 13);
    expect(characterErrorRate('abcd', '')).toBe(1);
    expect(characterErrorRate('', '')).toBe(0);
    expect(characterErrorRate('', 'noise')).toBe(1);
  });
});

describe('wordF1', () => {
  it('is order-free and case-free over multisets', () => {
    expect(wordF1('Book now FROM 30', 'from 30 book NOW')).toBe(1);
    // Reference has "sale" twice, hypothesis once: 2 matched of 3 and 2.
    expect(wordCounts('sale sale now', 'sale now')).toEqual({ matched: 2, referenceWords: 3, hypothesisWords: 2 });
    expect(wordF1('sale sale now', 'sale now')).toBeCloseTo((2 * 2) / (3 + 2));
  });

  it('gives 0 for no overlap and handles empty sides', () => {
    expect(wordF1('alpha beta', 'gamma')).toBe(0);
    expect(wordF1('', '')).toBe(1);
    expect(wordF1('word', '')).toBe(0);
  });
});

describe('scoreDataset', () => {
  it('pools counts for cer and wordF1 and averages per image for the means', () => {
    const long = scoreImage('a'.repeat(90), 'a'.repeat(90)); // perfect, 90 chars
    const short = scoreImage('bbbbbbbbbb', ''); // all wrong, 10 chars
    const total = scoreDataset([long, short]);
    expect(total.cer).toBeCloseTo(10 / 100);
    expect(total.meanCer).toBeCloseTo(0.5);
    expect(total.wordF1).toBeCloseTo((2 * 1) / (2 + 1));
    expect(total.meanWordF1).toBeCloseTo(0.5);
  });

  it('is zero for an empty set', () => {
    expect(scoreDataset([])).toEqual({ cer: 0, wordF1: 0, meanCer: 0, meanWordF1: 0 });
  });
});

describe('evaluationHalf', () => {
  it('puts odd image numbers in the tuning half and even ones (or none) in the check half', () => {
    expect(evaluationHalf('img_1.jpg')).toBe('tuning');
    expect(evaluationHalf('img_37.png')).toBe('tuning');
    expect(evaluationHalf('img_102.png')).toBe('check');
    expect(evaluationHalf('ads/v2/img_10.gif')).toBe('check');
    expect(evaluationHalf('logo.png')).toBe('check');
  });
});
