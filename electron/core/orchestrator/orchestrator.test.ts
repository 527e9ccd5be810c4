import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RunProgress, type Ad, type AdResult, type EngineKind, type LaneConfig, type Policy, type RecognizeResult, type Split } from '../../../shared/domain.js';
import { EngineError, type Engine, type EngineImage } from '../engines/types.js';
import { apportion } from './quotas.js';
import { realClock, sleep, VirtualClock } from './clock.js';
import { MemoryRunStore } from './memory-store.js';
import { startRun, type Comparison, type Orchestrator, type OrchestratorLane, type StartRunOptions } from './orchestrator.js';
import { parseScenario, type ScenarioInput } from '../../../scripts/lib/sim/scenario.js';
import { SimulatedMac, seededRandom } from '../../../scripts/lib/sim/simulation.js';

const makeAds = (count: number): Ad[] => Array.from({ length: count }, (_, i) => ({ creativeId: `ad-${i}`, imageUrl: `sim://${i}` }));
const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface SimRun {
  run: Orchestrator;
  clock: VirtualClock;
  mac: SimulatedMac;
  store: MemoryRunStore;
  results: AdResult[];
  /** Creative ids each engine call was made for, in order. */
  calls: string[];
}

function simRun(
  input: ScenarioInput,
  options: Partial<StartRunOptions> & { seed?: number; store?: MemoryRunStore; clock?: VirtualClock; lanes?: OrchestratorLane[] } = {},
): SimRun {
  const scenario = parseScenario(input);
  const clock = options.clock ?? new VirtualClock();
  const seed = options.seed ?? 1;
  const mac = new SimulatedMac(scenario, { clock, seed });
  const store = options.store ?? new MemoryRunStore();
  const results: AdResult[] = [];
  const calls: string[] = [];
  const lanes = (options.lanes ?? mac.orchestratorLanes()).map((lane) => ({
    ...lane,
    engine: {
      ...lane.engine,
      recognize: (image: Parameters<Engine['recognize']>[0], signal: AbortSignal) => {
        calls.push(new TextDecoder().decode(image.bytes));
        return lane.engine.recognize(image, signal);
      },
    },
  }));
  const run = startRun({
    runId: 'run',
    ads: makeAds(scenario.ads),
    store,
    loadImage: mac.loadImage,
    clock,
    random: seededRandom(seed + 99),
    maxAttempts: scenario.maxAttempts,
    ...options,
    lanes,
    onResult: (result) => {
      results.push(result);
      options.onResult?.(result);
    },
  });
  return { run, clock, mac, store, results, calls };
}

/** An engine whose calls sleep `latency()` ms on the clock; `busy.inFlight` counts its calls in flight. */
function sleepingEngine(clock: VirtualClock, kind: EngineKind, latency: () => number, busy?: { inFlight: number }): Engine {
  return {
    kind,
    label: kind,
    recognize: async (_image, signal) => {
      if (busy) busy.inFlight++;
      try {
        await sleep(clock, latency(), signal);
      } finally {
        if (busy) busy.inFlight--;
      }
      return { text: 'x', blocks: [], model: kind, timings: {} };
    },
  };
}

const oneByteImage = (): Promise<EngineImage> => Promise.resolve({ bytes: new Uint8Array(1), mime: 'image/png' });

const ENGINES = ['deepseek', 'ollama', 'embedded'] as const;

const laneArb = fc.record({
  engine: fc.constantFrom(...ENGINES),
  workers: fc.integer({ min: 1, max: 4 }),
  latency: fc.oneof(
    fc.record({ min: fc.integer({ min: 1, max: 50 }), span: fc.integer({ min: 0, max: 600 }) }).map(({ min, span }) => ({ dist: 'uniform' as const, min_s: min / 10, max_s: (min + span) / 10 })),
    fc.record({ median: fc.integer({ min: 1, max: 600 }), sigma: fc.integer({ min: 0, max: 10 }) }).map(({ median, sigma }) => ({ dist: 'lognormal' as const, median_s: median / 10, sigma: sigma / 10 })),
  ),
  failureRate: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 40 }).map((p) => p / 100)),
  coldStart_s: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30 })),
  dieAtFraction: fc.option(fc.integer({ min: 0, max: 100 }).map((p) => p / 100), { nil: undefined }),
  slowdownWhileBusy: fc.option(fc.record({ engine: fc.constantFrom(...ENGINES), factor: fc.integer({ min: 10, max: 30 }).map((f) => f / 10) }), { nil: undefined }),
});

const scenarioArb = fc.record({
  name: fc.constant('prop'),
  ads: fc.integer({ min: 1, max: 40 }),
  maxAttempts: fc.integer({ min: 1, max: 4 }),
  lanes: fc.array(laneArb, { minLength: 1, maxLength: 3 }),
});

const policyArb = fc.constantFrom<Policy>('auto', 'ratio', 'single', 'compare');

function enginesOf(input: ScenarioInput): EngineKind[] {
  return [...new Set(input.lanes.map((lane) => lane.engine))];
}

