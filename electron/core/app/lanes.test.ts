import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { LaneConfig } from '../../../shared/domain.js';
import { createEmbeddedEngine } from '../engines/embedded.js';
import type { Engine, EngineAvailability } from '../engines/types.js';
import { buildLanes, NoLaneError, type LaneNotice } from './lanes.js';

const slowWorker = fileURLToPath(new URL('../engines/__fixtures__/workers/slow-load-worker.mjs', import.meta.url));
const GB = 1024 ** 3;
const machine = { cores: 4, freeBytes: 16 * GB };

/** An engine whose availability answers when the test says, and which counts its closes and concurrency calls. */
function fakeEngine(config: LaneConfig, answer: Promise<EngineAvailability> | null = Promise.resolve({ type: 'available' })) {
  const calls = { closed: 0, concurrency: [] as number[] };
  const engine: Engine = {
    kind: config.engine,
    label: config.id,
    recognize: async () => ({ text: '', blocks: [], model: 'fake', timings: {} }),
    ...(answer ? { availability: () => answer } : {}),
    setConcurrency: (n) => void calls.concurrency.push(n),
    close: async () => void calls.closed++,
  };
  return { engine, calls };
}

const lane = (id: string, engine: LaneConfig['engine'], extra: Partial<LaneConfig> = {}): LaneConfig => ({ id, engine, workers: 1, enabled: true, ...extra });

