/** The split between lanes: user weights for the `ratio` policy and the shares a run actually shows. */
import type { LaneProgress } from '../../../shared/domain.js';

/** Weights (any scale ≥ 0) → fractions of 1 over the given lanes; all-zero splits evenly. */
export function normalizeSplit(weights: Readonly<Record<string, number>>, laneIds: readonly string[]): Record<string, number> {
  const clean = laneIds.map((id) => Math.max(0, weights[id] ?? 0));
  const sum = clean.reduce((a, b) => a + b, 0);
  const result: Record<string, number> = {};
  laneIds.forEach((id, i) => {
    result[id] = sum > 0 ? (clean[i] ?? 0) / sum : 1 / laneIds.length;
  });
  return result;
}

/** Two lanes share one slider: its value is lane `first`'s percent. */
export function sliderPercent(weights: Readonly<Record<string, number>>, first: string, second: string): number {
  const normal = normalizeSplit(weights, [first, second]);
  return Math.round((normal[first] ?? 0.5) * 100);
}

export function splitFromSlider(percent: number, first: string, second: string): Record<string, number> {
  const p = Math.min(100, Math.max(0, Math.round(percent))) / 100;
  return { [first]: p, [second]: Math.round((1 - p) * 100) / 100 };
}

/** The split the scheduler is really making: each lane's share of the finished ads. */
export function actualShares(lanes: readonly LaneProgress[]): Record<string, number> {
  const finished = lanes.reduce((sum, lane) => sum + lane.done + lane.failed, 0);
  const shares: Record<string, number> = {};
  for (const lane of lanes) shares[lane.laneId] = finished > 0 ? (lane.done + lane.failed) / finished : lane.share;
  return shares;
}
