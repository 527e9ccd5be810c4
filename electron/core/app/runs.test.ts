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
