import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandName, CommandRequest, CommandResponse, EventName } from '../../../shared/api.js';
import type { RunProgress, ServiceInfo } from '../../../shared/domain.js';
import { createEngine as createRealEngine } from '../engines/create.js';
import { testEngineFactory, type TestEngineSettingsInput } from '../engines/test-engine.js';
import type { ServiceManager } from '../services/index.js';
import { servicePortsFromEnv } from '../services/ports.js';
import { createBackend, type Backend } from './backend.js';
import type { EngineFactory } from './lanes.js';
import { createDispatcher } from './dispatch.js';

/** A service manager that knows one in-process service; the real one is tested in services/. */
const serviceListeners = new Map<string, (payload: unknown) => void>();
const setWorkersCalls: [string, number][] = [];

function inProcessServices(): ServiceManager {
  const embedded: ServiceInfo = { name: 'embedded', label: 'Embedded OCR', engine: 'embedded', state: { type: 'ready', url: 'in-process' }, port: null, rssMb: null, managed: false, changedAt: 0 };
  return {
    list: () => [embedded],
    refresh: async () => [embedded],
    start: async () => embedded,
    startWithOutcome: async () => ({ info: embedded }) as never,
    stop: async () => embedded,
    logs: () => [],
    setup: async () => [],
    setWorkers: (name, workers) => void setWorkersCalls.push([name, workers]),
    url: () => null,
    stopAll: async () => undefined,
    on: (event, listener) => (serviceListeners.set(event, listener as (payload: unknown) => void), () => serviceListeners.delete(event)),
    dispose: async () => undefined,
    ready: Promise.resolve(),
  };
}

let server: http.Server;
let base = '';
/** The test engine's settings for the next run's lanes; null: the real engines. */
let engineSettings: TestEngineSettingsInput | null = null;
const createEngine: EngineFactory = (lane, deps) => (engineSettings ? testEngineFactory(engineSettings)(lane) : createRealEngine(lane, deps));
let dataDir = '';
let backend: Backend;
const events: { event: EventName; payload: unknown }[] = [];

