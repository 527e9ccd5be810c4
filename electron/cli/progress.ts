/**
 * Progress on the terminal: one bar per lane, redrawn in place; JSON lines when the
 * output is not a terminal (logs, pipes, other programs).
 */
import type { RunProgress } from '../../shared/domain.js';

function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '–';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** The lines of the terminal view: a total bar, then one bar per lane (its share of the finished ads, its work in flight, and the concurrency it is allowed now of its ceiling). */
export function renderProgressLines(progress: RunProgress, width = 80): string[] {
  const barWidth = Math.max(10, Math.min(40, width - 50));
  const finished = progress.done + progress.failed;
  const total = Math.max(1, progress.total);
  // No lane counts these as its failed calls: without them the lanes' figures do not add up to the run's.
  const imageFailed = progress.imageFailed ? ` (${progress.imageFailed} image${progress.imageFailed === 1 ? '' : 's'} unreachable)` : '';
  const lines = [
    `${progress.status.padEnd(11)} ${bar(finished / total, barWidth)} ${finished}/${progress.total}  failed ${progress.failed}${imageFailed}  elapsed ${duration(progress.elapsed_s)}  eta ${duration(progress.eta_s)}`,
  ];
  const labelWidth = Math.min(18, Math.max(...progress.lanes.map((lane) => lane.label.length), 4));
  for (const lane of progress.lanes) {
    const state = lane.state.type === 'busy' || lane.state.type === 'idle' ? '' : ` [${lane.state.type === 'paused-by-scheduler' ? 'paused' : lane.state.type}]`;
    const p50 = lane.p50_s === null ? '–' : `${lane.p50_s.toFixed(1)}s`;
    lines.push(
      `  ${lane.label.slice(0, labelWidth).padEnd(labelWidth)} ${bar(lane.share, barWidth)} ${String(lane.done).padStart(6)} done  ${lane.inFlight} busy  concurrency ${lane.concurrency} of ${lane.workers}  ${lane.adsPerMinute.toFixed(1)}/min  p50 ${p50}${state}`,
    );
  }
  for (const note of progress.notes.slice(0, 3)) lines.push(`  · ${note}`);
  return lines.map((line) => (line.length > width ? line.slice(0, width) : line));
}

export interface ProgressReporter {
  update(progress: RunProgress): void;
  /** Draw the final state and stop redrawing. */
  finish(progress: RunProgress | null): void;
}

/** Redraws in place on a terminal (at most `fps` times a second). */
export function terminalReporter(stream: NodeJS.WriteStream, fps = 8): ProgressReporter {
  let drawnLines = 0;
  let lastDraw = 0;
  const draw = (progress: RunProgress) => {
    // Some terminals (and `script`) report 0 columns.
    const columns = stream.columns && stream.columns >= 40 ? stream.columns : 100;
    const lines = renderProgressLines(progress, columns);
    const up = drawnLines > 0 ? `\x1b[${drawnLines}F` : '';
    stream.write(`${up}${lines.map((line) => `\x1b[2K${line}`).join('\n')}\n`);
    // Clear what remains of a taller previous frame.
    if (drawnLines > lines.length) stream.write('\x1b[J');
    drawnLines = lines.length;
    lastDraw = Date.now();
  };
  return {
    update(progress) {
      if (Date.now() - lastDraw >= 1000 / fps) draw(progress);
    },
    finish(progress) {
      if (progress) draw(progress);
    },
  };
}

/** One JSON object per line, at most once per `intervalMs`, and always the last one. */
export function jsonLinesReporter(write: (line: string) => void, intervalMs = 1000, now: () => number = Date.now): ProgressReporter {
  let last = -Infinity;
  let lastStatus = '';
  let lastEmitted: RunProgress | null = null;
  const emit = (progress: RunProgress) => {
    write(`${JSON.stringify({ type: 'progress', ...progress })}\n`);
    last = now();
    lastStatus = progress.status;
    lastEmitted = progress;
  };
  return {
    update(progress) {
      if (now() - last >= intervalMs || progress.status !== lastStatus) emit(progress);
    },
    finish(progress) {
      if (progress && progress !== lastEmitted) emit(progress);
    },
  };
}
