/**
 * Facts the OS knows about a process: whether it lives, when it started (to tell our
 * orphan from a foreign process that got the same pid) and its resident memory.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { runCommand, type RunCommand } from './commands.js';

/** Linux: `/proc/PID/stat` fields after the command name: state, ppid, pgrp. */
function readLinuxStat(pid: number): { state: string; pgrp: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
}

/** One signal-0 probe, then the zombie check; `othersCount`: whether a pid we may not signal (EPERM) counts. */
function probeAlive(pid: number, othersCount: boolean): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (!othersCount || (error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform === 'linux') {
    const stat = readLinuxStat(pid);
    return stat !== null && stat.state !== 'Z';
  }
  return true;
}

/**
 * Whether the process exists and is not a zombie. A zombie counts as dead: its parent
 * may be a container init that reaps slowly, and a zombie holds no port and no memory.
 * EPERM: it exists but belongs to someone else.
 */
export function isProcessAlive(pid: number): boolean {
  return probeAlive(pid, true);
}

/**
 * Whether the process lives, is not a zombie, and is ours to signal. A pid we may not
 * signal (EPERM) belongs to another user — after a reboot often a system process that
 * reused the number — so it is not the app that owned a run.
 */
export function isOwnProcessAlive(pid: number): boolean {
  return probeAlive(pid, false);
}

/** Whether any live (non-zombie) process is left in the process group. */
export function isProcessGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux') return true;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readLinuxStat(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') return true;
  }
  return false;
}

/** The process's start time as the OS prints it (`ps -o lstart=`), or null when it is gone. */
export async function processStartTime(pid: number, run: RunCommand = runCommand): Promise<string | null> {
  const result = await run('ps', ['-o', 'lstart=', '-p', String(pid)], { timeoutMs: 3000, env: { ...process.env, LC_ALL: 'C' } });
  const text = result.stdout.trim().replace(/\s+/g, ' ');
  return result.exitCode === 0 && text !== '' ? text : null;
}

/** Resident memory in MB. Linux reads /proc (no child process); macOS asks `ps`. */
export async function residentMemoryMb(pid: number, run: RunCommand = runCommand): Promise<number | null> {
  if (process.platform === 'linux') {
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      if (match) return Number(match[1]) / 1024;
    } catch {
      return null;
    }
  }
  const result = await run('ps', ['-o', 'rss=', '-p', String(pid)], { timeoutMs: 3000 });
  const kb = Number.parseInt(result.stdout.trim(), 10);
  return Number.isFinite(kb) ? kb / 1024 : null;
}