describe('Orchestrator: properties', () => {
  it('every ad ends exactly once (once per engine in compare), with reasons when it fails, and no lane exceeds its workers', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, policyArb, fc.integer({ min: 1, max: 1000 }), async (input, policy, seed) => {
        const sim = simRun(input, { policy, seed });
        const summary = await sim.clock.runUntil(sim.run.done);
        await nextMacrotask();
        const engines = enginesOf(input);
        const perAd = policy === 'compare' ? engines.length : 1;
        expect(summary.status).toBe('finished');
        expect(summary.total).toBe(input.ads * perAd);
        expect(summary.done + summary.failed).toBe(summary.total);
        expect(sim.results).toHaveLength(input.ads * perAd);
        expect(sim.store.saveCalls).toBe(input.ads * perAd);
        const keys = new Set(sim.results.map((result) => `${result.creativeId}/${policy === 'compare' ? result.engine : ''}`));
        expect(keys.size).toBe(input.ads * perAd);
        for (const result of sim.results) {
          if (result.status === 'failed') {
            expect(result.error).toBeTruthy();
            const errors = result.attempts.filter((attempt) => attempt.outcome === 'error');
            // Ads still queued when every lane for them has been failing for minutes fail untried, saying so.
            if (errors.length === 0) expect(result.error).toMatch(/^no engine could process it: .+: (unavailable|transient): /);
            // An unavailable lane counts half against the ad; a backup's failure does not count while the original runs.
            const weighted = errors.reduce((sum, attempt) => sum + (attempt.error?.includes(': unavailable:') ? 0.5 : 1), 0);
            expect(weighted).toBeLessThanOrEqual((input.maxAttempts ?? 3) + 2);
          } else {
            expect(result.text).toBe(`text of ${result.creativeId}`);
            if (policy === 'single') expect(result.engine).toBe(summary.lanes.find((lane) => lane.done > 0)?.engine);
          }
        }
        for (const lane of sim.mac.lanes) {
          expect(lane.maxActive).toBeLessThanOrEqual(lane.config.workers);
          expect(lane.active).toBe(0);
        }
        expect(sim.run.progress().inFlight).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it('ratio gives each engine its share of the ads, ±1', async () => {
    // Healthy: no failures, and no call ten times longer than its lane has been seen to take (ratio takes a lane whose every call runs that long for hung).
    const healthyLane = laneArb.map((lane) => ({ ...lane, failureRate: 0, dieAtFraction: undefined, latency: lane.latency.dist === 'lognormal' ? { ...lane.latency, sigma: Math.min(lane.latency.sigma, 0.5) } : lane.latency }));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }),
        fc.array(healthyLane, { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 3, maxLength: 3 }),
        async (ads, lanes, weights) => {
          const input: ScenarioInput = { name: 'ratio', ads, lanes };
          const engines = enginesOf(input);
          const split: Split = Object.fromEntries(ENGINES.map((engine, i) => [engine, weights[i]! / 10]));
          const sim = simRun(input, { policy: 'ratio', split });
          await sim.clock.runUntil(sim.run.done);
          const expected = apportion(ads, engines.map((engine) => split[engine]!));
          engines.forEach((engine, i) => {
            const done = sim.results.filter((result) => result.engine === engine).length;
            expect(Math.abs(done - expected[i]!)).toBeLessThanOrEqual(1);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('cancel leaves no work in flight and keeps every finished result', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, policyArb, fc.integer({ min: 0, max: 300_000 }), async (input, policy, cancelAtMs) => {
        const sim = simRun(input, { policy });
        sim.clock.setTimer(cancelAtMs, () => sim.run.cancel());
        const summary = await sim.clock.runUntil(sim.run.done);
        await nextMacrotask();
        expect(sim.run.progress().inFlight).toBe(0);
        for (const lane of sim.mac.lanes) expect(lane.active).toBe(0);
        expect(sim.store.resultsOf('run')).toHaveLength(summary.done + summary.failed);
        expect(sim.store.resultsOf('run')).toHaveLength(sim.results.length);
        expect(sim.store.runStatus('run')).toBe(summary.status);
        if (summary.status === 'cancelled') expect(sim.clock.now()).toBe(cancelAtMs);
      }),
      { numRuns: 60 },
    );
  });

  it('a resumed run does not run finished ads again, and ends with every ad once', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, fc.constantFrom<Policy>('auto', 'ratio', 'compare'), fc.integer({ min: 0, max: 200_000 }), async (input, policy, cancelAtMs) => {
        const store = new MemoryRunStore();
        const first = simRun(input, { policy, store, seed: 1 });
        first.clock.setTimer(cancelAtMs, () => first.run.cancel());
        await first.clock.runUntil(first.run.done);
        const finishedBefore = new Set(store.resultsOf('run').map((result) => `${result.creativeId}/${policy === 'compare' ? result.engine : ''}`));
        const second = simRun(input, { policy, store, seed: 2 });
        const summary = await second.clock.runUntil(second.run.done);
        expect(summary.status).toBe('finished');
        expect(summary.skipped).toBe(finishedBefore.size);
        for (const result of second.results) {
          expect(finishedBefore.has(`${result.creativeId}/${policy === 'compare' ? result.engine : ''}`)).toBe(false);
        }
        if (policy !== 'compare') for (const id of second.calls) expect(finishedBefore.has(`${id}/`)).toBe(false);
        const perAd = policy === 'compare' ? enginesOf(input).length : 1;
        expect(store.resultsOf('run')).toHaveLength(input.ads * perAd);
        expect(store.saveCalls).toBe(input.ads * perAd);
      }),
      { numRuns: 50 },
    );
  });
});

const seedProfile: ScenarioInput = {
  name: 'seed',
  ads: 100,
  lanes: [
    { engine: 'deepseek', workers: 2, latency: { dist: 'uniform', min_s: 3, max_s: 5 } },
    { engine: 'ollama', workers: 2, latency: { dist: 'uniform', min_s: 45, max_s: 90 } },
  ],
};

