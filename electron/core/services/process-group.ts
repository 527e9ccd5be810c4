/**
 * A child in its own process group: started detached so that a Python server's workers
 * (or ollama's runners) are signalled with it, and never killed as a single pid.
 */
import { execa } from 'execa';
import { LineSplitter } from '../lib/lines.js';
import { stripAnsi } from './log-lines.js';
import { isProcessAlive, isProcessGroupAlive } from './proc-info.js';

export interface GroupSpawnOptions {
  file: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  onLines?: (lines: string[]) => void;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (ENOENT, EACCES, …). */
  spawnError?: string;
}

export interface GroupChild {
  /** Also the process group id. */
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  readonly hasExited: boolean;
}

export function spawnGroup(options: GroupSpawnOptions): GroupChild | { spawnError: string } {
  const subprocess = execa(options.file, options.args, {
    detached: true,
    // We stop the group ourselves (stopGroup); execa's own cleanup would signal only the pid.
    cleanup: false,
    forceKillAfterDelay: false,
    reject: false,
    buffer: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env: options.env,
    extendEnv: false,
    cwd: options.cwd,
  });
  for (const stream of [subprocess.stdout, subprocess.stderr]) {
    const splitter = new LineSplitter({ carriageReturnEndsLine: true });
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = splitter.push(chunk);
      if (lines.length > 0) options.onLines?.(lines.map(stripAnsi));
    });
    stream?.on('end', () => {
      const rest = splitter.flush();
      if (rest.length > 0) options.onLines?.(rest.map(stripAnsi));
    });
  }
  let hasExited = false;
  const exited = subprocess.then((result): ChildExit => {
    hasExited = true;
    const spawnError = result.failed && result.exitCode === undefined && !result.signal ? result.originalMessage || result.shortMessage : undefined;
    return { code: result.exitCode ?? null, signal: (result.signal as NodeJS.Signals | undefined) ?? null, ...(spawnError ? { spawnError } : {}) };
  });
  const pid = subprocess.pid;
  if (pid === undefined) {
    // Swallow the rejection-free result; the caller gets the reason synchronously-ish.
    return { spawnError: `could not start ${options.file}` };
  }
  // Do not keep the parent's event loop alive for the child's sake.
  subprocess.unref?.();
  return {
    pid,
    exited,
    get hasExited() {
      return hasExited;
    },
  };
}

/** Signal the whole group; false when there is no such group any more. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export function isGroupAlive(pgid: number): boolean {
  return isProcessGroupAlive(pgid);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * SIGTERM to the group, SIGKILL after `graceMs` if any member is still there.
 * Resolves how it ended: `gone` (nothing to stop), `terminated` or `killed`.
 */
export async function stopGroup(pgid: number, options: { graceMs?: number; pollMs?: number } = {}): Promise<'gone' | 'terminated' | 'killed'> {
  const graceMs = options.graceMs ?? 5000;
  const pollMs = options.pollMs ?? 50;
  if (!signalGroup(pgid, 'SIGTERM')) {
    // Not a group leader we can reach: fall back to the single pid.
    if (!isProcessAlive(pgid)) return 'gone';
    try {
      process.kill(pgid, 'SIGTERM');
    } catch {
      return 'gone';
    }
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isGroupAlive(pgid) && !isProcessAlive(pgid)) return 'terminated';
    await sleep(pollMs);
  }
  signalGroup(pgid, 'SIGKILL');
  try {
    process.kill(pgid, 'SIGKILL');
  } catch {
    // already gone
  }
  // SIGKILL cannot be ignored; give the kernel a moment to reap.
  for (let i = 0; i < 40 && (isGroupAlive(pgid) || isProcessAlive(pgid)); i += 1) await sleep(pollMs);
  return 'killed';
}
