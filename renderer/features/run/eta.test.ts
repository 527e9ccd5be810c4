import { describe, expect, it } from 'vitest';
import type { LaneProgress, RunProgress } from '../../../shared/domain.js';
import { honestEta } from './eta.js';

const lane = (laneId: string, adsPerMinute: number, state: LaneProgress['state'] = { type: 'busy' }): LaneProgress => ({
  laneId,
  engine: 'embedded',
  label: laneId,
  state,
  workers: 1, concurrency: 1,
  done: 0,
  failed: 0,
  inFlight: 0,
  share: 0,
  adsPerMinute,
  p50_s: null,
  p95_s: null,
  estimate_s: null,
});

const progress = (eta: number | null, lanes: LaneProgress[], done = 137): RunProgress => ({
  runId: 'r',
  status: 'running',
  policy: 'ratio',
  total: 600,
  done,
  failed: 0,
  inFlight: 1,
  elapsed_s: 8,
  eta_s: eta,
  lanes,
  notes: [],
});

describe('honestEta', () => {
  it('does not count a lane that the split holds back', () => {
    // 463 ads left, only the slow lane (150 ads/min) still working: at least 185 s.
    const eta = honestEta(progress(21, [lane('fast', 940, { type: 'paused-by-scheduler', reason: 'its share of the split is done' }), lane('slow', 150)]));
    expect(eta).toBeCloseTo(185.2, 1);
  });

  it('keeps the backend estimate when it is the longer one', () => {
    expect(honestEta(progress(500, [lane('a', 600)]))).toBe(500);
  });

  it('falls back to the lanes when the backend has no estimate, and is zero when done', () => {
    expect(honestEta(progress(null, [lane('a', 60)], 590))).toBe(10);
    expect(honestEta(progress(null, [], 600))).toBe(0);
    expect(honestEta(progress(null, [lane('a', 0)]))).toBeNull();
  });
});
