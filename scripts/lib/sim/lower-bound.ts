/**
 * The scheduling lower bound of a scenario: the fluid makespan of the batch on the best
 * subset of its lanes, each lane at its best concurrency (its workers, or its capacity when
 * that is lower), lanes sharing a resource within what the resource can do, under the
 * scenario's cold starts, failures, deaths, speed changes and interference — and never
 * below one ad's time. "Fluid" means ads are divisible, so no schedule of mean-latency ads
 * can beat it. Every subset is tried because a lane can cost more than it brings (it slows
 * another down, or dies holding work), and a subset's time is never below the moment its
 * slowest lane can first finish an ad (a schedule that gets an ad from a lane waits that long),
 * which keeps the bound honest on small batches.
 *
 * Fluid ads are divisible, which a batch of 15 ads on 4 slots is not. Where every lane's
 * latency is NBUE (uniform or fixed: aborting a call and starting again never shortens the
 * expected time to an answer) and nothing couples the lanes (no shared resource, failures,
 * deaths, speed changes or interference), no schedule answers its k-th ad before the k-th
 * answer of every slot of every lane kept busy from its cold start: the bound is then also
 * at least the expected time of that process's N-th answer (`renewal_s`, by Monte Carlo,
 * less three standard errors).
 */
import { MEAN_FAILURE_SHARE, laneId, meanLatency_s, type Scenario, type ScenarioLane } from './scenario.js';
import { sampleLatency_s, seededRandom } from './simulation.js';

const EPSILON = 1e-9;
/** Up to this many lanes every subset is tried (2^12 fluid runs); beyond, subsets of whole engines. */
const MAX_LANES_FOR_ALL_SUBSETS = 12;

/** Seconds per successful ad on one worker, failed attempts included. */
function secondsPerSuccess(lane: ScenarioLane): number {
  const p = lane.failureRate;
  return meanLatency_s(lane.latency) * (1 + (MEAN_FAILURE_SHARE * p) / (1 - p));
}

/** The earliest a lane can finish its first ad: its cold start plus the shortest latency it draws. */
function earliestAd_s(lane: ScenarioLane): number {
  const latency = lane.latency;
  const shortest = latency.dist === 'uniform' ? latency.min_s : latency.dist === 'fixed' ? latency.value_s : 0;
  return lane.coldStart_s + shortest;
}

/** In-flight calls at which a lane does the most: more only shares (or thrashes) its capacity. */
export function bestConcurrency(lane: ScenarioLane): number {
  return Math.min(lane.workers, lane.capacity ?? lane.workers);
}

/**
 * Ads per second of these lanes together, given each lane's seconds per ad at full speed:
 * a lane alone does bestConcurrency / seconds; lanes on one resource share its capacity in
 * call slots, best spent on the lanes that finish an ad in the fewest seconds (a fractional
 * knapsack, so greedy is optimal).
 */
function combinedRate(scenario: Scenario, lanes: ReadonlyArray<{ lane: ScenarioLane; seconds: number }>): number {
  let rate = 0;
  const byResource = new Map<string, Array<{ lane: ScenarioLane; seconds: number }>>();
  for (const entry of lanes) {
    if (entry.lane.resource === undefined) rate += bestConcurrency(entry.lane) / entry.seconds;
    else byResource.set(entry.lane.resource, [...(byResource.get(entry.lane.resource) ?? []), entry]);
  }
  for (const [resource, sharing] of byResource) {
    let slots = scenario.resources[resource]!.capacity;
    for (const entry of [...sharing].sort((a, b) => a.seconds - b.seconds)) {
      const used = Math.min(slots, bestConcurrency(entry.lane));
      rate += used / entry.seconds;
      slots -= used;
      if (slots <= EPSILON) break;
    }
  }
  return rate;
}

/** Fluid makespan of the batch on a subset of lanes, all busy all the time. */
export function fluidMakespan_s(scenario: Scenario, lanes: readonly ScenarioLane[]): number {
  const total = scenario.ads;
  const fractionBreaks = [...new Set(lanes.flatMap((lane) => [lane.dieAtFraction, lane.speedChange?.atFraction]).filter((f): f is number => f !== undefined))].sort((a, b) => a - b);
  const timeBreaks = [...new Set(lanes.map((lane) => lane.coldStart_s).filter((t) => t > 0))].sort((a, b) => a - b);
  let time = 0;
  let done = 0;
  for (let guard = 0; guard < 1000; guard++) {
    const fraction = done / total;
    const alive = lanes.filter((lane) => lane.dieAtFraction === undefined || fraction < lane.dieAtFraction - EPSILON);
    const aliveEngines = new Set(alive.map((lane) => lane.engine));
    const working: Array<{ lane: ScenarioLane; seconds: number }> = [];
    for (const lane of alive) {
      if (time < lane.coldStart_s - EPSILON) continue;
      let factor = 1;
      if (lane.speedChange && fraction >= lane.speedChange.atFraction - EPSILON) factor *= lane.speedChange.factor;
      const slow = lane.slowdownWhileBusy;
      if (slow && slow.engine !== lane.engine && aliveEngines.has(slow.engine)) factor *= slow.factor;
      working.push({ lane, seconds: secondsPerSuccess(lane) * factor });
    }
    const rate = combinedRate(scenario, working);
    const nextFraction = fractionBreaks.find((f) => f > fraction + EPSILON);
    const nextTime = timeBreaks.find((t) => t > time + EPSILON);
    const toEnd = rate > 0 ? (total - done) / rate : Infinity;
    const toFraction = nextFraction !== undefined && rate > 0 ? (nextFraction * total - done) / rate : Infinity;
    const toTime = nextTime !== undefined ? nextTime - time : Infinity;
    const step = Math.min(toEnd, toFraction, toTime);
    if (!Number.isFinite(step)) return Infinity;
    time += step;
    done += rate * step;
    if (step === toEnd || done >= total - EPSILON) return time;
  }
  return Infinity;
}

