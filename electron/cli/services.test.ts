import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceInfo } from '../../shared/domain.js';
import { formatStatusTable, parseServicesArgs, runServicesCommand } from './services.js';
import { PidFiles } from '../core/services/pid-files.js';
import { startFakeOllama } from '../../test/fixtures/fake-ollama/start.js';
import { findFreePort } from '../core/services/ports.js';
import { isProcessAlive } from '../core/services/proc-info.js';
import { signalGroup, spawnGroup } from '../core/services/process-group.js';
import { FAKE_OLLAMA, freeServicePorts, waitUntil } from '../core/services/test-support.js';

describe('parseServicesArgs', () => {
  it('accepts the leading "services", flags with values, inline values and --json', () => {
    const parsed = parseServicesArgs(['services', 'start', 'ollama', '--port', '1234', '--data-dir=/tmp/x', '--json']);
    expect(parsed.command).toBe('start');
    expect(parsed.positional).toEqual(['ollama']);
    expect(Object.fromEntries(parsed.flags)).toEqual({ port: '1234', 'data-dir': '/tmp/x', json: true });
  });
});

describe('formatStatusTable', () => {
  it('aligns columns and shows the detail of each state', () => {
    const base = { label: 'x', managed: true, changedAt: 0, rssMb: null } as const;
    const table = formatStatusTable([
      { ...base, name: 'deepseek', engine: 'deepseek', port: 8001, state: { type: 'ready', url: 'http://127.0.0.1:8001', pid: 42 }, rssMb: 812 },
      { ...base, name: 'ollama', engine: 'ollama', port: 11434, state: { type: 'not-installed', hint: 'brew install ollama' } },
    ] satisfies ServiceInfo[]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATE\s+PORT\s+PID\s+MEMORY\s+DETAIL$/);
    expect(lines[1]).toMatch(/^deepseek\s+ready\s+8001\s+42\s+812 MB\s+http:\/\/127\.0\.0\.1:8001$/);
    expect(lines[2]).toMatch(/^ollama\s+not-installed\s+11434\s+-\s+-\s+brew install ollama$/);
    expect(lines[1]?.indexOf('ready')).toBe(lines[2]?.indexOf('not-installed'));
  });
});

