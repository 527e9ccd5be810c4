import { describe, expect, it } from 'vitest';
import type { RunProgress } from '../../../shared/domain.js';
import { MAX_SAMPLES, appendSample, ratesByLane, type ThroughputSample } from './throughput.js';

function progress(elapsed: number, done: Record<string, number>): RunProgress {
  return {
    runId: 'r',
    status: 'running',
    policy: 'auto',
    total: 1000,
    done: 0,
    failed: 0,
    inFlight: 0,
    elapsed_s: elapsed,
    eta_s: null,
    notes: [],
    lanes: Object.entries(done).map(([laneId, d]) => ({ laneId, engine: 'embedded', label: laneId, state: { type: 'busy' }, workers: 1, concurrency: 1, done: d, failed: 0, inFlight: 0, share: 0, adsPerMinute: 0, p50_s: null, p95_s: null, estimate_s: null })),
  };
}

describe('throughput history', () => {
  it('computes ads per minute per lane from finished counts', () => {
    let history: ThroughputSample[] = [];
    for (let t = 0; t <= 20; t += 2) history = appendSample(history, progress(t, { fast: t * 2, slow: t / 2 }));
    const rates = ratesByLane(history, 10);
    expect(rates.fast?.at(-1)?.perMinute).toBeCloseTo(120);
    expect(rates.slow?.at(-1)?.perMinute).toBeCloseTo(30);
  });

  it('merges samples closer than a second and starts over when time goes back', () => {
    let history = appendSample([], progress(0, { a: 0 }));
    for (const t of [0.4, 0.8, 1.2]) history = appendSample(history, progress(t, { a: t }));
    expect(history.map((s) => s.t)).toEqual([0, 1.2]);
    history = appendSample(history, progress(1.5, { a: 2 }));
    expect(history.map((s) => s.t)).toEqual([0, 1.2, 1.5]);
    expect(appendSample(history, progress(0.1, { a: 0 }))).toHaveLength(1);
  });

  it('stays bounded on a long run and keeps its start', () => {
    let history: ThroughputSample[] = [];
    for (let t = 0; t < 5000; t++) history = appendSample(history, progress(t, { a: t }));
    expect(history.length).toBeLessThanOrEqual(MAX_SAMPLES);
    expect(history[0]?.t).toBe(0);
    expect(history.at(-1)?.t).toBe(4999);
  });
});
