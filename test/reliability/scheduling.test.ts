/**
 * The scheduler's own faults, end to end through the SQLite store: a wall-clock jump of
 * +2 h mid-run, and 20 000 dead image links with one lane down for half the run. Lost and
 * twice are counted from the SQLite rows and the export, not from the orchestrator's events.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { Ad } from '../../shared/domain.js';
import { EngineError, type Engine } from '../../electron/core/engines/types.js';
import { openStore, type Store } from '../../electron/core/store/index.js';
import { formatFigures, readFigures, recordFigures } from './figures.js';
import { answeredTwice, fakeEngine, fakeImageFor, lane, makeAds, newControls, runScenario } from './harness.js';

const workDir = mkdtempSync(join(tmpdir(), 'pv-scheduling-'));
const HOUR_MS = 3_600_000;
// Two scheduler decisions call an engine again by design: a straggler's backup (first answer
// wins), and pausing an engine that slows the others (its calls in flight are aborted and
// re-queued). With zero-latency fakes the engine has often answered before the abort lands,
// so these rows, which count the answers *faults* duplicate, turn both off.
const NO_SCHEDULER_RECALLS = { backupFactor: 1e9, backupMarginMs: HOUR_MS, interferencePauseZ: Number.POSITIVE_INFINITY };

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  console.log(`\nReliability figures so far:\n${formatFigures(readFigures())}`);
});

function newRun(name: string, ads: readonly Ad[]): { store: Store; runId: string } {
  const store = openStore(join(workDir, `${name}.db`));
  const batch = store.saveBatch({ source: name, format: 'csv', columns: [], fieldColumns: { id: null, url: null, text: null }, ads: [...ads] });
  return { store, runId: store.createRun({ batchId: batch.id, policy: 'auto' }).id };
}

/** Lost and twice from what was saved: result rows per ad, and the export's rows per ad. */
function countFromStore(store: Store, runId: string, ads: readonly Ad[]): { lost: number; twice: number; done: number; failed: number; maxAttemptMs: number } {
  store.runStore.flush();
  const rows = store.db.prepare<[string], { creative_id: string; n: number }>('SELECT creative_id, count(*) AS n FROM results WHERE run_id = ? GROUP BY creative_id').all(runId);
  const resultRows = new Map(rows.map((row) => [row.creative_id, row.n]));
  const exported = new Map<string, { count: number; pending: boolean }>();
  let done = 0;
  let failed = 0;
  for (const row of store.exportRows(runId, 'all')) {
    const entry = exported.get(row.ad.creativeId) ?? { count: 0, pending: false };
    entry.count++;
    if (row.status === 'pending') entry.pending = true;
    else if (row.status === 'done') done++;
    else failed++;
    exported.set(row.ad.creativeId, entry);
  }
  let lost = 0;
  let twice = 0;
  for (const ad of ads) {
    const entry = exported.get(ad.creativeId);
    if (!entry || entry.pending || !resultRows.has(ad.creativeId)) lost++;
    if ((entry?.count ?? 0) > 1 || (resultRows.get(ad.creativeId) ?? 0) > 1) twice++;
  }
  const maxAttemptMs = store.db.prepare<[string], { ms: number | null }>('SELECT max(duration_ms) AS ms FROM attempts WHERE run_id = ?').get(runId)!.ms ?? 0;
  return { lost, twice, done, failed, maxAttemptMs };
}

