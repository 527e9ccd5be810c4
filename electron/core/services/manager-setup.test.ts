/** First-run setup through the manager: the real setup_venv.py (on an already built venv) and failures. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SetupStage } from '../../../shared/domain.js';
import { BinaryFinder } from './discovery.js';
import { createServiceManager, type ServiceManager } from './manager.js';
import { DEEPSEEK_DIR, DEEPSEEK_TEST_PYTHON, freeServicePorts, NOTHING_INSTALLED } from './test-support.js';

const haveVenv = existsSync(DEEPSEEK_TEST_PYTHON);
if (!haveVenv && process.env.CI) throw new Error(`${DEEPSEEK_TEST_PYTHON} is missing: run npm run setup:python`);


let dataDir: string;
let manager: ServiceManager | undefined;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pv-setup-manager-'));
});
afterEach(async () => {
  await manager?.dispose();
  manager = undefined;
  await rm(dataDir, { recursive: true, force: true });
});

describe('manager.setup', () => {
  it('fails the venv stage with an install hint when there is no Python 3.10+', async () => {
    manager = createServiceManager({ dataDir, deepseekDir: DEEPSEEK_DIR, ports: await freeServicePorts(), finder: new BinaryFinder(NOTHING_INSTALLED), binaries: { ollama: null }, deepseekBackend: 'rapidocr' });
    const events: SetupStage[] = [];
    manager.on('setup', (event) => events.push(event));
    const stages = await manager.setup('deepseek');
    expect(stages).toEqual([{ service: 'deepseek', stage: 'venv', status: 'failed', progress: null, message: expect.stringContaining('brew install python') }]);
    expect(events).toEqual(stages);
    expect(await manager.setup('embedded')).toEqual([]);
    await expect(manager.setup('nonsense')).rejects.toThrow(/unknown service/);
  });

  it('fails the ollama pull when Ollama is not installed', async () => {
    manager = createServiceManager({ dataDir, deepseekDir: DEEPSEEK_DIR, ports: await freeServicePorts(), binaries: { ollama: null }, memoryPressure: async () => null });
    const [stage] = await manager.setup('ollama', 'pull moondream');
    expect(stage).toMatchObject({ stage: 'pull moondream', status: 'failed', message: expect.stringMatching(/^Ollama is not running: Ollama was not found/) });
  });

  it.skipIf(!haveVenv)('runs setup_venv.py into the data folder and the service becomes startable', async () => {
    manager = createServiceManager({ dataDir, deepseekDir: DEEPSEEK_DIR, ports: await freeServicePorts(), binaries: { ollama: null }, deepseekBackend: 'rapidocr', memoryPressure: async () => null });
    await manager.ready;
    expect(manager.list()[0]?.state.type).toBe('not-installed');
    // Stand-in for the minutes-long venv creation: the venv the tests already built, so the
    // script finds its requirements installed and only verifies the imports.
    await symlink(dirname(dirname(DEEPSEEK_TEST_PYTHON)), join(dataDir, 'deepseek-venv'));
    const logs: string[] = [];
    manager.on('log', ({ name, lines }) => name === 'deepseek' && logs.push(...lines));
    const [first, second] = await Promise.all([manager.setup('deepseek'), manager.setup('deepseek')]);
    expect(second).toBe(first); // a second click joins the running setup
    expect(first?.map((stage) => [stage.stage, stage.status])).toEqual([['venv', 'done'], ['pip-base', 'done'], ['verify', 'done']]);
    expect(manager.list()[0]?.state.type).toBe('stopped');
    expect(logs.some((line) => line.includes('all imports work'))).toBe(true); // the script's output reaches the log
  }, 60_000);
});