describe('Orchestrator: auto', () => {
  it('keeps both engines busy and ends close to the lower bound on the seed profile', async () => {
    const sim = simRun(seedProfile, { policy: 'auto' });
    const summary = await sim.clock.runUntil(sim.run.done);
    expect(summary.done).toBe(100);
    const ollama = summary.lanes.find((lane) => lane.engine === 'ollama')!;
    expect(ollama.done).toBeGreaterThan(0);
    // The fluid bound is 188.8 s; 50/50 would take ~1690 s.
    expect(sim.clock.now() / 1000).toBeLessThan(188.8 * 1.1);
  });

  it('backs a straggler up on the idle fast lane; the first result wins and the other call is aborted', async () => {
    const sim = simRun(
      {
        name: 'straggler',
        ads: 200,
        lanes: [
          { engine: 'deepseek', workers: 1, latency: { dist: 'fixed', value_s: 1 } },
          { engine: 'ollama', workers: 1, latency: { dist: 'fixed', value_s: 100 } },
        ],
      },
      { policy: 'auto' },
    );
    const summary = await sim.clock.runUntil(sim.run.done);
    expect(summary.done).toBe(200);
    const backedUp = sim.results.filter((result) => result.attempts.some((attempt) => attempt.outcome === 'aborted' && attempt.error?.startsWith('superseded')));
    expect(backedUp.length).toBeGreaterThan(0);
    expect(sim.results).toHaveLength(200);
    expect(sim.mac.laneById('ollama-1')!.aborted).toBeGreaterThan(0);
    expect(summary.notes.some((note) => note.includes('backing up'))).toBe(true);
    // Without the backup the batch would wait for the slow lane's last call.
    expect(sim.clock.now() / 1000).toBeLessThan(205);
  });

  it('backs up an overdue call of a long-tailed lane: it is expected to run as long as its lane\'s long calls did', async () => {
    const clock = new VirtualClock();
    let slowCalls = 0;
    const engine = (kind: EngineKind, latency: () => number): Engine => sleepingEngine(clock, kind, latency);
    // Every third call of the second lane takes 30 s, the others 2 s: past its estimate, a call has a long way to go.
    const lanes: OrchestratorLane[] = [
      { config: { id: 'embedded-0', engine: 'embedded', workers: 1, enabled: true }, engine: engine('embedded', () => 1_000), prior_s: 1 },
      { config: { id: 'openai-1', engine: 'openai', workers: 4, enabled: true }, engine: engine('openai', () => (++slowCalls % 3 === 0 ? 30_000 : 2_000)), prior_s: 2 },
    ];
    const results: AdResult[] = [];
    const run = startRun({ runId: 'r', ads: makeAds(40), store: new MemoryRunStore(), loadImage: oneByteImage, clock, lanes, policy: 'auto', onResult: (result) => results.push(result) });
    const summary = await clock.runUntil(run.done);
    expect(summary.done).toBe(40);
    const backedUp = results.filter((result) => result.engine === 'embedded' && result.attempts.some((attempt) => attempt.engine === 'openai' && attempt.outcome === 'aborted'));
    expect(backedUp.length).toBeGreaterThan(0);
    // The last answer comes from the fast lane, not from the end of a 30 s call.
    const lastOpenaiStart = Math.max(...results.flatMap((result) => result.attempts.filter((attempt) => attempt.engine === 'openai').map((attempt) => attempt.startedAt)));
    expect(clock.now()).toBeLessThan(lastOpenaiStart + 30_000);
  });

  it('ratio: a lane that hangs (every call far past its time) gives its share and its stuck ads to the lane that is free', async () => {
    const clock = new VirtualClock();
    let ollamaCalls = 0;
    const engine = (kind: EngineKind, latency: () => number): Engine => sleepingEngine(clock, kind, latency);
    // Ollama answers in 300 ms, then hangs: from its 7th call on it answers only after 10 minutes (its body timeout).
    const lanes: OrchestratorLane[] = [
      { config: { id: 'ollama-0', engine: 'ollama', workers: 2, enabled: true }, engine: engine('ollama', () => (++ollamaCalls > 6 ? 600_000 : 300)), prior_s: 0.3 },
      { config: { id: 'embedded-1', engine: 'embedded', workers: 1, enabled: true }, engine: engine('embedded', () => 200), prior_s: 0.2 },
    ];
    const results: AdResult[] = [];
    const run = startRun({ runId: 'r', ads: makeAds(40), store: new MemoryRunStore(), loadImage: oneByteImage, clock, lanes, policy: 'ratio', split: { ollama: 0.5, embedded: 0.5 }, onResult: (result) => results.push(result) });
    const summary = await clock.runUntil(run.done);
    expect(summary.done).toBe(40);
    // Before: the embedded lane sat idle at its 20 ('its share of the split is done') until the hung calls timed out.
    expect(results.filter((result) => result.engine === 'embedded').length).toBeGreaterThan(30);
    expect(clock.now()).toBeLessThan(600_000);
    expect(summary.notes.some((note) => note.includes('ollama cannot work now'))).toBe(true);
  });

  it('announces the ads next in line before they start (their images can download meanwhile), never one already done', async () => {
    const clock = new VirtualClock();
    const ads = makeAds(30);
    const store = new MemoryRunStore();
    // A resumed run: the first five ended in an earlier session.
    const first = startRun({ runId: 'r', ads: ads.slice(0, 5), store, loadImage: oneByteImage, clock, lanes: [{ config: { id: 'embedded-0', engine: 'embedded', workers: 1, enabled: true }, engine: sleepingEngine(clock, 'embedded', () => 100), prior_s: 0.1 }] });
    await clock.runUntil(first.done);
    const announced = new Map<string, number>();
    const startedAt = new Map<string, number>();
    let pass = 0;
    const lanes: OrchestratorLane[] = [
      { config: { id: 'embedded-0', engine: 'embedded', workers: 2, enabled: true }, engine: sleepingEngine(clock, 'embedded', () => 200), prior_s: 0.2 },
      { config: { id: 'ollama-1', engine: 'ollama', workers: 1, enabled: true }, engine: sleepingEngine(clock, 'ollama', () => 700), prior_s: 0.7 },
    ];
    const run = startRun({
      runId: 'r',
      ads,
      store,
      clock,
      lanes,
      policy: 'auto',
      loadImage: (ad) => {
        if (!startedAt.has(ad.creativeId)) startedAt.set(ad.creativeId, pass);
        return oneByteImage();
      },
      onUpcoming: (upcoming) => {
        pass++;
        expect(upcoming.length).toBeLessThanOrEqual(3);
        for (const ad of upcoming) {
          expect(startedAt.has(ad.creativeId), `${ad.creativeId} announced after it started`).toBe(false);
          if (!announced.has(ad.creativeId)) announced.set(ad.creativeId, pass);
        }
      },
    });
    const summary = await clock.runUntil(run.done);
    expect([summary.done, summary.skipped]).toEqual([30, 5]);
    for (const done of ads.slice(0, 5)) expect(announced.has(done.creativeId)).toBe(false);
    // All but the first wave (started in the first pass) were announced in an earlier pass than the one that started them.
    const late = ads.slice(5).filter((ad) => !(announced.get(ad.creativeId)! <= startedAt.get(ad.creativeId)!));
    expect(late.length).toBeLessThanOrEqual(3);
  });

  it('announces nothing while paused (a loader lets its images go) and as many as the workers are now', async () => {
    const clock = new VirtualClock();
    const lanes: OrchestratorLane[] = [{ config: { id: 'embedded-0', engine: 'embedded', workers: 2, enabled: true }, engine: sleepingEngine(clock, 'embedded', () => 100), prior_s: 0.1 }];
    const announcements: { at: number; size: number }[] = [];
    const run = startRun({ runId: 'r', ads: makeAds(100), store: new MemoryRunStore(), loadImage: oneByteImage, clock, lanes, policy: 'single', onUpcoming: (upcoming) => announcements.push({ at: clock.now(), size: upcoming.length }) });
    clock.setTimer(1000, () => run.pause());
    clock.setTimer(2000, () => {
      run.setLaneWorkers('embedded-0', 5);
      run.resume();
    });
    await clock.runUntil(run.done);
    const beforePause = announcements.filter((a) => a.at < 1000);
    expect(Math.max(...beforePause.map((a) => a.size))).toBe(2);
    expect(announcements.filter((a) => a.at >= 1000 && a.at < 2000).map((a) => a.size)).toEqual([0]);
    expect(Math.max(...announcements.filter((a) => a.at >= 2000).map((a) => a.size))).toBe(5);
  });

  it('in compare, announces each working queue in turn: a slow or dead engine does not crowd out the fast one', async () => {
    const clock = new VirtualClock();
    let ollamaCalls = 0;
    const dying: Engine = {
      kind: 'ollama',
      label: 'ollama',
      recognize: async (_image, signal) => {
        // Its model disappears after three answers: the lane stops for good.
        if (++ollamaCalls > 3) throw new EngineError('config', 'model "llava" not found');
        await sleep(clock, 400, signal);
        return { text: 'x', blocks: [], model: 'ollama', timings: {} };
      },
    };
    const lanes: OrchestratorLane[] = [
      { config: { id: 'ollama-0', engine: 'ollama', workers: 1, enabled: true }, engine: dying, prior_s: 0.4 },
      { config: { id: 'embedded-1', engine: 'embedded', workers: 2, enabled: true }, engine: sleepingEngine(clock, 'embedded', () => 50), prior_s: 0.05 },
    ];
    const announced = new Set<string>();
    const sizes: number[] = [];
    let firstLoads = 0;
    let announcedFirst = 0;
    const loaded = new Set<string>();
    const run = startRun({
      runId: 'r',
      ads: makeAds(60),
      store: new MemoryRunStore(),
      clock,
      lanes,
      policy: 'compare',
      loadImage: (ad) => {
        if (!loaded.has(ad.creativeId)) {
          loaded.add(ad.creativeId);
          firstLoads++;
          if (announced.has(ad.creativeId)) announcedFirst++;
        }
        return oneByteImage();
      },
      onUpcoming: (upcoming) => {
        sizes.push(upcoming.length);
        upcoming.forEach((ad) => announced.add(ad.creativeId));
      },
    });
    await clock.runUntil(run.done);
    expect(firstLoads).toBe(60);
    // As many as the lanes' workers (what a loader holds): before, each queue added as many again,
    // and a loader holding the first ones (Ollama's, read by the embedded lane long ago) had no room left.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
    expect(announcedFirst).toBeGreaterThanOrEqual(54);
  });

  it('one slow image on a lane of eight workers does not make the ETA as if the whole lane had slowed down', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const lanes: OrchestratorLane[] = [{ config: { id: 'embedded-0', engine: 'embedded', workers: 8, enabled: true }, engine: sleepingEngine(clock, 'embedded', () => (++calls === 101 ? 20_000 : 1000)), prior_s: 1 }];
    const progress: RunProgress[] = [];
    const run = startRun({ runId: 'r', ads: makeAds(400), store: new MemoryRunStore(), loadImage: oneByteImage, clock, lanes, policy: 'single', onProgress: (p) => progress.push(p) });
    const summary = await clock.runUntil(run.done);
    // The run takes about 53 s; counting every slot at the slow call's age said up to 384 s left (after the first answers: before them the ETA is the prior's).
    const worst = Math.max(...progress.filter((p) => p.status === 'running' && p.done >= 8 && p.eta_s !== null).map((p) => p.elapsed_s + p.eta_s!));
    expect(worst).toBeLessThan(summary.elapsed_s * 1.5);
  });

  it('keeps sending progress while a hung server holds every call, its elapsed time and ETA growing', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    // Answers in 1 s, then the server stops answering: its 6th and later calls end only after 5 minutes.
    const lanes: OrchestratorLane[] = [{ config: { id: 'deepseek-0', engine: 'deepseek', workers: 1, enabled: true }, engine: sleepingEngine(clock, 'deepseek', () => (++calls > 5 ? 300_000 : 1000)), prior_s: 1 }];
    const progress: RunProgress[] = [];
    const run = startRun({ runId: 'r', ads: makeAds(20), store: new MemoryRunStore(), loadImage: oneByteImage, clock, lanes, policy: 'auto', onProgress: (p) => progress.push(p) });
    await clock.runUntil(run.done);
    const during = progress.filter((p) => p.status === 'running' && p.done === 5);
    // Before: nothing was sent between the 5th answer and the end of the hung call (a frozen ETA of 15 s).
    expect(during.length).toBeGreaterThan(200);
    const etas = during.map((p) => p.eta_s!);
    expect(etas.at(-1)!).toBeGreaterThan(etas[0]! * 10);
    expect(during.at(-1)!.elapsed_s - during[0]!.elapsed_s).toBeGreaterThan(250);
  });

  it('stops feeding an engine that slows the faster one down, and says so', async () => {
    const progress: RunProgress[] = [];
    const sim = simRun(
      {
        ...seedProfile,
        lanes: [{ ...seedProfile.lanes[0]!, slowdownWhileBusy: { engine: 'ollama', factor: 1.4 } }, seedProfile.lanes[1]!],
      },
      { policy: 'auto', onProgress: (p) => progress.push(p) },
    );
    const summary = await sim.clock.runUntil(sim.run.done);
    expect(summary.notes.some((note) => /ollama paused: it slows deepseek/.test(note))).toBe(true);
    expect(progress.some((p) => p.lanes.some((lane) => lane.engine === 'ollama' && lane.state.type === 'paused-by-scheduler'))).toBe(true);
    expect(sim.clock.now() / 1000).toBeLessThan(200 * 1.1);
  });

  it('feeds the paused engine again when the engine it protected dies', async () => {
    const sim = simRun(
      {
        ...seedProfile,
        lanes: [{ ...seedProfile.lanes[0]!, slowdownWhileBusy: { engine: 'ollama', factor: 1.4 }, dieAtFraction: 0.5 }, seedProfile.lanes[1]!],
      },
      { policy: 'auto', maxAttempts: 10 },
    );
    const summary = await sim.clock.runUntil(sim.run.done);
    expect(summary.done).toBe(100);
    const ollama = summary.lanes.find((lane) => lane.engine === 'ollama')!;
    expect(ollama.done).toBeGreaterThanOrEqual(45);
  });

  it('tries a paused engine again, and keeps it once it no longer slows the others', async () => {
    const clock = new VirtualClock();
    const deepseek = { inFlight: 0 };
    const engine = (kind: EngineKind, latency: () => number): Engine => sleepingEngine(clock, kind, latency, kind === 'deepseek' ? deepseek : undefined);
    // For the first minute (something else on the Mac) the fast engine is 3× slower while the other one runs; then not.
    const lanes: OrchestratorLane[] = [
      { config: { id: 'embedded-0', engine: 'embedded', workers: 2, enabled: true }, engine: engine('embedded', () => (deepseek.inFlight > 0 && clock.now() < 60_000 ? 3_000 : 1_000)), prior_s: 1 },
      { config: { id: 'deepseek-1', engine: 'deepseek', workers: 2, enabled: true }, engine: engine('deepseek', () => 4_000), prior_s: 4 },
    ];
    const progress: RunProgress[] = [];
    const run = startRun({ runId: 'r', ads: makeAds(400), store: new MemoryRunStore(), loadImage: oneByteImage, clock, lanes, policy: 'auto', onProgress: (p) => progress.push(p) });
    const summary = await clock.runUntil(run.done);
    expect(summary.done).toBe(400);
    const deepseekDone = (p: RunProgress): number => p.lanes.find((lane) => lane.engine === 'deepseek')!.done;
    const pausedAt = progress.findIndex((p) => p.notes.some((note) => note.startsWith('deepseek paused')));
    expect(pausedAt).toBeGreaterThan(-1);
    const atMinute = progress.find((p) => p.elapsed_s >= 60)!;
    // Paused through the first minute (tried again within it, paused again), fed again after it.
    expect(deepseekDone(atMinute) - deepseekDone(progress[pausedAt]!)).toBeLessThan(10);
    expect(summary.lanes.find((lane) => lane.engine === 'deepseek')!.done - deepseekDone(atMinute)).toBeGreaterThan(25);
    expect(summary.notes.some((note) => note.includes('paused'))).toBe(false);
  });

  it('does not pause an engine that does not interfere', async () => {
    for (const seed of [1, 2, 3]) {
      const sim = simRun(seedProfile, { policy: 'auto', seed });
      const summary = await sim.clock.runUntil(sim.run.done);
      expect(summary.notes.some((note) => note.includes('paused'))).toBe(false);
    }
  });
});

