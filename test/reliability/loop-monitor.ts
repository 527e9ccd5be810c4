/**
 * How long this process's event loop was blocked by its own work. A 10 ms ticker measures
 * each gap between ticks in wall time and in this process's CPU time: on a shared machine a
 * long wall-clock gap with little CPU is the OS running other processes, not a blocked loop,
 * so a stall counts as min(wall, own CPU). monitorEventLoopDelay's wall-clock maximum is kept
 * alongside for comparison.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopGap {
  ms: number;
  cpuMs: number;
  /** Seconds after start when the gap began. */
  atS: number;
}

interface LoopReport {
  /** The worst gap judged by own CPU (min(wall, cpu)). */
  worst: LoopGap;
  /** The worst gap's min(wall, cpu), ms: the figure to compare with a stall budget. */
  maxStallMs: number;
  /** perf_hooks.monitorEventLoopDelay maximum (wall clock). */
  histogramMaxMs: number;
}

export interface LoopMonitor {
  stop(): LoopReport;
}

export const ownStall = (gap: LoopGap): number => Math.min(gap.ms, gap.cpuMs);

/** `onGap` sees every gap as it is measured (the soak splits them into start-up and steady state). */
export function startLoopMonitor(onGap?: (gap: LoopGap) => void): LoopMonitor {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const started = performance.now();
  const worst: LoopGap = { ms: 0, cpuMs: 0, atS: 0 };
  let lastTick = started;
  let lastCpu = process.cpuUsage();
  const ticker = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    const gap: LoopGap = { ms: now - lastTick, cpuMs: (cpu.user + cpu.system) / 1000, atS: (lastTick - started) / 1000 };
    if (ownStall(gap) > ownStall(worst)) Object.assign(worst, gap);
    onGap?.(gap);
    lastTick = now;
    lastCpu = process.cpuUsage();
  }, 10);
  return {
    stop() {
      clearInterval(ticker);
      histogram.disable();
      return { worst, maxStallMs: ownStall(worst), histogramMaxMs: histogram.max / 1e6 };
    },
  };
}
