import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PidFiles } from './pid-files.js';
import { isProcessAlive } from './proc-info.js';
import { signalGroup, spawnGroup } from './process-group.js';
import { findFreePort } from './ports.js';
import { TINY_SERVER, waitUntil } from './test-support.js';

let dir: string;
const started: number[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pv-pids-'));
});
afterEach(async () => {
  for (const pid of started.splice(0)) signalGroup(pid, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function startOrphan(): Promise<number> {
  const lines: string[] = [];
  const child = spawnGroup({ file: process.execPath, args: [TINY_SERVER, '--port', String(await findFreePort(31_000))], env: { PATH: process.env.PATH }, onLines: (batch) => lines.push(...batch) });
  if (!('pid' in child)) throw new Error(child.spawnError);
  started.push(child.pid);
  await waitUntil(() => lines.some((line) => line.startsWith('READY')), 5000, 'READY');
  return child.pid;
}

describe('PidFiles', () => {
  it('stops an orphan of a crashed run at the next start and forgets it', async () => {
    const pid = await startOrphan();
    await new PidFiles(dir).record('deepseek', pid, { port: 8001 });
    // A new launch: a fresh PidFiles on the same folder.
    const outcome = await new PidFiles(dir).cleanupOrphans();
    expect(outcome.stopped.map((record) => record.pid)).toEqual([pid]);
    expect(isProcessAlive(pid)).toBe(false);
    expect(await new PidFiles(dir).readAll()).toEqual([]);
  });

  it('never stops a foreign process that got the same pid (start time differs)', async () => {
    const pid = await startOrphan();
    const files = new PidFiles(dir);
    const record = await files.record('ollama', pid, { port: 11434 });
    expect(record).not.toBeNull();
    await writeFile(join(dir, 'ollama.pid.json'), JSON.stringify({ ...record, startTime: 'Mon Jan  1 00:00:00 2001' }));
    const outcome = await new PidFiles(dir).cleanupOrphans();
    expect(outcome.stale).toHaveLength(1);
    expect(outcome.stopped).toEqual([]);
    expect(isProcessAlive(pid)).toBe(true);
  });

  it('ignores corrupt files', async () => {
    await writeFile(join(dir, 'ollama.pid.json'), '{not json');
    expect(await new PidFiles(dir).cleanupOrphans()).toEqual({ stopped: [], stale: [], owned: [] });
  });

  it('leaves a child another live Parallel Vision process supervises, and takes it for an orphan once that process is gone', async () => {
    const child = await startOrphan();
    const otherApp = await startOrphan();
    await new PidFiles(dir, { self: otherApp }).record('deepseek', child, { port: 8001 });
    // This process starts on the same data folder while the other one runs.
    const files = new PidFiles(dir);
    const record = (await files.read('deepseek'))!;
    expect(await files.liveOwner(record)).toBe(otherApp);
    const outcome = await files.cleanupOrphans();
    expect(outcome.owned.map((owned) => owned.pid)).toEqual([child]);
    expect(outcome.stopped).toEqual([]);
    expect(isProcessAlive(child)).toBe(true);
    // Its own records are its own to stop.
    expect(await new PidFiles(dir, { self: otherApp }).liveOwner(record)).toBeNull();
    signalGroup(otherApp, 'SIGKILL');
    await waitUntil(() => !isProcessAlive(otherApp), undefined, 'the other app gone');
    expect((await files.cleanupOrphans()).stopped.map((stopped) => stopped.pid)).toEqual([child]);
    expect(isProcessAlive(child)).toBe(false);
  });
});
