/**
 * OCR quality measures used by the benchmark:
 * - CER: edit distance over characters of the whitespace-normalised texts, divided by the
 *   reference's length (reading order matters);
 * - word F1 over multisets of lower-cased words (reading order does not matter).
 */

// One edit distance for the app (compare agreement) and the benchmark.
import { editDistance, normalizeWhitespace } from '../../electron/core/orchestrator/agreement.js';

export { editDistance, normalizeWhitespace };

interface CerCounts {
  /** Edits needed to turn the hypothesis into the reference. */
  edits: number;
  /** Characters in the normalised reference. */
  referenceChars: number;
}

function cerCounts(reference: string, hypothesis: string): CerCounts {
  const ref = normalizeWhitespace(reference);
  const hyp = normalizeWhitespace(hypothesis);
  return { edits: editDistance(ref, hyp), referenceChars: Array.from(ref).length };
}

/** Character error rate; 0 when both are empty, 1 when only the reference is empty. */
export function characterErrorRate(reference: string, hypothesis: string): number {
  const { edits, referenceChars } = cerCounts(reference, hypothesis);
  if (referenceChars === 0) return edits === 0 ? 0 : 1;
  return edits / referenceChars;
}

function words(text: string): string[] {
  return normalizeWhitespace(text.toLowerCase()).split(' ').filter((word) => word !== '');
}

export interface WordCounts {
  /** Words found in both multisets (each occurrence matched at most once). */
  matched: number;
  referenceWords: number;
  hypothesisWords: number;
}

export function wordCounts(reference: string, hypothesis: string): WordCounts {
  const remaining = new Map<string, number>();
  const refWords = words(reference);
  for (const word of refWords) remaining.set(word, (remaining.get(word) ?? 0) + 1);
  const hypWords = words(hypothesis);
  let matched = 0;
  for (const word of hypWords) {
    const left = remaining.get(word) ?? 0;
    if (left > 0) {
      matched++;
      remaining.set(word, left - 1);
    }
  }
  return { matched, referenceWords: refWords.length, hypothesisWords: hypWords.length };
}

/** F1 from counts: 1 when both sides are empty, 0 when only one is. */
function f1FromCounts({ matched, referenceWords, hypothesisWords }: WordCounts): number {
  if (referenceWords === 0 && hypothesisWords === 0) return 1;
  if (referenceWords === 0 || hypothesisWords === 0) return 0;
  return (2 * matched) / (referenceWords + hypothesisWords);
}

export function wordF1(reference: string, hypothesis: string): number {
  return f1FromCounts(wordCounts(reference, hypothesis));
}

export interface ImageScore {
  cer: number;
  wordF1: number;
  cerCounts: CerCounts;
  wordCounts: WordCounts;
}

export function scoreImage(reference: string, hypothesis: string): ImageScore {
  const cer = cerCounts(reference, hypothesis);
  const wordsCounted = wordCounts(reference, hypothesis);
  return {
    cer: characterErrorRate(reference, hypothesis),
    wordF1: f1FromCounts(wordsCounted),
    cerCounts: cer,
    wordCounts: wordsCounted,
  };
}

export interface DatasetScore {
  /** Total edits / total reference characters (long texts weigh more). */
  cer: number;
  /** F1 over all words of the set pooled. */
  wordF1: number;
  /** Mean of the per-image values (every image weighs the same). */
  meanCer: number;
  meanWordF1: number;
}

export function scoreDataset(images: readonly ImageScore[]): DatasetScore {
  if (images.length === 0) return { cer: 0, wordF1: 0, meanCer: 0, meanWordF1: 0 };
  let edits = 0;
  let referenceChars = 0;
  const pooled: WordCounts = { matched: 0, referenceWords: 0, hypothesisWords: 0 };
  for (const image of images) {
    edits += image.cerCounts.edits;
    referenceChars += image.cerCounts.referenceChars;
    pooled.matched += image.wordCounts.matched;
    pooled.referenceWords += image.wordCounts.referenceWords;
    pooled.hypothesisWords += image.wordCounts.hypothesisWords;
  }
  const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
  return {
    cer: referenceChars === 0 ? (edits === 0 ? 0 : 1) : edits / referenceChars,
    wordF1: f1FromCounts(pooled),
    meanCer: mean(images.map((image) => image.cer)),
    meanWordF1: mean(images.map((image) => image.wordF1)),
  };
}

/**
 * The fixed split of a dataset into a tuning half and a check half, by the number in the
 * image's file name: odd → tuning, even → check (`img_1.jpg` tunes, `img_102.png` checks;
 * a name without a number checks). Every setting is chosen on the tuning half only; the
 * check half's numbers are the ones that count.
 */
export type EvaluationHalf = 'tuning' | 'check';

export function evaluationHalf(file: string): EvaluationHalf {
  const match = /(\d+)(?!.*\d)/.exec(file);
  return match && Number(match[1]) % 2 === 1 ? 'tuning' : 'check';
}
