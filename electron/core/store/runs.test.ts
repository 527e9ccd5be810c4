import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { batchInput, now, openTempStore, removeTempStore, result } from './__fixtures__/sample-store.js';
import { openStore, type Store } from './index.js';

let dir: string;
let store: Store;
beforeEach(async () => {
  ({ dir, store } = await openTempStore());
});
afterEach(() => removeTempStore(dir, store));

describe('runs', () => {
  it('marks runs left running by a dead process as interrupted at open, and resumes them', () => {
    const batch = store.saveBatch(batchInput);
    const dead = store.createRun({ batchId: batch.id, policy: 'auto' });
    store.setRunStatus(dead.id, 'running');
    store.runStore.saveResult(result('a1', { runId: dead.id }));
    const finished = store.createRun({ batchId: batch.id, policy: 'auto' });
    store.setRunStatus(finished.id, 'finished');
    store.db.prepare('UPDATE runs SET owner_pid = 999999 WHERE id = ?').run(dead.id);
    store.close();

    store = openStore(join(dir, 'db', 'pv.db'), { now, isProcessAlive: () => true });
    expect(store.interruptedAtOpen).toEqual([]);
    store.close();
    store = openStore(join(dir, 'db', 'pv.db'), { now, isProcessAlive: () => false });
    expect(store.interruptedAtOpen).toEqual([dead.id]);
    expect(store.getRun(dead.id)).toMatchObject({ status: 'interrupted', done: 1, total: 4 });
    expect(store.getRun(finished.id)!.status).toBe('finished');
    // The newest run is finished: nothing to resume. A newer interrupted run would be picked.
    expect(store.findResumableRun(batch.id)).toBeNull();
    expect(store.findResumableRun(batch.id, { includeFinished: true })!.id).toBe(finished.id);
    store.setRunStatus(finished.id, 'interrupted');
    expect(store.findResumableRun(batch.id)!.id).toBe(finished.id);
    expect(store.unfinishedAds(dead.id).map((ad) => ad.creativeId)).toEqual(['a2', 'a3', 'a4_%']);
    expect(store.listRuns().map((run) => [run.runId, run.source])).toEqual([
      [finished.id, 'ads.csv'],
      [dead.id, 'ads.csv'],
    ]);
  });
  it.runIf(process.platform === 'linux')('counts an owner left as a zombie (a container init that does not reap) as dead', async () => {
    // The background subshell waits for a line on stdin; its parent execs into sleep, which
    // never reaps it. The line is sent only once the exec is done, so bash cannot reap it first.
    // (A background job's stdin is /dev/null unless given explicitly: fd 3 carries the pipe.)
    const parent = spawn('bash', ['-c', 'exec 3<&0; (read -r _ <&3; exit 0) & echo $!; exec sleep 30'], { stdio: ['pipe', 'pipe', 'ignore'] });
    try {
      const zombie = Number((await once(parent.stdout, 'data'))[0].toString().trim());
      await vi.waitFor(() => expect(readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim()).toBe('sleep'), { timeout: 30_000 });
      parent.stdin.write('go\n');
      await vi.waitFor(() => expect(readFileSync(`/proc/${zombie}/stat`, 'utf8')).toMatch(/\) Z /), { timeout: 30_000 });
      const run = store.createRun({ batchId: store.saveBatch(batchInput).id, policy: 'auto' });
      store.setRunStatus(run.id, 'running');
      store.db.prepare('UPDATE runs SET owner_pid = ? WHERE id = ?').run(zombie, run.id);
      store.close();
      store = openStore(join(dir, 'db', 'pv.db'), { now });
      expect(store.interruptedAtOpen).toEqual([run.id]);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
