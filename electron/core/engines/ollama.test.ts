import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { LaneConfig } from '../../../shared/domain.js';
import { FAKE_OLLAMA_BIN, startFakeOllama, type FakeOllama } from '../../../test/fixtures/fake-ollama/start.js';
import { createOllamaEngine, listOllamaModels, ollamaModelHasVision, pullOllamaModel, type OllamaPullProgress } from './ollama.js';
import type { EngineImage } from './types.js';
import { failure } from '../../../test/helpers/engine-error.js';

const started: FakeOllama[] = [];
async function fake(env: Record<string, string> = {}): Promise<FakeOllama> {
  const server = await startFakeOllama(env);
  started.push(server);
  return server;
}
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

let png: EngineImage;
beforeAll(async () => {
  const bytes = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#3366ff' } }).png().toBuffer();
  png = { bytes, mime: 'image/png', width: 40, height: 20 };
});

function lane(endpoint: string, extra: Partial<LaneConfig> = {}): LaneConfig {
  return { id: 'ollama-1', engine: 'ollama', endpoint, model: 'llava', workers: 1, enabled: true, ...extra };
}


const never = () => new AbortController().signal;

describe('fake ollama executable', () => {
  it('prints a version and exits cleanly on SIGTERM', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [FAKE_OLLAMA_BIN, '--version']);
    expect(stdout).toMatch(/^ollama version is \d+\.\d+\.\d+/);
    const server = await startFakeOllama();
    expect(server.log.some((line) => line.includes(`Listening on 127.0.0.1:${server.port}`))).toBe(true);
    await server.stop();
    expect(server.log.some((line) => line.includes('received SIGTERM'))).toBe(true);
  });
});