beforeAll(async () => {
  // A different picture per URL: lanes dedupe identical images, and each ad here must be its own call.
  const pngs = new Map<string, Promise<Buffer>>();
  const pngFor = (url: string) => {
    if (!pngs.has(url)) {
      const n = pngs.size;
      pngs.set(url, sharp({ create: { width: 40 + (n % 200), height: 20 + Math.floor(n / 200), channels: 3, background: '#3366cc' } }).png().toBuffer());
    }
    return pngs.get(url)!;
  };
  server = http.createServer((request, response) => {
    if (request.url?.startsWith('/img/')) void pngFor(request.url).then((png) => response.writeHead(200, { 'Content-Type': 'image/png' }).end(png));
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dataDir = mkdtempSync(path.join(tmpdir(), 'pv-backend-'));
  engineSettings = { delayByEngine: { embedded: 2, ollama: 40 } };
  backend = await createBackend({ mode: 'browser', version: 'test', dataDir, pythonServiceDir: '/nonexistent', services: inProcessServices(), createEngine });
  backend.subscribe((event, payload) => events.push({ event, payload }));
});

afterAll(async () => {
  engineSettings = null;
  await backend.dispose();
  server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Calls go through the dispatcher, as from the UI: validated, defaults applied. */
async function call<C extends CommandName>(channel: C, request: CommandRequest<C>): Promise<CommandResponse<C>> {
  const reply = await createDispatcher(backend.handlers)(channel, request);
  if (!reply.ok) throw new Error(reply.error.message);
  return reply.value as CommandResponse<C>;
}

/** Until the run ends; a run that never ends is caught by the test's own timeout, not by a count of polls. */
async function waitForEnd(runId: string): Promise<RunProgress> {
  for (;;) {
    const progress = await call('runs.progress', { runId });
    if (progress.status === 'finished' || progress.status === 'cancelled') return progress;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('backend: a list in, a run, results out', () => {
  it('imports a CSV, reporting the rejected row with its line', async () => {
    const csv = ['creative_id,image_url,ad_text,brand', ...Array.from({ length: 30 }, (_, i) => `c${i},${base}/img/${i}.png,Sale ${i},Acme`), 'bad,ftp://x/y.png,,Acme'].join('\n');
    const summary = await call('ads.importText', { text: csv, filename: 'ads.csv' });
    expect(summary.accepted).toBe(30);
    expect(summary.rejected).toEqual([expect.objectContaining({ line: 32, reason: expect.stringMatching(/http/) })]);
    expect(summary.columns).toContain('brand');
    expect(summary.preview[0]).toMatchObject({ creativeId: 'c0', adText: 'Sale 0' });
  });

  it('refuses a list with no ads, saying why', async () => {
    await expect(call('ads.importText', { text: 'creative_id,image_url\nx,notaurl\n', filename: 'bad.csv' })).rejects.toThrow(/No ads found in bad\.csv \(line 2/);
    const allBad = ['creative_id,image_url', 'a,notaurl', 'b,', 'c,ftp://x/y.png', 'd,also-not', 'e,nope'].join('\n');
    await expect(call('ads.importText', { text: allBad, filename: 'all-bad.csv' }), 'the first three reasons, the rest counted').rejects.toThrow(/^No ads found in all-bad\.csv \(line 2, image_url: [^;]+; line 3, image_url: [^;]+; line 4, image_url: [^;]+; 2 more\)\.$/);
  });

  it('runs a batch on two lanes, streams batched results and progress, pages and exports them', async () => {
    const csv = ['creative_id,image_url', ...Array.from({ length: 40 }, (_, i) => `r${i},${base}/img/r${i}.png`)].join('\n');
    const { batchId } = await call('ads.importText', { text: csv, filename: 'run.csv' });
    events.length = 0;
    const { runId } = await call('runs.start', {
      batchId,
      policy: 'ratio',
      split: { embedded: 0.75, ollama: 0.25 },
      lanes: [
        { id: 'fast', engine: 'embedded', workers: 2, enabled: true },
        { id: 'slow', engine: 'ollama', workers: 1, enabled: true },
      ],
      maxAttempts: 3,
    });
    const final = await waitForEnd(runId);
    expect(final).toMatchObject({ status: 'finished', total: 40, done: 40, failed: 0 });
    const resultEvents = events.filter((e) => e.event === 'run.results').map((e) => e.payload as { results: unknown[] });
    expect(resultEvents.reduce((n, e) => n + e.results.length, 0)).toBe(40);
    expect(resultEvents.length).toBeLessThan(40); // batched, not one message per ad
    expect(events.some((e) => e.event === 'run.progress')).toBe(true);

    const page = await call('results.page', { runId, offset: 0, limit: 100, sort: 'creativeId', descending: false });
    expect(page.total).toBe(40);
    const byEngine = page.rows.reduce<Record<string, number>>((acc, row) => ((acc[row.engine!] = (acc[row.engine!] ?? 0) + 1), acc), {});
    expect(byEngine.embedded).toBeGreaterThanOrEqual(29);
    expect(byEngine.embedded).toBeLessThanOrEqual(31);

    const detail = await call('results.get', { runId, creativeId: 'r3' });
    expect(detail.results[0]).toMatchObject({ status: 'done', creativeId: 'r3' });
    const image = await call('results.image', { runId, creativeId: 'r3' });
    // The served picture as the run prepared it (each URL's picture is 40+ px wide, 20 high).
    expect(image.height).toBe(20);
    expect(image.width).toBeGreaterThanOrEqual(40);

    const exported = await call('export.start', { runId, format: 'csv', rows: 'all' });
    expect(exported.rows).toBe(40);
    expect(exported.downloadUrl).toBe(`/downloads/${path.basename(exported.path)}`);
    const lines = readFileSync(exported.path, 'utf8').trim().split('\n');
    // The window's CSV opens in Excel with non-ASCII text intact: it starts with a UTF-8 byte order mark.
    expect([...readFileSync(exported.path).subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(lines[0]).toContain('_vision_text');
    expect(lines).toHaveLength(41);

    const runsList = await call('runs.list', {});
    expect(runsList.find((run) => run.runId === runId)).toMatchObject({ source: 'run.csv', status: 'finished', done: 40 });
  });

  it('cancels a run quickly and resumes it without rerunning finished ads', async () => {
    // Slow enough (30 × 100 ms per worker) that the cancel, sent at the first result, meets a live run on any machine.
    engineSettings = { delayMs: 100 };
    const csv = ['creative_id,image_url', ...Array.from({ length: 60 }, (_, i) => `k${i},${base}/img/k${i}.png`)].join('\n');
    const { batchId } = await call('ads.importText', { text: csv, filename: 'cancel.csv' });
    const { runId } = await call('runs.start', { batchId, policy: 'auto', lanes: [{ id: 'fast', engine: 'embedded', workers: 2, enabled: true }], maxAttempts: 3 });
    await expect.poll(async () => (await call('runs.progress', { runId })).done, { timeout: 30_000, interval: 10 }).toBeGreaterThan(0);
    await call('runs.cancel', { runId });
    const cancelled = await waitForEnd(runId);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.done).toBeLessThan(60);
    const doneBefore = (await call('results.page', { runId, status: 'done', limit: 1000 })).rows.map((row) => row.creativeId);
    await call('runs.resume', { runId });
    const resumed = await waitForEnd(runId);
    expect(resumed.status).toBe('finished');
    const page = await call('results.page', { runId, limit: 1000 });
    expect(page.rows.filter((row) => row.status === 'done')).toHaveLength(60);
    expect(doneBefore.length).toBeGreaterThan(0);
    // Every ad, finished before or after the resume, succeeded exactly once.
    for (const creativeId of [...doneBefore.slice(0, 5), 'k59']) {
      const detail = await call('results.get', { runId, creativeId });
      expect(detail.attempts.filter((attempt) => attempt.outcome === 'ok')).toHaveLength(1);
    }
  });

  it('compares engines side by side, with their agreement and a summary per engine', async () => {
    engineSettings = { delayByEngine: { embedded: 2, ollama: 60 } };
    const csv = ['creative_id,image_url', ...Array.from({ length: 8 }, (_, i) => `m${i},${base}/img/m${i}.png`)].join('\n');
    const { batchId } = await call('ads.importText', { text: csv, filename: 'compare.csv' });
    const { runId } = await call('runs.start', {
      batchId,
      policy: 'compare',
      lanes: [
        { id: 'fast', engine: 'embedded', workers: 2 },
        { id: 'slow', engine: 'ollama', workers: 2 },
      ],
    });
    await waitForEnd(runId);
    const listed = (await call('runs.list', {})).find((run) => run.runId === runId)!;
    expect(listed).toMatchObject({ total: 16, done: 16, failed: 0 }); // 8 ads × 2 engines
    const firstPage = await call('results.compare', { runId, limit: 3 });
    expect(firstPage.rows).toHaveLength(3);
    // The summary covers the whole run, not the page.
    expect(firstPage.summary.find((entry) => entry.engine === 'embedded')).toMatchObject({ done: 8 });
    const page = await call('results.compare', { runId });
    expect(page.total).toBe(8);
    for (const row of page.rows) {
      expect(row.outputs.map((output) => output.engine).sort()).toEqual(['embedded', 'ollama']);
      expect(row.agreement).toBe(1); // the fake engines read the same text from the same image
    }
    const summary = Object.fromEntries(page.summary.map((entry) => [entry.engine, entry]));
    expect(summary.embedded).toMatchObject({ done: 8, failed: 0, agreement: 1 });
    // The mean of the stored durations (what the engines took is real time: not compared here).
    for (const engine of ['embedded', 'ollama'] as const) {
      const durations = page.rows.map((row) => row.outputs.find((output) => output.engine === engine)!.durationMs!);
      expect(summary[engine]!.meanMs).toBeCloseTo(durations.reduce((sum, ms) => sum + ms, 0) / durations.length, 6);
    }
  });

  it('tells the service how many workers its lanes want, and lowers the lanes when it runs out of memory', async () => {
    engineSettings = { delayMs: 40 };
    const csv = ['creative_id,image_url', ...Array.from({ length: 40 }, (_, i) => `w${i},${base}/img/w${i}.png`)].join('\n');
    const { batchId } = await call('ads.importText', { text: csv, filename: 'oom.csv' });
    const { runId } = await call('runs.start', {
      batchId,
      policy: 'auto',
      lanes: [
        { id: 'llava-a', engine: 'ollama', workers: 2 },
        { id: 'llava-b', engine: 'ollama', workers: 2 },
      ],
    });
    expect(setWorkersCalls).toContainEqual(['ollama', 4]);
    events.length = 0;
    serviceListeners.get('workers')!({ name: 'ollama', workers: 2, reason: 'Ollama ran out of memory and restarted with 2 workers.' });
    const notice = events.find((e) => e.event === 'service.notice')?.payload as { message: string };
    expect(notice.message).toMatch(/llava-a, llava-b now use 2 workers in all/);
    const progress = await call('runs.progress', { runId });
    expect(progress.lanes.map((lane) => lane.workers)).toEqual([1, 1]);
    await call('runs.cancel', { runId });
    await waitForEnd(runId);
  });

  it('a run whose lane cannot start leaves nothing behind', async () => {
    const saved = engineSettings;
    engineSettings = null;
    try {
      const { batchId } = await call('ads.importText', { text: `creative_id,image_url\nz1,${base}/img/z1.png\n`, filename: 'z.csv' });
      const before = (await call('runs.list', {})).length;
      await expect(call('runs.start', { batchId, lanes: [{ id: 'remote', engine: 'openai', workers: 1 }] })).rejects.toThrow(/^Lane remote: /);
      expect(await call('runs.list', {})).toHaveLength(before);
    } finally {
      engineSettings = saved;
    }
  });

  it('refuses export paths it cannot honour', async () => {
    const runId = (await call('runs.list', {}))[0]!.runId;
    await expect(call('export.start', { runId, format: 'csv', path: '/tmp/x.csv' })).rejects.toThrow(/download link/);
    await expect(call('ads.importFiles', { paths: ['/etc'] })).rejects.toThrow(/local paths are not accepted/);
  });

  it('says clearly what is wrong with a run it cannot start', async () => {
    await expect(call('runs.start', { batchId: 'nope', policy: 'auto', lanes: [{ id: 'a', engine: 'embedded', workers: 1, enabled: true }], maxAttempts: 3 })).rejects.toThrow(/No imported ad list/);
    await expect(call('runs.pause', { runId: 'missing' })).rejects.toThrow(/not running/);
  });
});

describe('backend: quitting mid-run', () => {
  it('leaves the run interrupted, and the next start resumes it without redoing finished ads', async () => {
    // 40 × 100 ms per worker: the quit, sent at the first result, meets a live run on any machine.
    engineSettings = { delayMs: 100 };
    const quitDir = mkdtempSync(path.join(tmpdir(), 'pv-backend-quit-'));
    try {
      const first = await createBackend({ mode: 'browser', version: 'test', dataDir: quitDir, pythonServiceDir: '/nonexistent', services: inProcessServices(), createEngine });
      const dispatch = createDispatcher(first.handlers);
      const csv = ['creative_id,image_url', ...Array.from({ length: 80 }, (_, i) => `q${i},${base}/img/q${i}.png`)].join('\n');
      const imported = await dispatch('ads.importText', { text: csv, filename: 'quit.csv' });
      if (!imported.ok) throw new Error(imported.error.message);
      const started = await dispatch('runs.start', { batchId: (imported.value as { batchId: string }).batchId, lanes: [{ id: 'fast', engine: 'embedded', workers: 2 }] });
      if (!started.ok) throw new Error(started.error.message);
      const runId = (started.value as { runId: string }).runId;
      await expect
        .poll(async () => {
          const progress = await dispatch('runs.progress', { runId });
          return progress.ok ? (progress.value as { done: number }).done : 0;
        }, { timeout: 30_000, interval: 10 })
        .toBeGreaterThan(0);
      await first.dispose();

      const second = await createBackend({ mode: 'browser', version: 'test', dataDir: quitDir, pythonServiceDir: '/nonexistent', services: inProcessServices(), createEngine });
      const again = createDispatcher(second.handlers);
      const listed = await again('runs.list', {});
      const run = (listed.ok ? (listed.value as { runId: string; status: string; done: number }[]) : []).find((r) => r.runId === runId)!;
      expect(run.status).toBe('interrupted');
      expect(run.done).toBeGreaterThan(0);
      expect(run.done).toBeLessThan(80);
      expect((await again('runs.resume', { runId })).ok).toBe(true);
      // Until it finishes (a run that never does is caught by the test's timeout).
      for (;;) {
        const progress = await again('runs.progress', { runId });
        if (progress.ok && (progress.value as { status: string }).status === 'finished') break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const detail = await again('results.get', { runId, creativeId: 'q0' });
      expect(detail.ok && (detail.value as { attempts: { outcome: string }[] }).attempts.filter((a) => a.outcome === 'ok')).toHaveLength(1);
      const done = await again('results.page', { runId, status: 'done', limit: 1000 });
      expect(done.ok && (done.value as { total: number }).total).toBe(80);
      await second.dispose();
    } finally {
      rmSync(quitDir, { recursive: true, force: true });
    }
  });
});

describe('the model services’ ports', () => {
  it('looks for (and would start) the services on the ports it is given, as api and serve do with PARALLEL_VISION_*_PORT', async () => {
    const portsDir = mkdtempSync(path.join(tmpdir(), 'pv-backend-ports-'));
    const ports = servicePortsFromEnv({ PARALLEL_VISION_DEEPSEEK_PORT: '47311', PARALLEL_VISION_OLLAMA_PORT: '47312' });
    expect(ports).toEqual({ deepseek: 47311, ollama: 47312 });
    expect(() => servicePortsFromEnv({ PARALLEL_VISION_OLLAMA_PORT: 'eleven' })).toThrow('PARALLEL_VISION_OLLAMA_PORT must be a port number, got eleven');
    const own = await createBackend({ mode: 'browser', version: 'test', dataDir: portsDir, pythonServiceDir: '/nonexistent', servicePorts: ports, createEngine });
    try {
      const services = await own.handlers['services.list']({});
      expect(Object.fromEntries(services.filter((service) => service.port !== null).map((service) => [service.name, service.port]))).toEqual({ deepseek: 47311, ollama: 47312 });
    } finally {
      await own.dispose();
      rmSync(portsDir, { recursive: true, force: true });
    }
  });
});
