import { describe, expect, it } from 'vitest';
import type { Ad, RunProgress } from '../../../shared/domain.js';
import type { Engine } from '../engines/types.js';
import { VirtualClock } from './clock.js';
import { MemoryRunStore } from './memory-store.js';
import { startRun, type OrchestratorLane } from './orchestrator.js';

const ads = (count: number): Ad[] => Array.from({ length: count }, (_, i) => ({ creativeId: `ad-${i}`, imageUrl: `sim://${i}` }));
const image = { bytes: new Uint8Array(1), mime: 'image/png' };

/** One worker, every call exactly `latencyMs` on the virtual clock. */
function lane(clock: VirtualClock, latencyMs: number): OrchestratorLane {
  const engine: Engine = {
    kind: 'deepseek',
    label: 'ds',
    recognize: () => new Promise((resolve) => clock.setTimer(latencyMs, () => resolve({ text: 'ok', blocks: [], model: 'sim', timings: {} }))),
  };
  return { config: { id: 'ds', engine: 'deepseek', workers: 1, enabled: true }, engine, prior_s: latencyMs / 1000, coldStart_s: 0, startConcurrency: 1 };
}

describe('Orchestrator: elapsed time is working time', () => {
  it('does not count paused time: elapsed stands still while paused, and throughput is per working minute', async () => {
    const clock = new VirtualClock();
    const run = startRun({ runId: 'p', ads: ads(20), store: new MemoryRunStore(), loadImage: () => Promise.resolve(image), clock, lanes: [lane(clock, 1000)], policy: 'single' });
    const seen: RunProgress[] = [];
    // Paused at 5.5 s (the call in flight ends at 6 s), resumed at 100.5 s.
    clock.setTimer(5_500, () => run.pause());
    clock.setTimer(50_000, () => seen.push(run.progress()));
    clock.setTimer(90_000, () => seen.push(run.progress()));
    clock.setTimer(100_500, () => run.resume());
    const summary = await clock.runUntil(run.done);

    expect(seen.map((p) => p.elapsed_s)).toEqual([5.5, 5.5]);
    // Ends at 114.5 s; the 95 s between Pause and Resume do not count (the clock stops at Pause,
    // though the call in flight then ends half a second later).
    expect(summary.elapsed_s).toBeCloseTo(19.5, 6);
    const final = run.progress();
    expect(final.elapsed_s).toBeCloseTo(19.5, 6);
    expect(final.lanes[0]!.adsPerMinute).toBeCloseTo(20 / (19.5 / 60), 6);
  });

  it('a resumed run continues its elapsed time from the earlier session; the lane rate is this session’s', async () => {
    const store = new MemoryRunStore();
    const first = new VirtualClock();
    const one = startRun({ runId: 'r', ads: ads(20), store, loadImage: () => Promise.resolve(image), clock: first, lanes: [lane(first, 1000)], policy: 'single' });
    first.setTimer(8_500, () => one.cancel());
    expect((await first.runUntil(one.done)).elapsed_s).toBeCloseTo(8.5, 6);

    // A new process: its monotonic clock starts again at 0, and the ads take 2 s each now.
    const second = new VirtualClock();
    const two = startRun({ runId: 'r', ads: ads(20), store, loadImage: () => Promise.resolve(image), clock: second, lanes: [lane(second, 2000)], policy: 'single' });
    const summary = await second.runUntil(two.done);
    expect(summary).toMatchObject({ skipped: 8, done: 20 });
    expect(summary.elapsed_s).toBeCloseTo(8.5 + 24, 6);
    expect(two.progress().lanes[0]!.adsPerMinute).toBeCloseTo(30, 6);
  });
});
