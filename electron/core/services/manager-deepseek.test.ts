/**
 * The manager supervising the real Python OCR service (scripts/deepseek, CPU backend) and
 * OCR through the DeepSeek engine. Needs the venv of `npm run setup:python`: without it the
 * suite fails on CI and is skipped (saying so) elsewhere.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceInfo } from '../../../shared/domain.js';
import { createDeepSeekEngine } from '../engines/deepseek.js';
import { createServiceManager, type ServiceManager } from './manager.js';
import { findFreePort } from './ports.js';
import { isProcessAlive, isProcessGroupAlive } from './proc-info.js';
import { spawnGroup, stopGroup } from './process-group.js';
import { DEEPSEEK_DIR, DEEPSEEK_TEST_PYTHON, childProcesses, waitUntil } from './test-support.js';

const haveVenv = existsSync(DEEPSEEK_TEST_PYTHON);
if (!haveVenv && process.env.CI) throw new Error(`${DEEPSEEK_TEST_PYTHON} is missing: run npm run setup:python`);
if (!haveVenv) console.warn(`skipping the DeepSeek service supervision tests: ${DEEPSEEK_TEST_PYTHON} is missing (npm run setup:python)`);

async function textImage(text: string) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="520" height="120"><rect width="100%" height="100%" fill="white"/><text x="20" y="80" font-family="DejaVu Sans, sans-serif" font-size="48" fill="black">${text}</text></svg>`;
  const bytes = await sharp(Buffer.from(svg)).png().toBuffer();
  return { bytes: new Uint8Array(bytes), mime: 'image/png', width: 520, height: 120 };
}

const deepseekInfo = (manager: ServiceManager) => manager.list().find((info) => info.name === 'deepseek') as ServiceInfo;
const pidOf = (info: ServiceInfo) => (info.state.type === 'ready' ? (info.state.pid as number) : -1);

describe.skipIf(!haveVenv)('service manager with the real Python OCR service (rapidocr)', () => {
  let dataDir: string;
  let manager: ServiceManager;
  let port: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'pv-deepseek-'));
    port = await findFreePort(51_000 + Math.floor(Math.random() * 4000));
    manager = createServiceManager({
      dataDir,
      deepseekDir: DEEPSEEK_DIR,
      binaries: { deepseekPython: DEEPSEEK_TEST_PYTHON, ollama: null },
      deepseekBackend: 'rapidocr',
      ports: { deepseek: port },
      tuning: { healthIntervalMs: 300, stopGraceMs: 5000, backoff: { baseMs: 100 } },
      memoryPressure: async () => null,
    });
    await manager.ready;
  });
  afterAll(async () => {
    await manager?.dispose();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('starts the service, reads an ad through the engine, restarts it after kill -9, and quits leaving nothing behind', async () => {
    expect(deepseekInfo(manager).state.type).toBe('stopped');
    const info = await manager.start('deepseek');
    expect(info.state).toEqual({ type: 'ready', url: `http://127.0.0.1:${port}`, pid: expect.any(Number) });
    expect(manager.logs('deepseek').some((line) => /^READY port=\d+ backend=rapidocr/.test(line))).toBe(true);
    await waitUntil(() => (deepseekInfo(manager).rssMb ?? 0) > 20, 10_000, 'rss of the python child');

    const engine = createDeepSeekEngine({ id: 'ds', engine: 'deepseek', endpoint: manager.url('deepseek') ?? '', workers: 1, enabled: true });
    const result = await engine.recognize(await textImage('SUMMER SALE 50'), AbortSignal.timeout(30_000));
    expect(result.text.toUpperCase()).toContain('SUMMER');
    await engine.close?.();

    const first = pidOf(info);
    process.kill(first, 'SIGKILL');
    await waitUntil(() => deepseekInfo(manager).state.type === 'ready' && pidOf(deepseekInfo(manager)) !== first, 30_000, 'restart after kill -9');

    const second = pidOf(deepseekInfo(manager));
    await manager.stopAll();
    expect(deepseekInfo(manager).state.type).toBe('stopped');
    expect(isProcessGroupAlive(second)).toBe(false);
    expect(await childProcesses(/server\.py/)).toEqual([]);
  }, 90_000);

  it('says who holds its port and offers the next one', async () => {
    const squatter = spawnGroup({ file: process.execPath, args: ['-e', `require('net').createServer().listen(${port}, '127.0.0.1')`], env: { PATH: process.env.PATH } });
    if (!('pid' in squatter)) throw new Error(squatter.spawnError);
    try {
      await waitUntil(async () => !(await import('./ports.js').then((ports) => ports.isPortFree(port))), 5000, 'squatter listening');
      const outcome = await manager.startWithOutcome('deepseek');
      expect(outcome).toMatchObject({ ok: false, reason: expect.stringContaining(`port ${port} is held by node (pid ${squatter.pid})`), suggestedPort: expect.any(Number) });
    } finally {
      await stopGroup(squatter.pid);
    }
  });

  it('adopts a healthy service that is already running and does not stop it on quit', async () => {
    const lines: string[] = [];
    const external = spawnGroup({
      file: DEEPSEEK_TEST_PYTHON,
      args: [join(DEEPSEEK_DIR, 'server.py'), '--host', '127.0.0.1', '--port', String(port), '--backend', 'rapidocr'],
      env: process.env,
      onLines: (batch) => lines.push(...batch),
    });
    if (!('pid' in external)) throw new Error(external.spawnError);
    try {
      await waitUntil(() => lines.some((line) => line.startsWith('READY')), 60_000, 'the external service');
      expect(await manager.start('deepseek')).toMatchObject({ state: { type: 'external', url: `http://127.0.0.1:${port}` } });
      await manager.stopAll();
      expect(isProcessAlive(external.pid)).toBe(true);
      expect(deepseekInfo(manager).state.type).toBe('external');
    } finally {
      await stopGroup(external.pid);
    }
  }, 90_000);
});
