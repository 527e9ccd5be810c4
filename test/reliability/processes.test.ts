/**
 * Crashes of whole processes: the DeepSeek service SIGKILLed mid-run (the supervisor
 * restarts it, the run rides through), and the CLI itself SIGKILLed twice mid-run and
 * restarted (the store resumes the run). Every ad ends done or failed with a reason,
 * exactly once in the store.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdResult, ServiceInfo } from '../../shared/domain.js';
import { createDeepSeekEngine } from '../../electron/core/engines/deepseek.js';
import { createOllamaEngine } from '../../electron/core/engines/ollama.js';
import { testEngineCliArgs } from '../helpers/test-engine-cli.js';
import type { TestEngineSettingsInput } from '../../electron/core/engines/test-engine.js';
import { createServiceManager, type ServiceManager } from '../../electron/core/services/manager.js';
import { findFreePort } from '../../electron/core/services/ports.js';
import { DEEPSEEK_DIR, DEEPSEEK_TEST_PYTHON, FAKE_OLLAMA, waitUntil } from '../../electron/core/services/test-support.js';
import type { Route } from '../fixtures/bad-inputs/corpus.js';
import { startBadImageServer, type BadImageServer } from '../fixtures/bad-inputs/server.js';
import { formatFigures, readFigures, recordFigures } from './figures.js';
import { adPng, lane, makeAds, realImageLoader, recordScenario, runScenario } from './harness.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), 'pv-processes-'));
const haveVenv = existsSync(DEEPSEEK_TEST_PYTHON);
if (!haveVenv && process.env.CI) throw new Error(`${DEEPSEEK_TEST_PYTHON} is missing: run npm run setup:python`);
const CLI_ADS = 200;
let images: BadImageServer;
const hashToId = new Map<string, string>();

beforeAll(async () => {
  const routes: Record<string, Route> = {};
  const png = await adPng('SUMMER SALE 50');
  for (let i = 0; i < 40; i++) routes[`text-${i}`] = { type: 'bytes', body: png, headers: { 'content-type': 'image/png' } };
  // Distinct images for the CLI (it skips an image whose hash it has already read).
  for (let i = 0; i < CLI_ADS; i++) {
    const body = new Uint8Array(await sharp({ create: { width: 16 + (i % 50), height: 8 + Math.floor(i / 50), channels: 3, background: { r: i % 256, g: 90, b: 40 } } }).png().toBuffer());
    routes[`cli-${i}`] = { type: 'bytes', body, headers: { 'content-type': 'image/png' } };
    hashToId.set(createHash('sha256').update(body).digest('hex'), `cli-${i}`);
  }
  images = await startBadImageServer(routes);
});

afterAll(async () => {
  await images?.close();
  rmSync(workDir, { recursive: true, force: true });
  console.log(`\nReliability figures so far:\n${formatFigures(readFigures())}\n`);
});

describe.skipIf(!haveVenv)('the DeepSeek service killed mid-run', () => {
  let manager: ServiceManager;
  beforeAll(async () => {
    const port = await findFreePort(52_000 + Math.floor(Math.random() * 4000));
    manager = createServiceManager({
      dataDir: join(workDir, 'deepseek-data'),
      deepseekDir: DEEPSEEK_DIR,
      binaries: { deepseekPython: DEEPSEEK_TEST_PYTHON, ollama: null },
      deepseekBackend: 'rapidocr',
      ports: { deepseek: port },
      tuning: { healthIntervalMs: 300, stopGraceMs: 4000, backoff: { baseMs: 100 } },
      memoryPressure: async () => null,
    });
    await manager.ready;
  });
  afterAll(async () => {
    await manager?.dispose();
  });

  it('SIGKILL: in-flight ads are retried, the supervisor restarts the service, the run finishes', async () => {
    const deepseekInfo = () => manager.list().find((info) => info.name === 'deepseek') as ServiceInfo;
    const pidOf = (info: ServiceInfo) => (info.state.type === 'ready' ? (info.state.pid ?? -1) : -1);
    const started = await manager.start('deepseek');
    const firstPid = pidOf(started);
    expect(firstPid).toBeGreaterThan(0);
    const config = lane('deepseek', 'deepseek', 2, { endpoint: manager.url('deepseek') ?? '' });
    const engine = createDeepSeekEngine(config);
    const { fetcher, loadImage } = realImageLoader();
    let killedAt = -1;
    try {
      const outcome = await runScenario({
        name: 'DeepSeek service SIGKILL mid-run',
        ads: makeAds(24, (i) => `${images.base}/text-${i}`),
        lanes: [{ config, engine, prior_s: 0.5, coldStart_s: 0 }],
        loadImage,
        maxAttempts: 10,
        // Enough retries to ride through a restart of the Python service (seconds on a busy machine).
        tuning: { retryBaseMs: 200, retryMaxMs: 3000, breaker: { threshold: 3, baseCooldownMs: 300, maxCooldownMs: 1500 } },
        onResult: (_result, finished) => {
          if (finished === 6) {
            killedAt = finished;
            process.kill(firstPid, 'SIGKILL');
          }
        },
      });
      expect(killedAt).toBe(6);
      expect(outcome.error).toBeNull();
      expect(outcome.figures.lost).toBe(0);
      expect(outcome.figures.twice).toBe(0);
      expect(outcome.figures.done + outcome.figures.failed).toBe(24);
      expect(outcome.figures.done, 'ads read after the restart').toBeGreaterThan(6);
      for (const result of outcome.results.filter((entry) => entry.status === 'failed')) expect(result.error).toMatch(/\S/);
      await waitUntil(() => deepseekInfo().state.type === 'ready' && pidOf(deepseekInfo()) !== firstPid, 30_000, 'restarted service');
      const failedCalls = outcome.summary!.lanes[0]!.failedCalls;
      expect(failedCalls, 'calls failed while the service was down').toBeGreaterThan(0);
      recordFigures({ ...outcome.figures, note: `${failedCalls} calls failed while the service was down; restarted as pid ${pidOf(deepseekInfo())}` });
    } finally {
      await fetcher.close();
      await engine.close?.();
    }
  }, 120_000);
});

describe('a user’s kill -9 of a service', () => {
  it('Ollama killed with SIGKILL mid-run: restarted with the same workers, the run finishes, nothing lost or done twice', async () => {
    const port = await findFreePort(56_000 + Math.floor(Math.random() * 4000));
    const manager = createServiceManager({
      dataDir: join(workDir, 'ollama-data'),
      deepseekDir: DEEPSEEK_DIR,
      binaries: { deepseekPython: join(workDir, 'no-python'), ollama: FAKE_OLLAMA },
      ports: { ollama: port },
      tuning: { healthIntervalMs: 300, stopGraceMs: 2000, backoff: { baseMs: 100 } },
      memoryPressure: async () => null,
    });
    const lowered: number[] = [];
    manager.on('workers', ({ workers }) => lowered.push(workers));
    const { fetcher, loadImage } = realImageLoader();
    try {
      await manager.ready;
      manager.setWorkers('ollama', 4);
      const started = await manager.start('ollama');
      const firstPid = started.state.type === 'ready' ? (started.state.pid ?? -1) : -1;
      expect(firstPid).toBeGreaterThan(0);
      const config = lane('ollama', 'ollama', 4, { endpoint: manager.url('ollama') ?? '', model: 'llava', settings: { timeoutMs: 5000 } });
      const engine = createOllamaEngine(config);
      const outcome = await runScenario({
        name: 'a user’s SIGKILL of a service (Ollama)',
        ads: makeAds(40, (i) => `${images.base}/text-${i}`),
        lanes: [{ config, engine, prior_s: 0.05, coldStart_s: 0 }],
        loadImage,
        maxAttempts: 10,
        tuning: { retryBaseMs: 100, retryMaxMs: 1000, breaker: { threshold: 3, baseCooldownMs: 200, maxCooldownMs: 800 } },
        onResult: (_result, finished) => {
          if (finished === 8) process.kill(firstPid, 'SIGKILL');
        },
      });
      expect(outcome.error).toBeNull();
      expect(outcome.figures).toMatchObject({ lost: 0, twice: 0, done: 40 });
      const info = manager.list().find((entry) => entry.name === 'ollama')!;
      await waitUntil(() => manager.list().find((entry) => entry.name === 'ollama')!.state.type === 'ready', 30_000, 'Ollama restarted');
      expect(manager.logs('ollama').join('\n')).toMatch(/killed by SIGKILL[\s\S]*no sign of running out of memory: restarting with the same 4 workers/);
      expect(lowered, 'no worker was taken away').toEqual([]);
      recordFigures({ ...outcome.figures, note: `restarted with the same 4 workers (was pid ${firstPid}, state ${info.state.type})` });
    } finally {
      await fetcher.close();
      await manager.dispose();
    }
  }, 120_000);
});

describe('the CLI killed mid-run and restarted', () => {
  function startCli(args: string[], engine: TestEngineSettingsInput) {
    const child = spawn(process.execPath, ['--import', 'tsx', ...testEngineCliArgs(engine, args)], { cwd: repoRoot, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
    child.stdout!.resume();
    const finished = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
    return { child, finished };
  }

  function storedResults(dbPath: string): Array<{ creative_id: string; status: 'done' | 'failed'; error: string | null }> {
    if (!existsSync(dbPath)) return [];
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      return db.prepare<[], { creative_id: string; status: 'done' | 'failed'; error: string | null }>('SELECT creative_id, status, error FROM results').all();
    } catch {
      return [];
    } finally {
      db.close();
    }
  }

  it('kill -9 twice, then a clean finish: every ad exactly once in the store and the export', async () => {
    const listPath = join(workDir, 'cli-ads.csv');
    writeFileSync(listPath, `creative_id,image_url\n${Array.from({ length: CLI_ADS }, (_, i) => `cli-${i},${images.base}/cli-${i}`).join('\n')}\n`);
    const dataDir = join(workDir, 'cli-data');
    const dbPath = join(dataDir, 'parallel-vision.db');
    const logFile = join(workDir, 'cli-engine.log');
    const out = join(workDir, 'cli-results.jsonl');
    // ~60 ads/s: the second kill (at 110 stored) meets a live run with seconds to spare, however loaded the machine.
    const engine: TestEngineSettingsInput = { delayMs: 60, delayByEngine: { deepseek: 50, embedded: 100 }, logFile };
    const args = ['run', listPath, '--engines', 'embedded,deepseek', '--workers', 'embedded=2,deepseek=2', '--data-dir', dataDir, '--out', out, '--json'];
    const started = performance.now();
    const savedAtKill: number[] = [];
    for (const killAfter of [40, 110]) {
      const cli = startCli(args, engine);
      await waitUntil(() => storedResults(dbPath).length >= killAfter, 60_000, `${killAfter} results stored`);
      cli.child.kill('SIGKILL');
      expect((await cli.finished).signal).toBe('SIGKILL');
      savedAtKill.push(storedResults(dbPath).length);
    }
    expect(savedAtKill[1]!).toBeLessThan(CLI_ADS);
    const last = await startCli(args, engine).finished;
    expect(last.stderr).toMatch(/Resuming run \S+ \(interrupted\)/);
    expect(last.code).toBe(0);
    const seconds = (performance.now() - started) / 1000;

    const stored = storedResults(dbPath);
    const perAd = new Map<string, number>();
    for (const row of stored) perAd.set(row.creative_id, (perAd.get(row.creative_id) ?? 0) + 1);
    expect([...perAd.values()].every((count) => count === 1)).toBe(true);
    const exported = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(exported.map((row) => row.creative_id)).toEqual(Array.from({ length: CLI_ADS }, (_, i) => `cli-${i}`));
    const engineCalls = readFileSync(logFile, 'utf8').trim().split('\n').length;
    const finals: AdResult[] = stored.map((row) => ({ runId: 'cli', creativeId: row.creative_id, status: row.status, engine: null, laneId: null, model: null, text: '', blocks: [], durationMs: null, attempts: [], ...(row.error ? { error: row.error } : {}) }));
    const row = recordScenario(
      'CLI kill -9 twice, then resumed',
      [{ scenario: 'cli', adsIn: CLI_ADS, done: 0, failed: 0, reasons: {}, lost: 0, twice: 0, maxStallMs: null, seconds }],
      Array.from({ length: CLI_ADS }, (_, i) => `cli-${i}`),
      finals,
      `stored at the kills: ${savedAtKill.join(', ')}; engine calls ${engineCalls} for ${CLI_ADS} ads (calls in flight at a kill run again)`,
    );
    expect(row.lost).toBe(0);
    expect(row.twice).toBe(0);
    expect(row.done).toBe(CLI_ADS);
    // At most the calls in flight (4 workers) plus the group-commit window per kill run again.
    expect(engineCalls - CLI_ADS).toBeLessThanOrEqual(2 * 20);
    for (const line of readFileSync(logFile, 'utf8').trim().split('\n')) expect(hashToId.has(line.split(' ')[1]!)).toBe(true);
  }, 180_000);
});
