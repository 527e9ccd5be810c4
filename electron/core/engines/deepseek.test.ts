import { existsSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LaneConfig } from '../../../shared/domain.js';
import { DEEPSEEK_VENV_PYTHON as VENV_PYTHON, startDeepSeekService, type StartedService } from '../../../scripts/lib/deepseek-service.js';
import { createDeepSeekEngine, deepseekHealth, errorForStatus, parseDeepSeekSettings, type DeepSeekEngine } from './deepseek.js';
import { EngineError, type EngineImage } from './types.js';


function lane(endpoint: string, settings: LaneConfig['settings'] = {}): LaneConfig {
  return { id: 'deepseek-test', engine: 'deepseek', endpoint, workers: 2, enabled: true, settings };
}

async function textImage(lines: string[], width = 560, format: 'png' | 'jpeg' | 'webp' = 'png'): Promise<EngineImage> {
  const height = 40 + lines.length * 64;
  const rows = lines.map((line, i) => `<text x="24" y="${70 + i * 64}" font-family="DejaVu Sans, sans-serif" font-size="44" fill="#111">${line}</text>`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fbf8f0"/>${rows.join('')}</svg>`;
  const bytes = await sharp(Buffer.from(svg)).toFormat(format).toBuffer();
  return { bytes, mime: `image/${format}`, width, height };
}

async function rejection(promise: Promise<unknown>): Promise<EngineError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

/** Words may come back without the spaces between them (PP-OCR does that): look for each in order. */
function hasWordsInOrder(text: string, words: string[]): boolean {
  const squashed = text.toUpperCase().replace(/\s+/g, '');
  let position = 0;
  for (const word of words) {
    const found = squashed.indexOf(word, position);
    if (found < 0) return false;
    position = found + word.length;
  }
  return true;
}

describe('settings and status mapping', () => {
  it('rejects unknown modes as a config error', () => {
    expect(parseDeepSeekSettings({ mode: 'gundam', task: 'free' })).toEqual({ mode: 'gundam', task: 'free' });
    expect(() => parseDeepSeekSettings({ mode: 'huge' })).toThrow('lane "deepseek": setting "mode": expected one of "tiny", "small", "base", "large", "gundam", got "huge"');
  });

  it('defaults to 127.0.0.1:8001 and refuses an endpoint that is not http(s)', async () => {
    const engine = createDeepSeekEngine({ id: 'd', engine: 'deepseek', workers: 1, enabled: true });
    expect([engine.baseUrl, engine.label]).toEqual(['http://127.0.0.1:8001', 'DeepSeek-OCR (127.0.0.1:8001)']);
    await engine.close?.();
    expect(() => createDeepSeekEngine(lane('ftp://127.0.0.1:8001'))).toThrow(/not an http\(s\) URL/);
  });

  it('maps each HTTP status to what the orchestrator should do', () => {
    const body = (kind: string, detail: string) => JSON.stringify({ kind, detail });
    const busy = errorForStatus(429, body('queue-full', 'queue full'), { 'retry-after': '7' }, 's');
    expect([busy.kind, busy.options.retryAfterMs]).toEqual(['overloaded', 7000]);
    const loading = errorForStatus(503, body('loading', 'still loading'), { 'retry-after': '5' }, 's');
    expect([loading.kind, loading.options.retryAfterMs]).toEqual(['overloaded', 5000]);
    expect(errorForStatus(503, body('backend-error', 'no weights'), {}, 's').kind).toBe('config');
    expect(errorForStatus(422, body('bad-image', 'truncated'), {}, 's').kind).toBe('permanent');
    expect(errorForStatus(413, body('too-large', 'big'), {}, 's').kind).toBe('permanent');
    expect(errorForStatus(500, 'Internal Server Error', {}, 's').kind).toBe('transient');
    expect(errorForStatus(502, '', {}, 's').kind).toBe('transient');
    expect(errorForStatus(400, body('bad-option', 'describe needs deepseek'), {}, 's').message).toMatch(/describe needs deepseek/);
    expect(errorForStatus(404, '{"detail":"Not Found"}', {}, 's').kind).toBe('config');
  });
});

describe('against a misbehaving local server', () => {
  type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
  let handler: Handler = (_req, res) => res.end();
  const hanging: http.ServerResponse[] = [];
  let server: http.Server;
  let base: string;
  let engine: DeepSeekEngine | undefined;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => handler(req, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await engine?.close?.();
    engine = undefined;
    for (const res of hanging.splice(0)) res.destroy();
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const make = (settings: LaneConfig['settings'] = {}): DeepSeekEngine => {
    engine = createDeepSeekEngine(lane(base, settings));
    return engine;
  };
  const image: EngineImage = { bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]), mime: 'image/png' };

  it('sends the image bytes with its type and the lane options, and maps a good answer', async () => {
    let seen: { url?: string; type?: string; length?: string } = {};
    handler = (req, res) => {
      seen = { url: req.url, type: req.headers['content-type'], length: req.headers['content-length'] };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        text: 'BIG SALE', blocks: [{ text: 'BIG SALE', box: [1, 2, 30, 40], confidence: 0.9 }, { text: 'x', box: [0, 0, 1, 1], confidence: null }],
        description: null, model: 'deepseek-ai/DeepSeek-OCR', device: 'mps', backend: 'deepseek', timings: { queue_ms: 3, infer_ms: 4000 },
      }));
    };
    const result = await make({ mode: 'base', task: 'ocr' }).recognize(image, new AbortController().signal);
    expect(seen).toEqual({ url: '/ocr?mode=base&task=ocr', type: 'image/png', length: '4' });
    expect(result.text).toBe('BIG SALE');
    expect(result.blocks).toEqual([{ text: 'BIG SALE', box: [1, 2, 30, 40], confidence: 0.9 }, { text: 'x', box: [0, 0, 1, 1] }]);
    expect(result.model).toBe('deepseek-ai/DeepSeek-OCR');
    expect(result.description).toBeUndefined();
    expect(result.timings.infer_ms).toBe(4000);
    expect(result.timings.total_ms).toBeGreaterThanOrEqual(0);
    expect(result.coldStart).toBeUndefined();
  });

  it('an answer whose timings include a model load is marked cold (the tuner does not count it as the speed)', async () => {
    handler = (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ text: 'A', blocks: [], model: 'rapidocr/PP-OCRv6-small', device: 'cpu', backend: 'rapidocr', timings: { queue_ms: 0, infer_ms: 2600, load_ms: 2000 } }));
    };
    const result = await make().recognize(image, new AbortController().signal);
    expect(result.coldStart).toBe(true);
    expect(result.timings.load_ms).toBe(2000);
  });

  it('treats garbage and wrongly shaped JSON as transient', async () => {
    handler = (_req, res) => res.end('<html>proxy error</html>');
    expect((await rejection(make().recognize(image, new AbortController().signal))).message).toMatch(/not JSON.*proxy error/);
    handler = (_req, res) => res.end(JSON.stringify({ text: 42, blocks: 'none' }));
    const shape = await rejection(make().recognize(image, new AbortController().signal));
    expect(shape.kind).toBe('transient');
    expect(shape.message).toMatch(/unexpected shape/);
  });

  it('a 1 GB answer stops at the body limit, as transient, and the connection is closed', async () => {
    let sent = 0;
    let closed = false;
    handler = (_req, res) => {
      res.on('close', () => (closed = true));
      res.writeHead(200, { 'content-type': 'application/json' });
      const block = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!closed && sent < 1024 * 1024 * 1024) {
          sent += block.length;
          if (!res.write(block)) return void res.once('drain', pump);
        }
        if (!closed) res.end();
      };
      pump();
    };
    const error = await rejection(make().recognize(image, new AbortController().signal));
    expect(error.kind).toBe('transient');
    expect(error.message).toMatch(/more than 16 MB/);
    await expect.poll(() => closed).toBe(true);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
  });

  it('passes 429 Retry-After on as overloaded', async () => {
    handler = (_req, res) => {
      res.writeHead(429, { 'retry-after': '3', 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'queue-full', detail: 'queue full (8 requests waiting or running)' }));
    };
    const error = await rejection(make().recognize(image, new AbortController().signal));
    expect([error.kind, error.options.retryAfterMs, error.options.status, error.retryable]).toEqual(['overloaded', 3000, 429, true]);
  });

  it('times out a server that never answers, as transient', async () => {
    handler = (_req, res) => hanging.push(res);
    // The server never answers: the call ending at all is the timeout's doing.
    const error = await rejection(make({ timeoutMs: 300 }).recognize(image, new AbortController().signal));
    expect(error.kind).toBe('transient');
    expect(error.message).toMatch(/did not answer in time/);
  });

  it('aborts a hanging request as soon as the signal fires', async () => {
    handler = (_req, res) => hanging.push(res);
    const controller = new AbortController();
    const pending = make().recognize(image, controller.signal);
    setTimeout(() => controller.abort(new Error('user cancelled')), 100);
    expect((await rejection(pending)).kind).toBe('aborted');
    expect((await rejection(make().recognize(image, controller.signal))).kind).toBe('aborted');
  });

  it('reports a dropped connection as transient', async () => {
    handler = (req, _res) => req.socket.destroy();
    const error = await rejection(make().recognize(image, new AbortController().signal));
    expect(error.kind).toBe('transient');
    expect(error.message).toMatch(/dropped the connection|request failed/);
  });

  it('reports a body cut off mid-answer as transient', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"text": "half');
      setTimeout(() => res.destroy(), 20);
    };
    expect((await rejection(make().recognize(image, new AbortController().signal))).kind).toBe('transient');
  });

  it('health: validates the body and says when it is not the service', async () => {
    handler = (_req, res) => res.end(JSON.stringify({ status: 'ok' }));
    const error = await rejection(deepseekHealth(base));
    expect(error.message).toMatch(/not the service's health body/);
    handler = (_req, res) =>
      res.end(JSON.stringify({ status: 'loading', message: null, backend: 'deepseek', device: 'mps', model: 'm', queue_depth: 0, queue_capacity: 8, version: '0.1.0' }));
    expect((await deepseekHealth(base)).status).toBe('loading');
    expect(await make().availability?.()).toEqual({ type: 'unavailable', reason: expect.stringMatching(/is loading m/) });
  });

  it('availability asks /health again after a transient failure before it calls the service unavailable', async () => {
    let asked = 0;
    const ready = JSON.stringify({ status: 'ready', message: null, backend: 'rapidocr', device: 'cpu', model: 'm', queue_depth: 0, queue_capacity: 8, version: '0.1.0' });
    handler = (_req, res) => res.end(++asked === 1 ? 'busy' : ready);
    expect(await make().availability?.()).toEqual({ type: 'available', device: 'cpu' });
    expect(asked).toBe(2);
    asked = 0;
    handler = (_req, res) => res.end(String(++asked));
    expect(await make().availability?.()).toEqual({ type: 'unavailable', reason: expect.stringMatching(/not the service's health body/) });
    expect(asked, 'three tries, then unavailable').toBe(3);
  });

  it('refused connection is unavailable, for recognize, health and availability', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const closed = `http://127.0.0.1:${port}`;
    engine = createDeepSeekEngine(lane(closed));
    const error = await rejection(engine.recognize(image, new AbortController().signal));
    expect(error.kind).toBe('unavailable');
    expect(error.message).toMatch(/not running \(ECONNREFUSED\)/);
    // The app's own ways to start it, not a venv of the repository's tests.
    expect(error.message).toContain('`parallel-vision services start deepseek`');
    expect((await rejection(deepseekHealth(closed))).kind).toBe('unavailable');
    expect((await engine.availability?.())?.type).toBe('unavailable');
  });
});

const haveVenv = existsSync(VENV_PYTHON);
if (!haveVenv && !process.env.CI) {
  console.warn(`deepseek.test.ts: skipping the real-service tests: ${VENV_PYTHON} is missing (run \`npm run setup:python\`).`);
}

describe.runIf(haveVenv || process.env.CI)('against the real service (rapidocr backend)', () => {
  let service: StartedService | undefined;
  let base = '';
  let engine: DeepSeekEngine;

  beforeAll(async () => {
    if (!haveVenv) throw new Error(`${VENV_PYTHON} is missing: CI must run \`npm run setup:python\` first.`);
    service = await startDeepSeekService({ backend: 'rapidocr', extraArgs: ['--queue-size', '3'] });
    base = service.baseUrl;
    engine = createDeepSeekEngine({ ...lane(base), workers: 6 });
  }, 90_000);

  afterAll(async () => {
    await engine?.close?.();
    expect(await service?.stop()).toBe(0);
  });

  it('health is ready on the CPU backend', async () => {
    const health = await deepseekHealth(base);
    expect(health).toMatchObject({ status: 'ready', backend: 'rapidocr', device: 'cpu', queue_capacity: 3 });
    expect(await engine.availability?.()).toEqual({ type: 'available', device: 'cpu' });
  });

  it('reads the words drawn in the image, with boxes inside it', async () => {
    const image = await textImage(['HELLO WORLD', 'SUMMER SALE 50'], 560);
    const result = await engine.recognize(image, new AbortController().signal);
    expect(hasWordsInOrder(result.text, ['HELLO', 'WORLD', 'SUMMER', 'SALE', '50'])).toBe(true);
    expect(result.blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of result.blocks) {
      const [x1, y1, x2, y2] = block.box;
      expect(x1).toBeGreaterThanOrEqual(0);
      expect(x2).toBeLessThanOrEqual(560);
      expect(y1).toBeLessThan(y2);
      expect(y2).toBeLessThanOrEqual(image.height!);
    }
    expect(result.model).toMatch(/rapidocr/);
    expect(result.timings.infer_ms).toBeGreaterThan(0);
  });

  it('sends WebP as is and converts formats the service lacks', async () => {
    const webp = await textImage(['WEBP OK'], 360, 'webp');
    expect(hasWordsInOrder((await engine.recognize(webp, new AbortController().signal)).text, ['WEBP', 'OK'])).toBe(true);
    const avif = { ...(await textImage(['AVIF OK'], 360)), mime: 'image/avif' };
    avif.bytes = await sharp(avif.bytes).avif().toBuffer();
    expect(hasWordsInOrder((await engine.recognize(avif, new AbortController().signal)).text, ['AVIF', 'OK'])).toBe(true);
  });

  it('a broken image is a permanent failure of that ad', async () => {
    const good = await textImage(['TRUNCATED'], 360);
    const error = await rejection(engine.recognize({ bytes: good.bytes.subarray(0, 100), mime: 'image/png' }, new AbortController().signal));
    expect([error.kind, error.options.status]).toEqual(['permanent', 422]);
    expect(error.retryable).toBe(false);
  });

  it('task=describe on the CPU backend is a config error of the lane', async () => {
    const describer = createDeepSeekEngine(lane(base, { task: 'describe' }));
    try {
      const error = await rejection(describer.recognize(await textImage(['X'], 100), new AbortController().signal));
      expect(error.kind).toBe('config');
    } finally {
      await describer.close?.();
    }
  });

  it('more requests than the queue holds: some are told to back off, none are lost', async () => {
    const images = await Promise.all(Array.from({ length: 6 }, (_, i) => textImage([`PRICE ${i + 1}0`], 1400)));
    const outcomes = await Promise.allSettled(images.map((image) => engine.recognize(image, new AbortController().signal)));
    const overloaded = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof EngineError && o.reason.kind === 'overloaded');
    const answered = outcomes.filter((o) => o.status === 'fulfilled');
    expect(answered.length + overloaded.length).toBe(6);
    expect(answered.length).toBeGreaterThanOrEqual(3);
    expect(overloaded.length).toBeGreaterThanOrEqual(1);
    for (const o of overloaded) expect((o as PromiseRejectedResult).reason.options.retryAfterMs).toBeGreaterThanOrEqual(1000);
  });
});
