import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { TextBlock } from '../../../../shared/domain.js';
import { capitalLookalikes, DEFAULT_DECODE_OPTIONS, decodeCtcLine, dictionaryFromText, dropLoneScriptOutliers, groupIntoLines, readingOrderText, restoreCurrencySymbols } from './ocr-decode.js';

const dictionary = dictionaryFromText('a\nb\nc\nd\ne\n');
const A = 1, B = 2, C = 3, D = 4, E = 5, BLANK = 0;
const steps = (gapRatio: number, minSteps: number) => ({ ...DEFAULT_DECODE_OPTIONS, spacing: 'steps' as const, spaceGapRatio: gapRatio, minSpaceSteps: minSteps });

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
    expect(decodeCtcLine(line([A, A, BLANK, B, B, B, BLANK, B, C]), dictionary, steps(Infinity, 1)).text).toBe('abbc');
  });

  it('turns a gap much wider than the usual letter gap into a space', () => {
    // letters 1 blank apart, then a 5-blank gap: "ab cd"
    const gapped = [A, BLANK, B, BLANK, BLANK, BLANK, BLANK, BLANK, C, BLANK, D];
    expect(decodeCtcLine(line(gapped), dictionary, steps(2.5, 2)).text).toBe('ab cd');
    expect(decodeCtcLine(line(gapped), dictionary, steps(Infinity, 2)).text).toBe('abcd');
  });

  it('with ink columns: a blank run much wider than the gaps between letters becomes a space', () => {
    // 4 characters, 8 px per time step; letters at steps 0, 2, 6, 8 with 2 px gaps, except 20 blank px between b and c.
    const classes = [A, BLANK, B, BLANK, BLANK, BLANK, C, BLANK, D, BLANK];
    const ink = new Array<number>(80).fill(1);
    for (const [from, to] of [[6, 8], [22, 42], [54, 56]] as const) ink.fill(0, from, to);
    expect(decodeCtcLine({ ...line(classes), ink }, dictionary, DEFAULT_DECODE_OPTIONS).text).toBe('ab cd');
    // The same steps with evenly spaced letters: one word.
    const even = new Array<number>(80).fill(1);
    for (const from of [6, 22, 38, 54]) even.fill(0, from, from + 3);
    expect(decodeCtcLine({ ...line(classes), ink: even }, dictionary, DEFAULT_DECODE_OPTIONS).text).toBe('abcd');
  });

  it('with the space class probability: a gap where the recognizer half-saw a space becomes a space', () => {
    // Evenly inked letters (no layout gap): only the space probability between b and c tells the words apart.
    const classes = [A, BLANK, B, BLANK, C, BLANK, D];
    const ink = new Array<number>(70).fill(1);
    const space = [0, 0.01, 0, 0.2, 0, 0.01, 0];
    const options = { ...DEFAULT_DECODE_OPTIONS, spaceProb: 0.1 };
    expect(decodeCtcLine({ ...line(classes), ink, space }, dictionary, options).text).toBe('ab cd');
    expect(decodeCtcLine({ ...line(classes), ink, space }, dictionary, { ...options, spaceProb: 0.5 }).text).toBe('abcd');
    expect(decodeCtcLine({ ...line(classes), ink }, dictionary, options).text).toBe('abcd');
  });

  it('with the space class probability and an ink ratio: only a gap wider than the usual letter gap can become a space', () => {
    // 10 px per step; letters at steps 0, 2, 4, 6; 3 px letter gaps, except 6 px between b and c.
    const classes = [A, BLANK, B, BLANK, C, BLANK, D];
    const ink = new Array<number>(70).fill(1);
    for (const [from, to] of [[12, 15], [32, 38], [52, 55]] as const) ink.fill(0, from, to);
    const space = [0, 0.2, 0, 0.2, 0, 0.2, 0];
    const options = { ...DEFAULT_DECODE_OPTIONS, spaceProb: 0.1, spaceProbInkRatio: 1.5 };
    expect(decodeCtcLine({ ...line(classes), ink, space }, dictionary, options).text).toBe('ab cd');
    expect(decodeCtcLine({ ...line(classes), ink, space }, dictionary, { ...options, spaceProbInkRatio: 0 }).text).toBe('a b c d');
  });

  it('puts back a € or £ the dictionary lacks, only in words that are prices', () => {
    const dict = dictionaryFromText('1\n4\n.\n9\ne\nf\n');
    const [one, four, dot, nine, e, f] = [1, 2, 3, 4, 5, 6];
    const space = dict.length;
    const classes = [one, four, dot, nine, 0, nine, 0, e, 0, space, 0, f, nine, dot, nine, 0, nine, 0, space, f, e, 0, e];
    expect(decodeCtcLine(line(classes), dict, { ...DEFAULT_DECODE_OPTIONS, spacing: 'none' }).text).toBe('14.99€ £9.99 fee');
    expect(decodeCtcLine(line(classes), dict, { ...DEFAULT_DECODE_OPTIONS, spacing: 'none', restoreCurrency: false }).text).toBe('14.99e f9.99 fee');
  });

  it('restoreCurrencySymbols changes prices with cents only, never plausible words such as the French "3e"', () => {
    expect(restoreCurrencySymbols('only 14,99e and f122.97, 2e10 free f12 e5 one')).toBe('only 14,99€ and £122.97, 2e10 free f12 e5 one');
    expect(restoreCurrencySymbols('le 3e arrondissement, 20e siècle, 30e')).toBe('le 3e arrondissement, 20e siècle, 30e');
  });

  it('with minLoneCharConfidence: a one-character word the recogniser is unsure of goes, a sure one and longer words stay', () => {
    const space = dictionary.length;
    // "a" (0.6) "bc" (0.6 each) "d" (0.95), words split by the space class.
    const indices = [A, A, space, B, C, space, D];
    const probs = [0.5, 0.6, 0.9, 0.6, 0.6, 0.9, 0.95];
    const options = { ...DEFAULT_DECODE_OPTIONS, spacing: 'none' as const };
    expect(decodeCtcLine({ indices, probs }, dictionary, { ...options, minLoneCharConfidence: 0.9 }).text).toBe('bc d');
    expect(decodeCtcLine({ indices, probs }, dictionary, { ...options, minLoneCharConfidence: 0.5 }).text).toBe('a bc d');
    expect(decodeCtcLine({ indices, probs }, dictionary, options).text).toBe('a bc d');
    // A line that is one unsure character decodes to nothing.
    expect(decodeCtcLine({ indices: [A], probs: [0.8] }, dictionary, { ...options, minLoneCharConfidence: 0.9 }).text).toBe('');
  });

  it('with minEdgeCharConfidence: an unsure character at either end of the line goes, unsure ones inside and sure ones at the ends stay', () => {
    const space = dictionary.length;
    const options = { ...DEFAULT_DECODE_OPTIONS, spacing: 'none' as const };
    // "a" (0.5) "bcd" (0.5 in the middle) "e" (0.55): only the ends are unsure enough.
    const indices = [A, B, C, D, E];
    const probs = [0.5, 1, 0.5, 1, 0.55];
    expect(decodeCtcLine({ indices, probs }, dictionary, { ...options, minEdgeCharConfidence: 0.6 }).text).toBe('bcd');
    expect(decodeCtcLine({ indices, probs }, dictionary, { ...options, minEdgeCharConfidence: 0.52 }).text).toBe('bcde');
    expect(decodeCtcLine({ indices, probs }, dictionary, options).text).toBe('abcde');
    // Spaces around the dropped character go too, and the line's confidence is as read.
    const spaced = decodeCtcLine({ indices: [space, A, space, B, C, space, D, space], probs: [0.9, 0.4, 0.9, 1, 1, 0.9, 0.3, 0.9] }, dictionary, { ...options, minEdgeCharConfidence: 0.6 });
    expect(spaced.text).toBe('bc');
    expect(spaced.confidence).toBeCloseTo((0.9 + 0.4 + 0.9 + 1 + 1 + 0.9 + 0.3 + 0.9) / 8);
  });

  it('with separateMarks: a ® or ™ right after a word is a word of its own', () => {
    const marks = dictionaryFromText('a\nb\n®\n™\n©\n');
    const [a, b, reg, tm, copy] = [1, 2, 3, 4, 5];
    const options = { ...steps(Infinity, 1), separateMarks: true };
    expect(decodeCtcLine(line([a, b, BLANK, reg, 6, a, tm]), marks, options).text).toBe('ab ® a ™');
    expect(decodeCtcLine(line([a, b, BLANK, reg]), marks, steps(Infinity, 1)).text).toBe('ab®');
    // © comes before a name ("©Disney"), and a mark already spaced gets no second space.
    expect(decodeCtcLine(line([copy, a, b]), marks, options).text).toBe('©ab');
    expect(decodeCtcLine(line([a, 6, tm]), marks, options).text).toBe('a ™');
  });

  it('with capitalLookalikes: an l among capitals is an I, in words of capitals only', () => {
    expect(capitalLookalikes('lEEE')).toBe('IEEE');
    expect(capitalLookalikes('TlME,')).toBe('TIME,');
    expect(capitalLookalikes('ÉTlÉ')).toBe('ÉTIÉ');
    // Words with another lower-case letter, or fewer than two capitals, stay as read.
    for (const word of ['lEEe', 'Hello', 'lA', 'l', 'iPlayer', 'ΑΘΗΝΑ', '4lb']) expect(capitalLookalikes(word)).toBe(word);
    const dict = dictionaryFromText('l\nE\nI\n');
    const space = dict.length;
    const options = { ...DEFAULT_DECODE_OPTIONS, spacing: 'none' as const };
    expect(decodeCtcLine(line([1, 2, 0, 2, 0, 2, space, 1, 2]), dict, { ...options, capitalLookalikes: true }).text).toBe('IEEE lE');
    expect(decodeCtcLine(line([1, 2, 0, 2, 0, 2]), dict, options).text).toBe('lEEE');
  });

  it('with dropDividers: a word of vertical bars between items goes', () => {
    const dict = dictionaryFromText('a\n|\nb\n');
    const space = dict.length;
    const options = { ...DEFAULT_DECODE_OPTIONS, spacing: 'none' as const };
    const classes = [1, space, 2, space, 3, 0, 3, space, 2, 2, 0, 2, space, 1, 2];
    expect(decodeCtcLine(line(classes), dict, { ...options, dropDividers: true }).text).toBe('a bb a|');
    expect(decodeCtcLine(line(classes), dict, options).text).toBe('a | bb || a|');
  });

  it('never puts a space before closing punctuation or after a currency sign', () => {
    const dict = dictionaryFromText('1\n.\n7\n$\n');
    const classes = [1, 0, 0, 0, 0, 0, 2, 3, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 1];
    expect(decodeCtcLine(line(classes), dict, steps(1, 1)).text).toBe('1.7 $1');
  });

  it('keeps spaces the model emitted, without doubling them', () => {
    const space = dictionary.length; // the last class is ' '
    expect(decodeCtcLine(line([A, BLANK, space, BLANK, BLANK, BLANK, BLANK, B]), dictionary, steps(1, 1)).text).toBe('a b');
  });

  it('reports the mean probability of emitted characters', () => {
    const decoded = decodeCtcLine({ indices: [A, A, BLANK, E], probs: [0.6, 0.8, 0.99, 0.4] }, dictionary);
    expect(decoded.confidence).toBeCloseTo((0.8 + 0.4) / 2);
    expect(decodeCtcLine(line([BLANK, BLANK]), dictionary)).toEqual({ text: '', confidence: 0 });
  });

  it('never produces leading, trailing or double spaces', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: dictionary.length }), fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 60 }), fc.double({ min: 0.5, max: 5, noNaN: true }), fc.constantFrom(0, 0.6), (pairs, ratio, edge) => {
        const classes = pairs.map(([c]) => c);
        const probs = pairs.map(([, p]) => p);
        const { text } = decodeCtcLine({ indices: classes, probs }, dictionary, { ...steps(ratio, 1), minEdgeCharConfidence: edge, dropDividers: true });
        expect(text).toBe(text.trim());
        expect(text).not.toContain('  ');
      }),
    );
  });
});