/** Samples of the renewal bound: enough that its standard error is a small fraction of a latency. */
const RENEWAL_SAMPLES = 2000;
/** Beyond this many ads the fluid bound is within a hair of the renewal one and sampling it costs seconds. */
const RENEWAL_MAX_ADS = 2000;

/**
 * Expected time of the N-th answer when every slot of every lane runs calls back to back from
 * its cold start, or null where that is no bound (see the header).
 */
export function renewalMakespan_s(scenario: Scenario): number | null {
  const lanes = scenario.lanes;
  const independent = lanes.every(
    (lane) =>
      lane.latency.dist !== 'lognormal' &&
      lane.resource === undefined &&
      lane.failureRate === 0 &&
      lane.dieAtFraction === undefined &&
      lane.speedChange === undefined &&
      lane.slowdownWhileBusy === undefined &&
      (lane.capacity === undefined || lane.capacity >= lane.workers),
  );
  if (!independent || scenario.ads > RENEWAL_MAX_ADS) return null;
  // Seeded: the bound is the same on every run.
  const random = seededRandom(0x5eed);
  const n = scenario.ads;
  let sum = 0;
  let sumSquares = 0;
  for (let sample = 0; sample < RENEWAL_SAMPLES; sample++) {
    // Each slot's answer times; the N-th smallest over all of them.
    const times: number[] = [];
    for (const lane of lanes) {
      for (let slot = 0; slot < lane.workers; slot++) {
        let t = lane.coldStart_s;
        for (let k = 0; k < n; k++) {
          t += sampleLatency_s(lane.latency, random);
          times.push(t);
        }
      }
    }
    times.sort((a, b) => a - b);
    const nth = times[n - 1]!;
    sum += nth;
    sumSquares += nth * nth;
  }
  const mean = sum / RENEWAL_SAMPLES;
  const standardError = Math.sqrt(Math.max(0, sumSquares / RENEWAL_SAMPLES - mean * mean) / RENEWAL_SAMPLES);
  return Math.max(0, mean - 3 * standardError);
}

export interface LowerBound {
  lowerBound_s: number;
  /** The renewal bound (small batches of indivisible ads), where it applies. */
  renewal_s: number | null;
  /** Lane ids of the subset the bound is computed on. */
  bestLanes: string[];
  bestLanes_s: number;
  allLanes_s: number;
  fastestEngine: string;
  fastestEngineAlone_s: number;
  oneAd_s: number;
}

/** The subsets of lanes the bound tries: all of them when there are few lanes, else every set of whole engines. */
function laneSubsets(scenario: Scenario): ScenarioLane[][] {
  const lanes = scenario.lanes;
  if (lanes.length <= MAX_LANES_FOR_ALL_SUBSETS) {
    return Array.from({ length: 2 ** lanes.length - 1 }, (_, index) => lanes.filter((_, bit) => ((index + 1) >> bit) & 1));
  }
  const engines = [...new Set(lanes.map((lane) => lane.engine))];
  return Array.from({ length: 2 ** engines.length - 1 }, (_, index) => lanes.filter((lane) => ((index + 1) >> engines.indexOf(lane.engine)) & 1));
}

export function lowerBound(scenario: Scenario): LowerBound {
  const ids = new Map(scenario.lanes.map((lane, index) => [lane, laneId(lane, index)]));
  let best: { lanes: ScenarioLane[]; seconds: number } = { lanes: scenario.lanes, seconds: Infinity };
  for (const subset of laneSubsets(scenario)) {
    const seconds = Math.max(fluidMakespan_s(scenario, subset), ...subset.map(earliestAd_s));
    if (seconds < best.seconds) best = { lanes: subset, seconds };
  }
  let fastestEngine = scenario.lanes[0]!.engine as string;
  let fastestEngineAlone_s = Infinity;
  for (const engine of new Set(scenario.lanes.map((lane) => lane.engine))) {
    const alone = fluidMakespan_s(scenario, scenario.lanes.filter((lane) => lane.engine === engine));
    if (alone < fastestEngineAlone_s) {
      fastestEngineAlone_s = alone;
      fastestEngine = engine;
    }
  }
  const oneAd_s = Math.min(...scenario.lanes.map((lane) => lane.coldStart_s + meanLatency_s(lane.latency)));
  const renewal_s = renewalMakespan_s(scenario);
  return {
    lowerBound_s: Math.max(oneAd_s, best.seconds, renewal_s ?? 0),
    renewal_s,
    bestLanes: best.lanes.map((lane) => ids.get(lane)!),
    bestLanes_s: best.seconds,
    allLanes_s: fluidMakespan_s(scenario, scenario.lanes),
    fastestEngine,
    fastestEngineAlone_s,
    oneAd_s,
  };
}
