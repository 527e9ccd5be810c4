import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchInput, openTempStore, removeTempStore, result } from './__fixtures__/sample-store.js';
import type { Store } from './index.js';
import { IMAGE_ATTEMPT_ERROR_PREFIX } from '../../../shared/domain.js';

let dir: string;
let store: Store;
beforeEach(async () => {
  ({ dir, store } = await openTempStore());
});
afterEach(() => removeTempStore(dir, store));

describe('pageResults', () => {
  let runId: string;
  beforeEach(() => {
    runId = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' }).id;
    const rs = store.runStore;
    rs.saveResult(result('a3', { runId, engine: 'deepseek', durationMs: 300, text: 'SUMMER sale 50%' }));
    rs.saveResult(result('a1', { runId, engine: 'embedded', durationMs: 100, text: 'Buy now' }));
    rs.saveResult(result('a4_%', { runId, status: 'failed', engine: null, durationMs: null, text: '', error: 'HTTP 404' }));
  });

  it('sorts, pages and counts', () => {
    const byFinish = store.pageResults({ runId, sort: 'finishedAt' });
    expect(byFinish.total).toBe(4);
    expect(byFinish.rows.map((row) => row.creativeId)).toEqual(['a2', 'a3', 'a1', 'a4_%']);
    const byDuration = store.pageResults({ runId, sort: 'duration', descending: true, offset: 0, limit: 2 });
    expect(byDuration.rows.map((row) => [row.creativeId, row.durationMs])).toEqual([
      ['a3', 300],
      ['a1', 100],
    ]);
    expect(store.pageResults({ runId, sort: 'creativeId', offset: 3, limit: 2 }).rows.map((row) => row.creativeId)).toEqual(['a4_%']);
  });

  it('filters by engine and status and searches ids and text literally', () => {
    expect(store.pageResults({ runId, engine: 'deepseek' }).rows.map((row) => row.creativeId)).toEqual(['a3']);
    const failed = store.pageResults({ runId, status: 'failed' });
    expect(failed.rows).toEqual([{ creativeId: 'a4_%', imageUrl: 'https://x.test/4.png', status: 'failed', engine: null, durationMs: null, excerpt: '', error: 'HTTP 404' }]);
    expect(store.pageResults({ runId, status: 'pending' }).rows.map((row) => row.creativeId)).toEqual(['a2']);
    expect(store.pageResults({ runId, search: 'summer' }).rows.map((row) => row.creativeId)).toEqual(['a3']);
    // % and _ are literal characters, not wildcards.
    expect(store.pageResults({ runId, search: '50%' }).rows.map((row) => row.creativeId)).toEqual(['a3']);
    expect(store.pageResults({ runId, search: '_%' }).rows.map((row) => row.creativeId)).toEqual(['a4_%']);
    expect(store.pageResults({ runId, search: 'a_' }).total).toBe(0);
  });

  it('sorts filtered pages by any column', () => {
    expect(store.pageResults({ runId, status: 'done', sort: 'creativeId', descending: true }).rows.map((row) => row.creativeId)).toEqual(['a3', 'a1']);
    expect(store.pageResults({ runId, status: 'done', sort: 'duration', offset: 1, limit: 1 }).rows.map((row) => row.creativeId)).toEqual(['a3']);
    expect(store.pageResults({ runId, engine: 'embedded', sort: 'engine' }).rows.map((row) => row.creativeId)).toEqual(['a1']);
  });
});

describe('laneSummary', () => {
  it("counts each lane's done ads and failed calls and takes its median and p95 of done durations", () => {
    const runId = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' }).id;
    const rs = store.runStore;
    const failedOn = (laneId: string, engine: 'deepseek' | 'ollama') => ({ laneId, engine, startedAt: 1, durationMs: 50, outcome: 'error' as const, error: 'HTTP 500' });
    rs.saveResult(result('a1', { runId, laneId: 'fast', engine: 'embedded', durationMs: 100 }));
    // Failed on slow, retried and done on fast: a failed call of slow's, a done ad of fast's.
    rs.saveResult(result('a2', { runId, laneId: 'fast', engine: 'embedded', durationMs: 300, attempts: [failedOn('slow', 'deepseek'), { laneId: 'fast', engine: 'embedded', startedAt: 2, durationMs: 300, outcome: 'ok' }] }));
    rs.saveResult(result('a3', { runId, laneId: 'slow', engine: 'deepseek', durationMs: 2000 }));
    rs.saveResult(result('a4_%', { runId, laneId: 'slow', engine: 'deepseek', status: 'failed', durationMs: 50, text: '', error: 'HTTP 500', attempts: [failedOn('slow', 'deepseek'), failedOn('broken', 'ollama')] }));
    expect(store.laneSummary(runId)).toEqual([
      { laneId: 'fast', engine: 'embedded', done: 2, failed: 0, p50_s: 0.1, p95_s: 0.3 },
      { laneId: 'slow', engine: 'deepseek', done: 1, failed: 2, p50_s: 2, p95_s: 2 },
      { laneId: 'broken', engine: 'ollama', done: 0, failed: 1, p50_s: null, p95_s: null },
    ]);
  });

  it('leaves out ads that failed before reaching a lane (their image did not download)', () => {
    const runId = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' }).id;
    const attempt = { laneId: 'fast', engine: 'embedded' as const, startedAt: 1, durationMs: 3, outcome: 'error' as const, error: `${IMAGE_ATTEMPT_ERROR_PREFIX}permanent: HTTP 404` };
    store.runStore.saveResult(result('a4_%', { runId, status: 'failed', engine: null, laneId: null, durationMs: null, text: '', error: 'HTTP 404', attempts: [attempt] }));
    expect(store.laneSummary(runId), "the lane that fetched it has no failed call of its engine's").toEqual([]);
  });
});
