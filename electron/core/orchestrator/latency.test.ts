import { describe, expect, it } from 'vitest';
import { InterferenceStats, LatencyEstimator } from './latency.js';
import { seededRandom } from '../../../scripts/lib/sim/simulation.js';

describe('LatencyEstimator', () => {
  it('uses the prior plus the cold-start allowance before any measurement', () => {
    const estimator = new LatencyEstimator({ prior_s: 60, coldStart_s: 20 });
    expect(estimator.estimate()).toBeCloseTo(80, 9);
    expect(estimator.percentile(0.5)).toBeNull();
    // The prior is a starting guess only: the first warm measurement replaces it.
    estimator.observe(50);
    expect(estimator.estimate()).toBeCloseTo(50, 9);
  });

  it('corrects a prior 10× off in either direction after the first warm call', () => {
    for (const [prior, real] of [[4, 40], [40, 4]] as const) {
      const estimator = new LatencyEstimator({ prior_s: prior, coldStart_s: 2 });
      estimator.observe(real + 2, true);
      estimator.observe(real);
      expect(estimator.estimate()).toBeCloseTo(real, 9);
      estimator.observe(real * 1.1);
      expect(estimator.estimate()).toBeGreaterThan(real);
      expect(estimator.estimate()).toBeLessThan(real * 1.1);
    }
  });

  it('converges to the typical latency of the lane, away from a wrong prior', () => {
    const random = seededRandom(7);
    const estimator = new LatencyEstimator({ prior_s: 60 });
    for (let i = 0; i < 200; i++) estimator.observe(3 + 2 * random());
    expect(estimator.estimate()).toBeGreaterThan(3.6);
    expect(estimator.estimate()).toBeLessThan(4.4);
  });

  it('moves only a bounded step on an outlier', () => {
    const estimator = new LatencyEstimator({ prior_s: 4 });
    for (let i = 0; i < 50; i++) estimator.observe(4);
    estimator.observe(400);
    expect(estimator.estimate()).toBeLessThan(4 * 1.2);
  });

  it('counts a cold call at half weight', () => {
    const cold = new LatencyEstimator({ prior_s: 4, priorWeight: 1 });
    const warm = new LatencyEstimator({ prior_s: 4, priorWeight: 1 });
    cold.observe(8, true);
    warm.observe(8, false);
    expect(cold.estimate()).toBeLessThan(warm.estimate());
  });

  it('reports percentiles of the recent samples', () => {
    const estimator = new LatencyEstimator({ prior_s: 1, window: 100 });
    for (let i = 1; i <= 100; i++) estimator.observe(i);
    expect(estimator.percentile(0.5)).toBe(50);
    expect(estimator.percentile(0.95)).toBe(95);
  });
});

describe('LatencyEstimator.meanResidual_s', () => {
  it('is the mean time still to go of the calls that ran longer, once three did', () => {
    const estimator = new LatencyEstimator({ prior_s: 1 });
    for (const seconds of [1, 2, 3, 4, 10]) estimator.observe(seconds);
    expect(estimator.meanResidual_s(2.5)).toBeCloseTo((0.5 + 1.5 + 7.5) / 3, 9);
    expect(estimator.meanResidual_s(3.5)).toBeNull();
  });
});

describe('InterferenceStats', () => {
  const feed = (factor: number, seed: number): InterferenceStats => {
    const random = seededRandom(seed);
    const stats = new InterferenceStats();
    for (let i = 0; i < 8; i++) stats.add(3 + 2 * random(), 0);
    for (let i = 0; i < 10; i++) {
      const overlap = i < 2 ? 0.5 : 1;
      stats.add((3 + 2 * random()) * (1 + (factor - 1) * overlap), overlap);
    }
    return stats;
  };

  it('needs samples alone and overlapped before it says anything', () => {
    const stats = new InterferenceStats();
    stats.add(4, 0);
    stats.add(5, 1);
    expect(stats.estimate(2, 2)).toBeNull();
  });

  it('finds a 40 % slowdown with high confidence', () => {
    const slowdown = feed(1.4, 3)!.estimate(2, 2)!;
    expect(slowdown.excess).toBeGreaterThan(0.25);
    expect(slowdown.excess).toBeLessThan(0.55);
    expect(slowdown.z).toBeGreaterThan(3);
  });

  it('forgets the overlapped calls on clearOverlapped, and judges fresh ones against the same baseline', () => {
    const stats = feed(1.4, 3);
    stats.clearOverlapped();
    expect(stats.estimate(2, 2)).toBeNull();
    stats.add(4, 1);
    stats.add(4, 1);
    const slowdown = stats.estimate(2, 2)!;
    expect(Math.abs(slowdown.excess)).toBeLessThan(0.1);
    expect(slowdown.z).toBeLessThan(1.5);
  });

  it('does not take one long call of an engine whose calls vary for a slowdown', () => {
    const random = seededRandom(7);
    const stats = new InterferenceStats();
    // Lognormal calls (σ 0.3) alone; then two overlapped ones, one of them 3σ long (a plain ratio read that as z > 3).
    for (let i = 0; i < 10; i++) stats.add(2.5 * Math.exp(0.3 * (random() * 2 - 1) * 1.7), 0);
    stats.add(2.5 * Math.exp(0.3 * 3), 1);
    stats.add(2.5, 1);
    expect(stats.estimate(2, 2)!.z).toBeLessThan(2.5);
  });

  it('does not find a slowdown where there is none', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const slowdown = feed(1, seed).estimate(2, 2)!;
      expect(Math.abs(slowdown.excess)).toBeLessThan(0.15);
      expect(slowdown.z).toBeLessThan(2.5);
    }
  });
});
