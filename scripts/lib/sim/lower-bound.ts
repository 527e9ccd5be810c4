/**
 * The scheduling lower bound of a scenario: the lower of two fluid bounds — the whole batch
 * spread over all lanes at their mean rates (under the scenario's cold starts, failures,
 * deaths, speed changes and interference), and the batch on the fastest engine alone — and
 * never below one ad's time. "Fluid" means ads are divisible, so no schedule can beat it.
 */
import { MEAN_FAILURE_SHARE, meanLatency_s, type Scenario, type ScenarioLane } from './scenario.js';

const EPSILON = 1e-9;

/** Seconds per successful ad on one worker, failed attempts included. */
function secondsPerSuccess(lane: ScenarioLane): number {
  const p = lane.failureRate;
  return meanLatency_s(lane.latency) * (1 + (MEAN_FAILURE_SHARE * p) / (1 - p));
}

/** Fluid makespan of the batch on a subset of lanes, all busy all the time. */
export function fluidMakespan_s(scenario: Scenario, lanes: readonly ScenarioLane[]): number {
  const total = scenario.ads;
  const busyEngines = new Set(lanes.map((lane) => lane.engine));
  const fractionBreaks = [...new Set(lanes.flatMap((lane) => [lane.dieAtFraction, lane.speedChange?.atFraction]).filter((f): f is number => f !== undefined))].sort((a, b) => a - b);
  const timeBreaks = [...new Set(lanes.map((lane) => lane.coldStart_s).filter((t) => t > 0))].sort((a, b) => a - b);
  let time = 0;
  let done = 0;
  for (let guard = 0; guard < 1000; guard++) {
    const fraction = done / total;
    const alive = lanes.filter((lane) => lane.dieAtFraction === undefined || fraction < lane.dieAtFraction - EPSILON);
    const aliveEngines = new Set(alive.map((lane) => lane.engine));
    let rate = 0;
    for (const lane of alive) {
      if (time < lane.coldStart_s - EPSILON) continue;
      let factor = 1;
      if (lane.speedChange && fraction >= lane.speedChange.atFraction - EPSILON) factor *= lane.speedChange.factor;
      const slow = lane.slowdownWhileBusy;
      if (slow && slow.engine !== lane.engine && busyEngines.has(slow.engine) && aliveEngines.has(slow.engine)) factor *= slow.factor;
      rate += lane.workers / (secondsPerSuccess(lane) * factor);
    }
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

export interface LowerBound {
  lowerBound_s: number;
  allLanes_s: number;
  fastestEngine: string;
  fastestEngineAlone_s: number;
  oneAd_s: number;
}

export function lowerBound(scenario: Scenario): LowerBound {
  const allLanes_s = fluidMakespan_s(scenario, scenario.lanes);
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
  return {
    lowerBound_s: Math.max(oneAd_s, Math.min(allLanes_s, fastestEngineAlone_s)),
    allLanes_s,
    fastestEngine,
    fastestEngineAlone_s,
    oneAd_s,
  };
}