const block = (text: string, box: [number, number, number, number]): TextBlock => ({ text, box });

describe('dropLoneScriptOutliers', () => {
  const texts = (blocks: Array<{ text: string }>) => dropLoneScriptOutliers(blocks).map((b) => b.text);
  it('drops a one-letter block of a script no other block uses', () => {
    expect(texts([{ text: '日' }, { text: 'PREMIER' }, { text: 'APARTMENTS' }])).toEqual(['PREMIER', 'APARTMENTS']);
    expect(texts([{ text: 'Ж' }, { text: 'SALE' }])).toEqual(['SALE']);
    // Two lone letters of different scripts: each is the other's outlier.
    expect(texts([{ text: 'A' }, { text: 'Ζ' }])).toEqual([]);
  });
  it('keeps it when another block shares its script group, when it is not a letter, or when nothing else has letters', () => {
    expect(texts([{ text: '日' }, { text: '本の店' }, { text: 'SALE' }])).toEqual(['日', '本の店', 'SALE']);
    expect(texts([{ text: '店' }, { text: 'セール' }])).toEqual(['店', 'セール']);
    expect(texts([{ text: '€' }, { text: '5' }, { text: 'SALE' }])).toEqual(['€', '5', 'SALE']);
    expect(texts([{ text: '日' }, { text: '2011' }])).toEqual(['日', '2011']);
    expect(texts([{ text: '日本' }, { text: 'SALE' }])).toEqual(['日本', 'SALE']);
  });
});

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
        expect(readingOrderText(shuffled, 'centers')).toBe('Love at First Sight\n50% off\nBook now!');
      }),
    );
  });

  it('does not merge two stacked boxes into one line even when they overlap vertically', () => {
    const lines = groupIntoLines([block('top', [10, 10, 100, 40]), block('below', [12, 30, 98, 60])]);
    expect(lines.map((l) => l.map((b) => b.text))).toEqual([['top'], ['below']]);
    expect(groupIntoLines([block('top', [10, 10, 100, 40]), block('below', [12, 30, 98, 60])], 'centers').map((l) => l.map((b) => b.text))).toEqual([['top'], ['below']]);
  });

  it('centers: a tall headline beside two small lines is a line of its own, not joined to the first', () => {
    const blocks = [block('SALE', [100, 0, 300, 100]), block('ON', [0, 20, 40, 40]), block('NOW', [0, 60, 40, 80])];
    expect(readingOrderText(blocks, 'overlap')).toBe('ON SALE\nNOW');
    expect(readingOrderText(blocks, 'centers')).toBe('ON\nSALE\nNOW');
  });

  it('centers: side-by-side blocks whose centres lie within each other join one line, left to right', () => {
    const blocks = [block('Jan.', [632, 136, 659, 154]), block('PRICE', [102, 122, 233, 153]), block('21st', [597, 149, 627, 171])];
    expect(readingOrderText(blocks, 'centers')).toBe('PRICE Jan.\n21st');
  });
});
