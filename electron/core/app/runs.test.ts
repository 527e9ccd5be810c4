/**
 * The run manager when a grouped commit fails (disk full): the run pauses with the reason and
 * the count, nothing unsaved is sent to the UI, and Resume saves the kept results first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventName } from '../../../shared/api.js';
import { RunConfig, type AdResult } from '../../../shared/domain.js';
import { testEngineFactory } from '../engines/test-engine.js';
import type { ImageFetcher } from '../fetch/index.js';
import { openStore, type Store } from '../store/index.js';
import { EventBus } from './events.js';
import { RunManager } from './runs.js';

let dir: string;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pv-runs-'));
  store = openStore(join(dir, 'pv.db'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('RunManager with a store whose disk fills up', () => {
  it('pauses the run with "the disk is full: N results are waiting to be saved", sends nothing unsaved, and saves them on Resume', async () => {
    const png = new Uint8Array(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } }).png().toBuffer());
    const fetcher: ImageFetcher = {
      fetchImage: async (url) => ({ bytes: png, mime: 'image/png', hash: url, width: 8, height: 8, fromCache: false }),
      close: async () => undefined,
    };
    const bus = new EventBus();
    const events: { event: EventName; payload: unknown }[] = [];
    bus.subscribe((event, payload) => events.push({ event, payload }));
    const manager = new RunManager({ store, fetcher, bus, engineDeps: {}, serviceUrl: () => null,
      // 200 ads × 20 ms on 2 workers: the disk fills while the run is live, on any machine.
      createEngine: testEngineFactory({ delayMs: 20 }) });
    const ads = Array.from({ length: 200 }, (_, i) => ({ creativeId: `d${String(i).padStart(3, '0')}`, imageUrl: `https://ads.example/${i}.png` }));
    const batch = store.saveBatch({ source: 'full.csv', format: 'csv', columns: [], fieldColumns: { id: null, url: null, text: null }, ads });
    const runId = await manager.start(RunConfig.parse({ batchId: batch.id, policy: 'auto', lanes: [{ id: 'fast', engine: 'embedded', workers: 2 }] }));
    const stored = () => (store.db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM results WHERE run_id = ?').get(runId)?.n ?? 0);
    await expect.poll(stored, { timeout: 30_000, interval: 5 }).toBeGreaterThan(20);
    store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true }) as number}`);

    await expect.poll(() => manager.progress(runId).status, { timeout: 30_000, interval: 10 }).toBe('paused');
    const errors = events.filter((entry) => entry.event === 'app.error').map((entry) => (entry.payload as { message: string }).message);
    expect(errors[0]).toMatch(new RegExp(`^Run ${runId} paused: the disk is full: \\d+ results? (is|are) waiting to be saved; free some disk space, then resume the run`));
    const sent = () => events.filter((entry) => entry.event === 'run.results').flatMap((entry) => (entry.payload as { results: AdResult[] }).results.map((result) => result.creativeId));
    // Let the UI's batching flush: what it was sent is exactly what is stored.
    await expect.poll(() => sent().length, { timeout: 10_000, interval: 20 }).toBe(stored());
    const kept = store.runStore.pendingFailure()!.waiting;
    expect(kept).toBeGreaterThan(0);

    await expect(manager.resume(runId), 'still full: Resume says why').rejects.toThrow(/the disk is full/);
    expect(manager.progress(runId).status).toBe('paused');
    store.db.pragma('max_page_count = 1073741823');
    await manager.resume(runId);
    await expect.poll(() => manager.progress(runId).status, { timeout: 60_000, interval: 20 }).toBe('finished');
    await expect.poll(() => sent().length, { timeout: 10_000, interval: 20 }).toBe(ads.length);
    expect(new Set(sent()).size, 'each ad sent once').toBe(ads.length);
    expect(stored()).toBe(ads.length);
    await manager.stopAll();
  });
});

describe('RunManager.progress of a run that has ended', () => {
  it('still shows what every lane did, read from the stored results, after the run is gone from memory', async () => {
    const png = new Uint8Array(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } }).png().toBuffer());
    const fetcher: ImageFetcher = {
      fetchImage: async (url) => {
        if (url.endsWith('/missing.png')) throw new Error('HTTP 404');
        return { bytes: png, mime: 'image/png', hash: url, width: 8, height: 8, fromCache: false };
      },
      close: async () => undefined,
    };
    const manager = new RunManager({ store, fetcher, bus: new EventBus(), engineDeps: {}, serviceUrl: () => null, createEngine: testEngineFactory({ delayByEngine: { embedded: 1, deepseek: 3 } }) });
    const ads = [...Array.from({ length: 20 }, (_, i) => ({ creativeId: `e${i}`, imageUrl: `https://ads.example/${i}.png` })), { creativeId: 'gone', imageUrl: 'https://ads.example/missing.png' }];
    const batch = store.saveBatch({ source: 'ended.csv', format: 'csv', columns: [], fieldColumns: { id: null, url: null, text: null }, ads });
    const runId = await manager.start(
      RunConfig.parse({ batchId: batch.id, policy: 'ratio', split: { embedded: 0.5, deepseek: 0.5 }, maxAttempts: 1, lanes: [
        { id: 'fast', engine: 'embedded', label: 'PaddleOCR', workers: 2 },
        { id: 'exact', engine: 'deepseek', workers: 1 },
        { id: 'off', engine: 'ollama', workers: 1, enabled: false },
      ] }),
    );
    await expect.poll(() => manager.progress(runId).status, { timeout: 30_000, interval: 10 }).toBe('finished');
    await manager.stopAll();

    const progress = manager.progress(runId);
    expect(progress.failed).toBe(1);
    expect(progress.imageFailed, 'its image failed it').toBe(1);
    expect(progress.lanes.map((lane) => [lane.laneId, lane.engine, lane.label, lane.workers, lane.inFlight])).toEqual([
      ['fast', 'embedded', 'PaddleOCR', 2, 0],
      ['exact', 'deepseek', 'exact', 1, 0],
    ]);
    expect(progress.lanes.reduce((sum, lane) => sum + lane.done, 0), 'every done ad in a lane').toBe(20);
    expect(progress.lanes.every((lane) => lane.done > 0 && lane.failed === 0 && lane.p50_s !== null), 'the dead link failed before any lane').toBe(true);
    expect(progress.lanes.reduce((sum, lane) => sum + lane.share, 0)).toBeCloseTo(1);
  });
});

describe('RunManager.progress of a run nothing drives', () => {
  it('gives the working time the run noted as its elapsed time, not the days it lay interrupted or paused', () => {
    const manager = new RunManager({ store, fetcher: { fetchImage: () => Promise.reject(new Error('unused')), close: async () => undefined }, bus: new EventBus(), engineDeps: {}, serviceUrl: () => null });
    const ads = Array.from({ length: 4 }, (_, i) => ({ creativeId: `w${i}`, imageUrl: `https://ads.example/${i}.png` }));
    const batch = store.saveBatch({ source: 'worked.csv', format: 'csv', columns: [], fieldColumns: { id: null, url: null, text: null }, ads });
    const run = store.createRun({ batchId: batch.id, policy: 'auto', config: { lanes: [{ id: 'fast', engine: 'embedded', workers: 1 }] } });
    for (const ad of ads.slice(0, 3)) {
      store.runStore.saveResult({ runId: run.id, creativeId: ad.creativeId, status: 'done', engine: 'embedded', laneId: 'fast', model: 'm', text: 't', blocks: [], durationMs: 500, attempts: [] });
    }
    store.runStore.noteWorked(run.id, 60_000);
    store.setRunStatus(run.id, 'interrupted');
    store.db.prepare('UPDATE runs SET created_at = created_at - 86400000 WHERE id = ?').run(run.id);

    const progress = manager.progress(run.id);
    expect(progress.elapsed_s).toBe(60);
    expect(progress.lanes.map((lane) => [lane.laneId, lane.done, lane.adsPerMinute])).toEqual([['fast', 3, 3]]);
  });
});

describe('RunManager with a lane that cannot be built', () => {
  it('says the lane is left out of the run in a notice, not as an error, and runs on the other lane', async () => {
    const png = new Uint8Array(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } }).png().toBuffer());
    const fetcher: ImageFetcher = { fetchImage: async (url) => ({ bytes: png, mime: 'image/png', hash: url, width: 8, height: 8, fromCache: false }), close: async () => undefined };
    const bus = new EventBus();
    const events: { event: EventName; payload: unknown }[] = [];
    bus.subscribe((event, payload) => events.push({ event, payload }));
    const working = testEngineFactory({ delayMs: 1 });
    const manager = new RunManager({ store, fetcher, bus, engineDeps: {}, serviceUrl: () => null,
      createEngine: async (lane) => {
        if (lane.engine === 'deepseek') throw new Error('connect ECONNREFUSED 127.0.0.1:8001');
        return working(lane);
      } });
    const batch = store.saveBatch({ source: 'two.csv', format: 'csv', columns: [], fieldColumns: { id: null, url: null, text: null }, ads: [{ creativeId: 'a', imageUrl: 'https://ads.example/a.png' }] });
    const runId = await manager.start(RunConfig.parse({ batchId: batch.id, policy: 'auto', lanes: [{ id: 'embedded', engine: 'embedded', workers: 1 }, { id: 'deepseek', engine: 'deepseek', workers: 1 }] }));
    await expect.poll(() => manager.progress(runId).status, { timeout: 30_000, interval: 10 }).toBe('finished');
    await manager.stopAll();
    expect(events.filter((entry) => entry.event === 'app.notice').map((entry) => entry.payload)).toEqual([{ message: 'deepseek: left out of this run — not available (connect ECONNREFUSED 127.0.0.1:8001)' }]);
    expect(events.some((entry) => entry.event === 'app.error')).toBe(false);
    expect(manager.progress(runId).done).toBe(1);
  });
});
