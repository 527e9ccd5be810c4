import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apportion, retryDelayMs } from './quotas.js';

describe('apportion', () => {
  it('sums to the count and gives each group its share ±1', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }), (count, weights) => {
        const parts = apportion(count, weights);
        expect(parts.reduce((sum, part) => sum + part, 0)).toBe(count);
        const total = weights.reduce((sum, w) => sum + w, 0);
        parts.forEach((part, i) => {
          const exact = total > 0 ? (count * weights[i]!) / total : count / weights.length;
          expect(Math.abs(part - exact)).toBeLessThan(1);
        });
      }),
    );
  });

  it('gives nothing to a zero weight', () => {
    expect(apportion(10, [1, 0, 1])).toEqual([5, 0, 5]);
  });
});

describe('retryDelayMs', () => {
  it('grows exponentially with jitter between half and all of the ceiling, capped', () => {
    expect(retryDelayMs(1, () => 0, 1000, 30_000)).toBe(500);
    expect(retryDelayMs(1, () => 0.999_999, 1000, 30_000)).toBeCloseTo(1000, 0);
    expect(retryDelayMs(3, () => 0, 1000, 30_000)).toBe(2000);
    expect(retryDelayMs(20, () => 1, 1000, 30_000)).toBe(30_000);
  });
});
