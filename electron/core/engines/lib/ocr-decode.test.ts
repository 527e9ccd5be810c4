import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { TextBlock } from '../../../../shared/domain.js';
import { decodeCtcLine, dictionaryFromText, groupIntoLines, readingOrderText } from './ocr-decode.js';

const dictionary = dictionaryFromText('a\nb\nc\nd\ne\n');
const A = 1, B = 2, C = 3, D = 4, E = 5, BLANK = 0;

function line(steps: number[]) {
  return { indices: steps, probs: steps.map(() => 0.9) };
}

describe('dictionaryFromText', () => {
  it('adds the space class at the end and ignores the trailing newline', () => {
    expect(dictionaryFromText('x\ny\n')).toEqual(['x', 'y', ' ']);
  });
});

describe('decodeCtcLine', () => {
  it('collapses repeats, drops blanks and keeps a repeat separated by a blank', () => {
    expect(decodeCtcLine(line([A, A, BLANK, B, B, B, BLANK, B, C]), dictionary, { spaceGapRatio: Infinity, minSpaceSteps: 1 }).text).toBe('abbc');
  });

  it('turns a gap much wider than the usual letter gap into a space', () => {
    // letters 1 blank apart, then a 5-blank gap: "ab cd"
    const steps = [A, BLANK, B, BLANK, BLANK, BLANK, BLANK, BLANK, C, BLANK, D];
    expect(decodeCtcLine(line(steps), dictionary, { spaceGapRatio: 2.5, minSpaceSteps: 2 }).text).toBe('ab cd');
    expect(decodeCtcLine(line(steps), dictionary, { spaceGapRatio: Infinity, minSpaceSteps: 2 }).text).toBe('abcd');
  });

  it('keeps spaces the model emitted, without doubling them', () => {
    const space = dictionary.length; // the last class is ' '
    expect(decodeCtcLine(line([A, BLANK, space, BLANK, BLANK, BLANK, BLANK, B]), dictionary, { spaceGapRatio: 1, minSpaceSteps: 1 }).text).toBe('a b');
  });

  it('reports the mean probability of emitted characters', () => {
    const decoded = decodeCtcLine({ indices: [A, A, BLANK, E], probs: [0.6, 0.8, 0.99, 0.4] }, dictionary);
    expect(decoded.confidence).toBeCloseTo((0.8 + 0.4) / 2);
    expect(decodeCtcLine(line([BLANK, BLANK]), dictionary)).toEqual({ text: '', confidence: 0 });
  });

  it('never produces leading, trailing or double spaces', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: dictionary.length }), { maxLength: 60 }), fc.double({ min: 0.5, max: 5, noNaN: true }), (steps, ratio) => {
        const { text } = decodeCtcLine(line(steps), dictionary, { spaceGapRatio: ratio, minSpaceSteps: 1 });
        expect(text).toBe(text.trim());
        expect(text).not.toContain('  ');
      }),
    );
  });
});

const block = (text: string, box: [number, number, number, number]): TextBlock => ({ text, box });

describe('reading order', () => {
  it('reads lines top to bottom and blocks left to right, whatever order they were detected in', () => {
    const blocks = [
      block('Sight', [200, 12, 260, 30]),
      block('Book now!', [10, 100, 90, 118]),
      block('Love at', [10, 10, 80, 31]),
      block('First', [100, 11, 180, 29]),
      block('50% off', [10, 50, 90, 70]),
    ];
    fc.assert(
      fc.property(fc.shuffledSubarray(blocks, { minLength: blocks.length, maxLength: blocks.length }), (shuffled) => {
        expect(readingOrderText(shuffled)).toBe('Love at First Sight\n50% off\nBook now!');
      }),
    );
  });

  it('does not merge two stacked boxes into one line even when they overlap vertically', () => {
    const lines = groupIntoLines([block('top', [10, 10, 100, 40]), block('below', [12, 30, 98, 60])]);
    expect(lines.map((l) => l.map((b) => b.text))).toEqual([['top'], ['below']]);
  });
});
