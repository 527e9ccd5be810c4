/**
 * Pure post-processing of PaddleOCR output: CTC decoding that keeps where each character
 * was seen (so a run of blank time steps wider than the line's usual letter gap becomes a
 * space: the Chinese PP-OCR recognizer rarely emits spaces between Latin words, which
 * is why plain PaddleOCR reads "LoveatFirstSight"), and reading order for the lines. Its
 * clean-up rules are language-neutral (they never rewrite a plausible word of any language):
 * unsure characters at a line's ends, lone glyphs, dividers, an `l` among capitals, a lone
 * glyph of a script the rest of the image does not use.
 */
import type { Box, TextBlock } from '../../../../shared/domain.js';
import { lineConfidence } from './line-confidence.mjs';

export interface CtcLine {
  /** Arg-max class per time step (0 = CTC blank; class i is dictionary[i - 1]). */
  indices: ArrayLike<number>;
  /** Probability of that class per time step. */
  probs: ArrayLike<number>;
  /** Per column of the recognizer's input: 1 where the line crop has ink (see embedded-ocr-runner.mjs). */
  ink?: ArrayLike<number>;
  /** Probability of the space class per time step (see embedded-ocr-runner.mjs). */
  space?: ArrayLike<number>;
}

export interface DecodeOptions {
  /**
   * How to find word gaps the recognizer did not mark with a space: `ink` — blank
   * columns in the line image between two characters; `steps` — blank CTC time steps.
   */
  spacing: 'ink' | 'steps' | 'none';
  /** `ink`: a blank run at least this wide (pixels at the recognizer's 48 px line height)… */
  inkSpacePx: number;
  /** …and at least this many times the line's median blank run between characters is a space. */
  inkSpaceRatio: number;
  /**
   * A gap of blank steps between two characters becomes a space when it is at least
   * this many times the line's median gap (and at least `minSpaceSteps`). Infinity: never.
   */
  spaceGapRatio: number;
  minSpaceSteps: number;
  /** A gap whose steps give the space class at least this probability is a word gap too (Infinity: never). */
  spaceProb?: number;
  /** …when its blank ink run is at least this many times the line's usual one. */
  spaceProbInkRatio?: number;
  /** Put back € and £ the dictionary lacks (see restoreCurrencySymbols). */
  restoreCurrency?: boolean;
  /**
   * A word of one character is kept only when the recogniser gives it at least this
   * probability: a lone glyph is more often a speck, a bullet or a logo than text (0: keep all).
   */
  minLoneCharConfidence?: number;
  /**
   * A character at the start or end of a line is dropped when the recogniser gives it less
   * than this probability: a crop's edges often catch a sliver of a neighbouring graphic (0: keep all).
   */
  minEdgeCharConfidence?: number;
  /**
   * In a word whose other letters are all capitals, an `l` is read as `I` (the glyphs are the same
   * in most sans-serif faces and the recogniser often picks the wrong one, "lEEE").
   */
  capitalLookalikes?: boolean;
  /** Words made only of vertical bars are dropped: they are dividers between items, not text. */
  dropDividers?: boolean;
  /**
   * A block of one character in a script no other block of the image uses is dropped: the
   * recogniser reads a logo or an icon as a Chinese or Japanese glyph (its dictionary is mostly
   * those) far more often than an ad puts one lone glyph of another script beside its text.
   */
  dropLoneScriptOutliers?: boolean;
  /**
   * A ® or ™ right after a word is a word of its own ("Stokke ®"): it is a mark beside the
   * name, not part of it, and a name read with its mark attached is not found by the name.
   */
  separateMarks?: boolean;
  /** How blocks are grouped into lines for the reading-order text (default `overlap`). */
  lineGrouping?: LineGrouping;
}

/**
 * Measured on the ICDAR 2013 born-digital ads: `inkSpacePx` 8 and `inkSpaceRatio` 2.5
 * (word F1 0.66 → 0.84; neighbours within 0.01); `spaceProb` 0.04 alone (0.835 → 0.850, better
 * on both the odd and the even half of the images; 0.03–0.1 all within 0.005);
 * `restoreCurrency` (→ 0.854, both halves; since narrowed to prices with cents, see restoreCurrencySymbols); `spaceProb` 0.03 with `spaceProbInkRatio` 1.5
 * (→ 0.856, both halves; 0.02–0.04 × 1.25–1.5 all within 0.0015). `lineGrouping` `centers`:
 * chosen on the tuning half (see scripts/tune-ocr.ts).
 */
