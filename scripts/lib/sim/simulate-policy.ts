/**
 * Runs one scheduling policy on one seeded simulation of a scenario, on a virtual clock.
 * The baselines of the prototype are built from the same orchestrator: `seed-static-50-50`
 * is one `single` run per engine on its half of the list, `seed-adaptive` a `ratio` run per
 * batch with a barrier between batches and speeds re-measured after each.
 */
import type { Ad, AdResult, EngineKind } from '../../../shared/domain.js';
import { startRun, type SchedulerTuning, type StartRunOptions } from '../../../electron/core/orchestrator/index.js';
import { VirtualClock } from '../../../electron/core/orchestrator/clock.js';
import { MemoryRunStore } from '../../../electron/core/orchestrator/memory-store.js';
import { apportion } from '../../../electron/core/orchestrator/quotas.js';
import { SimulatedMac, seededRandom } from './simulation.js';
import type { Scenario } from './scenario.js';

export type BenchPolicy = 'seed-static-50-50' | 'seed-adaptive' | 'ratio' | 'auto' | `single:${EngineKind}`;

export interface SimOutcome {
  makespan_s: number;
  done: number;
  failed: number;
}

/**
 * A policy's score: the makespan stretched by the ads it failed, i.e. the time it would take
 * at the same pace to get the whole batch done — so failing ads never looks fast.
 */
export function score_s(outcome: SimOutcome, ads: number): number {
  return outcome.done > 0 ? (outcome.makespan_s * ads) / outcome.done : Infinity;
}

export function makeAds(count: number): Ad[] {
  return Array.from({ length: count }, (_, i) => ({ creativeId: `ad-${i}`, imageUrl: `sim://ad-${i}.png` }));
}

export function enginesOf(scenario: Scenario): EngineKind[] {
  return [...new Set(scenario.lanes.map((lane) => lane.engine))];
}

/**
 * What each shared resource can do, for a concurrency tuner that keeps lanes on one resource
 * within it. Spread in untyped so this runs on orchestrators without the option, which ignore it.
 */
function resourceBudgets(scenario: Scenario): object {
  const entries = Object.entries(scenario.resources);
  return entries.length > 0 ? { resourceBudgets: Object.fromEntries(entries.map(([id, resource]) => [id, resource.capacity])) } : {};
}

export async function simulatePolicy(scenario: Scenario, policy: BenchPolicy, seed: number, tuning: Partial<SchedulerTuning> = {}): Promise<SimOutcome> {
  const clock = new VirtualClock();
  const mac = new SimulatedMac(scenario, { clock, seed });
  const ads = makeAds(scenario.ads);
  const store = new MemoryRunStore();
  const random = seededRandom(seed * 31 + 17);
  const base = (runId: string, runAds: Ad[]): Pick<StartRunOptions, 'runId' | 'ads' | 'store' | 'loadImage' | 'clock' | 'random' | 'maxAttempts' | 'tuning'> => ({
    runId,
    ads: runAds,
    store,
    loadImage: mac.loadImage,
    clock,
    random,
    maxAttempts: scenario.maxAttempts,
    tuning,
    ...resourceBudgets(scenario),
  });
  const engines = enginesOf(scenario);
  let done = 0;
  let failed = 0;
  const count = (summary: { done: number; failed: number }): void => {
    done += summary.done;
    failed += summary.failed;
  };

  if (policy === 'auto' || policy === 'ratio') {
    const split = Object.fromEntries(engines.map((engine) => [engine, 1 / engines.length]));
    const run = startRun({ ...base('run', ads), lanes: mac.orchestratorLanes(), policy, split });
    count(await clock.runUntil(run.done));
  } else if (policy.startsWith('single:')) {
    const engine = policy.slice('single:'.length) as EngineKind;
    const run = startRun({ ...base('run', ads), lanes: mac.orchestratorLanes((lane) => lane.engine === engine), policy: 'single', singleEngine: engine });
    count(await clock.runUntil(run.done));
  } else if (policy === 'seed-static-50-50') {
    const parts = apportion(ads.length, engines.map(() => 1));
    let offset = 0;
    const runs = engines.map((engine, index) => {
      const part = ads.slice(offset, offset + parts[index]!);
      offset += parts[index]!;
      return startRun({ ...base(`static-${engine}`, part), lanes: mac.orchestratorLanes((lane) => lane.engine === engine), policy: 'single', singleEngine: engine }).done;
    });
    for (const summary of await clock.runUntil(Promise.all(runs))) count(summary);
  } else {
    // The prototype's "adaptive" balancer: split each batch by the speeds measured in the previous one, barrier in between.
    let weights = new Map(engines.map((engine) => [engine, 1]));
    const workers = new Map(engines.map((engine) => [engine, scenario.lanes.filter((lane) => lane.engine === engine).reduce((sum, lane) => sum + lane.workers, 0)]));
    for (let start = 0, batch = 0; start < ads.length; start += scenario.adaptiveBatch, batch++) {
      const results: AdResult[] = [];
      const run = startRun({
        ...base(`adaptive-${batch}`, ads.slice(start, start + scenario.adaptiveBatch)),
        lanes: mac.orchestratorLanes(),
        policy: 'ratio',
        split: Object.fromEntries(weights),
        onResult: (result) => results.push(result),
      });
      count(await clock.runUntil(run.done));
      const next = new Map(weights);
      for (const engine of engines) {
        const durations = results.filter((result) => result.engine === engine && result.durationMs !== null).map((result) => result.durationMs!);
        if (durations.length === 0) continue;
        const mean_s = durations.reduce((sum, ms) => sum + ms, 0) / durations.length / 1000;
        next.set(engine, workers.get(engine)! / mean_s);
      }
      weights = next;
    }
  }
  return { makespan_s: clock.now() / 1000, done, failed };
}
