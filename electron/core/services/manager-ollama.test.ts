/** The manager supervising the fake `ollama serve` (test/fixtures/fake-ollama) as a real child process. */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServiceInfo, SetupStage } from '../../../shared/domain.js';
import { startFakeOllama, type FakeOllama } from '../../../test/fixtures/fake-ollama/start.js';
import { listEngineAvailability } from '../engines/availability.js';
import { BinaryFinder } from './discovery.js';
import { createServiceManager, type ServiceManager, type ServiceManagerOptions } from './manager.js';
import { findFreePort } from './ports.js';
import { isProcessAlive, isProcessGroupAlive } from './proc-info.js';
import { signalGroup, spawnGroup } from './process-group.js';
import { CRASHING_APP, DEEPSEEK_DIR, FAKE_OLLAMA, NOTHING_INSTALLED, childProcesses, waitUntil } from './test-support.js';

let dataDir: string;
let managers: ServiceManager[] = [];
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pv-manager-'));
});
afterEach(async () => {
  await Promise.all(managers.map((manager) => manager.dispose()));
  managers = [];
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await rm(dataDir, { recursive: true, force: true });
});

async function manage(overrides: Partial<ServiceManagerOptions> = {}): Promise<{ manager: ServiceManager; port: number; states: ServiceInfo[] }> {
  const port = overrides.ports?.ollama ?? (await findFreePort(45_000 + Math.floor(Math.random() * 5000)));
  const manager = createServiceManager({
    dataDir,
    deepseekDir: DEEPSEEK_DIR,
    binaries: { ollama: FAKE_OLLAMA, deepseekPython: join(dataDir, 'no-venv', 'python') },
    ports: { ollama: port, deepseek: await findFreePort(port + 1) },
    workers: { ollama: 3 },
    tuning: { healthIntervalMs: 200, stopGraceMs: 2000, backoff: { baseMs: 100 } },
    memoryPressure: async () => null,
    ...overrides,
  });
  managers.push(manager);
  const states: ServiceInfo[] = [];
  manager.on('state', (info) => states.push(info));
  await manager.ready;
  return { manager, port, states };
}

const ollamaInfo = (manager: ServiceManager) => manager.list().find((info) => info.name === 'ollama') as ServiceInfo;
const pidOf = (info: ServiceInfo) => (info.state.type === 'ready' ? (info.state.pid as number) : -1);