describe('Ollama engine against the fake server', () => {
  let server: FakeOllama;
  beforeAll(async () => {
    server = await fake();
  });

  it('sends the image, parses the structured answer and records Ollama durations', async () => {
    const engine = createOllamaEngine(lane(server.url));
    const result = await engine.recognize(png, never());
    const sha = createHash('sha256').update(png.bytes).digest('hex').slice(0, 8);
    expect(result.text).toBe(`FAKE OCR\nimage ${png.bytes.length} bytes sha256:${sha}`);
    expect(result.description).toContain(`${png.bytes.length} bytes`);
    expect(result.model).toBe('llava:latest');
    expect(result.timings.ollama_total_ns).toBeGreaterThan(0);
    expect(result.timings.ollama_eval_ns).toBeGreaterThan(0);
    expect(result.timings.total_ms).toBeGreaterThan(0);
    expect(result.blocks).toEqual([]);
  });

  it('keeps the model loaded for the configured keep_alive', async () => {
    await createOllamaEngine(lane(server.url, { settings: { keepAlive: '45m' } })).recognize(png, never());
    const ps = (await (await fetch(`${server.url}/api/ps`)).json()) as { models: Array<{ name: string; expires_at: string }> };
    const llava = ps.models.find((m) => m.name === 'llava:latest');
    const minutesLeft = (Date.parse(llava?.expires_at ?? '') - Date.now()) / 60_000;
    expect(minutesLeft).toBeGreaterThan(40);
    expect(minutesLeft).toBeLessThanOrEqual(45);
  });

  it('converts a GIF to PNG before sending (Ollama reads only PNG and JPEG)', async () => {
    const gif = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#000' } }).gif().toBuffer();
    const result = await createOllamaEngine(lane(server.url)).recognize({ bytes: gif, mime: 'image/gif' }, never());
    const sentBytes = Number(/image (\d+) bytes/.exec(result.text)?.[1]);
    expect(sentBytes).toBeGreaterThan(0);
    expect(sentBytes).not.toBe(gif.length);
  });

  it('plain-text preset for deepseek-ocr takes the answer as text', async () => {
    const ocr = await fake({ FAKE_OLLAMA_MODELS: 'deepseek-ocr:latest' });
    const result = await createOllamaEngine(lane(ocr.url, { model: 'deepseek-ocr' })).recognize(png, never());
    expect(result.text.startsWith('FAKE OCR\nimage')).toBe(true);
    expect(result.description).toBeUndefined();
  });

  it('says which model to pull when the model is not installed (404)', async () => {
    const error = await failure(createOllamaEngine(lane(server.url, { model: 'llava:34b' })).recognize(png, never()));
    expect(error.kind).toBe('config');
    expect(error.options.status).toBe(404);
    expect(error.message).toContain('ollama pull llava:34b');
  });

  it('says the model cannot read images when it has no vision (400)', async () => {
    const error = await failure(createOllamaEngine(lane(server.url, { model: 'llama3.2' })).recognize(png, never()));
    expect(error.kind).toBe('config');
    expect(error.message).toMatch(/no vision/);
  });

  it('aborts mid-answer promptly', async () => {
    // The answer would take 60 s; ending well before it (however loaded the machine) is the abort's doing.
    const slow = await fake({ FAKE_OLLAMA_DELAY_MS: '60000' });
    const controller = new AbortController();
    const t0 = Date.now();
    setTimeout(() => controller.abort(), 300);
    const error = await failure(createOllamaEngine(lane(slow.url)).recognize(png, controller.signal));
    expect(error.kind).toBe('aborted');
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('lists models, checks vision, pulls with progress', async () => {
    const names = (await listOllamaModels(server.url)).map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(['llava:latest', 'llama3.2:latest']));
    expect(await ollamaModelHasVision(server.url, 'llava')).toBe(true);
    expect(await ollamaModelHasVision(server.url, 'llama3.2')).toBe(false);
    expect((await failure(ollamaModelHasVision(server.url, 'nope'))).kind).toBe('config');

    const progress: OllamaPullProgress[] = [];
    await pullOllamaModel(server.url, 'moondream', (p) => progress.push(p));
    const fractions = progress.filter((p) => p.totalBytes).map((p) => p.fraction ?? -1);
    expect(fractions.length).toBeGreaterThan(2);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(fractions.at(-1)).toBe(1);
    expect(progress.at(-1)?.status).toBe('success');
    expect((await listOllamaModels(server.url)).map((m) => m.name)).toContain('moondream:latest');
    expect(await createOllamaEngine(lane(server.url, { model: 'moondream' })).availability?.()).toEqual({ type: 'available' });
  });

  it('reports a pull of an unknown model, and cancels a pull', async () => {
    const error = await failure(pullOllamaModel(server.url, 'no-such-model', () => {}));
    expect(error.kind).toBe('config');
    expect(error.message).toContain('no-such-model');
    const controller = new AbortController();
    const slow = await fake({ FAKE_OLLAMA_PULL_DELAY_MS: '5000' });
    const pull = pullOllamaModel(slow.url, 'llava:13b', () => controller.abort(), controller.signal);
    expect((await failure(pull)).kind).toBe('aborted');
  });

  it('availability explains a missing model and a model without vision', async () => {
    expect(await createOllamaEngine(lane(server.url, { model: 'llava:34b' })).availability?.()).toMatchObject({ type: 'unavailable', reason: expect.stringContaining('ollama pull llava:34b') });
    expect(await createOllamaEngine(lane(server.url, { model: 'llama3.2' })).availability?.()).toMatchObject({ type: 'unavailable', reason: expect.stringContaining('no vision') });
  });
});

describe('Ollama engine failures', () => {
  it('server not running: unavailable, with how to start it', async () => {
    const down = await startFakeOllama();
    await down.stop();
    const engine = createOllamaEngine(lane(down.url));
    const error = await failure(engine.recognize(png, never()));
    expect(error.kind).toBe('unavailable');
    expect(error.message).toContain('ollama serve');
    expect(await engine.availability?.()).toMatchObject({ type: 'unavailable' });
  });

  it('queue full (503): overloaded with a back-off', async () => {
    const busy = await fake({ FAKE_OLLAMA_FAIL: '503' });
    const error = await failure(createOllamaEngine(lane(busy.url)).recognize(png, never()));
    expect(error).toMatchObject({ kind: 'overloaded', retryable: true });
    expect(error.options.retryAfterMs).toBeGreaterThan(0);
  });

  it('more requests than the server runs at once: the extra ones get 503', async () => {
    const narrow = await fake({ FAKE_OLLAMA_MAX_PARALLEL: '1', FAKE_OLLAMA_DELAY_MS: '400' });
    const engine = createOllamaEngine(lane(narrow.url));
    const outcomes = await Promise.allSettled([engine.recognize(png, never()), engine.recognize(png, never())]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({ reason: { kind: 'overloaded' } });
  });

  it.each([
    ['500', 'transient', /failed \(500\)/],
    ['drop', 'transient', /dropped the connection/],
    ['stream-error', 'transient', /mid-answer: an error was encountered/],
    ['garbage', 'unavailable', /not NDJSON.*nginx/],
  ])('FAKE_OLLAMA_FAIL=%s → %s', async (mode, kind, message) => {
    const broken = await fake({ FAKE_OLLAMA_FAIL: mode, FAKE_OLLAMA_FAIL_TIMES: '1' });
    const engine = createOllamaEngine(lane(broken.url));
    const error = await failure(engine.recognize(png, never()));
    expect(error.kind).toBe(kind);
    expect(error.message).toMatch(message);
    // The next request succeeds: the failure was only the first one.
    await expect(engine.recognize(png, never())).resolves.toMatchObject({ model: 'llava:latest' });
  });

  it('a server that never answers times out as transient', async () => {
    const hung = await fake({ FAKE_OLLAMA_FAIL: 'hang' });
    const error = await failure(createOllamaEngine(lane(hung.url, { settings: { timeoutMs: 300 } })).recognize(png, never()));
    expect(error.kind).toBe('transient');
    expect(error.message).toMatch(/in time/);
  });
});

describe('DeepSeek-OCR through Ollama', () => {
  const grounded = '<|ref|>SUMMER SALE<|/ref|><|det|>[[0, 0, 499, 999]]<|/det|>\n<|ref|>50% OFF<|/ref|><|det|>[[500, 0, 999, 999]]<|/det|>';

  function requestsOf(server: FakeOllama): Array<{ model: string; options: Record<string, unknown>; prompt: string }> {
    return server.log.flatMap((line) => {
      const match = /chat request (\{.*\})"?$/.exec(line.replace(/\\"/g, '"'));
      return match ? [JSON.parse(match[1]!)] : [];
    });
  }

  it("sends the model's own grounding prompt at temperature 0 with an output budget, and turns the boxes into pixel blocks", async () => {
    const ocr = await fake({ FAKE_OLLAMA_MODELS: 'deepseek-ocr:latest', FAKE_OLLAMA_ANSWER: grounded });
    const result = await createOllamaEngine(lane(ocr.url, { model: 'deepseek-ocr' })).recognize(png, never());
    expect(result.text).toBe('SUMMER SALE\n50% OFF');
    expect(result.blocks).toEqual([
      { text: 'SUMMER SALE', box: [0, 0, 20, 20] },
      { text: '50% OFF', box: [20, 0, 40, 20] },
    ]);
    expect(result.truncated).toBeUndefined();
    const [request] = requestsOf(ocr);
    expect(request).toMatchObject({ model: 'deepseek-ocr:latest', prompt: '<|grounding|>OCR this image.', options: { temperature: 0, num_predict: 4096 } });
  });

  it('the free task sends "Free OCR." and reads plain text; a lane can set its own budget', async () => {
    const ocr = await fake({ FAKE_OLLAMA_MODELS: 'deepseek-ocr:latest', FAKE_OLLAMA_ANSWER: 'MEGA SALE' });
    const result = await createOllamaEngine(lane(ocr.url, { model: 'deepseek-ocr', settings: { task: 'free', numPredict: 300 } })).recognize(png, never());
    expect(result).toMatchObject({ text: 'MEGA SALE', blocks: [] });
    expect(requestsOf(ocr)[0]).toMatchObject({ prompt: 'Free OCR.', options: { num_predict: 300 } });
  });

  it('an answer cut at num_predict (done_reason "length") is marked truncated, its complete lines kept', async () => {
    const ocr = await fake({ FAKE_OLLAMA_MODELS: 'deepseek-ocr:latest', FAKE_OLLAMA_ANSWER: grounded });
    // The fake sends 8-character chunks: 10 of them end inside the second tag.
    const result = await createOllamaEngine(lane(ocr.url, { model: 'deepseek-ocr', settings: { maxTokens: 10 } })).recognize(png, never());
    expect(result.truncated).toBe(true);
    expect(result.text).toBe('SUMMER SALE');
    expect(result.blocks).toHaveLength(1);
  });
});

