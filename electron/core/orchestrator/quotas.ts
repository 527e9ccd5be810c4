/**
 * Small pure helpers for the `ratio` policy and for retries.
 */
import { backoffDelayMs } from '../services/backoff.js';

/**
 * Splits `count` items over groups in proportion to `weights` (largest remainder), so the
 * parts sum to `count` and each is within 1 of its exact share. Zero total weight splits evenly.
 */
export function apportion(count: number, weights: readonly number[]): number[] {
  if (weights.length === 0) return [];
  const positive = weights.map((w) => (Number.isFinite(w) && w > 0 ? w : 0));
  const total = positive.reduce((sum, w) => sum + w, 0);
  const shares = total > 0 ? positive.map((w) => (count * w) / total) : positive.map(() => count / weights.length);
  const parts = shares.map((share) => Math.floor(share));
  let left = count - parts.reduce((sum, part) => sum + part, 0);
  const byRemainder = shares.map((share, index) => ({ index, remainder: share - Math.floor(share) })).sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of byRemainder) {
    if (left <= 0) break;
    parts[index]!++;
    left--;
  }
  return parts;
}

/**
 * Delay before retry number `failures` (1-based): exponential, with "equal jitter" (half fixed,
 * half random) so that ads failed together do not all come back at the same instant.
 */
export function retryDelayMs(failures: number, random: () => number, baseMs = 1_000, maxMs = 30_000): number {
  const ceiling = backoffDelayMs(failures, baseMs, maxMs);
  return ceiling / 2 + random() * (ceiling / 2);
}
