import { afterEach, describe, expect, it } from 'vitest';
import { isGroupAlive, signalGroup, spawnGroup, stopGroup, type GroupChild } from './process-group.js';
import { isProcessAlive, processStartTime, residentMemoryMb } from './proc-info.js';
import { findFreePort } from './ports.js';
import { TINY_SERVER, waitUntil } from './test-support.js';

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) signalGroup(pid, 'SIGKILL');
});

async function startTiny(extra: string[], lines: string[]): Promise<GroupChild> {
  const port = await findFreePort(20_000 + Math.floor(Math.random() * 20_000));
  const child = spawnGroup({
    file: process.execPath,
    args: [TINY_SERVER, '--port', String(port), ...extra],
    env: { PATH: process.env.PATH, TINY_ECHO: 'from-env' },
    onLines: (batch) => lines.push(...batch),
  });
  if (!('pid' in child)) throw new Error(child.spawnError);
  started.push(child.pid);
  await waitUntil(() => lines.some((line) => line.startsWith('READY')), 5000, 'READY line');
  return child;
}

describe('spawnGroup / stopGroup', () => {
  it('passes exactly the given environment and streams the output as lines', async () => {
    const lines: string[] = [];
    const child = await startTiny([], lines);
    expect(lines[0]).toContain('env.TINY_ECHO=from-env');
    expect(await stopGroup(child.pid, { graceMs: 60_000 })).toBe('terminated');
    expect(await child.exited).toMatchObject({ code: 0 });
    expect(lines).toContain('SIGTERM received, shutting down');
  });

  it('stops the grandchildren with the child', async () => {
    const lines: string[] = [];
    const child = await startTiny(['--grandchild'], lines);
    const grandchildPid = Number(/GRANDCHILD pid=(\d+)/.exec(lines.join('\n'))?.[1]);
    expect(isProcessAlive(grandchildPid)).toBe(true);
    await stopGroup(child.pid, { graceMs: 60_000 });
    await waitUntil(() => !isProcessAlive(grandchildPid), 3000, 'grandchild to die');
    expect(isGroupAlive(child.pid)).toBe(false);
  });

  it('kills a child that ignores SIGTERM after the grace period', async () => {
    const lines: string[] = [];
    const child = await startTiny(['--ignore-term'], lines);
    expect(await stopGroup(child.pid, { graceMs: 300 })).toBe('killed');
    expect(await child.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(lines).toContain('SIGTERM ignored');
  });

  it('reports a binary that cannot be started', async () => {
    const child = spawnGroup({ file: '/nonexistent/ollama', args: ['serve'] });
    const reason = 'pid' in child ? (await child.exited).spawnError : child.spawnError;
    expect(reason).toMatch(/nonexistent\/ollama/);
  });

  it('knows the start time and resident memory of a live child, and nothing of a dead one', async () => {
    const lines: string[] = [];
    const child = await startTiny(['--alloc-mb', '64'], lines);
    const startTime = await processStartTime(child.pid);
    expect(startTime).toMatch(/\d{4}$/); // ends with the year
    expect(await processStartTime(1)).not.toBe(startTime); // init started long before
    expect(await residentMemoryMb(child.pid)).toBeGreaterThan(60);
    await stopGroup(child.pid);
    // Stopped is not yet reaped: until Node reaps it the child is a zombie, which ps still lists.
    await child.exited;
    expect(await processStartTime(child.pid)).toBeNull();
    expect(await residentMemoryMb(child.pid)).toBeNull();
    expect(await stopGroup(child.pid)).toBe('gone');
  });
});