describe('scheduler faults, counted from the store', () => {
  afterEach(() => vi.useRealTimers());

  it('a wall-clock jump of +2 h mid-run: no lane fails, no duration distorted, nothing lost or done twice', async () => {
    // Only Date jumps; timers and performance.now() run on, as on a Mac woken from sleep or set forward.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    const ads = makeAds(400, (i) => `fake://${i}`);
    const { store, runId } = newRun('clock-jump', ads);
    const steady = newControls(3);
    const flaky = newControls(3, 0.2);
    let jumpedAt = 0;
    try {
      const outcome = await runScenario({
        name: 'clock jump +2 h mid-run',
        runId,
        ads,
        lanes: [
          { config: lane('steady', 'deepseek', 2), engine: fakeEngine('deepseek', steady), prior_s: 0.003, coldStart_s: 0 },
          { config: lane('flaky', 'embedded', 2), engine: fakeEngine('embedded', flaky), prior_s: 0.003, coldStart_s: 0 },
        ],
        loadImage: async (ad) => fakeImageFor(ad),
        store: store.runStore,
        maxAttempts: 5,
        // An outage timer the jump would trip on a wall clock.
        tuning: { giveUpAfterMs: 10 * 60_000, giveUpMinFailedProbes: 0, ...NO_SCHEDULER_RECALLS },
        onResult: (_result, finished) => {
          if (finished === 150) {
            jumpedAt = Date.now();
            vi.setSystemTime(Date.now() + 2 * HOUR_MS);
          }
        },
      });
      expect(outcome.error).toBeNull();
      expect(jumpedAt).toBeGreaterThan(0);
      const counted = countFromStore(store, runId, ads);
      expect(counted).toMatchObject({ lost: 0, twice: 0, done: 400, failed: 0 });
      // Bounds far above any run here and far below the jump: what they catch is the 2 h, not speed.
      expect(counted.maxAttemptMs, 'no call measured as 2 h long').toBeLessThan(HOUR_MS);
      expect(outcome.summary!.elapsed_s, 'the 2 h jump is not in the elapsed time').toBeLessThan(HOUR_MS / 1000);
      const twiceAnswered = answeredTwice(steady, flaky);
      expect(twiceAnswered, 'engine answers received twice').toBe(0);
      recordFigures({ ...outcome.figures, lost: counted.lost, twice: counted.twice, note: `longest call ${counted.maxAttemptMs} ms; engine answers twice: ${twiceAnswered}` });
    } finally {
      store.close();
    }
  });

  it('20 000 dead image links and one lane down for half the run: every ad ends once, the dead links with their reason', async () => {
    const good = 10_000;
    const dead = 20_000;
    // Dead links in one block (an image host gone): half answer 404, half time out.
    const ads = makeAds(good + dead, (i) => (i >= good / 2 && i < good / 2 + dead ? (i % 2 === 0 ? `dead-404://${i}` : `dead-timeout://${i}`) : `fake://${i}`));
    const { store, runId } = newRun('dead-links', ads);
    const healthy = newControls(0);
    const down = newControls(0);
    let finished = 0;
    const downEngine = fakeEngine('ollama', down);
    const halfDown: Engine = {
      ...downEngine,
      recognize: (image, signal) => (finished < ads.length / 2 ? Promise.reject(new EngineError('unavailable', 'connection refused')) : downEngine.recognize(image, signal)),
    };
    try {
      const outcome = await runScenario({
        name: '20 000 dead links, a lane down half the run',
        runId,
        ads,
        lanes: [
          { config: lane('healthy', 'deepseek', 8), engine: fakeEngine('deepseek', healthy), prior_s: 0.001, coldStart_s: 0 },
          { config: lane('down', 'ollama', 8), engine: halfDown, prior_s: 0.001, coldStart_s: 0 },
        ],
        loadImage: (ad) => {
          if (ad.imageUrl.startsWith('dead-404:')) return Promise.reject(new EngineError('permanent', 'image not found (404)', { status: 404 }));
          if (ad.imageUrl.startsWith('dead-timeout:')) return Promise.reject(new EngineError('transient', 'image download timed out'));
          return Promise.resolve(fakeImageFor(ad));
        },
        store: store.runStore,
        maxAttempts: 3,
        tuning: { retryBaseMs: 5, retryMaxMs: 20, ...NO_SCHEDULER_RECALLS },
        onResult: () => {
          finished++;
        },
      });
      expect(outcome.error).toBeNull();
      const counted = countFromStore(store, runId, ads);
      expect(counted).toMatchObject({ lost: 0, twice: 0, done: good, failed: dead });
      for (const result of outcome.results) {
        if (result.status === 'failed') expect(result.error).toMatch(/^image: (permanent: image not found \(404\)|transient: image download timed out)/);
      }
      const twiceAnswered = answeredTwice(healthy, down);
      expect(twiceAnswered, 'engine answers received twice').toBe(0);
      const downLane = outcome.summary!.lanes.find((entry) => entry.laneId === 'down')!;
      expect(downLane.failedCalls, 'the outage was exercised').toBeGreaterThan(0);
      recordFigures({ ...outcome.figures, lost: counted.lost, twice: counted.twice, note: `down lane: ${downLane.failedCalls} refused calls, ${downLane.done} ads after it came back; engine answers twice: ${twiceAnswered}` });
    } finally {
      store.close();
    }
  });
});