describe('Orchestrator: failures', () => {
  const twoLanes: ScenarioInput = {
    name: 'two',
    ads: 20,
    lanes: [
      { engine: 'deepseek', workers: 2, latency: { dist: 'fixed', value_s: 1 } },
      { engine: 'embedded', workers: 2, latency: { dist: 'fixed', value_s: 1 } },
    ],
  };

  it('fails a bad image at once, without retries, and goes on', async () => {
    const scenario = parseScenario(twoLanes);
    const clock = new VirtualClock();
    const mac = new SimulatedMac(scenario, { clock, seed: 1 });
    let loads = 0;
    const sim = simRun(twoLanes, {
      clock,
      lanes: mac.orchestratorLanes(),
      loadImage: (ad) => {
        loads++;
        if (ad.creativeId === 'ad-3') return Promise.reject(new EngineError('permanent', 'not an image (text/html)'));
        return mac.loadImage(ad);
      },
    });
    const summary = await clock.runUntil(sim.run.done);
    expect(summary.failed).toBe(1);
    expect(summary.done).toBe(19);
    const failed = sim.results.find((result) => result.status === 'failed')!;
    expect(failed.creativeId).toBe('ad-3');
    expect(failed.attempts).toHaveLength(1);
    expect(failed.error).toContain('permanent: not an image');
    expect(loads).toBe(20);
  });

  it('retries a transient image error with backoff, on the other lane when it can', async () => {
    const scenario = parseScenario(twoLanes);
    const clock = new VirtualClock();
    const mac = new SimulatedMac(scenario, { clock, seed: 1 });
    let failedOnce = false;
    const sim = simRun(twoLanes, {
      clock,
      lanes: mac.orchestratorLanes(),
      policy: 'ratio',
      loadImage: (ad) => {
        if (ad.creativeId === 'ad-0' && !failedOnce) {
          failedOnce = true;
          return Promise.reject(new EngineError('transient', 'connection reset'));
        }
        return mac.loadImage(ad);
      },
    });
    const summary = await clock.runUntil(sim.run.done);
    expect(summary.done).toBe(20);
    const retried = sim.results.find((result) => result.creativeId === 'ad-0')!;
    expect(retried.attempts.map((attempt) => attempt.outcome)).toEqual(['error', 'ok']);
    expect(retried.attempts[1]!.laneId).not.toBe(retried.attempts[0]!.laneId);
    expect(retried.attempts[1]!.startedAt - retried.attempts[0]!.startedAt).toBeGreaterThanOrEqual(500);
  });

  it('records an ad that exhausts its attempts as failed with every reason', async () => {
    const sim = simRun(
      { name: 'broken', ads: 3, maxAttempts: 3, lanes: [{ engine: 'deepseek', workers: 1, latency: { dist: 'fixed', value_s: 1 }, failureRate: 0.95 }] },
      { policy: 'auto', seed: 5 },
    );
    const summary = await sim.clock.runUntil(sim.run.done);
    expect(summary.failed).toBeGreaterThan(0);
    const failed = sim.results.find((result) => result.status === 'failed')!;
    expect(failed.attempts.filter((attempt) => attempt.outcome === 'error')).toHaveLength(3);
    expect(failed.error!.split(' | ')).toHaveLength(3);
  });

  it('cools a failing lane down and moves its work to the healthy lane', async () => {
    const progress: RunProgress[] = [];
    const sim = simRun(
      {
        name: 'dying',
        ads: 60,
        lanes: [
          { id: 'good', engine: 'deepseek', workers: 2, latency: { dist: 'fixed', value_s: 1 } },
          { id: 'bad', engine: 'deepseek', workers: 2, latency: { dist: 'fixed', value_s: 1 }, dieAtFraction: 0.2 },
        ],
      },
      { policy: 'auto', onProgress: (p) => progress.push(p) },
    );
    const summary = await sim.clock.runUntil(sim.run.done);
    expect(summary.done).toBe(60);
    expect(progress.some((p) => p.lanes.some((lane) => lane.laneId === 'bad' && lane.state.type === 'cooling-down'))).toBe(true);
    // After the breaker opens, the dead lane only sees rare half-open probes.
    expect(summary.lanes.find((lane) => lane.laneId === 'bad')!.failedCalls).toBeLessThan(10);
  });

  it('treats a malformed engine result as a failed call, not as a result', async () => {
    let calls = 0;
    const engine: Engine = {
      kind: 'embedded',
      label: 'flaky-shape',
      recognize: () => {
        calls++;
        return Promise.resolve((calls === 1 ? { model: 'm' } : { text: 'ok', blocks: [], model: 'm', timings: {} }) as RecognizeResult);
      },
    };
    const results: AdResult[] = [];
    const run = startRun({
      runId: 'shape',
      ads: makeAds(1),
      lanes: [{ config: { id: 'l', engine: 'embedded', workers: 1, enabled: true }, engine }],
      store: new MemoryRunStore(),
      loadImage: oneByteImage,
      tuning: { retryBaseMs: 1 },
      onResult: (result) => results.push(result),
    });
    await run.done;
    expect(results[0]!.text).toBe('ok');
    expect(results[0]!.attempts[0]!.error).toContain('malformed result');
  });

  it('a misconfigured lane stops taking work; with no lane left the remaining ads fail with a reason', async () => {
    const config: LaneConfig = { id: 'broken', engine: 'ollama', workers: 2, enabled: true };
    const engine: Engine = { kind: 'ollama', label: 'broken', recognize: () => Promise.reject(new EngineError('config', 'model llava is not pulled')) };
    const results: AdResult[] = [];
    const run = startRun({
      runId: 'r',
      ads: makeAds(5),
      lanes: [{ config, engine }],
      store: new MemoryRunStore(),
      loadImage: oneByteImage,
      onResult: (result) => results.push(result),
    });
    const summary = await run.done;
    expect(summary.failed).toBe(5);
    expect(run.progress().lanes[0]!.state).toEqual({ type: 'dead', reason: 'model llava is not pulled' });
    expect(results.every((result) => result.status === 'failed' && result.error)).toBe(true);
    expect(summary.notes.some((note) => note.includes('stopped: model llava is not pulled'))).toBe(true);
  });
});

