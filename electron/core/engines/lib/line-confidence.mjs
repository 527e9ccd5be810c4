/**
 * How sure the recogniser is of one text line, in one place for both halves of the
 * embedded engine: the decoder (ocr-decode.ts) drops lines below the minimum, and the
 * model runner (embedded-ocr-runner.mjs, a worker thread that cannot load TypeScript)
 * compares the two passes of a small image with it. Plain JavaScript for that reason;
 * types in line-confidence.d.mts.
 *
 * CTC output: one class per time step, 0 the blank. A character is a run of one non-blank
 * class; its probability is the highest over its run. A line's confidence is the mean
 * over its characters, 0 without any.
 */

/** Lines read below this mean character probability are dropped as noise. */
export const DEFAULT_MIN_LINE_CONFIDENCE = 0.7;

/**
 * The probability of each character the line decodes to, in order.
 * @param {ArrayLike<number>} indices arg-max class per time step (0 = blank)
 * @param {ArrayLike<number>} probs its probability per time step
 * @returns {number[]}
 */
export function characterProbabilities(indices, probs) {
  const chars = [];
  let previous = 0;
  for (let t = 0; t < indices.length; t++) {
    const index = indices[t] ?? 0;
    const prob = probs[t] ?? 0;
    if (index !== 0 && index === previous) chars[chars.length - 1] = Math.max(chars[chars.length - 1], prob);
    else if (index !== 0) chars.push(prob);
    previous = index;
  }
  return chars;
}

/**
 * The mean of characterProbabilities (0 for a line without characters).
 * @param {ArrayLike<number>} indices
 * @param {ArrayLike<number>} probs
 * @returns {number}
 */
export function lineConfidence(indices, probs) {
  const chars = characterProbabilities(indices, probs);
  return chars.length ? chars.reduce((sum, prob) => sum + prob, 0) / chars.length : 0;
}
