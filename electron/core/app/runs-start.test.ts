import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LaneConfig } from '../../../shared/domain.js';
import type { Engine } from '../engines/types.js';
import { createImageFetcher } from '../fetch/index.js';
import { openStore, type Store } from '../store/index.js';
import { EventBus } from './events.js';
import { RunManager } from './runs.js';

let dir = '';
let store: Store | null = null;
afterEach(() => {
  store?.close();
  store = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('RunManager.start', () => {
  it('closes the engines it built when the run fails to start after its lanes were built', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pv-runs-'));
    store = openStore(path.join(dir, 'db.sqlite'));
    const batch = store.saveBatch({ source: 'x.csv', format: 'csv', columns: ['creative_id', 'image_url'], fieldColumns: { id: 'creative_id', url: 'image_url', text: null }, ads: [{ creativeId: 'a1', imageUrl: 'http://127.0.0.1:9/a1.png' }] });
    const closed: string[] = [];
    const createEngine = async (lane: LaneConfig): Promise<Engine> => ({
      kind: lane.engine,
      label: lane.id,
      recognize: async () => ({ text: '', blocks: [], model: 'fake', timings: {} }),
      close: async () => void closed.push(lane.id),
    });
    // The database refuses the new run (disk full) once the engines exist.
    store.createRun = () => {
      throw new Error('the disk is full');
    };
    const runs = new RunManager({ store, fetcher: createImageFetcher(), bus: new EventBus(), engineDeps: {}, serviceUrl: () => null, createEngine });
    await expect(
      runs.start({
        batchId: batch.id,
        policy: 'auto',
        maxAttempts: 3,
        lanes: [
          { id: 'one', engine: 'embedded', workers: 1, enabled: true },
          { id: 'two', engine: 'deepseek', workers: 1, enabled: true },
        ],
      }),
    ).rejects.toThrow(/the disk is full/);
    expect(closed.sort()).toEqual(['one', 'two']);
  });
});
