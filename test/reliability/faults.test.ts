/**
 * Fault injection through the real orchestrator, with real engines against fake servers:
 * Ollama answering 500, garbage or hanging; an engine slowing down tenfold mid-run; image
 * servers timing out, resetting and trickling; the store's disk filling up mid-run (the run
 * stops with a clear error and resumes once writable). Each scenario ends with every ad
 * done or failed with a reason: none lost, none finished twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdResult } from '../../shared/domain.js';
import { createOllamaEngine } from '../../electron/core/engines/ollama.js';
import { EngineError, type Engine } from '../../electron/core/engines/types.js';
import { startRun } from '../../electron/core/orchestrator/index.js';
import { VirtualClock } from '../../electron/core/orchestrator/clock.js';
import { MemoryRunStore } from '../../electron/core/orchestrator/memory-store.js';
import { openStore, type CommitFailure } from '../../electron/core/store/index.js';
import { waitUntil } from '../../electron/core/services/test-support.js';
import type { Route } from '../fixtures/bad-inputs/corpus.js';
import { startBadImageServer, type BadImageServer } from '../fixtures/bad-inputs/server.js';
import { startFakeOllama, type FakeOllama } from '../fixtures/fake-ollama/start.js';
import { formatFigures, readFigures, recordFigures } from './figures.js';
import { adIdOf, adPng, answeredTwice, fakeEngine, fakeImageFor, lane, makeAds, newControls, realImageLoader, recordScenario, runScenario, type ScenarioOutcome } from './harness.js';

const workDir = mkdtempSync(join(tmpdir(), 'pv-faults-'));
let images: BadImageServer;
const fakes: FakeOllama[] = [];
const IMAGE_ADS = 200;

function expectNoLossNoDuplicates(outcome: ScenarioOutcome): void {
  expect(outcome.figures.lost, 'ads lost').toBe(0);
  expect(outcome.figures.twice, 'ads finished twice').toBe(0);
  for (const result of outcome.results) {
    if (result.status === 'failed') expect(result.error, `failure reason of ${result.creativeId}`).toMatch(/\S/);
  }
}

beforeAll(async () => {
  const png = await adPng();
  const routes: Record<string, Route> = {};
  for (let i = 0; i < IMAGE_ADS; i++) routes[`ok-${i}`] = { type: 'bytes', body: png, headers: { 'content-type': 'image/png' } };
  for (let i = 0; i < 4; i++) {
    routes[`hang-${i}`] = { type: 'hang' };
    routes[`reset-${i}`] = { type: 'reset' };
    routes[`trickle-${i}`] = { type: 'trickle', body: png, intervalMs: 100 };
    routes[`stall-${i}`] = { type: 'stall-mid-body', body: png };
    routes[`flaky-${i}`] = { type: 'flaky', failures: 1, body: png };
  }
  images = await startBadImageServer(routes);
});

afterAll(async () => {
  await Promise.all(fakes.map((fake) => fake.stop()));
  await images?.close();
  rmSync(workDir, { recursive: true, force: true });
  console.log(`\nReliability figures so far:\n${formatFigures(readFigures())}\n`);
});

describe('Ollama failing while another lane works', () => {
  for (const mode of ['500', 'garbage', 'hang'] as const) {
    it(`Ollama answering ${mode}: its ads fail over to the healthy lane`, async () => {
      const bad = await startFakeOllama({ FAKE_OLLAMA_FAIL: mode, FAKE_OLLAMA_DELAY_MS: '10' });
      const good = await startFakeOllama({ FAKE_OLLAMA_DELAY_MS: '20' });
      fakes.push(bad, good);
      const badConfig = lane('ollama-bad', 'ollama', 2, { endpoint: bad.url, model: 'llava', settings: { timeoutMs: 800 } });
      const goodConfig = lane('ollama-good', 'ollama', 2, { endpoint: good.url, model: 'llava', settings: { timeoutMs: 5000 } });
      const { fetcher, loadImage } = realImageLoader();
      const ads = makeAds(40, (i) => `${images.base}/ok-${i}`);
      try {
        const outcome = await runScenario({
          name: `Ollama ${mode} beside a healthy lane`,
          ads,
          lanes: [
            { config: badConfig, engine: createOllamaEngine(badConfig), prior_s: 0.05, coldStart_s: 0 },
            { config: goodConfig, engine: createOllamaEngine(goodConfig), prior_s: 0.05, coldStart_s: 0 },
          ],
          loadImage,
          maxAttempts: 4,
        });
        expect(outcome.error).toBeNull();
        expectNoLossNoDuplicates(outcome);
        const badLane = outcome.summary!.lanes.find((entry) => entry.laneId === 'ollama-bad')!;
        expect(badLane.failedCalls, 'the fault was exercised').toBeGreaterThan(0);
        expect(badLane.done).toBe(0);
        expect(outcome.figures.done, 'the healthy lane did every ad').toBe(ads.length);
        recordFigures({ ...outcome.figures, note: `${badLane.failedCalls} failed calls on the bad lane` });
      } finally {
        await fetcher.close();
      }
    });
  }

  it('Ollama answering 500 with no other lane: every ad fails, with the reason', async () => {
    const bad = await startFakeOllama({ FAKE_OLLAMA_FAIL: '500', FAKE_OLLAMA_DELAY_MS: '5' });
    fakes.push(bad);
    const config = lane('ollama', 'ollama', 2, { endpoint: bad.url, model: 'llava' });
    const { fetcher, loadImage } = realImageLoader();
    try {
      const outcome = await runScenario({
        name: 'Ollama 500, no other lane',
        ads: makeAds(8, (i) => `${images.base}/ok-${i}`),
        lanes: [{ config, engine: createOllamaEngine(config) }],
        loadImage,
        maxAttempts: 2,
        // A lane that always fails is probed once per cooldown: keep the cooldowns short here.
        tuning: { breaker: { threshold: 3, baseCooldownMs: 100, maxCooldownMs: 200 } },
      });
      expect(outcome.error).toBeNull();
      expectNoLossNoDuplicates(outcome);
      expect(outcome.figures.failed).toBe(8);
      for (const result of outcome.results) expect(result.error).toMatch(/500/);
      recordFigures(outcome.figures);
    } finally {
      await fetcher.close();
    }
  });
});

describe('engines slowing down', () => {
  it('one engine slows down tenfold mid-run: the run finishes, the fast lane takes the work', async () => {
    const fast = newControls(4);
    const slowing = newControls(4);
    const ads = makeAds(600, (i) => `fake://${i}`);
    let slowedAt = 0;
    const outcome = await runScenario({
      name: 'tenfold slowdown mid-run',
      ads,
      lanes: [
        { config: lane('fast', 'deepseek', 2), engine: fakeEngine('deepseek', fast), prior_s: 0.005, coldStart_s: 0 },
        { config: lane('slowing', 'openai', 2), engine: fakeEngine('openai', slowing), prior_s: 0.005, coldStart_s: 0 },
      ],
      loadImage: async (ad) => fakeImageFor(ad),
      onResult: (_result, finished) => {
        if (finished === 200) {
          slowing.latencyMs = 40;
          slowedAt = slowing.answered.size;
        }
      },
    });
    expect(outcome.error).toBeNull();
    expectNoLossNoDuplicates(outcome);
    expect(outcome.figures.done).toBe(ads.length);
    const slowAfter = slowing.answered.size - slowedAt;
    const fastAfter = fast.answered.size - (200 - slowedAt);
    // Which lane took how much is real-time scheduling (the engines sleep for real): a figure in
    // the table, not an assertion; the orchestrator's virtual-clock tests pin the behaviour.
    const twiceAnswered = answeredTwice(fast, slowing);
    recordFigures({ ...outcome.figures, answeredTwice: twiceAnswered, note: `after the slowdown: fast lane ${fastAfter} ads, slowed lane ${slowAfter}` });
    expect(twiceAnswered, 'no ad answered by both lanes (a backup that also finished is aborted)').toBe(0);
  });
});

describe('image servers misbehaving', () => {
  it('timeouts, resets, trickles and stalls fail with a reason after retries; a flaky server succeeds on retry', async () => {
    const kinds = ['hang', 'reset', 'trickle', 'stall', 'flaky'] as const;
    const ads = [...makeAds(20, (i) => `${images.base}/ok-${i}`), ...kinds.flatMap((kind) => makeAds(2, (i) => `${images.base}/${kind}-${i}`, kind))];
    const engine = newControls(2);
    const { fetcher, loadImage } = realImageLoader({ headersMs: 300, bodyMs: 300, totalMs: 800 });
    try {
      const outcome = await runScenario({
        name: 'image server hang/reset/trickle/stall/flaky',
        ads,
        lanes: [{ config: lane('ocr', 'embedded', 4), engine: fakeEngine('embedded', engine), prior_s: 0.01, coldStart_s: 0 }],
        loadImage,
        maxAttempts: 3,
        // Short cooldowns keep this real-clock test quick.
        tuning: { breaker: { threshold: 3, baseCooldownMs: 100, maxCooldownMs: 200 } },
      });
      expect(outcome.error).toBeNull();
      expectNoLossNoDuplicates(outcome);
      const byId = new Map(outcome.results.map((result) => [result.creativeId, result]));
      for (const ad of ads) {
        const result = byId.get(ad.creativeId)!;
        if (ad.creativeId.startsWith('ad-') || ad.creativeId.startsWith('flaky-')) expect(result.status, ad.creativeId).toBe('done');
        else {
          expect(result.status, ad.creativeId).toBe('failed');
          expect(result.error).toMatch(/timed out|timeout|download failed|terminated|closed/i);
        }
      }
      recordFigures(outcome.figures);
    } finally {
      await fetcher.close();
    }
  });
});

describe('failures that should not hold up the run (virtual clock, default scheduler tuning)', () => {
  /** 100 ads on one healthy 1 s lane ×2; `deadImages` ads at the top of the list have images that time out; `deadEngine` makes every call fail. */
  async function simulate(deadImages: number, deadEngine: boolean): Promise<{ minutes: number; done: number; failed: number }> {
    const clock = new VirtualClock();
    const ads = makeAds(100, (i) => `https://ads.example/${i}.png`);
    const engine: Engine = {
      kind: 'deepseek',
      label: 'simulated DeepSeek',
      recognize: () =>
        deadEngine
          ? Promise.reject(new EngineError('transient', 'DeepSeek failed (500)'))
          : new Promise((resolve) => clock.setTimer(1000, () => resolve({ text: 'ok', blocks: [], model: 'sim', timings: {} }))),
    };
    const orchestrator = startRun({
      runId: 'sim',
      ads,
      clock,
      random: () => 0.5,
      store: new MemoryRunStore(),
      lanes: [{ config: lane('ds', 'deepseek', 2), engine }],
      loadImage: async (ad) => {
        if (Number(ad.creativeId.slice(3)) < deadImages) throw new EngineError('transient', 'image download timed out after 60000 ms');
        return fakeImageFor(ad);
      },
    });
    const summary = await clock.runUntil(orchestrator.done);
    return { minutes: summary.elapsed_s / 60, done: summary.done, failed: summary.failed };
  }

  it('the healthy baseline: 100 ads on a 1 s lane ×2 take under a minute', async () => {
    const outcome = await simulate(0, false);
    expect(outcome).toMatchObject({ done: 100, failed: 0 });
    expect(outcome.minutes).toBeLessThan(1);
  });

  it('good ads are not held up by dead image links', async () => {
    const outcome = await simulate(10, false);
    console.log(`10 dead image links first, 90 good ads: ${outcome.minutes.toFixed(1)} simulated minutes`);
    expect(outcome).toMatchObject({ done: 90, failed: 10 });
    expect(outcome.minutes, 'simulated minutes').toBeLessThan(2);
  });

  it('a dead only lane fails its ads within 15 minutes', async () => {
    const outcome = await simulate(0, true);
    console.log(`dead only lane, 100 ads: ${outcome.minutes.toFixed(0)} simulated minutes until every ad failed`);
    expect(outcome).toMatchObject({ done: 0, failed: 100 });
    expect(outcome.minutes, 'simulated minutes').toBeLessThan(15);
  });
});

