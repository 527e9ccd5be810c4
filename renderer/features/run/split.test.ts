import { describe, expect, it } from 'vitest';
import type { LaneProgress } from '../../../shared/domain.js';
import { actualShares, normalizeSplit, sliderPercent, splitFromSlider } from './split.js';

const lane = (laneId: string, done: number, failed = 0): LaneProgress => ({
  laneId,
  engine: 'embedded',
  label: laneId,
  state: { type: 'busy' },
  workers: 1, concurrency: 1,
  done,
  failed,
  inFlight: 0,
  share: 0,
  adsPerMinute: 0,
  p50_s: null,
  p95_s: null,
  estimate_s: null,
});

describe('split', () => {
  it('normalises weights over the given lanes and splits evenly when all are zero', () => {
    expect(normalizeSplit({ a: 3, b: 1, c: 9 }, ['a', 'b'])).toEqual({ a: 0.75, b: 0.25 });
    expect(normalizeSplit({}, ['a', 'b', 'c', 'd'])).toEqual({ a: 0.25, b: 0.25, c: 0.25, d: 0.25 });
  });
  it('maps one slider to two lanes and back', () => {
    const split = splitFromSlider(70, 'fast', 'slow');
    expect(split).toEqual({ fast: 0.7, slow: 0.3 });
    expect(sliderPercent(split, 'fast', 'slow')).toBe(70);
    expect(splitFromSlider(140, 'a', 'b')).toEqual({ a: 1, b: 0 });
  });
  it('derives the real split from finished ads, failures included', () => {
    expect(actualShares([lane('a', 6, 2), lane('b', 2)])).toEqual({ a: 0.8, b: 0.2 });
  });
});
