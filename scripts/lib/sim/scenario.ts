/**
 * Scheduling scenarios as data (scripts/scenarios/*.json): engines with latency
 * distributions, failures, cold starts, deaths, speed changes, interference, lanes that
 * saturate with their own in-flight work or share a resource (the CPU), and the priors the
 * scheduler is given (to make them wrong). Validated with zod because they come from files
 * outside the code.
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
  /**
   * In-flight calls this lane serves at full speed; beyond it every call's latency scales by
   * in-flight / capacity (its throughput saturates), times the overload cost. Default: workers.
   */
  capacity: z.number().int().min(1).max(64).optional(),
  /** Each call in flight beyond `capacity` adds this share to every call's latency (thrashing); 0 = pure saturation. */
  overloadCost: z.number().min(0).max(10).default(0),
  /** Id of an entry of the scenario's `resources` this lane draws on (e.g. the CPU shared by in-process engines and a local service). */
  resource: z.string().min(1).max(64).optional(),
  /** Seconds per ad the scheduler is told to expect before it measures anything (default: its built-in prior for the engine). */
  prior_s: z.number().positive().optional(),
  /** Concurrency the scheduler starts this lane at, below its ceiling `workers` (a tuner grows it). */
  startConcurrency: z.number().int().min(1).max(64).optional(),
});
export type ScenarioLane = z.infer<typeof ScenarioLane>;

/** A resource shared by several lanes: calls in flight across them beyond `capacity` share it like `capacity` on one lane. */
const ScenarioResource = z.object({
  capacity: z.number().int().min(1).max(256),
  overloadCost: z.number().min(0).max(10).default(0),
});

export const Scenario = z
  .object({
    name: z.string().min(1),
    ads: z.number().int().min(1),
    seeds: z.number().int().min(1).default(20),
    maxAttempts: z.number().int().min(1).max(10).default(3),
    /** Batch size of the `seed-adaptive` baseline (the prototype's barrier per batch). */
    adaptiveBatch: z.number().int().min(1).default(20),
    lanes: z.array(ScenarioLane).min(1),
    resources: z.record(z.string(), ScenarioResource).default({}),
    /** The benchmark's target for `auto`: at most this × the lower bound. */
    autoWithinBound: z.number().min(1).default(1.08),
  })
  .superRefine((scenario, context) => {
    scenario.lanes.forEach((lane, index) => {
      if (lane.resource !== undefined && !(lane.resource in scenario.resources)) {
        context.addIssue({ code: 'custom', path: ['lanes', index, 'resource'], message: `unknown resource "${lane.resource}" (declare it under "resources")` });
      }
      if (lane.startConcurrency !== undefined && lane.startConcurrency > lane.workers) {
        context.addIssue({ code: 'custom', path: ['lanes', index, 'startConcurrency'], message: `startConcurrency ${lane.startConcurrency} is above workers ${lane.workers}` });
      }
    });
  });
export type Scenario = z.infer<typeof Scenario>;
export type ScenarioInput = z.input<typeof Scenario>;

/** A valid scenario, or an error listing each problem with where it is (e.g. `lanes[0].resource`). */
export function parseScenario(value: unknown): Scenario {
  const parsed = Scenario.safeParse(value);
  if (!parsed.success) throw new Error(`invalid scenario:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
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

/**
 * How much slower every call runs with `inFlight` calls on something that serves `capacity`
 * at full speed: 1 up to capacity, then in-flight / capacity (the throughput saturates),
 * times 1 + cost per call beyond it (the throughput falls).
 */
export function overloadFactor(inFlight: number, capacity: number, cost: number): number {
  return inFlight <= capacity ? 1 : (inFlight / capacity) * (1 + cost * (inFlight - capacity));
}

/** Failed calls take this share of a call's latency on average (uniform 0.2..1). */
export const MEAN_FAILURE_SHARE = 0.6;
