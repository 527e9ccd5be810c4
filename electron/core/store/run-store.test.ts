import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ads, batchInput, now, openTempStore, removeTempStore, result } from './__fixtures__/sample-store.js';
import { openStore, type CommitFailure, type Store } from './index.js';

let dir: string;
let store: Store;
beforeEach(async () => {
  ({ dir, store } = await openTempStore());
});
afterEach(() => removeTempStore(dir, store));

describe('SqliteRunStore', () => {
  it('saves each result once, counts it, and answers isFinished', () => {
    const run = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' });
    const rs = store.runStore;
    expect(rs.isFinished(run.id, 'a1', null)).toBe(false);
    rs.saveResult(result('a1', { runId: run.id }));
    rs.saveResult(result('a1', { runId: run.id, engine: 'deepseek', text: 'late backup' }));
    rs.saveResult(result('a2', { runId: run.id, status: 'failed', text: '', error: 'not an image', engine: null, laneId: null, model: null, durationMs: null }));
    expect(rs.isFinished(run.id, 'a1', null)).toBe(true);
    expect(rs.isFinished(run.id, 'a2', null)).toBe(true);
    expect(rs.isFinished(run.id, 'a3', null)).toBe(false);
    expect(store.getRun(run.id)).toMatchObject({ done: 1, failed: 1 });
    expect(store.getResult(run.id, 'a1')!.results.map((r) => r.text)).toEqual(['text of a1']);
    expect(() => rs.saveResult(result('a3', { runId: 'nope' }))).toThrow(/unknown run/);
  });

  it('keeps one result per engine in compare runs', () => {
    const run = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'compare' });
    const rs = store.runStore;
    rs.saveResult(result('a1', { runId: run.id, engine: 'embedded' }));
    rs.saveResult(result('a1', { runId: run.id, engine: 'deepseek', text: 'deep' }));
    rs.saveResult(result('a1', { runId: run.id, engine: 'deepseek', text: 'again' }));
    expect(rs.isFinished(run.id, 'a1', 'deepseek')).toBe(true);
    expect(rs.isFinished(run.id, 'a1', 'ollama')).toBe(false);
    expect(store.getResult(run.id, 'a1')!.results.map((r) => [r.engine, r.text])).toEqual([
      ['deepseek', 'deep'],
      ['embedded', 'text of a1'],
    ]);
    expect([...store.exportRows(run.id, 'all')].map((row) => [row.ad.creativeId, row.engine])).toEqual([
      ['a1', 'deepseek'],
      ['a1', 'embedded'],
      ['a2', null],
      ['a3', null],
      ['a4_%', null],
    ]);
    expect(store.countExportRows(run.id, 'all')).toBe(5);
  });

  it('stores each compare ad’s agreement with its last engine result and pages compare views from it', () => {
    const run = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'compare', tasksPerAd: 3 });
    const rs = store.runStore;
    const pairs = () => (rs.flush(), store.db.prepare('SELECT creative_id, engine_a, engine_b, score FROM pair_agreement WHERE run_id = ? ORDER BY 1, 2, 3').all(run.id));
    rs.saveResult(result('a1', { runId: run.id, engine: 'embedded', text: 'SALE 50%' }));
    rs.saveResult(result('a1', { runId: run.id, engine: 'deepseek', text: 'SALE 50%', durationMs: 300 }));
    expect(pairs(), 'not before the last engine').toEqual([]);
    expect(store.comparePage(run.id, 0, 10).rows[0]).toMatchObject({ creativeId: 'a1', agreement: null });
    rs.saveResult(result('a1', { runId: run.id, engine: 'ollama', text: 'SALE 5O%' }));
    rs.saveResult(result('a2', { runId: run.id, engine: 'embedded', text: 'x' }));
    rs.saveResult(result('a2', { runId: run.id, engine: 'deepseek', status: 'failed', text: '', error: 'boom' }));
    rs.saveResult(result('a2', { runId: run.id, engine: 'ollama', text: 'y' }));
    expect(pairs()).toEqual([
      { creative_id: 'a1', engine_a: 'deepseek', engine_b: 'embedded', score: 1 },
      { creative_id: 'a1', engine_a: 'deepseek', engine_b: 'ollama', score: 0.875 },
      { creative_id: 'a1', engine_a: 'embedded', engine_b: 'ollama', score: 0.875 },
      { creative_id: 'a2', engine_a: 'embedded', engine_b: 'ollama', score: 0 },
    ]);
    // Read, not recomputed: a text changed behind the store's back does not move the agreement.
    store.db.prepare("UPDATE results SET text = 'changed' WHERE run_id = ? AND creative_id = 'a1' AND engine = 'ollama'").run(run.id);
    const page = store.comparePage(run.id, 0, 2);
    expect(page.total).toBe(4);
    expect(page.rows.map((row) => [row.creativeId, row.agreement])).toEqual([
      ['a1', (1 + 0.875 + 0.875) / 3],
      ['a2', 0],
    ]);
    expect(page.rows[0]!.outputs.map((output) => output.engine)).toEqual(['deepseek', 'embedded', 'ollama']);
    expect(store.comparePage(run.id, 2, 2).rows.map((row) => [row.creativeId, row.outputs.length, row.agreement])).toEqual([
      ['a3', 0, null],
      ['a4_%', 0, null],
    ]);
    expect(store.compareSummary(run.id)).toEqual([
      { engine: 'deepseek', done: 1, failed: 1, meanMs: 200, agreement: (1 + 0.875) / 2 },
      { engine: 'embedded', done: 2, failed: 0, meanMs: 100, agreement: (1 + 0.875 + 0) / 3 },
      { engine: 'ollama', done: 2, failed: 0, meanMs: 100, agreement: (0.875 + 0.875 + 0) / 3 },
    ]);
  });

  it('gives compare runs stored before agreement was kept theirs at the upgrade', () => {
    const path = join(dir, 'db', 'pv.db');
    const run = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'compare', tasksPerAd: 2 });
    store.runStore.saveResult(result('a1', { runId: run.id, engine: 'embedded', text: 'abcd' }));
    store.runStore.saveResult(result('a1', { runId: run.id, engine: 'deepseek', text: 'abcx' }));
    store.runStore.saveResult(result('a2', { runId: run.id, engine: 'embedded' }));
    store.runStore.flush();
    // Back to the schema before step 2 (and the steps after it).
    store.db.exec('DROP TABLE pair_agreement; ALTER TABLE results DROP COLUMN truncated; ALTER TABLE runs DROP COLUMN worked_ms; ALTER TABLE results DROP COLUMN image_failed;');
    store.db.pragma('user_version = 1');
    store.close();
    store = openStore(path, { now });
    expect(store.db.prepare('SELECT creative_id, engine_a, engine_b, score FROM pair_agreement').all()).toEqual([{ creative_id: 'a1', engine_a: 'deepseek', engine_b: 'embedded', score: 0.75 }]);
  });

  it('returns attempts with the result detail, and keeps a result’s own attempts when none were recorded', () => {
    const run = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' });
    const rs = store.runStore;
    rs.recordAttempt(run.id, 'a1', { laneId: 'ollama', engine: 'ollama', startedAt: 5, durationMs: 30, outcome: 'error', error: 'HTTP 500' });
    rs.recordAttempt(run.id, 'a1', { laneId: 'embedded', engine: 'embedded', startedAt: 40, durationMs: 100, outcome: 'ok' });
    rs.saveResult(result('a1', { runId: run.id, engine: null }));
    rs.saveResult(result('a2', { runId: run.id, attempts: [{ laneId: 'embedded', engine: 'embedded', startedAt: 1, durationMs: 2, outcome: 'ok' }] }));
    const detail = store.getResult(run.id, 'a1')!;
    expect(detail).toMatchObject({ imageUrl: 'https://x.test/1.png', adText: 'Sale' });
    expect(detail.attempts.map((a) => [a.laneId, a.outcome, a.error])).toEqual([
      ['ollama', 'error', 'HTTP 500'],
      ['embedded', 'ok', undefined],
    ]);
    expect(store.getResult(run.id, 'a2')!.attempts).toHaveLength(1);
    expect(store.getResult(run.id, 'missing')).toBeNull();
  });

  it('survives a reopen: results written before close are there after', () => {
    const run = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' });
    store.runStore.saveResult(result('a3', { runId: run.id }));
    store.close();
    store = openStore(join(dir, 'db', 'pv.db'), { now });
    expect(store.runStore.isFinished(run.id, 'a3', null)).toBe(true);
  });

  it('keeps the working time the orchestrator notes, with its results, across a crash', () => {
    const run = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' });
    const rs = store.runStore;
    expect(rs.workedMs(run.id), 'a new run').toBe(0);
    rs.setRunStatus(run.id, 'running');
    rs.saveResult(result('a1', { runId: run.id }));
    rs.noteWorked(run.id, 4_250);
    expect(rs.workedMs(run.id), 'before its commit too').toBe(4_250);
    rs.flush();
    expect(store.getRun(run.id)?.workedMs).toBe(4_250);
    // Gone without a status change (a kill): the last commit's working time is what a resume continues from.
    store.db.prepare('UPDATE runs SET owner_pid = 999999 WHERE id = ?').run(run.id);
    store.db.close();
    store = openStore(join(dir, 'db', 'pv.db'), { now, isProcessAlive: () => false });
    expect(store.getRun(run.id)).toMatchObject({ status: 'interrupted', workedMs: 4_250 });
    expect(store.runStore.workedMs(run.id)).toBe(4_250);
  });
});

