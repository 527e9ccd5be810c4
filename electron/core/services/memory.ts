/**
 * Memory and supervised services: what running out of memory looks like (one definition of
 * the log patterns), macOS's memory pressure, the Linux kernel's OOM reports, and the rule
 * that a child's death counts as out of memory only with evidence. A SIGKILL alone is not
 * evidence: a user's `kill -9` looks the same, and must not cost the service its workers.
 */
import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { runCommand } from './commands.js';
import type { ChildExit } from './process-group.js';

export type MemoryPressure = 'normal' | 'warning' | 'critical';

/**
 * Log lines that mean the process ran out of memory: Python's MemoryError, C++'s bad_alloc,
 * the C library's ENOMEM text, macOS's "Killed: 9" from a shell, llama.cpp/Ollama's own
 * allocation failures and its "model requires more system memory".
 */
export const OUT_OF_MEMORY_LOG = /out of memory|MemoryError|Cannot allocate memory|std::bad_alloc|Killed: 9|cudaMalloc failed|failed to allocate|model requires more system memory/i;

/** How many of the last log lines are searched for the patterns. */
const OUT_OF_MEMORY_LOG_LINES = 30;

/** macOS's memory pressure level (1 normal, 2 warning, 4 critical); null elsewhere. */
export async function readMemoryPressure(): Promise<MemoryPressure | null> {
  if (process.platform !== 'darwin') return null;
  const result = await runCommand('sysctl', ['-n', 'kern.memorystatus_vm_pressure_level'], { timeoutMs: 2000 });
  const level = Number(result.stdout.trim());
  return level >= 4 ? 'critical' : level >= 2 ? 'warning' : level >= 1 ? 'normal' : null;
}

/** What the kernel says about OOM kills, read where the system lets this process read it. */
export interface KernelOomReports {
  /** Taken when a child starts: later reports are compared with it. */
  baseline(): Promise<KernelOomBaseline>;
  /** The kernel's report that it killed `pid` (or killed in our cgroup) for memory since the baseline; null if none is readable. */
  killedForMemory(pid: number, since: KernelOomBaseline): Promise<string | null>;
}

export interface KernelOomBaseline {
  /** cgroup v2 memory.events oom_kill count, when readable. */
  cgroupOomKills: number | null;
}

/** The cgroup v2 memory.events file of this process (children share it unless moved). */
async function cgroupMemoryEvents(): Promise<string | null> {
  try {
    const self = await readFile('/proc/self/cgroup', 'utf8');
    const path = /^0::(.*)$/m.exec(self)?.[1];
    if (path === undefined) return null;
    return await readFile(`/sys/fs/cgroup${path === '/' ? '' : path}/memory.events`, 'utf8');
  } catch {
    return null;
  }
}

export function parseOomKills(memoryEvents: string): number | null {
  const match = /^oom_kill (\d+)$/m.exec(memoryEvents);
  return match ? Number(match[1]) : null;
}

/** The kernel log's OOM report naming `pid` ("Killed process 123 (python)", "oom-kill:…,pid=123,…"). */
export function findOomReport(kernelLog: string, pid: number): string | null {
  const names = new RegExp(`(Killed process ${pid}\\b|oom-kill:.*\\bpid=${pid}\\b|Memory cgroup out of memory: Killed process ${pid}\\b)`);
  for (const line of kernelLog.split('\n')) if (names.test(line)) return line.replace(/^[^;]*;/, '').trim();
  return null;
}

/**
 * The kernel's log through /dev/kmsg, read without blocking (each read is one record; the
 * end of the buffer answers EAGAIN). Null where it may not be read (most unprivileged users).
 */
async function readKernelLog(maxRecords = 20_000): Promise<string | null> {
  let handle;
  try {
    handle = await open('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  const lines: string[] = [];
  const buffer = Buffer.alloc(8192);
  try {
    for (let i = 0; i < maxRecords; i++) {
      try {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        lines.push(buffer.toString('utf8', 0, bytesRead).trimEnd());
      } catch (error) {
        // EAGAIN: no more records; EPIPE: records were overwritten while reading, go on.
        if ((error as NodeJS.ErrnoException).code === 'EPIPE') continue;
        break;
      }
    }
  } finally {
    await handle.close();
  }
  return lines.join('\n');
}

/** Linux: /dev/kmsg where readable, else the cgroup's oom_kill counter (an OOM kill in our cgroup since the start). Elsewhere: nothing. */
export function systemKernelOomReports(platform: NodeJS.Platform = process.platform): KernelOomReports | null {
  if (platform !== 'linux') return null;
  return {
    async baseline() {
      const events = await cgroupMemoryEvents();
      return { cgroupOomKills: events === null ? null : parseOomKills(events) };
    },
    async killedForMemory(pid, since) {
      const log = await readKernelLog();
      // A readable kernel log that does not name the pid is an answer: it was not the OOM killer.
      if (log !== null) return findOomReport(log, pid);
      const events = await cgroupMemoryEvents();
      const now = events === null ? null : parseOomKills(events);
      if (now !== null && since.cgroupOomKills !== null && now > since.cgroupOomKills) return `memory.events: oom_kill ${since.cgroupOomKills} → ${now} in this cgroup`;
      return null;
    },
  };
}

export interface ExitEvidence {
  exit: ChildExit;
  /** The child's last log lines. */
  logTail: readonly string[];
  /** macOS memory pressure read at the exit (null: not known). */
  pressure: MemoryPressure | null;
  /** The kernel's OOM report for the child (null: none, or not readable). */
  kernelReport: string | null;
}

/**
 * Why this exit counts as running out of memory, or null when nothing says so. A SIGKILL
 * counts only with the kernel's report or macOS memory pressure beside it (jetsam); a log
 * line of the patterns counts however the process ended.
 */
export function outOfMemoryEvidence(evidence: ExitEvidence): string | null {
  const line = evidence.logTail.slice(-OUT_OF_MEMORY_LOG_LINES).find((candidate) => OUT_OF_MEMORY_LOG.test(candidate));
  if (line !== undefined) return `its log says "${line.length > 120 ? `${line.slice(0, 119)}…` : line}"`;
  if (evidence.exit.signal !== 'SIGKILL') return null;
  if (evidence.kernelReport) return `the kernel reports "${evidence.kernelReport}"`;
  if (evidence.pressure === 'critical' || evidence.pressure === 'warning') return `it was killed while the Mac was under ${evidence.pressure} memory pressure`;
  return null;
}
