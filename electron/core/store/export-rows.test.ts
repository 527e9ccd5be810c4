import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ads, batchInput, now, openTempStore, removeTempStore, result } from './__fixtures__/sample-store.js';
import { openStore, type Store } from './index.js';

let dir: string;
let store: Store;
beforeEach(async () => {
  ({ dir, store } = await openTempStore());
});
afterEach(() => removeTempStore(dir, store));

describe('exportRows', () => {
  it('streams rows in input order across chunks, with filters', () => {
    const runId = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' }).id;
    store.runStore.saveResult(result('a2', { runId }));
    store.runStore.saveResult(result('a4_%', { runId, status: 'failed', error: 'boom', text: '' }));
    const all = [...store.exportRows(runId, 'all', 3)];
    expect(all.map((row) => [row.ad.creativeId, row.status])).toEqual([
      ['a1', 'pending'],
      ['a2', 'done'],
      ['a3', 'pending'],
      ['a4_%', 'failed'],
    ]);
    expect(all[1]).toMatchObject({ ad: ads[1], text: 'text of a2', blocks: [{ text: 'x', box: [1, 2, 3, 4] }], model: 'ppocr', durationMs: 100 });
    expect([...store.exportRows(runId, 'done', 1)].map((row) => row.ad.creativeId)).toEqual(['a2']);
    expect([...store.exportRows(runId, 'failed')].map((row) => row.error)).toEqual(['boom']);
    expect([store.countExportRows(runId, 'all'), store.countExportRows(runId, 'done'), store.countExportRows(runId, 'failed')]).toEqual([4, 1, 1]);
  });
});

describe('filteredExportRows', () => {
  it('answers a page of matching rows and their total from one flush, seeing results not yet committed', () => {
    store.close();
    // Commits wait a minute: only a flush makes the results below visible to a read.
    store = openStore(join(dir, 'db', 'pv.db'), { now, groupCommit: { minIntervalMs: 60_000, maxBatch: 1000 } });
    const runId = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' }).id;
    for (const id of ['a1', 'a3', 'a4_%']) store.runStore.saveResult(result(id, { runId }));
    store.runStore.saveResult(result('a2', { runId, status: 'failed', error: 'boom', text: '' }));
    const flush = vi.spyOn(store.runStore, 'flush');
    const page = store.filteredExportRows(runId, 'done', 1, 1);
    expect(flush).toHaveBeenCalledTimes(1);
    expect([page.total, page.rows.map((row) => row.ad.creativeId)]).toEqual([3, ['a3']]);
  });
});