describe('the store failing', () => {
  it('disk full during grouped commits: nothing is reported done before it is saved; the run pauses with the count and resumes without losing or repeating an ad', async () => {
    // The app's grouped commits (DEFAULT_GROUP_COMMIT): the failing commit is the timer's.
    const store = openStore(join(workDir, 'full-grouped.db'));
    try {
      const ads = makeAds(400, (i) => `https://ads.example/${i}.png`);
      const batch = store.saveBatch({ source: 'full-grouped.csv', format: 'csv', columns: [], fieldColumns: { id: null, url: null, text: null }, ads });
      const run = store.createRun({ batchId: batch.id, policy: 'auto' });
      const controls = newControls(1);
      const plain = fakeEngine('embedded', controls);
      // Long texts need new pages often, so the full disk is met within a few commits.
      const wordy: Engine = { ...plain, recognize: async (image, signal) => ({ ...(await plain.recognize(image, signal)), text: `${adIdOf(image)} ${'lorem ipsum '.repeat(200)}` }) };
      const failures: CommitFailure[] = [];
      let stillFullOnRetry = '';
      let reportedWhilePaused = 0;
      let paused = false;
      const outcome = await runScenario({
        name: 'disk full during grouped commits',
        runId: run.id,
        ads,
        lanes: [{ config: lane('ocr', 'embedded', 3), engine: wordy, prior_s: 0.001, coldStart_s: 0 }],
        loadImage: async (ad) => fakeImageFor(ad),
        sqlite: store,
        onResult: (_result, finished) => {
          if (paused) reportedWhilePaused++;
          // The database may not grow by another page: the next grouped commit fails with SQLITE_FULL.
          if (finished === 100) store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true }) as number}`);
        },
        onStart: (orchestrator) => {
          // What the app's RunManager does: pause on the failure; Resume retries the kept results first.
          store.runStore.onCommitFailure((failure) => {
            failures.push(failure);
            orchestrator.pause();
            paused = true;
            void (async () => {
              await waitUntil(() => orchestrator.progress().inFlight === 0, 30_000, 'the calls in flight to end');
              try {
                store.runStore.retry();
              } catch (error) {
                stillFullOnRetry = (error as Error).message;
              }
              store.db.pragma('max_page_count = 1073741823');
              paused = false;
              store.runStore.retry();
              orchestrator.resume();
            })();
          });
        },
      });
      expect(outcome.error).toBeNull();
      expect(failures.length, 'the commit failed').toBeGreaterThanOrEqual(1);
      expect(failures[0]!.message).toMatch(/^the disk is full: \d+ results? (is|are) waiting to be saved; free some disk space, then resume the run/);
      expect(failures[0]!.waiting).toBeGreaterThan(0);
      expect(stillFullOnRetry, 'a retry while still full says so').toMatch(/^the disk is full/);
      expect(outcome.reportedBeforeSaved, 'results reported done before their commit').toBe(0);
      expect(reportedWhilePaused, 'the kept results are not reported while unsaved').toBe(0);
      expect(new Set(outcome.results.map((result) => result.creativeId)).size, 'every ad reported once').toBe(ads.length);
      expect(outcome.results).toHaveLength(ads.length);
      const row = recordScenario('disk full during grouped commits, paused, resumed', [outcome.figures], ads.map((ad) => ad.creativeId), [], `paused with "${failures[0]!.message.slice(0, 48)}…" (${failures[0]!.waiting} kept)`, {
        store,
        runId: run.id,
        answeredTwice: answeredTwice(controls),
      });
      expect(row).toMatchObject({ lost: 0, twice: 0, done: ads.length, answeredTwice: 0 });
    } finally {
      store.close();
    }
  });

  it('disk full mid-run: the run stops with a clear error, and resumes once writable without losing or repeating an ad', async () => {
    const store = openStore(join(workDir, 'full.db'), { groupCommit: { minIntervalMs: 0 } });
    try {
      const ads = makeAds(400, (i) => `https://ads.example/${i}.png`);
      const batch = store.saveBatch({ source: 'full.csv', format: 'csv', columns: [], fieldColumns: { id: null, url: null, text: null }, ads });
      const run = store.createRun({ batchId: batch.id, policy: 'auto' });
      const engine = newControls(1);
      const lanes = [{ config: lane('ocr', 'embedded', 3), engine: fakeEngine('embedded', engine), prior_s: 0.001, coldStart_s: 0 }];
      const loadImage = async (ad: (typeof ads)[number]) => fakeImageFor(ad);

      const first = await runScenario({
        name: 'disk full',
        runId: run.id,
        ads,
        lanes,
        loadImage,
        sqlite: store,
        onResult: (_result, finished) => {
          // The database may not grow by another page: the next commits fail with SQLITE_FULL.
          if (finished === 100) store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true })}`);
        },
      });
      expect(first.error, 'the run stops').toBeInstanceOf(Error);
      expect((first.error as Error).message).toMatch(/^the disk is full: \d+ results? (is|are) waiting to be saved.*database or disk is full/);
      expect(first.reportedBeforeSaved, 'nothing reported done before it was saved').toBe(0);
      const stored = (runId: string) => store.db.prepare<[string], { creative_id: string; n: number }>('SELECT creative_id, count(*) AS n FROM results WHERE run_id = ? GROUP BY creative_id').all(runId);
      const savedBefore = stored(run.id).length;
      const kept = store.runStore.pendingFailure()?.waiting ?? 0;
      expect(savedBefore).toBeGreaterThanOrEqual(100);
      expect(savedBefore).toBe(first.results.length);
      expect(savedBefore + kept).toBeLessThan(ads.length);

      store.db.pragma('max_page_count = 1073741823');
      const second = await runScenario({ name: 'disk full (resumed)', runId: run.id, ads, lanes, loadImage, sqlite: store });
      expect(second.error).toBeNull();
      expect(second.summary!.skipped, 'finished ads — saved or kept — are not run again').toBe(savedBefore + kept);
      store.runStore.flush();

      const rows = stored(run.id);
      expect(rows.every((row) => row.n === 1)).toBe(true);
      const finals: AdResult[] = store.db
        .prepare<[string], { creative_id: string; status: 'done' | 'failed'; error: string | null }>('SELECT creative_id, status, error FROM results WHERE run_id = ?')
        .all(run.id)
        .map((row) => ({ runId: run.id, creativeId: row.creative_id, status: row.status, engine: null, laneId: null, model: null, text: '', blocks: [], durationMs: null, attempts: [], ...(row.error ? { error: row.error } : {}) }));
      const reportedTwice = [...first.results, ...second.results].length - new Set([...first.results, ...second.results].map((result) => result.creativeId)).size;
      const row = recordScenario('store disk full, then resumed', [first.figures, second.figures], ads.map((ad) => ad.creativeId), finals, `stopped with "${(first.error as Error).message.slice(0, 60)}…" after ${savedBefore} saved, ${kept} kept; ${reportedTwice} reported twice`, { store, runId: run.id });
      expect(row.lost).toBe(0);
      expect(row.twice).toBe(0);
      expect(row.done).toBe(ads.length);
      expect(reportedTwice, 'no ad was reported finished in both sessions').toBe(0);
    } finally {
      store.close();
    }
  });
});