describe('Orchestrator: failures that must not hold up the run', () => {
  /** One lane of `workers` whose calls take `latencyMs` (virtual) and fail while `failing(now)` says so. */
  function laneOn(clock: VirtualClock, id: string, workers: number, latencyMs: number, failing: (now: number) => boolean = () => false): OrchestratorLane {
    const engine: Engine = {
      kind: 'deepseek',
      label: id,
      recognize: () =>
        new Promise((resolve, reject) =>
          clock.setTimer(latencyMs, () => (failing(clock.now()) ? reject(new EngineError('transient', 'DeepSeek failed (500)')) : resolve({ text: 'ok', blocks: [], model: 'sim', timings: {} }))),
        ),
    };
    return { config: { id, engine: 'deepseek', workers, enabled: true }, engine, prior_s: latencyMs / 1000, coldStart_s: 0 };
  }
  const image = { bytes: new Uint8Array(1), mime: 'image/png' };

  it('image download failures do not cool the engine lane down: good ads run at full speed, dead links fail with the image error', async () => {
    const clock = new VirtualClock();
    const progress: RunProgress[] = [];
    const results: AdResult[] = [];
    const run = startRun({
      runId: 'links',
      ads: makeAds(60),
      clock,
      random: () => 0.5,
      store: new MemoryRunStore(),
      lanes: [laneOn(clock, 'ds', 2, 1000)],
      loadImage: (ad) => (Number(ad.creativeId.slice(3)) % 3 === 0 ? Promise.reject(new EngineError('transient', 'image download timed out')) : Promise.resolve(image)),
      onProgress: (p) => progress.push(p),
      onResult: (result) => results.push(result),
    });
    const summary = await clock.runUntil(run.done);
    expect(summary).toMatchObject({ done: 40, failed: 20 });
    // 40 good ads on 2 workers of 1 s: 20 s, plus nothing for the 20 dead links.
    expect(summary.elapsed_s).toBeLessThan(25);
    expect(progress.some((p) => p.lanes[0]!.state.type === 'cooling-down')).toBe(false);
    expect(summary.lanes[0]!.failedCalls, 'image failures are not engine failures').toBe(0);
    for (const result of results.filter((r) => r.status === 'failed')) {
      expect(result.attempts).toHaveLength(3);
      expect(result.error).toMatch(/^image: transient: image download timed out/);
    }
  });

  it('counts exactly the failed ads whose image could not be fetched, through a pause and into a resumed session', async () => {
    const clock = new VirtualClock();
    const store = new MemoryRunStore();
    const ads = makeAds(30);
    // Dead links: ad-0, ad-5, … ad-25 (6). The engine refuses ad-1, ad-11, ad-21 (3): failed ads, but not for their image.
    const loadImage = (ad: Ad): Promise<EngineImage> =>
      Number(ad.creativeId.slice(3)) % 5 === 0 ? Promise.reject(new EngineError('permanent', 'HTTP 404')) : Promise.resolve({ bytes: new TextEncoder().encode(ad.creativeId), mime: 'image/png' });
    const engine: Engine = {
      kind: 'deepseek',
      label: 'ds',
      recognize: (image) =>
        new Promise((resolve, reject) =>
          clock.setTimer(100, () => (new TextDecoder().decode(image.bytes).endsWith('1') ? reject(new EngineError('permanent', 'unreadable')) : resolve({ text: 'ok', blocks: [], model: 'sim', timings: {} }))),
        ),
    };
    const lanes: OrchestratorLane[] = [{ config: { id: 'ds', engine: 'deepseek', workers: 1, enabled: true }, engine, prior_s: 0.1, coldStart_s: 0 }];
    const imageFailedSoFar = (): number => store.resultsOf('links').filter((result) => result.status === 'failed' && result.attempts.every((attempt) => attempt.error?.startsWith('image: '))).length;

    const first = startRun({ runId: 'links', ads, clock, store, lanes, loadImage });
    let paused: RunProgress | undefined;
    clock.setTimer(500, () => first.pause());
    clock.setTimer(700, () => (paused = first.progress()));
    clock.setTimer(900, () => first.resume());
    clock.setTimer(1500, () => first.cancel());
    await clock.runUntil(first.done);
    expect(paused).toMatchObject({ status: 'paused', imageFailed: 2 });
    const interrupted = first.progress();
    expect(interrupted.imageFailed).toBe(imageFailedSoFar());
    expect(interrupted.imageFailed).toBeGreaterThan(2);
    expect(interrupted.imageFailed).toBeLessThan(6);

    // A new session of the same run starts from what the store holds of the earlier one.
    const second = startRun({ runId: 'links', ads, clock, store, lanes, loadImage });
    await clock.runUntil(second.done);
    expect(RunProgress.parse(second.progress())).toMatchObject({ total: 30, done: 21, failed: 9, imageFailed: 6 });
  });

  it('a lane that fails every call ends its ads after the give-up time with the reason, not after hours of cooldowns', async () => {
    const clock = new VirtualClock();
    const results: AdResult[] = [];
    const run = startRun({
      runId: 'outage',
      ads: makeAds(100),
      clock,
      random: () => 0.5,
      store: new MemoryRunStore(),
      lanes: [laneOn(clock, 'ds', 2, 100, () => true)],
      loadImage: () => Promise.resolve(image),
      onResult: (result) => results.push(result),
    });
    const summary = await clock.runUntil(run.done);
    expect(summary).toMatchObject({ done: 0, failed: 100 });
    expect(summary.elapsed_s).toBeGreaterThanOrEqual(300);
    expect(summary.elapsed_s).toBeLessThan(600);
    const givenUp = results.filter((result) => result.error?.startsWith('no engine could process it: ds: transient: DeepSeek failed (500)'));
    expect(givenUp.length, 'most ads were never tried').toBeGreaterThan(80);
    expect(summary.notes.some((note) => note.includes('failed every call for over 5 min'))).toBe(true);
  });

  it('rides through an outage shorter than the give-up time', async () => {
    const clock = new VirtualClock();
    const run = startRun({
      runId: 'blip',
      ads: makeAds(100),
      clock,
      random: () => 0.5,
      store: new MemoryRunStore(),
      // Down from 10 s to 4 min: long enough for several failed probes, shorter than giveUpAfterMs.
      lanes: [laneOn(clock, 'ds', 2, 1000, (now) => now > 10_000 && now < 240_000)],
      loadImage: () => Promise.resolve(image),
      maxAttempts: 10,
    });
    const summary = await clock.runUntil(run.done);
    expect(summary.done).toBe(100);
  });

  it('does not give up while another lane carries the work, however long the dead one fails', async () => {
    const clock = new VirtualClock();
    const run = startRun({
      runId: 'one-dead',
      ads: makeAds(400),
      clock,
      random: () => 0.5,
      store: new MemoryRunStore(),
      lanes: [laneOn(clock, 'healthy', 2, 3000), laneOn(clock, 'dead', 2, 100, () => true)],
      loadImage: () => Promise.resolve(image),
    });
    const summary = await clock.runUntil(run.done);
    expect(summary.elapsed_s, 'long enough for the dead lane to be failing past the give-up time').toBeGreaterThan(500);
    expect(summary).toMatchObject({ done: 400, failed: 0 });
  });

  it('the resume check asks the store once (finishedIds) instead of once per ad', async () => {
    class CountingStore extends MemoryRunStore {
      perAdChecks = 0;
      override isFinished(runId: string, creativeId: string, engine: string | null): boolean {
        this.perAdChecks++;
        return super.isFinished(runId, creativeId, engine);
      }
    }
    const store = new CountingStore();
    const ads = makeAds(50);
    for (const ad of ads.slice(0, 20)) store.saveResult({ runId: 'resume', creativeId: ad.creativeId, status: 'done', engine: 'deepseek', laneId: 'ds', model: 'm', text: 'old', blocks: [], durationMs: 1, attempts: [] });
    const clock = new VirtualClock();
    const calls: string[] = [];
    const run = startRun({
      runId: 'resume',
      ads,
      clock,
      store,
      lanes: [laneOn(clock, 'ds', 2, 10)],
      loadImage: (ad) => {
        calls.push(ad.creativeId);
        return Promise.resolve(image);
      },
    });
    const summary = await clock.runUntil(run.done);
    expect(summary).toMatchObject({ skipped: 20, done: 50, failed: 0 });
    expect(store.perAdChecks).toBe(0);
    expect(calls.sort()).toEqual(ads.slice(20).map((ad) => ad.creativeId).sort());
  });
});

