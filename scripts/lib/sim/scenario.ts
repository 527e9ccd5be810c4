/**
 * Scheduling scenarios as data (scripts/scenarios/*.json): engines with latency
 * distributions, failures, cold starts, deaths, speed changes and interference. Validated
 * with zod because they come from files outside the code.
 */
import { z } from 'zod';
import { EngineKind } from '../../../shared/domain.js';

export const LatencyDistribution = z.discriminatedUnion('dist', [
  z.object({ dist: z.literal('uniform'), min_s: z.number().nonnegative(), max_s: z.number().nonnegative() }).refine((d) => d.max_s >= d.min_s, 'max_s < min_s'),
  z.object({ dist: z.literal('lognormal'), median_s: z.number().positive(), sigma: z.number().nonnegative() }),
  z.object({ dist: z.literal('fixed'), value_s: z.number().nonnegative() }),
]);
export type LatencyDistribution = z.infer<typeof LatencyDistribution>;

export const ScenarioLane = z.object({
  /** Defaults to `<engine>-<index>`. */
  id: z.string().min(1).max(64).optional(),
  engine: EngineKind,
  workers: z.number().int().min(1).max(64),
  latency: LatencyDistribution,
  /** Share of calls that fail with a transient error (after part of their latency). */
  failureRate: z.number().min(0).max(0.95).default(0),
  /** Extra seconds before the lane's first calls can run (model load); calls arriving meanwhile wait. */
  coldStart_s: z.number().nonnegative().default(0),
  /** The lane's server dies once this fraction of the batch is done: calls fail as unavailable from then on. */
  dieAtFraction: z.number().min(0).max(1).optional(),
  /** Latencies are multiplied by `factor` once `atFraction` of the batch is done. */
  speedChange: z.object({ atFraction: z.number().min(0).max(1), factor: z.number().positive() }).optional(),
  /** Latencies are multiplied by `factor` while any lane of `engine` is busy (shared GPU / memory). */
  slowdownWhileBusy: z.object({ engine: EngineKind, factor: z.number().positive() }).optional(),
});
export type ScenarioLane = z.infer<typeof ScenarioLane>;

export const Scenario = z.object({
  name: z.string().min(1),
  ads: z.number().int().min(1),
  seeds: z.number().int().min(1).default(20),
  maxAttempts: z.number().int().min(1).max(10).default(3),
  /** Batch size of the `seed-adaptive` baseline (the prototype's barrier per batch). */
  adaptiveBatch: z.number().int().min(1).default(20),
  lanes: z.array(ScenarioLane).min(1),
});
export type Scenario = z.infer<typeof Scenario>;
export type ScenarioInput = z.input<typeof Scenario>;

export function parseScenario(value: unknown): Scenario {
  return Scenario.parse(value);
}

export function laneId(lane: ScenarioLane, index: number): string {
  return lane.id ?? `${lane.engine}-${index}`;
}

/** Mean seconds of one call drawn from the distribution. */
export function meanLatency_s(latency: LatencyDistribution): number {
  switch (latency.dist) {
    case 'uniform':
      return (latency.min_s + latency.max_s) / 2;
    case 'lognormal':
      return latency.median_s * Math.exp((latency.sigma * latency.sigma) / 2);
    case 'fixed':
      return latency.value_s;
  }
}

/** Failed calls take this share of a call's latency on average (uniform 0.2..1). */
export const MEAN_FAILURE_SHARE = 0.6;