describe('service manager with the fake ollama', () => {
  it('lists every service; ollama is not-installed when no binary is found anywhere', async () => {
    const { manager } = await manage({ binaries: { deepseekPython: join(dataDir, 'none') }, finder: new BinaryFinder(NOTHING_INSTALLED) });
    expect(manager.list().map((info) => [info.name, info.state.type, info.managed])).toEqual([
      ['deepseek', 'not-installed', true],
      ['ollama', 'not-installed', true],
      ['embedded', 'ready', false],
      ['apple-vision', process.platform === 'darwin' ? 'ready' : 'unavailable', false],
    ]);
    expect(ollamaInfo(manager).state).toMatchObject({ hint: expect.stringContaining(process.platform === 'darwin' ? 'brew install ollama' : 'ollama.com/install.sh') });
    expect(await manager.start('ollama')).toMatchObject({ state: { type: 'not-installed' } });
    await expect(manager.start('nonsense')).rejects.toThrow(/unknown service/);
  });

  it('names each service as the Run screen names its lane, and says what is missing apart from the command that sets it up', async () => {
    const { manager } = await manage({ binaries: { deepseekPython: join(dataDir, 'none') }, finder: new BinaryFinder(NOTHING_INSTALLED) });
    const lanes = await listEngineAvailability(process.platform, { appleVision: async () => ({ type: 'unavailable', reason: 'not probed' }), paddle: async () => ({ type: 'available' }) });
    expect(manager.list().map((info) => [info.name, info.label])).toEqual(manager.list().map((info) => [info.name, lanes.find((lane) => lane.engine === info.engine)?.label]));
    const deepseek = manager.list().find((info) => info.name === 'deepseek')!;
    // The terminal's line (services status) names the command; `missing` is for where the app's Set up is the instruction.
    expect(deepseek.state).toEqual({
      type: 'not-installed',
      hint: expect.stringMatching(/^the \w+ backend's Python environment \S+ is missing: set it up with `parallel-vision services setup deepseek[^`]*`$/),
      missing: expect.stringMatching(/^the \w+ backend's Python environment \S+ is missing$/),
    });
    expect(ollamaInfo(manager).state).toMatchObject({ missing: expect.stringMatching(/^Ollama was not found in [^:]+$/) });
  });

  it('starts ollama serve with its environment, pulls a model with progress, streams logs and stops it', async () => {
    const { manager, port, states } = await manage();
    const logs: string[] = [];
    manager.on('log', ({ name, lines }) => name === 'ollama' && logs.push(...lines));
    const info = await manager.start('ollama');
    expect(info.state).toEqual({ type: 'ready', url: `http://127.0.0.1:${port}`, pid: expect.any(Number) });
    expect(states.map((state) => state.state.type)).toContain('starting');
    expect(manager.url('ollama')).toBe(`http://127.0.0.1:${port}`);
    if (process.platform === 'linux') {
      const env = readFileSync(`/proc/${pidOf(info)}/environ`, 'utf8').split('\0');
      expect(env).toEqual(expect.arrayContaining([`OLLAMA_HOST=127.0.0.1:${port}`, 'OLLAMA_NUM_PARALLEL=3', 'OLLAMA_KEEP_ALIVE=30m']));
    }

    const stages: SetupStage[] = [];
    manager.on('setup', (stage) => stages.push(stage));
    const final = await manager.setup('ollama', 'pull llava:7b');
    expect(final).toEqual([{ service: 'ollama', stage: 'pull llava:7b', status: 'done', progress: 1, message: 'llava:7b is ready' }]);
    const fractions = stages.map((stage) => stage.progress).filter((value): value is number => value !== null);
    expect(fractions.some((value) => value > 0 && value < 1)).toBe(true);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    const failed = await manager.setup('ollama', 'pull no-such-model');
    expect(failed[0]).toMatchObject({ status: 'failed', message: expect.stringContaining('no-such-model') });

    await waitUntil(() => logs.some((line) => line.includes('Listening on')), 2000, 'log event');
    expect(manager.logs('ollama').some((line) => line.includes('Listening on'))).toBe(true);
    expect((await manager.stop('ollama')).state).toEqual({ type: 'stopped' });
    expect(isProcessAlive(pidOf(info))).toBe(false);
    // Everything the UI receives passes the contract's schemas.
    for (const state of states) expect(() => ServiceInfo.parse(state)).not.toThrow();
    for (const stage of stages) expect(() => SetupStage.parse(stage)).not.toThrow();
  });

  it('restarts ollama after kill -9', async () => {
    const { manager } = await manage();
    const first = pidOf(await manager.start('ollama'));
    process.kill(first, 'SIGKILL');
    await waitUntil(() => ollamaInfo(manager).state.type === 'ready' && pidOf(ollamaInfo(manager)) !== first, 8000, 'restart');
    expect(manager.logs('ollama').some((line) => /restart 1 of 5/.test(line))).toBe(true);
  });

  it('names the holder of a busy port and starts on the free port it offers', async () => {
    const port = await findFreePort(47_000);
    const squatter: Server = createServer((_request, response) => response.writeHead(404).end('nope'));
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => squatter.close(resolve)));
    const { manager } = await manage({ ports: { ollama: port } });
    const outcome = await manager.startWithOutcome('ollama');
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.reason).toMatch(new RegExp(`port ${port} is held by .*\\(pid ${process.pid}\\)`));
    expect(ollamaInfo(manager).state.type).toBe('unavailable');
    const moved = await manager.start('ollama', { port: outcome.suggestedPort });
    expect(moved).toMatchObject({ port: outcome.suggestedPort, state: { type: 'ready' } });
  });

  it('adopts an ollama that is already running and leaves it running on quit', async () => {
    const port = await findFreePort(48_000);
    const running: FakeOllama = await startFakeOllama({ OLLAMA_HOST: `127.0.0.1:${port}` });
    cleanups.push(() => running.stop());
    const { manager } = await manage({ ports: { ollama: port } });
    expect(ollamaInfo(manager).state).toEqual({ type: 'external', url: `http://127.0.0.1:${port}` });
    expect((await manager.start('ollama')).state.type).toBe('external');
    expect((await manager.stop('ollama')).state.type).toBe('external');
    await manager.stopAll();
    await manager.dispose();
    expect((await fetch(`${running.url}/api/version`)).status).toBe(200);
  });

  it('leaves no child process behind after quit', async () => {
    const { manager } = await manage();
    const pid = pidOf(await manager.start('ollama'));
    expect(await childProcesses(/fake-ollama|ollama serve/)).toContain(String(pid));
    // How fast it stops is measured by npm run bench:services.
    await manager.dispose();
    expect(await childProcesses(/fake-ollama|ollama serve/)).toEqual([]);
    expect(isProcessGroupAlive(pid)).toBe(false);
  });

  it('after a real crash of the app process (kill -9), the next launch stops the orphaned ollama', async () => {
    const port = await findFreePort(49_000);
    const lines: string[] = [];
    const app = spawnGroup({ file: process.execPath, args: ['--import', 'tsx', CRASHING_APP, dataDir, String(port)], env: process.env, onLines: (batch) => lines.push(...batch) });
    if (!('pid' in app)) throw new Error(app.spawnError);
    cleanups.push(() => signalGroup(app.pid, 'SIGKILL'));
    await waitUntil(() => lines.some((line) => line.startsWith('STARTED')), 20_000, `the app to start ollama (${lines.join(' | ')})`);
    const orphan = Number(/STARTED pid=(\d+)/.exec(lines.join('\n'))?.[1]);
    cleanups.push(() => signalGroup(orphan, 'SIGKILL'));
    process.kill(app.pid, 'SIGKILL'); // the app only, not its children's groups
    await app.exited;
    expect(isProcessAlive(orphan)).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/api/version`)).status).toBe(200);

    const next = createServiceManager({ dataDir, deepseekDir: DEEPSEEK_DIR, binaries: { ollama: FAKE_OLLAMA, deepseekPython: join(dataDir, 'none') }, ports: { ollama: port }, memoryPressure: async () => null });
    managers.push(next);
    const notices: string[] = [];
    next.on('notice', ({ message }) => notices.push(message));
    await next.ready;
    expect(isProcessAlive(orphan)).toBe(false);
    expect(notices.join('\n')).toContain(`pid ${orphan}`);
    // The port is free again, so this launch starts its own ollama rather than adopting the orphan.
    expect(ollamaInfo(next).state.type).toBe('stopped');
  });
});