describe('runServicesCommand with the fake ollama', () => {
  let dataDir: string;
  let out: string[];
  let err: string[];
  let env: NodeJS.ProcessEnv;
  const io = () => ({ stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text), env });

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'pv-cli-'));
    out = [];
    err = [];
    // Free ports: a real Ollama or DeepSeek service on this machine's default ports is not these tests' business.
    const ports = await freeServicePorts();
    env = { ...process.env, PARALLEL_VISION_OLLAMA_BIN: FAKE_OLLAMA, PARALLEL_VISION_DEEPSEEK_PYTHON: join(dataDir, 'none'), PARALLEL_VISION_OLLAMA_PORT: String(ports.ollama), PARALLEL_VISION_DEEPSEEK_PORT: String(ports.deepseek) };
  });
  afterEach(async () => rm(dataDir, { recursive: true, force: true }));

  it('prints usage and rejects bad input with exit code 2', async () => {
    expect(await runServicesCommand([], io())).toBe(2);
    expect(out.join('')).toContain('usage: parallel-vision services');
    expect(await runServicesCommand(['start', '--data-dir', dataDir], io())).toBe(2);
    expect(await runServicesCommand(['start', 'ollama', '--port', 'abc', '--data-dir', dataDir], io())).toBe(2);
    expect(await runServicesCommand(['status', 'nope', '--data-dir', dataDir], io())).toBe(2);
  });

  it('start deepseek --backend checks the name and saves the choice; a backend without its venv names the setup command', async () => {
    expect(await runServicesCommand(['start', 'deepseek', '--backend', 'cuda', '--data-dir', dataDir], io())).toBe(2);
    expect(err.join('')).toBe('--backend must be one of rapidocr, mlx, torch, deepseek, got cuda\n');
    err = [];
    delete env.PARALLEL_VISION_DEEPSEEK_PYTHON; // each backend's own venv in the data folder
    expect(await runServicesCommand(['start', 'deepseek', '--backend', 'mlx', '--data-dir', dataDir], io())).toBe(1);
    expect(err.join('')).toBe(`deepseek: the mlx backend's Python environment ${join(dataDir, 'deepseek-venv-mlx')} is missing: set it up with \`parallel-vision services setup deepseek --backend mlx\`\n`);
    out = [];
    expect(await runServicesCommand(['status', 'deepseek', '--json', '--data-dir', dataDir], io())).toBe(0);
    expect((JSON.parse(out.join('')) as ServiceInfo[])[0]?.backend).toEqual({ backend: 'mlx', saved: true });
  });

  it('status lists the services as a table or JSON', async () => {
    expect(await runServicesCommand(['status', 'deepseek', '--data-dir', dataDir], io())).toBe(0);
    expect(out.join('')).toMatch(/deepseek\s+not-installed/);
    out = [];
    expect(await runServicesCommand(['status', '--json', '--data-dir', dataDir], io())).toBe(0);
    const services = JSON.parse(out.join('')) as ServiceInfo[];
    expect(services.map((info) => info.name)).toEqual(['deepseek', 'ollama', 'embedded', 'apple-vision']);
  });

  it('start runs ollama in the foreground until stopped', async () => {
    const port = await findFreePort(53_000);
    const controller = new AbortController();
    const running = runServicesCommand(['start', 'ollama', '--port', String(port), '--data-dir', dataDir], { ...io(), signal: controller.signal });
    await waitUntil(() => out.join('').includes('ready at'), 10_000, 'ready');
    expect(out.join('')).toContain(`ollama ready at http://127.0.0.1:${port} (pid `);
    expect((await fetch(`http://127.0.0.1:${port}/api/version`)).status).toBe(200);
    controller.abort();
    expect(await running).toBe(0);
    expect(out.join('')).toContain('ollama stopped');
    await expect(fetch(`http://127.0.0.1:${port}/api/version`)).rejects.toThrow();
  });

  it('stop ends a server recorded by an app that crashed, and says when nothing runs', async () => {
    const port = await findFreePort(54_000);
    // What a crashed app leaves: a running child in its own group, and its pid file.
    const lines: string[] = [];
    const child = spawnGroup({ file: FAKE_OLLAMA, args: ['serve'], env: { ...process.env, OLLAMA_HOST: `127.0.0.1:${port}` }, onLines: (batch) => lines.push(...batch) });
    if (!('pid' in child)) throw new Error(child.spawnError);
    try {
      await waitUntil(() => lines.some((line) => line.includes('Listening on')), 10_000, 'fake ollama');
      await new PidFiles(join(dataDir, 'services')).record('ollama', child.pid, { port });
      expect(await runServicesCommand(['status', 'ollama', '--port', String(port), '--data-dir', dataDir], io())).toBe(0);
      // One answer, not "external" beside "was started by Parallel Vision": the table names its pid.
      expect(out.join('')).toMatch(new RegExp(`^ollama\\s+ready\\s+${port}\\s+${child.pid}\\s+.*\\(started by another Parallel Vision process\\)$`, 'm'));
      expect(out.join('')).not.toContain('external');
      out = [];
      expect(await runServicesCommand(['stop', 'ollama', '--data-dir', dataDir], io())).toBe(0);
      expect(out.join('')).toContain(`ollama (pid ${child.pid}) stopped`);
      expect(isProcessAlive(child.pid)).toBe(false);
      out = [];
      expect(await runServicesCommand(['stop', 'ollama', '--data-dir', dataDir, '--port', String(port)], io())).toBe(0);
      expect(out.join('')).toContain('ollama is not running');
      out = [];
      // A record whose process is gone (start time no longer matches) is not reported.
      await writeFile(join(dataDir, 'services', 'ollama.pid.json'), JSON.stringify({ service: 'ollama', pid: child.pid, startTime: 'gone', port, recordedAt: 0 }));
      expect(await runServicesCommand(['status', 'ollama', '--data-dir', dataDir], io())).toBe(0);
      expect(out.join('')).not.toContain('was started by Parallel Vision');
    } finally {
      signalGroup(child.pid, 'SIGKILL');
    }
  });

  it('stop leaves a server another running Parallel Vision process supervises, saying where to stop it', async () => {
    const port = await findFreePort(54_500);
    const lines: string[] = [];
    const child = spawnGroup({ file: FAKE_OLLAMA, args: ['serve'], env: { ...process.env, OLLAMA_HOST: `127.0.0.1:${port}` }, onLines: (batch) => lines.push(...batch) });
    // The app that started it, still running: it would restart a child that ends.
    const app = spawnGroup({ file: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], env: { PATH: process.env.PATH }, onLines: () => undefined });
    if (!('pid' in child)) throw new Error(child.spawnError);
    if (!('pid' in app)) throw new Error(app.spawnError);
    try {
      await waitUntil(() => lines.some((line) => line.includes('Listening on')), 10_000, 'fake ollama');
      await new PidFiles(join(dataDir, 'services'), { self: app.pid }).record('ollama', child.pid, { port });
      expect(await runServicesCommand(['stop', 'ollama', '--data-dir', dataDir], io())).toBe(1);
      expect(err.join('')).toContain(`ollama (pid ${child.pid}) is run by another Parallel Vision process (pid ${app.pid})`);
      expect(isProcessAlive(child.pid)).toBe(true);
    } finally {
      signalGroup(child.pid, 'SIGKILL');
      signalGroup(app.pid, 'SIGKILL');
      await rm(join(dataDir, 'services'), { recursive: true, force: true });
    }
  });

  it('stop refuses to stop a server it did not start', async () => {
    const port = await findFreePort(55_000);
    const running = await startFakeOllama({ OLLAMA_HOST: `127.0.0.1:${port}` });
    try {
      expect(await runServicesCommand(['stop', 'ollama', '--port', String(port), '--data-dir', dataDir], io())).toBe(1);
      expect(err.join('')).toContain('was not started by Parallel Vision');
      expect((await fetch(`${running.url}/api/version`)).status).toBe(200);
    } finally {
      await running.stop();
    }
  });
});
