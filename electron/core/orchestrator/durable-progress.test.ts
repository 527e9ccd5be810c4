import { describe, expect, it } from 'vitest';
import type { AdResult, RunStatus } from '../../../shared/domain.js';
import type { Engine } from '../engines/types.js';
import { MemoryRunStore } from './memory-store.js';
import { startRun } from './orchestrator.js';

/** A store whose commits wait until the test lets them through (a grouped commit still pending). */
class HeldStore extends MemoryRunStore {
  private release: Array<() => void> = [];
  override saveResult(result: AdResult): Promise<void> {
    super.saveResult(result);
    return new Promise<void>((resolve) => this.release.push(resolve));
  }
  commitAll(): void {
    for (const resolve of this.release.splice(0)) resolve();
  }
  get pending(): number {
    return this.release.length;
  }
}

/** A store that commits pending results when the run's status changes, as SqliteRunStore flushes before it. */
class FlushOnStatusStore extends MemoryRunStore {
  private release: Array<() => void> = [];
  override saveResult(result: AdResult): Promise<void> {
    super.saveResult(result);
    return new Promise<void>((resolve) => this.release.push(resolve));
  }
  override setRunStatus(runId: string, status: RunStatus): void {
    for (const resolve of this.release.splice(0)) resolve();
    super.setRunStatus(runId, status);
  }
}

const engine: Engine = { kind: 'embedded', label: 'instant', recognize: async () => ({ text: 'ok', blocks: [], model: 'm', timings: {} }) };

describe('progress counts only durable results', () => {
  it('a result whose commit is pending is neither sent nor counted as done; both follow the commit', async () => {
    const store = new HeldStore();
    const sent: AdResult[] = [];
    const run = startRun({
      runId: 'held',
      ads: Array.from({ length: 5 }, (_, i) => ({ creativeId: `ad-${i}`, imageUrl: `x://${i}` })),
      lanes: [{ config: { id: 'e', engine: 'embedded', workers: 2, enabled: true }, engine, prior_s: 0.01, coldStart_s: 0 }],
      store,
      loadImage: () => Promise.resolve({ bytes: new Uint8Array(1), mime: 'image/png' }),
      onResult: (result) => sent.push(result),
    });
    await run.done;
    expect(store.pending).toBe(5);
    expect(sent).toHaveLength(0);
    expect(run.progress()).toMatchObject({ done: 0, failed: 0 });
    store.commitAll();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toHaveLength(5);
    expect(run.progress()).toMatchObject({ done: 5, failed: 0 });
  });

  it('commits landing after the run ended send one progress event with the final counts, not one per result', async () => {
    const store = new HeldStore();
    const events: Array<{ done: number; status: string }> = [];
    const run = startRun({
      runId: 'held-late',
      ads: Array.from({ length: 200 }, (_, i) => ({ creativeId: `ad-${i}`, imageUrl: `x://${i}` })),
      lanes: [{ config: { id: 'e', engine: 'embedded', workers: 4, enabled: true }, engine, prior_s: 0.01, coldStart_s: 0 }],
      store,
      loadImage: () => Promise.resolve({ bytes: new Uint8Array(1), mime: 'image/png' }),
      onProgress: (p) => events.push({ done: p.done, status: p.status }),
    });
    await run.done;
    const atEnd = events.length;
    expect(store.pending).toBe(200);
    store.commitAll();
    await new Promise((resolve) => setImmediate(resolve));
    expect(events.length - atEnd).toBe(1);
    expect(events.at(-1)).toEqual({ done: 200, status: 'finished' });
  });

  it('the end is reported once, with every result the status change committed counted', async () => {
    const store = new FlushOnStatusStore();
    const events: Array<{ done: number; status: string }> = [];
    const run = startRun({
      runId: 'flushed',
      ads: Array.from({ length: 30 }, (_, i) => ({ creativeId: `ad-${i}`, imageUrl: `x://${i}` })),
      lanes: [{ config: { id: 'e', engine: 'embedded', workers: 3, enabled: true }, engine, prior_s: 0.01, coldStart_s: 0 }],
      store,
      loadImage: () => Promise.resolve({ bytes: new Uint8Array(1), mime: 'image/png' }),
      onProgress: (p) => events.push({ done: p.done, status: p.status }),
    });
    await run.done;
    await new Promise((resolve) => setImmediate(resolve));
    expect(events.filter((e) => e.status === 'finished')).toEqual([{ done: 30, status: 'finished' }]);
  });
});
