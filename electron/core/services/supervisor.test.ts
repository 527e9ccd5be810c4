import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceInfo } from '../../../shared/domain.js';
import { isRecord } from './health.js';
import { PidFiles } from './pid-files.js';
import { findFreePort } from './ports.js';
import { isProcessAlive, processStartTime } from './proc-info.js';
import { signalGroup } from './process-group.js';
import type { KernelOomReports, MemoryPressure } from './memory.js';
import { ServiceSupervisor, type ServiceSpec } from './supervisor.js';
import { TINY_SERVER, waitUntil } from './test-support.js';

let dir: string;
let supervisors: ServiceSupervisor[] = [];
const servers: Server[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pv-supervisor-'));
});
afterEach(async () => {
  await Promise.all(supervisors.map((supervisor) => supervisor.dispose()));
  for (const supervisor of supervisors) if (supervisor.pid) signalGroup(supervisor.pid, 'SIGKILL');
  supervisors = [];
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  await rm(dir, { recursive: true, force: true });
});

function tinySpec(extraArgs: () => string[], overrides: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name: 'deepseek',
    label: 'Tiny',
    engine: 'deepseek',
    defaultPort: 0,
    readyLine: /^READY port=\d+/,
    healthPath: '/health',
    isHealthy: (status, body) => status === 200 && isRecord(body) && body.kind === 'tiny',
    startTimeoutMs: 60_000,
    plan: async ({ port, workers }) => ({
      type: 'plan',
      plan: { file: process.execPath, args: [TINY_SERVER, '--port', String(port), ...extraArgs()], env: { PATH: process.env.PATH, TINY_ECHO: `workers=${workers}` } },
    }),
    ...overrides,
  };
}

async function supervise(extraArgs: () => string[] = () => [], options: { spec?: Partial<ServiceSpec>; workers?: number; memoryPressure?: () => Promise<MemoryPressure>; kernelOom?: KernelOomReports; pidFiles?: PidFiles } = {}) {
  const port = await findFreePort(40_000 + Math.floor(Math.random() * 10_000));
  const states: ServiceInfo[] = [];
  const supervisor = new ServiceSupervisor({
    spec: tinySpec(extraArgs, options.spec),
    pidFiles: options.pidFiles ?? new PidFiles(join(dir, 'pids')),
    port,
    workers: options.workers,
    memoryPressure: options.memoryPressure,
    memoryPressureIntervalMs: 0,
    // The machine's own kernel log stays out of these tests unless one injects it.
    kernelOom: options.kernelOom ?? null,
    healthIntervalMs: 100,
    rssIntervalMs: 100,
    stopGraceMs: 1000,
    backoff: { baseMs: 50, maxInARow: 5 },
  });
  supervisor.emitter.on('state', (info) => states.push(info));
  supervisors.push(supervisor);
  return { supervisor, port, states };
}

