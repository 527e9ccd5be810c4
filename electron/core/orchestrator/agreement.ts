/**
 * Agreement between two engines' texts for `compare`: 1 − (character edit distance ÷ length
 * of the longer text), after collapsing whitespace, so line breaks and spacing do not count.
 * 1 means identical, 0 means nothing in common; two empty texts agree fully.
 */

export function normalizeWhitespace(text: string): string {
  return text.replace(/\s+/gu, ' ').trim();
}

/** Levenshtein distance over UTF-16 code points' characters, two rows of memory. */
export function editDistance(a: string, b: string): number {
  const left = Array.from(a);
  const right = Array.from(b);
  if (left.length < right.length) return editDistanceChars(right, left);
  return editDistanceChars(left, right);
}

function editDistanceChars(longer: string[], shorter: string[]): number {
  if (shorter.length === 0) return longer.length;
  let previous = new Uint32Array(shorter.length + 1);
  let current = new Uint32Array(shorter.length + 1);
  for (let j = 0; j <= shorter.length; j++) previous[j] = j;
  for (let i = 1; i <= longer.length; i++) {
    current[0] = i;
    const char = longer[i - 1];
    for (let j = 1; j <= shorter.length; j++) {
      const substitution = previous[j - 1]! + (char === shorter[j - 1] ? 0 : 1);
      current[j] = Math.min(substitution, previous[j]! + 1, current[j - 1]! + 1);
    }
    [previous, current] = [current, previous];
  }
  return previous[shorter.length]!;
}

export function textAgreement(a: string, b: string): number {
  const left = normalizeWhitespace(a);
  const right = normalizeWhitespace(b);
  const longest = Math.max(Array.from(left).length, Array.from(right).length);
  if (longest === 0) return 1;
  return 1 - editDistance(left, right) / longest;
}

/** Every pair of outputs in their order, with its textAgreement: what a compare run shows and stores per ad. */
export function pairwiseAgreement<E>(outputs: ReadonlyArray<{ engine: E; text: string }>): Array<{ a: E; b: E; score: number }> {
  const pairs: Array<{ a: E; b: E; score: number }> = [];
  for (let i = 0; i < outputs.length; i++) {
    for (let j = i + 1; j < outputs.length; j++) pairs.push({ a: outputs[i]!.engine, b: outputs[j]!.engine, score: textAgreement(outputs[i]!.text, outputs[j]!.text) });
  }
  return pairs;
}
