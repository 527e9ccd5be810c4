import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LaneConfig } from '../../shared/domain.js';
import { createEmbeddedEngine } from '../core/engines/embedded.js';
import type { Engine } from '../core/engines/types.js';
import type { CliIo } from './io.js';
import { runAds } from './run.js';

const slowWorker = fileURLToPath(new URL('../core/engines/__fixtures__/workers/slow-load-worker.mjs', import.meta.url));
let dir = '';
const files: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pv-run-'));
  for (let i = 0; i < 3; i++) {
    const file = path.join(dir, `ad${i}.png`);
    writeFileSync(file, await sharp({ create: { width: 30 + i, height: 20, channels: 3, background: '#224466' } }).png().toBuffer());
    files.push(file);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function captureIo(): CliIo & { stderr: () => string } {
  let err = '';
  return { out: () => undefined, err: (text) => void (err += text), env: {}, isTerminal: false, stderr: () => err };
}

describe('runAds (what `parallel-vision run` does)', () => {
  it('waits for an engine asked for by name whose models load slower than the check, saying so, and then runs', async () => {
    const saved = { worker: process.env.PARALLEL_VISION_EMBEDDED_WORKER, load: process.env.FIXTURE_LOAD_MS };
    process.env.PARALLEL_VISION_EMBEDDED_WORKER = slowWorker;
    process.env.FIXTURE_LOAD_MS = '500';
    try {
      const io = captureIo();
      const outcome = await runAds(
        { lists: files, engines: ['embedded'], dataDir: path.join(dir, 'slow'), io, handleSignals: false },
        { createEngine: async (lane) => createEmbeddedEngine(lane), inProcessEngine: async () => 'embedded', checkTimeoutMs: 25 },
      );
      expect(io.stderr()).toMatch(/embedded: loading the OCR models… \(\d+ s\)/);
      expect(io.stderr()).not.toMatch(/not available/);
      expect(outcome).toMatchObject({ code: 0, summary: { status: 'finished' } });
      expect(io.stderr()).toMatch(/3 done, 0 failed of 3/);
    } finally {
      for (const [key, value] of [['PARALLEL_VISION_EMBEDDED_WORKER', saved.worker], ['FIXTURE_LOAD_MS', saved.load]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('names a missing list file in words and says why there is nothing to run', async () => {
    const io = captureIo();
    const outcome = await runAds({ lists: [path.join(dir, 'nonexist.csv')], engines: ['embedded'], dataDir: path.join(dir, 'missing'), io, handleSignals: false });
    expect(outcome.code).toBe(1);
    expect(io.stderr()).toBe('skipped cannot read nonexist.csv: no such file\nno ads to run: nothing above could be imported\n');
    const empty = path.join(dir, 'empty.csv');
    writeFileSync(empty, 'creative_id,image_url\n');
    const io2 = captureIo();
    expect((await runAds({ lists: [empty], engines: ['embedded'], dataDir: path.join(dir, 'missing'), io: io2, handleSignals: false })).code).toBe(1);
    expect(io2.stderr()).toBe('no ads to run: the list has no rows with an image URL\n');
  });

  it('closes the engines it built when the run cannot go on after them', async () => {
    const closed: string[] = [];
    const createEngine = async (lane: LaneConfig): Promise<Engine> => ({
      kind: lane.engine,
      label: lane.id,
      recognize: async () => ({ text: '', blocks: [], model: 'fake', timings: {} }),
      close: async () => void closed.push(lane.id),
    });
    // A split is checked against the lanes that start, so a bad one fails after they are built.
    await expect(runAds({ lists: files, engines: ['embedded', 'deepseek'], split: '1.5', dataDir: path.join(dir, 'bad-split'), io: captureIo(), handleSignals: false }, { createEngine, inProcessEngine: async () => 'embedded' })).rejects.toThrow(/--split/);
    expect(closed.sort()).toEqual(['deepseek', 'embedded']);
  });

  it('after a stop, says how to resume: the same command, without --new when it had one', async () => {
    for (const [newRun, hint] of [[true, 'run the same command without --new'], [false, 'run the same command again']] as const) {
      const io = captureIo();
      const controller = new AbortController();
      // Stopped once the run is under way: the engine's first call stops it.
      const hanging = async (lane: LaneConfig): Promise<Engine> => ({
        kind: lane.engine,
        label: lane.id,
        recognize: (_image, signal) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
            controller.abort();
          }),
        close: async () => undefined,
      });
      const running = runAds({ lists: files, engines: ['embedded'], newRun, dataDir: path.join(dir, 'stopped'), io, handleSignals: false, signal: controller.signal }, { createEngine: hanging, inProcessEngine: async () => 'embedded' });
      expect((await running).code).toBe(130);
      // Run again, --new would start another run from scratch instead of resuming this one.
      expect(io.stderr()).toContain(`Interrupted. To resume, ${hint}`);
    }
  });

  it('says the results are saved, and how to export them, when the --out file cannot be written', async () => {
    const createEngine = async (lane: LaneConfig): Promise<Engine> => ({ kind: lane.engine, label: lane.id, recognize: async () => ({ text: 'SALE', blocks: [], model: 'fake', timings: {} }) });
    const notAFolder = path.join(dir, 'plain-file');
    writeFileSync(notAFolder, 'x');
    const io = captureIo();
    const outcome = await runAds({ lists: files, engines: ['embedded'], out: path.join(notAFolder, 'out.csv'), outFormat: 'csv', dataDir: path.join(dir, 'bad-out'), io, handleSignals: false }, { createEngine, inProcessEngine: async () => 'embedded' });
    expect(outcome).toMatchObject({ code: 1, summary: { status: 'finished' } });
    expect(io.stderr()).toContain(`Could not write ${path.join(notAFolder, 'out.csv')}: `);
    expect(io.stderr()).toContain(`The results are saved: export them with: parallel-vision export ${outcome.runId} --out FILE`);
  });
});