describe('Orchestrator: controls and events', () => {
  it('pause stops new work (calls in flight finish); resume goes on', async () => {
    const sim = simRun(seedProfile, { policy: 'auto' });
    let callsAtPause = 0;
    sim.clock.setTimer(30_000, () => {
      sim.run.pause();
      callsAtPause = sim.calls.length;
    });
    let callsBeforeResume = 0;
    sim.clock.setTimer(300_000, () => {
      callsBeforeResume = sim.calls.length;
      expect(sim.run.progress().status).toBe('paused');
      expect(sim.run.progress().inFlight).toBe(0);
      sim.run.resume();
    });
    const summary = await sim.clock.runUntil(sim.run.done);
    expect(callsBeforeResume).toBe(callsAtPause);
    expect(summary.done).toBe(100);
    expect(sim.clock.now()).toBeGreaterThan(300_000);
  });

  it('setLaneWorkers and setLaneEnabled take effect during the run', async () => {
    const sim = simRun(
      { name: 'controls', ads: 200, lanes: [{ engine: 'deepseek', workers: 1, latency: { dist: 'fixed', value_s: 1 } }, { engine: 'embedded', workers: 1, latency: { dist: 'fixed', value_s: 1 } }] },
      { policy: 'auto' },
    );
    let embeddedCallsWhenDisabled = 0;
    sim.clock.setTimer(10_500, () => sim.run.setLaneWorkers('deepseek-0', 4));
    sim.clock.setTimer(20_500, () => {
      sim.run.setLaneEnabled('embedded-1', false);
      embeddedCallsWhenDisabled = sim.mac.laneById('embedded-1')!.calls;
    });
    const summary = await sim.clock.runUntil(sim.run.done);
    expect(summary.done).toBe(200);
    expect(sim.mac.laneById('deepseek-0')!.maxActive).toBe(4);
    expect(sim.mac.laneById('embedded-1')!.calls).toBe(embeddedCallsWhenDisabled);
    expect(sim.run.progress().lanes.find((lane) => lane.laneId === 'embedded-1')!.state).toEqual({ type: 'disabled' });
    expect(() => sim.run.setLaneWorkers('deepseek-0', 0)).toThrow(RangeError);
    expect(() => sim.run.setLaneEnabled('nope', true)).toThrow(/unknown lane/);
  });

  it('setSplit changes the ratio of the ads not yet handed out', async () => {
    const sim = simRun(
      { name: 'split', ads: 100, lanes: [{ engine: 'deepseek', workers: 1, latency: { dist: 'fixed', value_s: 1 } }, { engine: 'embedded', workers: 1, latency: { dist: 'fixed', value_s: 1 } }] },
      { policy: 'ratio', split: { deepseek: 1, embedded: 0 } },
    );
    expect(sim.run.progress().split, 'the progress says the split it follows').toEqual({ deepseek: 1, embedded: 0 });
    sim.clock.setTimer(19_500, () => sim.run.setSplit({ deepseek: 0, embedded: 1 }));
    await sim.clock.runUntil(sim.run.done);
    expect(sim.run.progress().split).toEqual({ deepseek: 0, embedded: 1 });
    const byEngine = (engine: EngineKind): number => sim.results.filter((result) => result.engine === engine).length;
    expect(byEngine('deepseek')).toBe(20);
    expect(byEngine('embedded')).toBe(80);
  });

  it('coalesces progress to at most ~10 events per second, whatever the batch size', async () => {
    const times: number[] = [];
    const sim = simRun(
      { name: 'many', ads: 3000, lanes: [{ engine: 'deepseek', workers: 8, latency: { dist: 'uniform', min_s: 0.01, max_s: 0.05 } }] },
      { policy: 'auto', onProgress: () => times.push(sim.clock.now()) },
    );
    const summary = await sim.clock.runUntil(sim.run.done);
    const seconds = sim.clock.now() / 1000;
    expect(summary.done).toBe(3000);
    expect(times.length).toBeLessThanOrEqual(Math.ceil(seconds * 10) + 3);
    expect(times.length).toBeGreaterThan(seconds * 5);
    const last = sim.run.progress();
    expect(RunProgress.parse(last)).toEqual(last);
    expect(last.done).toBe(3000);
    expect(last.status).toBe('finished');
    expect(last.lanes[0]!.p50_s).toBeGreaterThan(0.01);
    expect(last.lanes[0]!.p95_s).toBeGreaterThanOrEqual(last.lanes[0]!.p50_s!);
    expect(last.lanes[0]!.share).toBe(1);
  });

  it('progress shows per-lane state, estimates and an ETA while running', async () => {
    let mid: RunProgress | null = null;
    const sim = simRun(seedProfile, { policy: 'auto' });
    sim.clock.setTimer(60_000, () => {
      mid = sim.run.progress();
    });
    await sim.clock.runUntil(sim.run.done);
    const snapshot = mid as RunProgress | null;
    expect(snapshot).not.toBeNull();
    expect(snapshot!.status).toBe('running');
    expect(snapshot!.eta_s).toBeGreaterThan(0);
    expect(snapshot!.inFlight).toBeGreaterThan(0);
    const deepseek = snapshot!.lanes.find((lane) => lane.engine === 'deepseek')!;
    expect(deepseek.estimate_s).toBeGreaterThan(3);
    expect(deepseek.estimate_s).toBeLessThan(5);
    expect(deepseek.adsPerMinute).toBeGreaterThan(15);
  });

  it('ratio: the ETA waits for the slowest share, not the fastest lane', async () => {
    let mid: RunProgress | null = null;
    const sim = simRun(seedProfile, { policy: 'ratio', split: { deepseek: 0.5, ollama: 0.5 } });
    sim.clock.setTimer(60_000, () => {
      mid = sim.run.progress();
    });
    await sim.clock.runUntil(sim.run.done);
    const end_s = sim.clock.now() / 1000;
    const snapshot = mid as RunProgress | null;
    // 50 ads on LLaVA at ~67 s with 2 workers: about 1690 s in all, so ~1630 s left at 60 s.
    expect(snapshot!.eta_s).toBeGreaterThan(0.7 * (end_s - 60));
    expect(snapshot!.eta_s).toBeLessThan(1.5 * (end_s - 60));
  });

  it('compare runs every ad on every engine and reports the agreement of their texts', async () => {
    const textFor: Record<string, string> = { deepseek: 'SALE 50% OFF', ollama: 'SALE 5O% 0FF' };
    const lanes: OrchestratorLane[] = (['deepseek', 'ollama'] as const).map((engine) => ({
      config: { id: engine, engine, workers: 1, enabled: true },
      engine: { kind: engine, label: engine, recognize: (): Promise<RecognizeResult> => Promise.resolve({ text: textFor[engine]!, blocks: [], model: engine, timings: {} }) },
    }));
    const comparisons: Comparison[] = [];
    const run = startRun({
      runId: 'cmp',
      ads: makeAds(4),
      lanes,
      policy: 'compare',
      store: new MemoryRunStore(),
      loadImage: oneByteImage,
      onComparison: (comparison) => comparisons.push(comparison),
    });
    const summary = await run.done;
    expect(summary.total).toBe(8);
    expect(summary.done).toBe(8);
    expect(comparisons).toHaveLength(4);
    for (const comparison of comparisons) {
      expect(comparison.results.map((result) => result.engine).sort()).toEqual(['deepseek', 'ollama']);
      expect(comparison.agreement).toHaveLength(1);
      expect(comparison.agreement[0]!.score).toBeCloseTo(1 - 2 / 12, 10);
    }
  });

  it('cancel with the real clock aborts a call that never ends', async () => {
    let signalled = false;
    const engine: Engine = {
      kind: 'ollama',
      label: 'stuck',
      recognize: (_image, signal) => {
        signal.addEventListener('abort', () => { signalled = true; });
        return new Promise(() => undefined);
      },
    };
    const store = new MemoryRunStore();
    const run = startRun({
      runId: 'stuck',
      ads: makeAds(3),
      lanes: [{ config: { id: 'stuck', engine: 'ollama', workers: 2, enabled: true }, engine }],
      store,
      clock: realClock,
      loadImage: oneByteImage,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(run.progress().inFlight).toBe(2);
    run.cancel();
    // The call never ends by itself: `done` resolving at all shows the abort reached it.
    const summary = await run.done;
    expect(summary.status).toBe('cancelled');
    expect(signalled).toBe(true);
    expect(run.progress().inFlight).toBe(0);
    expect(store.runStatus('stuck')).toBe('cancelled');
    expect(store.attemptsOf('stuck', 'ad-0')[0]!.outcome).toBe('aborted');
  });

  it('runs on the real clock with engines that take real time', async () => {
    const delayed = (engine: EngineKind, ms: number): OrchestratorLane => ({
      config: { id: engine, engine, workers: 2, enabled: true },
      prior_s: ms / 1000,
      coldStart_s: 0,
      engine: {
        kind: engine,
        label: engine,
        recognize: (_image, signal) =>
          new Promise<RecognizeResult>((resolve, reject) => {
            const timer = setTimeout(() => resolve({ text: engine, blocks: [], model: engine, timings: {} }), ms);
            signal.addEventListener('abort', () => {
              clearTimeout(timer);
              reject(new EngineError('aborted', 'aborted'));
            });
          }),
      },
    });
    const events: RunProgress[] = [];
    const started = Date.now();
    const run = startRun({
      runId: 'real',
      ads: makeAds(60),
      lanes: [delayed('apple-vision', 5), delayed('embedded', 40)],
      store: new MemoryRunStore(),
      loadImage: oneByteImage,
      onProgress: (p) => events.push(p),
    });
    const summary = await run.done;
    const elapsed_s = (Date.now() - started) / 1000;
    expect(summary.done).toBe(60);
    expect(events.at(-1)!.status).toBe('finished');
    expect(events.length).toBeLessThanOrEqual(Math.ceil(elapsed_s * 10) + 3);
  });

  it('an external AbortSignal cancels the run', async () => {
    const controller = new AbortController();
    const sim = simRun(seedProfile, { policy: 'auto', signal: controller.signal });
    sim.clock.setTimer(10_000, () => controller.abort());
    const summary = await sim.clock.runUntil(sim.run.done);
    expect(summary.status).toBe('cancelled');
    expect(sim.clock.now()).toBe(10_000);
  });

  it('runs each creative id once when the list repeats it', async () => {
    const ads = [...makeAds(3), { creativeId: 'ad-1', imageUrl: 'again' }];
    const run = startRun({
      runId: 'dups',
      ads,
      lanes: [{ config: { id: 'l', engine: 'embedded', workers: 1, enabled: true }, engine: { kind: 'embedded', label: 'l', recognize: () => Promise.resolve({ text: 'x', blocks: [], model: 'm', timings: {} }) } }],
      store: new MemoryRunStore(),
      loadImage: oneByteImage,
    });
    const summary = await run.done;
    expect(summary).toMatchObject({ total: 3, done: 3, duplicates: 1 });
  });
});