describe('generation that runs away', () => {
  it('a model repeating itself forever: stopped by the repetition guard, the text before the loop kept, marked truncated, the connection closed', async () => {
    const looping = await fake({ FAKE_OLLAMA_MODELS: 'deepseek-ocr:latest', FAKE_OLLAMA_FAIL: 'loop', FAKE_OLLAMA_DELAY_MS: '0' });
    const result = await createOllamaEngine(lane(looping.url, { model: 'deepseek-ocr' })).recognize(png, never());
    expect(result.truncated).toBe(true);
    expect(result.text).toBe('SUMMER SALE\n50% OFF');
    expect(result.blocks.map((b) => b.text)).toEqual(['SUMMER SALE', '50% OFF']);
    await expect.poll(() => looping.log.some((line) => /chat body closed after \d+ bytes/.test(line))).toBe(true);
  });

  it('with the guard off, the time budget stops it and keeps what came', async () => {
    const looping = await fake({ FAKE_OLLAMA_MODELS: 'deepseek-ocr:latest', FAKE_OLLAMA_FAIL: 'loop', FAKE_OLLAMA_DELAY_MS: '100' });
    const engine = createOllamaEngine(lane(looping.url, { model: 'deepseek-ocr', settings: { repetitionGuard: false, adTimeoutMs: 400, maxTokens: 1_000_000 } }));
    const result = await engine.recognize(png, never());
    expect(result.truncated).toBe(true);
    expect(result.text.startsWith('SUMMER SALE\n50% OFF\n50% OFF')).toBe(true);
  });

  it('a 1 GB stream: stopped at the stream limit with a clear transient error, long before the end', async () => {
    const huge = await fake({ FAKE_OLLAMA_FAIL: 'huge-body' });
    const error = await failure(createOllamaEngine(lane(huge.url)).recognize(png, never()));
    expect(error.kind).toBe('transient');
    expect(error.message).toMatch(/more than 16 MB/);
    await expect.poll(() => huge.log.find((line) => /chat body closed after/.test(line))).toBeDefined();
    const sent = Number(/after (\d+) bytes/.exec(huge.log.find((line) => /chat body closed after/.test(line))!)![1]);
    expect(sent, 'bytes the server got out before the client hung up').toBeLessThan(64 * 1024 * 1024);
  });

  it('one 100 MB line: stopped at the line limit, not read whole', async () => {
    const long = await fake({ FAKE_OLLAMA_FAIL: 'long-line' });
    const error = await failure(createOllamaEngine(lane(long.url)).recognize(png, never()));
    expect(error.kind).toBe('unavailable');
    expect(error.message).toMatch(/longer than \d+ characters/);
    await expect.poll(() => long.log.some((line) => /chat body closed after/.test(line))).toBe(true);
    const sent = Number(/after (\d+) bytes/.exec(long.log.find((line) => /chat body closed after/.test(line))!)![1]);
    expect(sent).toBeLessThan(100 * 1024 * 1024);
  });
});
