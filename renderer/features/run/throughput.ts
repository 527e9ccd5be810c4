/**
 * Throughput history for the chart: samples of each lane's finished count over time,
 * turned into ads per minute over a sliding window. Bounded, so a long run stays cheap.
 */
import type { RunProgress } from '../../../shared/domain.js';

export interface ThroughputSample {
  /** Seconds since the run started (the progress' elapsed_s). */
  t: number;
  finished: Record<string, number>;
}

export const MAX_SAMPLES = 400;
/** Below this spacing a new sample replaces the last one instead of adding a point. */
const MIN_SPACING_S = 1;

export function appendSample(history: readonly ThroughputSample[], progress: RunProgress): ThroughputSample[] {
  const finished: Record<string, number> = {};
  for (const lane of progress.lanes) finished[lane.laneId] = lane.done + lane.failed;
  const sample: ThroughputSample = { t: progress.elapsed_s, finished };
  const last = history[history.length - 1];
  if (last && sample.t < last.t) return [sample]; // a new run (or a restart): start over
  // The newest point stays open (replaced by each update) until it is a second past the one before.
  if (last && history.length > 1 && last.t - (history[history.length - 2]?.t ?? 0) < MIN_SPACING_S) {
    return [...history.slice(0, -1), sample];
  }
  const next = [...history, sample];
  if (next.length <= MAX_SAMPLES) return next;
  // Thin the older half so the whole run stays visible at a coarser resolution.
  const half = Math.floor(next.length / 2);
  return [...next.slice(0, half).filter((_, i) => i % 2 === 0), ...next.slice(half)];
}

export interface RatePoint {
  t: number;
  perMinute: number;
}

/** Ads per minute per lane, each point averaged over the preceding `windowS` seconds. */
export function ratesByLane(history: readonly ThroughputSample[], windowS = 10): Record<string, RatePoint[]> {
  const series: Record<string, RatePoint[]> = {};
  let start = 0;
  for (let i = 1; i < history.length; i++) {
    const current = history[i];
    if (!current) continue;
    while (start < i - 1 && current.t - (history[start + 1]?.t ?? current.t) >= windowS) start++;
    const from = history[start];
    if (!from) continue;
    const span = current.t - from.t;
    if (span <= 0) continue;
    for (const [laneId, count] of Object.entries(current.finished)) {
      const rate = ((count - (from.finished[laneId] ?? 0)) / span) * 60;
      (series[laneId] ??= []).push({ t: current.t, perMinute: Math.max(0, rate) });
    }
  }
  return series;
}
