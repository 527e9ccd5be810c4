/**
 * CPU seconds for benchmarks: this process as a whole, its main thread alone (the event loop:
 * fetch, store, events, scheduling), and another process by pid from /proc (a local service).
 */
import { readFileSync } from 'node:fs';

/** Linux reports /proc times in clock ticks; USER_HZ is 100 on every Linux Node runs on. */
const TICKS_PER_SECOND = 100;

export interface CpuSnapshot {
  process_s: number;
  /** Null where neither process.threadCpuUsage (Node ≥ 22.19) nor /proc can tell. */
  mainThread_s: number | null;
}

export function cpuSnapshot(): CpuSnapshot {
  const all = process.cpuUsage();
  const threadCpuUsage = (process as NodeJS.Process & { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage;
  const main = threadCpuUsage?.call(process);
  // The main thread's task id is the pid; its stat has no children's times.
  const mainThread_s = main ? (main.user + main.system) / 1e6 : readCpu(`/proc/self/task/${process.pid}/stat`);
  return { process_s: (all.user + all.system) / 1e6, mainThread_s };
}

function readCpu(path: string): number | null {
  try {
    return parseProcStatCpu(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** User + system seconds of a process and its reaped children, or null when it cannot be read (gone, not Linux). */
export function processCpuSeconds(pid: number): number | null {
  return readCpu(`/proc/${pid}/stat`);
}

/** utime + stime + cutime + cstime of a /proc/PID/stat line, in seconds. */
export function parseProcStatCpu(stat: string): number {
  // Fields after the command name (which may hold spaces and parentheses): state is the first, utime the 12th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].map((index) => Number(fields[index]));
  if (ticks.some((value) => !Number.isFinite(value))) throw new Error(`unexpected /proc stat line: ${stat.slice(0, 80)}`);
  return ticks.reduce((sum, value) => sum + value, 0) / TICKS_PER_SECOND;
}