function listenForeign(port: number, body: string): Promise<void> {
  return new Promise((resolve) => {
    const server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(body));
    servers.push(server);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

describe('ServiceSupervisor with a tiny server', () => {
  it('starts, reports memory, logs and stops: starting → ready → stopping → stopped', async () => {
    const { supervisor, port, states } = await supervise(() => ['--alloc-mb', '40']);
    const outcome = await supervisor.start();
    expect(outcome.ok).toBe(true);
    const pid = supervisor.pid as number;
    expect(supervisor.info().state).toEqual({ type: 'ready', url: `http://127.0.0.1:${port}`, pid });
    expect(states[0]?.state.type).toBe('starting');
    await waitUntil(() => (supervisor.info().rssMb ?? 0) > 40, 3000, 'rss');
    expect(supervisor.logs().some((line) => line.startsWith('READY port='))).toBe(true);
    expect(await new PidFiles(join(dir, 'pids')).read('deepseek')).toMatchObject({ pid, port });
    await supervisor.stop();
    expect(states.map((info) => info.state.type).slice(-2)).toEqual(['stopping', 'stopped']);
    expect(isProcessAlive(pid)).toBe(false);
    expect(await new PidFiles(join(dir, 'pids')).read('deepseek')).toBeNull();
  });

  it('becomes ready by health polling alone when no ready line comes', async () => {
    const { supervisor } = await supervise(() => ['--no-ready-line', '--delay', '200']);
    expect((await supervisor.start()).ok).toBe(true);
  });

  it('names what it waited for when the start times out, and stops the child', async () => {
    // Long enough for a loaded machine to start the child and refuse one health check; the child is never ready in time.
    const { supervisor } = await supervise(() => ['--delay', '120000'], { spec: { startTimeoutMs: 8000 } });
    const outcome = await supervisor.start();
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.reason).toMatch(/not ready after 8 s: waited for the line \/\^READY port=\\d\+\/ and a healthy GET http:\/\/127\.0\.0\.1:\d+\/health; ready line not seen, last health check: connection refused/);
    const state = outcome.info.state;
    expect(state.type === 'crashed' && state.lastLog.some((line) => line.includes('tiny-server starting'))).toBe(true);
    expect(supervisor.pid).toBeNull();
  });

  it('hears the lines the child prints while its pid file is being written', async () => {
    // A slow disk (or ps): the pid file is written only after the child printed its ERROR line.
    let logs: () => string[] = () => [];
    const slowPidFiles = new PidFiles(join(dir, 'pids'), {
      startTimeOf: async (pid) => {
        await waitUntil(() => logs().some((line) => line.startsWith('ERROR ')), undefined, 'the ERROR line');
        return processStartTime(pid);
      },
    });
    const { supervisor } = await supervise(() => ['--fail-load'], { spec: { errorLine: /^ERROR /, startTimeoutMs: 20_000 }, pidFiles: slowPidFiles });
    logs = () => supervisor.logs(50);
    // Before: the readiness wait subscribed after the write, missed the line, and took the answering server for ready.
    expect(await supervisor.start()).toMatchObject({ ok: false, reason: expect.stringMatching(/^Tiny failed to start: ERROR port=\d+ message="model failed to load"$/) });
  });

  it('gives up at once on an error line, without waiting for the timeout', async () => {
    const { supervisor } = await supervise(() => ['--fail-load'], { spec: { errorLine: /^ERROR /, startTimeoutMs: 20_000 } });
    // Had it waited for the timeout, the reason would name the 20 s wait instead of the error line.
    const outcome = await supervisor.start();
    expect(outcome).toMatchObject({ ok: false, reason: 'Tiny failed to start: ERROR port=' + supervisor.info().port + ' message="model failed to load"' });
    expect(supervisor.pid).toBeNull();
  });

  it('restarts a child killed with -9, then gives up after 5 restarts in a row', async () => {
    let crash = false;
    const { supervisor, states } = await supervise(() => (crash ? ['--crash-after', '0'] : []));
    await supervisor.start();
    const firstPid = supervisor.pid as number;
    process.kill(firstPid, 'SIGKILL');
    await waitUntil(() => supervisor.info().state.type === 'ready' && supervisor.pid !== firstPid, 5000, 'restart after kill -9');
    expect(states.some((info) => info.state.type === 'starting' && /restart 1 of 5 .*killed by SIGKILL/.test(info.state.waitingFor))).toBe(true);

    crash = true; // from now on every start crashes at once
    process.kill(supervisor.pid as number, 'SIGKILL');
    await waitUntil(() => supervisor.info().state.type === 'crashed', 10_000, 'give up');
    const state = supervisor.info().state;
    expect(state).toMatchObject({ type: 'crashed', restarts: 5 });
    expect(state.type === 'crashed' && state.reason).toMatch(/exited with code 3; gave up after 5 restarts/);
    expect(state.type === 'crashed' && state.lastLog.join('\n')).toContain('fatal: simulated crash');
  });

  it('restarts with fewer workers after running out of memory and says so', async () => {
    let oom = true;
    const { supervisor } = await supervise(() => (oom ? ['--oom'] : []), { workers: 4 });
    const notices: string[] = [];
    const lowered: number[] = [];
    supervisor.emitter.on('notice', ({ message }) => notices.push(message));
    supervisor.emitter.on('workers', ({ workers }) => lowered.push(workers));
    void supervisor.start();
    await waitUntil(() => lowered.length > 0, 5000, 'workers lowered');
    oom = false;
    await waitUntil(() => supervisor.info().state.type === 'ready', 5000, 'ready again');
    expect(lowered[0]).toBe(2);
    expect(notices[0]).toMatch(/ran out of memory: restarting it with 2 workers/);
    expect(supervisor.logs().some((line) => line.includes('env.TINY_ECHO=workers=2'))).toBe(true);
  });

  it('a user’s kill -9 is not taken as out of memory: it restarts with the same workers', async () => {
    const { supervisor } = await supervise(() => [], { workers: 4 });
    const lowered: number[] = [];
    supervisor.emitter.on('workers', ({ workers }) => lowered.push(workers));
    await supervisor.start();
    const firstPid = supervisor.pid as number;
    process.kill(firstPid, 'SIGKILL');
    await waitUntil(() => supervisor.info().state.type === 'ready' && supervisor.pid !== firstPid, 10_000, 'restart after kill -9');
    expect(lowered).toEqual([]);
    expect(supervisor.currentWorkers).toBe(4);
    expect(supervisor.logs().some((line) => line.includes('no sign of running out of memory: restarting with the same 4 workers'))).toBe(true);
    expect(supervisor.logs().filter((line) => line.includes('env.TINY_ECHO=workers=4')).length).toBeGreaterThanOrEqual(2);
  });

  it('a SIGKILL the kernel reports as an OOM kill restarts it with fewer workers', async () => {
    const asked: number[] = [];
    const kernelOom: KernelOomReports = {
      baseline: async () => ({ cgroupOomKills: 0 }),
      killedForMemory: async (pid) => (asked.push(pid), `Out of memory: Killed process ${pid} (node) total-vm:1000kB`),
    };
    const { supervisor } = await supervise(() => [], { workers: 4, kernelOom });
    const notices: string[] = [];
    supervisor.emitter.on('notice', ({ message }) => notices.push(message));
    await supervisor.start();
    const firstPid = supervisor.pid as number;
    process.kill(firstPid, 'SIGKILL');
    await waitUntil(() => supervisor.info().state.type === 'ready' && supervisor.pid !== firstPid, 10_000, 'restart after the OOM kill');
    expect(asked).toEqual([firstPid]);
    expect(supervisor.currentWorkers).toBe(2);
    expect(notices[0]).toMatch(/ran out of memory: restarting it with 2 workers/);
    expect(supervisor.logs().some((line) => line.includes(`out of memory: the kernel reports "Out of memory: Killed process ${firstPid}`))).toBe(true);
  });

  it('answers start() with the reason when planning the start throws', async () => {
    const { supervisor } = await supervise(() => [], {
      spec: {
        plan: async () => {
          throw new Error('the venv is broken');
        },
      },
    });
    const outcome = await supervisor.start();
    expect(outcome).toMatchObject({ ok: false, reason: 'Tiny could not be started: the venv is broken' });
    expect(supervisor.info().state.type).toBe('crashed');
  });

  it('restarts with fewer workers under critical memory pressure', async () => {
    let pressure: MemoryPressure = 'normal';
    const { supervisor } = await supervise(() => [], { workers: 2, memoryPressure: async () => pressure });
    await supervisor.start();
    const firstPid = supervisor.pid;
    pressure = 'critical';
    await waitUntil(() => supervisor.currentWorkers === 1, 3000, 'workers lowered');
    pressure = 'normal';
    await waitUntil(() => supervisor.info().state.type === 'ready' && supervisor.pid !== firstPid, 5000, 'restarted');
  });

  it('goes degraded while health fails and back to ready when it recovers', async () => {
    const flag = join(dir, 'unhealthy');
    const { supervisor } = await supervise(() => ['--unhealthy-file', flag]);
    await supervisor.start();
    await writeFile(flag, '');
    await waitUntil(() => supervisor.info().state.type === 'degraded', 3000, 'degraded');
    expect(supervisor.info().state).toMatchObject({ reason: 'health check failing: HTTP 503' });
    await rm(flag);
    await waitUntil(() => supervisor.info().state.type === 'ready', 3000, 'ready again');
  });

  it('adopts a healthy server of its kind and never stops it', async () => {
    const { supervisor, port } = await supervise();
    await listenForeign(port, JSON.stringify({ status: 'ok', kind: 'tiny' }));
    expect(await supervisor.refresh()).toMatchObject({ state: { type: 'external', url: `http://127.0.0.1:${port}` } });
    expect((await supervisor.start()).ok).toBe(true);
    await supervisor.stop();
    await supervisor.dispose();
    expect(supervisor.info().state.type).toBe('external');
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    expect(response.status).toBe(200);
  });

  it('notices when an adopted server goes away', async () => {
    const { supervisor, port } = await supervise();
    await listenForeign(port, JSON.stringify({ status: 'ok', kind: 'tiny' }));
    await supervisor.refresh();
    expect(supervisor.info().state.type).toBe('external');
    const server = servers.pop() as Server;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await waitUntil(() => supervisor.info().state.type === 'stopped', 3000, 'stopped');
    expect(supervisor.logs().some((line) => line.includes('went away (connection refused)'))).toBe(true);
  });

  it('says who holds a busy port and offers the next free one', async () => {
    const { supervisor, port } = await supervise();
    await listenForeign(port, JSON.stringify({ kind: 'something-else' }));
    const outcome = await supervisor.start();
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.reason).toContain(`port ${port} is held by`);
    expect(outcome.reason).toContain(`(pid ${process.pid})`);
    expect(outcome.reason).toContain('not as Tiny');
    expect(outcome.suggestedPort).toBeGreaterThan(port);
    expect(supervisor.info().state.type).toBe('unavailable');
    const moved = await supervisor.start({ port: outcome.suggestedPort });
    expect(moved.ok).toBe(true);
    expect(supervisor.info().port).toBe(outcome.suggestedPort);
  });

  it('is not-installed when the plan finds no binary', async () => {
    const { supervisor } = await supervise(() => [], { spec: { plan: async () => ({ type: 'not-installed', hint: 'install it with brew install tiny' }) } });
    expect(await supervisor.refresh()).toMatchObject({ state: { type: 'not-installed', hint: 'install it with brew install tiny' } });
    expect(await supervisor.start()).toMatchObject({ ok: false, reason: 'install it with brew install tiny' });
  });
});