describe('group commit', () => {
  function committedResults(): number {
    const reader = new Database(join(dir, 'db', 'pv.db'), { readonly: true });
    try {
      return reader.prepare('SELECT count(*) FROM results').pluck().get() as number;
    } finally {
      reader.close();
    }
  }

  // Grouping depends on time since the last commit: a virtual clock keeps these tests off the machine's load.
  const virtualTime = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });

  it('commits a lone change at once, groups a burst, and sees queued results everywhere', async () => {
    virtualTime();
    try {
      store.close();
      store = openStore(join(dir, 'db', 'pv.db'), { now, groupCommit: { minIntervalMs: 40, maxBatch: 1000 } });
      const runId = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' }).id;
      const rs = store.runStore;
      const durable: string[] = [];
      void rs.saveResult(result('a1', { runId })).then(() => durable.push('a1'));
      expect(committedResults()).toBe(1);
      void rs.saveResult(result('a2', { runId })).then(() => durable.push('a2'));
      void rs.saveResult(result('a2', { runId, text: 'duplicate while queued' })).then(() => durable.push('a2 again'));
      rs.recordAttempt(runId, 'a3', { laneId: 'embedded', engine: 'embedded', startedAt: 1, durationMs: 2, outcome: 'error', error: 'x' });
      // Queued, not committed yet, but already finished for the orchestrator; not durable, so not reported.
      expect(committedResults()).toBe(1);
      expect(rs.isFinished(runId, 'a2', null)).toBe(true);
      await vi.advanceTimersByTimeAsync(0);
      expect(durable).toEqual(['a1']);
      await vi.advanceTimersByTimeAsync(80);
      expect(committedResults()).toBe(2);
      // The duplicate answers when the first is durable; it is not stored.
      expect(durable).toEqual(['a1', 'a2', 'a2 again']);
      expect(store.getResult(runId, 'a2')!.results.map((r) => r.text)).toEqual(['text of a2']);
      expect(store.getResult(runId, 'a3')!.attempts).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps the changes of a grouped commit that failed (disk full), reports none until saved, and saves them on retry', async () => {
    virtualTime();
    try {
      store.close();
      store = openStore(join(dir, 'db', 'pv.db'), { now, groupCommit: { minIntervalMs: 50, maxBatch: 1000 } });
      const runId = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' }).id;
      const rs = store.runStore;
      const failures: CommitFailure[] = [];
      rs.onCommitFailure((failure) => failures.push(failure));
      const durable: string[] = [];
      // Big texts need new pages, which a full disk cannot give.
      const save = (id: string) => void rs.saveResult(result(id, { runId, text: `${id} ${'x'.repeat(200_000)}` })).then(() => durable.push(id));
      save('a1');
      await vi.advanceTimersByTimeAsync(0);
      expect(durable).toEqual(['a1']);
      store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true }) as number}`);
      save('a2');
      save('a3');
      rs.recordAttempt(runId, 'a3', { laneId: 'embedded', engine: 'embedded', startedAt: 1, durationMs: 2, outcome: 'ok' });
      await vi.advanceTimersByTimeAsync(100);
      // The timer's commit failed: said once, with the count; nothing reported, nothing dropped.
      expect(failures).toHaveLength(1);
      expect(failures[0]!).toMatchObject({ runIds: [runId], waiting: 2 });
      expect(failures[0]!.message).toMatch(/^the disk is full: 2 results are waiting to be saved; free some disk space, then resume the run/);
      expect(durable).toEqual(['a1']);
      expect(committedResults()).toBe(1);
      expect(rs.isFinished(runId, 'a3', null)).toBe(true);
      // Still full: a retry fails the same way, a run cannot be marked finished, pausing works.
      expect(() => rs.retry()).toThrow(/^the disk is full: 2 results are waiting/);
      expect(() => store.setRunStatus(runId, 'finished')).toThrow(/the disk is full/);
      store.setRunStatus(runId, 'paused');
      save('a4_%');
      expect(store.pageResults({ runId }).total, 'reads go on with what is committed').toBe(4);
      await vi.advanceTimersByTimeAsync(100);
      expect(failures, 'one notice per failure').toHaveLength(1);
      expect(durable).toEqual(['a1']);

      store.db.pragma('max_page_count = 1073741823');
      rs.retry();
      await vi.advanceTimersByTimeAsync(0);
      expect(durable).toEqual(['a1', 'a2', 'a3', 'a4_%']);
      expect(committedResults()).toBe(4);
      expect(store.getResult(runId, 'a3')!.attempts).toHaveLength(1);
      expect(store.getRun(runId)).toMatchObject({ done: 4 });
      expect(rs.pendingFailure()).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops a run nobody pauses at its next write, keeping what it queued', async () => {
    virtualTime();
    try {
      store.close();
      store = openStore(join(dir, 'db', 'pv.db'), { now, groupCommit: { minIntervalMs: 50, maxBatch: 1000 } });
      const runId = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' }).id;
      const rs = store.runStore;
      void rs.saveResult(result('a1', { runId }));
      store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true }) as number}`);
      void rs.saveResult(result('a2', { runId, text: 'x'.repeat(200_000) }));
      await vi.advanceTimersByTimeAsync(100);
      expect(() => rs.saveResult(result('a3', { runId, text: 'y'.repeat(200_000) }))).toThrow(/^the disk is full: 2 results are waiting to be saved/);
      store.db.pragma('max_page_count = 1073741823');
      expect(store.unfinishedAds(runId).map((ad) => ad.creativeId), 'the next read saves them').toEqual(['a4_%']);
      expect(committedResults()).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('commits queued changes before a status change, a read and close', () => {
    store.close();
    store = openStore(join(dir, 'db', 'pv.db'), { now, groupCommit: { minIntervalMs: 60_000, maxBatch: 1000 } });
    const runId = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' }).id;
    store.runStore.saveResult(result('a1', { runId }));
    store.runStore.saveResult(result('a2', { runId }));
    expect(committedResults()).toBe(1);
    store.setRunStatus(runId, 'finished');
    expect(committedResults()).toBe(2);
    store.runStore.saveResult(result('a3', { runId }));
    expect(store.pageResults({ runId, status: 'done' }).total).toBe(3);
    store.runStore.saveResult(result('a4_%', { runId }));
    store.close();
    expect(committedResults()).toBe(4);
  });

  it('keeps which failed results their image failed, and counts them, queued ones included', () => {
    store.close();
    store = openStore(join(dir, 'db', 'pv.db'), { now, groupCommit: { minIntervalMs: 60_000, maxBatch: 1000 } });
    const run = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' });
    const rs = store.runStore;
    const failed = { runId: run.id, status: 'failed' as const, text: '', engine: null, laneId: null, model: null, durationMs: null };
    rs.saveResult(result('a1', { ...failed, error: 'image: permanent: HTTP 404', imageFailed: true }));
    // Queued behind the first commit: counted as finishedIds counts them.
    rs.saveResult(result('a2', { ...failed, error: 'embedded: permanent: unreadable' }));
    rs.saveResult(result('a3', { ...failed, error: 'image: permanent: not an image', imageFailed: true }));
    rs.saveResult(result('a4_%', { runId: run.id }));
    expect(committedResults()).toBe(1);
    expect(rs.failedCounts(run.id)).toEqual({ failed: 3, imageFailed: 2 });
    rs.flush();
    expect(rs.failedCounts(run.id)).toEqual({ failed: 3, imageFailed: 2 });
    expect(store.getResult(run.id, 'a1')!.results[0]!.imageFailed).toBe(true);
    expect(store.getResult(run.id, 'a2')!.results[0]!.imageFailed).toBeUndefined();
  });

  it('finishedIds answers in one query what isFinished answers per ad, queued results included', () => {
    store.close();
    store = openStore(join(dir, 'db', 'pv.db'), { now, groupCommit: { minIntervalMs: 60_000, maxBatch: 1000 } });
    const batchId = store.saveBatch(batchInput).id;
    const compare = store.createRun({ batchId, policy: 'compare' }).id;
    const auto = store.createRun({ batchId, policy: 'auto' }).id;
    const rs = store.runStore;
    rs.saveResult(result('a1', { runId: compare, engine: 'embedded' }));
    rs.saveResult(result('a2', { runId: compare, engine: 'deepseek' }));
    rs.saveResult(result('a3', { runId: auto, status: 'failed', text: '', error: 'x', engine: null, laneId: null, model: null, durationMs: null }));
    expect(committedResults(), 'one committed, two queued').toBe(1);
    rs.saveResult(result('a2', { runId: compare, engine: 'embedded' }));
    const ids = ads.map((ad) => ad.creativeId);
    const check = (): void => {
      for (const runId of [compare, auto]) {
        for (const engine of [null, 'embedded', 'deepseek', 'ollama']) {
          expect([...rs.finishedIds(runId, engine)].sort(), `${runId} ${engine}`).toEqual(ids.filter((id) => rs.isFinished(runId, id, engine)).sort());
        }
      }
    };
    check();
    expect([...rs.finishedIds(compare, 'embedded')].sort()).toEqual(['a1', 'a2']);
    expect([...rs.finishedIds(auto, null)]).toEqual(['a3']);
    rs.flush();
    expect(committedResults()).toBe(4);
    check();
    expect(rs.finishedIds('no-such-run', null).size).toBe(0);
  });

  it('groups at most maxBatch changes per transaction', () => {
    store.close();
    store = openStore(join(dir, 'db', 'pv.db'), { now, groupCommit: { minIntervalMs: 60_000, maxBatch: 2 } });
    const runId = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' }).id;
    store.runStore.saveResult(result('a1', { runId }));
    store.runStore.saveResult(result('a2', { runId }));
    store.runStore.saveResult(result('a3', { runId }));
    expect(committedResults()).toBe(3);
  });
});
