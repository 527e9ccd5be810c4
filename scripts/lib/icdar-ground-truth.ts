/**
 * ICDAR 2013 Challenge 1 ("Born-Digital Images") word ground truth → the benchmark's
 * `ground_truth.json` entry (`{ file, width?, height?, text, words }`, see
 * scripts/bench-ocr.ts): one `x1, y1, x2, y2, "word"` line per word; `###` marks a region
 * the annotators could not read and is left out, as in ../shared/testdata/ads. `text`
 * joins the words in reading order: lines top to bottom, words left to right.
 */
export interface IcdarWord {
  text: string;
  box: [number, number, number, number];
}

export interface GroundTruthEntry {
  file: string;
  width?: number;
  height?: number;
  text: string;
  words: IcdarWord[];
}

const LINE = /^\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*"(.*)"\s*$/;

/** Parses a `gt_img_N.txt` file; a line that is not a word names its number. */
export function parseIcdarWords(text: string, source = 'ground truth'): IcdarWord[] {
  const words: IcdarWord[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (line.trim() === '') return;
      const match = LINE.exec(line);
      if (!match) throw new Error(`${source} line ${i + 1}: expected x1, y1, x2, y2, "word", got ${JSON.stringify(line.slice(0, 80))}`);
      const word = (match[5] ?? '').replace(/\\"/g, '"');
      if (word === '###' || word.trim() === '') return;
      words.push({ text: word, box: [Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4])] });
    });
  return words;
}

/**
 * Reading order: a word joins the line whose vertical extent it overlaps by at least half
 * of the shorter height; lines are ordered by their top, words within a line by left edge.
 */
export function readingOrderText(words: readonly IcdarWord[]): string {
  const lines: { top: number; bottom: number; words: IcdarWord[] }[] = [];
  for (const word of [...words].sort((a, b) => a.box[1] + a.box[3] - (b.box[1] + b.box[3]))) {
    const [, top, , bottom] = word.box;
    const line = lines.find((l) => Math.min(l.bottom, bottom) - Math.max(l.top, top) >= 0.5 * Math.min(l.bottom - l.top, bottom - top));
    if (line) {
      line.words.push(word);
      line.top = Math.min(line.top, top);
      line.bottom = Math.max(line.bottom, bottom);
    } else lines.push({ top, bottom, words: [word] });
  }
  return lines
    .sort((a, b) => a.top - b.top)
    .map((l) => l.words.sort((a, b) => a.box[0] - b.box[0]).map((w) => w.text).join(' '))
    .join('\n');
}

export function icdarEntry(file: string, groundTruth: string, size?: { width: number; height: number }): GroundTruthEntry {
  const words = parseIcdarWords(groundTruth, file);
  return { file, ...(size ?? {}), text: readingOrderText(words), words };
}