describe('ServiceSupervisor stop and start racing', () => {
  it('a start asked while stopping waits for the stop, then starts', async () => {
    const { supervisor } = await supervise();
    await supervisor.start();
    const firstPid = supervisor.pid;
    const stopping = supervisor.stop();
    expect(supervisor.info().state.type).toBe('stopping');
    const restarted = await supervisor.start();
    await stopping;
    expect(restarted.ok).toBe(true);
    expect(supervisor.pid).not.toBe(firstPid);
    expect(isProcessAlive(firstPid as number)).toBe(false);
  });

  it('a stop during the start kills the child and ends stopped', async () => {
    const { supervisor } = await supervise(() => ['--delay', '2000']);
    const starting = supervisor.start();
    await waitUntil(() => supervisor.pid !== null, 3000, 'spawn');
    const pid = supervisor.pid as number;
    await supervisor.stop();
    const outcome = await starting;
    expect(outcome.ok).toBe(false);
    expect(supervisor.info().state.type).toBe('stopped');
    expect(isProcessAlive(pid)).toBe(false);
  });
});

describe('ServiceSupervisor concurrent starts', () => {
  it('two starts at once spawn one child', async () => {
    const { supervisor } = await supervise(() => ['--delay', '100']);
    const starts: string[] = [];
    supervisor.emitter.on('log', ({ lines }) => starts.push(...lines.filter((line) => line.startsWith('tiny-server starting'))));
    const [a, b] = await Promise.all([supervisor.start(), supervisor.start()]);
    expect(a.ok && b.ok).toBe(true);
    await waitUntil(() => starts.length > 0, 2000, 'log event');
    expect(starts).toHaveLength(1);
  });
});