export const DEFAULT_DECODE_OPTIONS: DecodeOptions = { spacing: 'ink', inkSpacePx: 8, inkSpaceRatio: 2.5, spaceGapRatio: 2, minSpaceSteps: 2, spaceProb: 0.03, spaceProbInkRatio: 1.5, restoreCurrency: true, lineGrouping: 'centers' };

export interface DecodedLine {
  text: string;
  /** The line's confidence (lib/line-confidence.mjs). */
  confidence: number;
}

interface Emitted {
  char: string;
  start: number;
  end: number;
  /** Highest probability over the character's run of time steps (as lib/line-confidence.mjs). */
  prob: number;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Loads the recognizer's dictionary: one character per line, plus the space class at the end. */
export function dictionaryFromText(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return [...lines.map((l) => l.replace(/\r$/, '')), ' '];
}

/** Punctuation that hugs the previous or next character however wide the gap looks ("1.74", "$20"). */
const NO_SPACE_BEFORE = /^[.,:;!?%)\]}]$/;
const NO_SPACE_AFTER = /^[([{$£€¥#]$/;
/** Marks that follow a name (see DecodeOptions.separateMarks). */
const MARK = /^[®™]$/u;

function isSpace(char: string): boolean {
  return char.trim() === '';
}

export function decodeCtcLine(line: CtcLine, dictionary: readonly string[], options: DecodeOptions = DEFAULT_DECODE_OPTIONS): DecodedLine {
  const emitted: Emitted[] = [];
  let previous = 0;
  for (let t = 0; t < line.indices.length; t++) {
    const index = line.indices[t] ?? 0;
    const prob = line.probs[t] ?? 0;
    if (index !== 0 && index === previous) {
      const last = emitted.at(-1);
      if (last) {
        last.end = t;
        last.prob = Math.max(last.prob, prob);
      }
    } else if (index !== 0) {
      emitted.push({ char: dictionary[index - 1] ?? '', start: t, end: t, prob });
    }
    previous = index;
  }
  const confidence = lineConfidence(line.indices, line.probs);
  trimUnsureEdges(emitted, options.minEdgeCharConfidence ?? 0);

  const { byLayout, widerThanUsual } = wordGapTest(emitted, line, options);
  const spaceProb = options.spaceProb ?? Infinity;
  const isWordGap = (i: number): boolean => byLayout(i) || (line.space !== undefined && spaceProb < Infinity && maxSpaceProb(line.space, emitted, i) >= spaceProb && widerThanUsual(i, options.spaceProbInkRatio ?? 0));
  // Words as runs of emitted characters, split at emitted spaces and at word gaps.
  const words: Emitted[][] = [[]];
  for (let i = 0; i < emitted.length; i++) {
    const current = emitted[i];
    const before = emitted[i - 1];
    if (!current) continue;
    if (isSpace(current.char)) {
      words.push([]);
      continue;
    }
    if (before && !isSpace(before.char) && ((options.separateMarks && MARK.test(current.char)) || (!NO_SPACE_BEFORE.test(current.char) && !NO_SPACE_AFTER.test(before.char) && isWordGap(i - 1)))) words.push([]);
    words.at(-1)?.push(current);
  }
  const minLone = options.minLoneCharConfidence ?? 0;
  const collapsed = words
    .filter((word) => word.length > 1 || (word.length === 1 && (word[0]?.prob ?? 0) >= minLone))
    .map((word) => word.map((e) => e.char).join(''))
    .filter((word) => !options.dropDividers || !DIVIDER.test(word))
    .map((word) => (options.capitalLookalikes ? capitalLookalikes(word) : word))
    .join(' ');
  return { text: options.restoreCurrency && !dictionary.includes('€') ? restoreCurrencySymbols(collapsed) : collapsed, confidence };
}

/** Drops an unsure character at either end of the line (see DecodeOptions.minEdgeCharConfidence); spaces there go with it. */
function trimUnsureEdges(emitted: Emitted[], minProb: number): void {
  if (minProb <= 0) return;
  const trimSpaces = (): void => {
    while (emitted[0] && isSpace(emitted[0].char)) emitted.shift();
    while (emitted.at(-1) && isSpace(emitted.at(-1)?.char ?? '')) emitted.pop();
  };
  trimSpaces();
  if ((emitted[0]?.prob ?? 1) < minProb) emitted.shift();
  if ((emitted.at(-1)?.prob ?? 1) < minProb) emitted.pop();
  trimSpaces();
}

const DIVIDER = /^[|¦]+$/u;

/**
 * `l` → `I` in a word whose other letters are all capitals, at least two of them ("lEEE",
 * "TlME"); words with any other lower-case letter stay as read.
 */
export function capitalLookalikes(word: string): string {
  if (!word.includes('l')) return word;
  const letters = Array.from(word).filter((c) => /\p{L}/u.test(c));
  const others = letters.filter((c) => c !== 'l');
  if (others.length < 2 || !others.every((c) => /\p{Lu}/u.test(c))) return word;
  return word.replaceAll('l', 'I');
}

/** Returns whether the gap after emitted character i is a word gap. */
function wordGapTest(emitted: Emitted[], line: CtcLine, options: DecodeOptions): { byLayout: (i: number) => boolean; widerThanUsual: (i: number, ratio: number) => boolean } {
  const pairs = emitted.slice(1).map((b, i) => [emitted[i] as Emitted, b] as const);
  if (options.spacing === 'ink' && line.ink && line.ink.length > 0 && line.indices.length > 0) {
    const ink = line.ink;
    const pxPerStep = ink.length / line.indices.length;
    const center = (e: Emitted) => ((e.start + e.end + 1) / 2) * pxPerStep;
    const runs = pairs.map(([a, b]) => longestBlankRun(ink, Math.ceil(center(a)), Math.floor(center(b))));
    const usual = median(runs.filter((_, i) => !isSpace(pairs[i]?.[0].char ?? '') && !isSpace(pairs[i]?.[1].char ?? '')));
    const spaceAt = Math.max(options.inkSpacePx, options.inkSpaceRatio * usual);
    return { byLayout: (i) => (runs[i] ?? 0) >= spaceAt, widerThanUsual: (i, ratio) => (runs[i] ?? 0) >= ratio * usual };
  }
  if (options.spacing === 'none') return { byLayout: () => false, widerThanUsual: () => true };
  const gaps = pairs.map(([a, b]) => b.start - a.end - 1);
  const usual = median(gaps.filter((_, i) => !isSpace(pairs[i]?.[0].char ?? '') && !isSpace(pairs[i]?.[1].char ?? '')));
  const spaceAt = Math.max(options.minSpaceSteps, options.spaceGapRatio * Math.max(usual, 0.5));
  return { byLayout: (i) => (gaps[i] ?? 0) >= spaceAt, widerThanUsual: (i, ratio) => (gaps[i] ?? 0) >= ratio * usual };
}

/** Highest space-class probability from the last step of character i to the first of character i + 1. */
function maxSpaceProb(space: ArrayLike<number>, emitted: readonly Emitted[], i: number): number {
  const a = emitted[i];
  const b = emitted[i + 1];
  if (!a || !b) return 0;
  let best = 0;
  for (let t = a.end; t <= b.start; t++) best = Math.max(best, space[t] ?? 0);
  return best;
}

function longestBlankRun(ink: ArrayLike<number>, from: number, to: number): number {
  let longest = 0;
  let current = 0;
  for (let x = Math.max(0, from); x <= Math.min(ink.length - 1, to); x++) {
    current = ink[x] ? 0 : current + 1;
    longest = Math.max(longest, current);
  }
  return longest;
}

/**
 * The PP-OCRv4 dictionary has no € or £, so the recognizer reads a price's € as a
 * trailing "e" ("14,99e") and a £ as a leading "f" ("f57.97"). Put the symbols back
 * where a word is nothing but a price with cents: a whole number followed by "e" stays,
 * because it is also real text (the French ordinal "3e", "20e siècle").
 */
export function restoreCurrencySymbols(text: string): string {
  return text
    .split(' ')
    .map((word) => word.replace(/^(\d+[.,]\d{2})e([.,!]?)$/, '$1€$2').replace(/^f(\d+[.,]\d{2})([.,!]?)$/, '£$1$2'))
    .join(' ');
}

/** Script groups for dropLoneScriptOutliers; Han, kana and Hangul are one, as Japanese and Korean text mixes them. */
const SCRIPT_GROUPS: readonly RegExp[] = [/\p{Script=Latin}/u, /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Bopomofo}]/u, /\p{Script=Cyrillic}/u, /\p{Script=Greek}/u, /\p{Script=Arabic}/u, /\p{Script=Hebrew}/u, /\p{Script=Thai}/u, /\p{Script=Devanagari}/u];

function scriptGroups(text: string): Set<number> {
  const groups = new Set<number>();
  for (const char of text) SCRIPT_GROUPS.forEach((pattern, i) => pattern.test(char) && groups.add(i));
  return groups;
}

/**
 * Drops blocks whose text is one letter of a script group (SCRIPT_GROUPS) that no other
 * block has, when other blocks have letters of some script (see DecodeOptions.dropLoneScriptOutliers).
 */
export function dropLoneScriptOutliers<T extends { text: string }>(blocks: readonly T[]): T[] {
  const groups = blocks.map((b) => scriptGroups(b.text));
  return blocks.filter((block, i) => {
    const chars = Array.from(block.text.trim());
    const own = groups[i];
    if (chars.length !== 1 || !own || own.size === 0) return true;
    const others = groups.filter((_, j) => j !== i);
    if (!others.some((g) => g.size > 0)) return true;
    return others.some((g) => [...own].some((group) => g.has(group)));
  });
}

function verticalOverlap(a: Box, b: Box): number {
  const overlap = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  return overlap / Math.max(1, Math.min(a[3] - a[1], b[3] - b[1]));
}

/**
 * How blocks are grouped into visual lines: `overlap` — a block joins any line it overlaps
 * vertically by more than half the smaller height (and none of whose blocks it overlaps
 * horizontally); `centers` — blocks in order of their vertical centre, a block joins the
 * line being built when its centre lies within the line's first block's height and that
 * block's centre within its own (a tall headline beside two small lines then stays a line
 * of its own, as a reader and the annotators of the ads set it).
 */
export type LineGrouping = 'overlap' | 'centers';

/** Groups blocks into visual lines (see LineGrouping), lines top to bottom, blocks left to right within a line. */
export function groupIntoLines(blocks: readonly TextBlock[], grouping: LineGrouping = 'overlap'): TextBlock[][] {
  const middle = (box: Box): number => (box[1] + box[3]) / 2;
  const sorted = [...blocks].sort((a, b) => middle(a.box) - middle(b.box));
  const lines: Array<{ blocks: TextBlock[]; box: Box }> = [];
  for (const block of sorted) {
    let line: (typeof lines)[number] | undefined;
    if (grouping === 'centers') {
      const last = lines.at(-1);
      const first = last?.blocks[0];
      const within = (y: number, box: Box): boolean => y >= box[1] && y <= box[3];
      if (last && first && within(middle(block.box), first.box) && within(middle(first.box), block.box) && !last.blocks.some((other) => horizontallyOverlapping(other.box, block.box))) line = last;
    } else {
      line = lines.find((l) => verticalOverlap(l.box, block.box) > 0.5 && !l.blocks.some((other) => horizontallyOverlapping(other.box, block.box)));
    }
    if (line) {
      line.blocks.push(block);
      line.box = [Math.min(line.box[0], block.box[0]), Math.min(line.box[1], block.box[1]), Math.max(line.box[2], block.box[2]), Math.max(line.box[3], block.box[3])];
    } else {
      lines.push({ blocks: [block], box: [...block.box] });
    }
  }
  // `centers` lines are already in order of their first block's centre.
  if (grouping === 'overlap') lines.sort((a, b) => a.box[1] - b.box[1] || a.box[0] - b.box[0]);
  return lines.map((l) => [...l.blocks].sort((a, b) => a.box[0] - b.box[0]));
}

/** Two boxes side by side can share a line; two stacked ones (overlapping in x by most of their width) cannot. */
function horizontallyOverlapping(a: Box, b: Box): boolean {
  const overlap = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  return overlap > 0.5 * Math.min(a[2] - a[0], b[2] - b[0]);
}

/** Text in reading order: lines separated by \n, blocks of a line by a space. */
export function readingOrderText(blocks: readonly TextBlock[], grouping: LineGrouping = 'overlap'): string {
  return groupIntoLines(blocks, grouping)
    .map((line) => line.map((b) => b.text).join(' '))
    .filter((line) => line.trim() !== '')
    .join('\n');
}