describe('buildLanes: one set of rules for the CLI and the app', () => {
  const saved = { worker: process.env.PARALLEL_VISION_EMBEDDED_WORKER, load: process.env.FIXTURE_LOAD_MS };
  afterEach(() => {
    for (const [key, value] of [['PARALLEL_VISION_EMBEDDED_WORKER', saved.worker], ['FIXTURE_LOAD_MS', saved.load]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('waits for an engine asked for by name whose model load outlasts the check, saying it is loading the models', async () => {
    // The embedded engine with a worker whose model load takes 400 ms, checked every 20 ms.
    process.env.PARALLEL_VISION_EMBEDDED_WORKER = slowWorker;
    process.env.FIXTURE_LOAD_MS = '400';
    const notices: string[] = [];
    const built = await buildLanes([{ config: lane('embedded', 'embedded'), requested: true }], {
      policy: 'auto',
      machine,
      checkTimeoutMs: 20,
      createEngine: async (config) => createEmbeddedEngine(config),
      onNotice: (_notice, text) => notices.push(text),
    });
    expect(built.lanes.map((l) => l.config.id)).toEqual(['embedded']);
    expect(built.leftOut).toEqual([]);
    expect(notices.length).toBeGreaterThan(0);
    expect(notices[0]).toMatch(/^embedded: loading the OCR models… \(\d+ s\)$/);
    const result = await built.lanes[0]!.engine.recognize({ bytes: new Uint8Array([1, 2]), mime: 'image/png' }, new AbortController().signal);
    expect(result.text).toBe('');
    await built.close();
  });

  it('leaves out an engine offered by default that is slow, saying it is slow and not broken, and closes it while it loads', async () => {
    process.env.PARALLEL_VISION_EMBEDDED_WORKER = slowWorker;
    process.env.FIXTURE_LOAD_MS = '400';
    const notices: Array<{ notice: LaneNotice; text: string }> = [];
    const closed: string[] = [];
    const built = await buildLanes(
      [
        { config: lane('embedded', 'embedded'), requested: false },
        { config: lane('fast', 'deepseek'), requested: false },
      ],
      {
        policy: 'auto',
        machine,
        checkTimeoutMs: 20,
        createEngine: async (config) => {
          if (config.engine === 'deepseek') return fakeEngine(config).engine;
          const engine = createEmbeddedEngine(config);
          return { ...engine, close: async () => (await engine.close?.(), void closed.push(config.id)) };
        },
        onNotice: (notice, text) => notices.push({ notice, text }),
      },
    );
    expect(built.lanes.map((l) => l.config.id)).toEqual(['fast']);
    expect(built.leftOut).toMatchObject([{ cause: 'slow', config: { id: 'embedded' } }]);
    expect(notices.map((n) => n.text)).toEqual(['embedded: left out of this run — no answer within 20 ms, and it was not asked for by name (slow to answer, not known to be broken)']);
    expect(closed).toEqual(['embedded']);
    await built.close();
  });

  it('tells broken from slow: a check that answers "unavailable" leaves the lane out with its reason', async () => {
    const built = await buildLanes(
      [
        { config: lane('a', 'deepseek'), requested: true },
        { config: lane('b', 'ollama'), requested: true },
      ],
      {
        policy: 'ratio',
        machine,
        createEngine: async (config) => fakeEngine(config, Promise.resolve(config.id === 'a' ? { type: 'unavailable', reason: 'connection refused' } : { type: 'available' })).engine,
        onNotice: () => undefined,
      },
    );
    expect(built.lanes.map((l) => l.config.id)).toEqual(['b']);
    expect(built.leftOut).toEqual([expect.objectContaining({ cause: 'broken', reason: 'connection refused' })]);
    await built.close();
  });

  it('resolves "auto" workers to the safe maximum, starts auto runs at the start value and other policies at the ceiling, and closes what it built', async () => {
    const engines = new Map<string, ReturnType<typeof fakeEngine>>();
    const make = async (config: LaneConfig) => {
      const fake = fakeEngine(config);
      engines.set(config.id, fake);
      return fake.engine;
    };
    const requests = [
      { config: lane('embedded', 'embedded', { autoWorkers: true }), requested: true },
      { config: lane('deepseek', 'deepseek', { workers: 3 }), requested: true },
      { config: lane('remote', 'openai', { endpoint: 'https://api.example.com/v1', autoWorkers: true }), requested: true },
    ];
    const auto = await buildLanes(requests, { policy: 'auto', machine, createEngine: make });
    expect(auto.lanes.map((l) => [l.config.id, l.config.workers, l.startConcurrency, l.resource])).toEqual([
      ['embedded', 4, 2, 'cpu'],
      ['deepseek', 3, 3, 'cpu'],
      ['remote', 8, 2, undefined],
    ]);
    expect(auto.resourceBudgets).toEqual({ cpu: 4 });
    // A lane that starts below its ceiling sizes its engine to the start (no models loaded for slots the tuner may never open).
    expect([...engines.values()].map((e) => e.calls.concurrency)).toEqual([[2], [], [2]]);
    await auto.close();
    const ratio = await buildLanes(requests, { policy: 'ratio', machine, createEngine: make });
    expect(ratio.lanes.map((l) => l.startConcurrency)).toEqual([4, 3, 8]);
    expect([...engines.values()].map((e) => e.calls.concurrency), 'other policies start at the ceiling').toEqual([[], [], []]);
    await ratio.close();
    expect([...engines.values()].map((e) => e.calls.closed)).toEqual([1, 1, 1]);
  });

  it('takes a local service that runs its model on the GPU off the CPU budget, and keeps one on the CPU on it', async () => {
    const make = async (config: LaneConfig) => fakeEngine(config, Promise.resolve({ type: 'available', device: config.id === 'gpu' ? 'mps' : 'cpu' })).engine;
    const built = await buildLanes(
      [
        { config: lane('gpu', 'deepseek', { autoWorkers: true }), requested: true },
        { config: lane('cpu', 'deepseek', { endpoint: 'http://127.0.0.1:8002', autoWorkers: true }), requested: true },
      ],
      { policy: 'auto', machine, createEngine: make },
    );
    expect(built.lanes.map((l) => [l.config.id, l.resource])).toEqual([
      ['gpu', undefined],
      ['cpu', 'cpu'],
    ]);
    await built.close();
  });

  it('falls back to the in-process engine when nothing else runs; with nothing at all it fails with every reason', async () => {
    const notices: string[] = [];
    const down = async (config: LaneConfig) => {
      if (config.engine === 'embedded') return fakeEngine(config).engine;
      throw new Error(`${config.id} needs the address of its server`);
    };
    const built = await buildLanes([{ config: lane('remote', 'openai'), requested: true }], { policy: 'auto', machine, createEngine: down, fallback: lane('embedded', 'embedded'), onNotice: (_n, text) => notices.push(text) });
    expect(built.lanes.map((l) => l.config.id)).toEqual(['embedded']);
    expect(notices).toEqual(['remote: left out of this run — not available (remote needs the address of its server)', 'None of the chosen engines is available; using embedded, which needs nothing installed.']);
    await built.close();

    await expect(buildLanes([{ config: lane('remote', 'openai'), requested: true }], { policy: 'auto', machine, createEngine: down })).rejects.toThrow(/^Lane remote: remote needs the address/);
    const two = buildLanes(
      [
        { config: lane('x', 'openai'), requested: true },
        { config: lane('y', 'ollama'), requested: true },
      ],
      { policy: 'auto', machine, createEngine: down },
    );
    await expect(two).rejects.toBeInstanceOf(NoLaneError);
    await expect(two).rejects.toThrow(/No engine lane can run\. Lane x: .*; Lane y: /);
  });
});
