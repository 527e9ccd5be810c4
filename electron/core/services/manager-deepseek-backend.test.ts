/**
 * Choosing the DeepSeek service's backend through the manager, with the real Python service:
 * each backend runs from its own venv (`<base>`, `<base>-mlx`, `<base>-torch`), the choice is
 * saved in the data folder and a running service is restarted with it. The CPU backend needs
 * `npm run setup:python` (fails on CI without it); mlx needs scripts/deepseek/.venv-mlx
 * (`npm run setup:python -- --backend mlx`), where it runs a tiny random DeepSeek-OCR.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceInfo } from '../../../shared/domain.js';
import { createServiceManager, type ServiceManager, type ServiceManagerOptions } from './manager.js';
import { findFreePort } from './ports.js';
import { isProcessAlive } from './proc-info.js';
import { DEEPSEEK_DIR, DEEPSEEK_TEST_PYTHON } from './test-support.js';

const MLX_TEST_PYTHON = join(DEEPSEEK_DIR, '.venv-mlx', 'bin', 'python');
const haveVenv = existsSync(DEEPSEEK_TEST_PYTHON);
const haveMlx = existsSync(MLX_TEST_PYTHON);
if (!haveVenv && process.env.CI) throw new Error(`${DEEPSEEK_TEST_PYTHON} is missing: run npm run setup:python`);
if (!haveVenv) console.warn(`skipping the DeepSeek backend switching tests: ${DEEPSEEK_TEST_PYTHON} is missing (npm run setup:python)`);
if (!haveMlx) console.warn(`skipping the switch to the mlx backend: ${MLX_TEST_PYTHON} is missing (npm run setup:python -- --backend mlx)`);

const deepseekInfo = (manager: ServiceManager) => manager.list().find((info) => info.name === 'deepseek') as ServiceInfo;
const pidOf = (info: ServiceInfo) => (info.state.type === 'ready' ? (info.state.pid as number) : -1);
const readyLines = (manager: ServiceManager) => manager.logs('deepseek').filter((line) => line.startsWith('READY '));

let dataDir: string;
const managers: ServiceManager[] = [];
async function manage(extra: Partial<ServiceManagerOptions> = {}): Promise<ServiceManager> {
  const port = await findFreePort(52_000 + Math.floor(Math.random() * 4000));
  const manager = createServiceManager({
    dataDir,
    deepseekDir: DEEPSEEK_DIR,
    deepseekVenv: join(dataDir, 'venv'),
    binaries: { ollama: null },
    ports: { deepseek: port },
    // The tiny mlx model's SAM encoder is built small by this hook (a venv without mlx ignores it).
    env: { PYTHONPATH: join(DEEPSEEK_DIR, 'tests', 'small_sam_site') },
    tuning: { healthIntervalMs: 300, stopGraceMs: 5000, startTimeoutMs: { deepseek: 240_000 } },
    memoryPressure: async () => null,
    ...extra,
  });
  managers.push(manager);
  await manager.ready;
  return manager;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pv-deepseek-backend-'));
});
afterAll(async () => {
  await Promise.all(managers.map((manager) => manager.dispose()));
  await rm(dataDir, { recursive: true, force: true });
});

describe('choosing the DeepSeek service backend', () => {
  it('names the setup command in one line when the chosen backend has no venv, and keeps the choice', async () => {
    const manager = await manage({ dataDir: await mkdtemp(join(dataDir, 'empty-')), deepseekVenv: join(dataDir, 'nowhere', 'venv') });
    const outcome = await manager.startWithOutcome('deepseek', { backend: 'mlx' });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.reason).toBe(`the mlx backend's Python environment ${join(dataDir, 'nowhere', 'venv-mlx')} is missing: set it up with \`parallel-vision services setup deepseek --backend mlx\``);
    expect(deepseekInfo(manager)).toMatchObject({ state: { type: 'not-installed' }, backend: { backend: 'mlx', saved: true } });
    await expect(manager.start('ollama', { backend: 'mlx' })).rejects.toThrow(/only the deepseek service has backends/);
    await expect(manager.start('deepseek', { backend: 'mlx', model: join(dataDir, 'no-such-model') })).rejects.toThrow(/model: the folder .*no-such-model does not exist/);
    await expect(manager.start('deepseek', { backend: 'rapidocr', model: dataDir })).rejects.toThrow(/rapidocr backend takes no model/);
  });

  describe.skipIf(!haveVenv)('with the real Python service', () => {
    let tinyModel: string;
    beforeAll(async () => {
      await symlink(dirname(dirname(DEEPSEEK_TEST_PYTHON)), join(dataDir, 'venv'));
      if (!haveMlx) return;
      await symlink(dirname(dirname(MLX_TEST_PYTHON)), join(dataDir, 'venv-mlx'));
      // A tiny random DeepSeek-OCR from mlx-vlm's own classes (scripts/deepseek/tests/tiny_mlx_model.py).
      tinyModel = join(dataDir, 'tiny-mlx');
      const build = `from pathlib import Path\nfrom tiny_mlx_model import build_tiny_model\nbuild_tiny_model(Path(${JSON.stringify(tinyModel)}))`;
      await promisify(execFile)(MLX_TEST_PYTHON, ['-c', build], { env: { ...process.env, PYTHONPATH: join(DEEPSEEK_DIR, 'tests', 'small_sam_site') } });
    }, 180_000);

    it('starts with the chosen CPU backend, saves the choice, and a new manager (an app restart) starts with it', async () => {
      const manager = await manage({ appleSilicon: true }); // default there: DeepSeek-OCR, not rapidocr
      const info = await manager.start('deepseek', { backend: 'rapidocr' });
      expect(info).toMatchObject({ state: { type: 'ready' }, label: 'DeepSeek-OCR', backend: { backend: 'rapidocr', saved: true } });
      expect(readyLines(manager)).toEqual([expect.stringMatching(/^READY port=\d+ backend=rapidocr /)]);
      expect(JSON.parse(await readFile(join(dataDir, 'services', 'deepseek-backend.json'), 'utf8'))).toEqual({ backend: 'rapidocr' });
      await manager.stopAll();

      const restarted = await manage({ appleSilicon: true });
      expect(deepseekInfo(restarted).backend).toEqual({ backend: 'rapidocr', saved: true });
      expect((await restarted.start('deepseek')).state.type).toBe('ready');
      expect(readyLines(restarted)).toEqual([expect.stringMatching(/ backend=rapidocr /)]);
      await restarted.stopAll();
    }, 120_000);

    it.skipIf(!haveMlx)('restarts a running service with the mlx backend and a local model folder', async () => {
      const manager = await manage();
      const first = await manager.start('deepseek', { backend: 'rapidocr' });
      expect(first.state.type).toBe('ready');
      const notices: string[] = [];
      manager.on('notice', ({ message }) => notices.push(message));

      const switched = await manager.start('deepseek', { backend: 'mlx', model: tinyModel });
      expect(switched).toMatchObject({ state: { type: 'ready' }, label: 'DeepSeek-OCR', backend: { backend: 'mlx', model: tinyModel, saved: true } });
      expect(pidOf(switched)).not.toBe(pidOf(first));
      expect(isProcessAlive(pidOf(first))).toBe(false);
      expect(readyLines(manager).at(-1)).toMatch(new RegExp(`^READY port=\\d+ backend=mlx device=cpu model=${tinyModel}$`));
      expect(notices).toContain('restarting the DeepSeek service with the mlx backend');

      // The same choice again is no restart.
      expect(pidOf(await manager.start('deepseek', { backend: 'mlx' }))).toBe(pidOf(switched));
      expect(JSON.parse(await readFile(join(dataDir, 'services', 'deepseek-backend.json'), 'utf8'))).toEqual({ backend: 'mlx', model: tinyModel });
      await manager.stopAll();
    }, 400_000);
  });
});
