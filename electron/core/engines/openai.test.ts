import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import type { LaneConfig } from '../../../shared/domain.js';
import { createOpenAIEngine, OPENAI_KEY_ENV, openAIBaseUrl } from './openai.js';
import { EngineError, type EngineImage } from './types.js';
import { failure } from '../../../test/helpers/engine-error.js';
import { startFakeOpenAI, type FakeOpenAI } from '../../../test/fixtures/fake-openai/start.js';

const KEY = 'sk-test-SECRETSECRET123';

interface Seen {
  authorization?: string;
  body: { model: string; temperature: number; messages: Array<{ content: Array<{ type: string; text?: string; image_url?: { url: string } }> }> };
}

/** A fake OpenAI-compatible server whose behaviour each test sets. */
let behave: (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void = () => {};
const seen: Seen[] = [];
let server: http.Server;
let url: string;
const sockets = new Set<import('node:net').Socket>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const entry: Seen = { authorization: req.headers.authorization, body: text ? JSON.parse(text) : undefined };
      seen.push(entry);
      behave(req, res, entry);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  seen.length = 0;
  delete process.env[OPENAI_KEY_ENV];
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
function completion(content: string) {
  return { id: 'x', model: 'deepseek-ocr', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 700, completion_tokens: 20 } };
}

let png: EngineImage;
beforeAll(async () => {
  png = { bytes: await sharp({ create: { width: 30, height: 10, channels: 3, background: '#0a0' } }).png().toBuffer(), mime: 'image/png' };
});

function lane(extra: Partial<LaneConfig> = {}): LaneConfig {
  return { id: 'gpu-1', engine: 'openai', endpoint: url, model: 'llava-v1.6', workers: 2, enabled: true, ...extra };
}
const never = () => new AbortController().signal;
const withKey = { getSecret: (id: string) => (id === 'gpu-1' ? KEY : undefined) };


describe('openAIBaseUrl', () => {
  it('accepts a base URL with or without /v1 and a full completions URL', () => {
    expect(openAIBaseUrl('http://h:8000')).toBe('http://h:8000/v1');
    expect(openAIBaseUrl('http://h:8000/v1/')).toBe('http://h:8000/v1');
    expect(openAIBaseUrl('https://api.example.com/v1/chat/completions')).toBe('https://api.example.com/v1');
  });
});

describe('OpenAI-compatible engine against a local fake server', () => {
  it('sends the image as a data URL with the key, at temperature 0, and reads the JSON answer', async () => {
    behave = (_req, res) => json(res, 200, completion('```json\n{"text":"SALE\\n50% OFF","description":"A sale banner."}\n```'));
    const result = await createOpenAIEngine(lane(), withKey).recognize(png, never());
    expect(result).toMatchObject({ text: 'SALE\n50% OFF', description: 'A sale banner.', model: 'deepseek-ocr', blocks: [] });
    expect(result.timings).toMatchObject({ prompt_tokens: 700, answer_tokens: 20 });
    const request = seen[0];
    expect(request?.authorization).toBe(`Bearer ${KEY}`);
    expect(request?.body.model).toBe('llava-v1.6');
    expect(request?.body.temperature).toBe(0);
    const image = request?.body.messages[0]?.content.find((part) => part.type === 'image_url');
    expect(image?.image_url?.url).toBe(`data:image/png;base64,${Buffer.from(png.bytes).toString('base64')}`);
  });

  it('takes the key from the environment when the app has none, and sends none when neither has one', async () => {
    behave = (_req, res) => json(res, 200, completion('plain text answer'));
    process.env[OPENAI_KEY_ENV] = 'env-key-123456';
    await createOpenAIEngine(lane()).recognize(png, never());
    expect(seen[0]?.authorization).toBe('Bearer env-key-123456');
    delete process.env[OPENAI_KEY_ENV];
    const result = await createOpenAIEngine(lane()).recognize(png, never());
    expect(seen[1]?.authorization).toBeUndefined();
    expect(result.text).toBe('plain text answer');
  });

  it('401: a config error that never contains the key, even when the server echoes it', async () => {
    behave = (req, res) => json(res, 401, { error: { message: `Incorrect API key provided: ${req.headers.authorization}`, type: 'invalid_request_error' } });
    const error = await failure(createOpenAIEngine(lane(), withKey).recognize(png, never()));
    expect(error.kind).toBe('config');
    expect(error.options.status).toBe(401);
    expect(error.message).toMatch(/API key/);
    expect(error.message).not.toContain(KEY);
    expect(JSON.stringify(error)).not.toContain(KEY);
    expect(String(error.stack)).not.toContain(KEY);
  });

  it('429 with Retry-After: overloaded, backing off as long as the server asks', async () => {
    behave = (_req, res) => json(res, 429, { error: { message: 'Rate limit reached' } }, { 'retry-after': '7' });
    const error = await failure(createOpenAIEngine(lane(), withKey).recognize(png, never()));
    expect(error).toMatchObject({ kind: 'overloaded', retryable: true });
    expect(error.options.retryAfterMs).toBe(7000);
  });

  it('500: transient (retry elsewhere)', async () => {
    behave = (_req, res) => json(res, 500, { error: { message: 'CUDA out of memory' } });
    const error = await failure(createOpenAIEngine(lane(), withKey).recognize(png, never()));
    expect(error.kind).toBe('transient');
    expect(error.message).toContain('CUDA out of memory');
  });

  it('a server that does not answer in time: transient timeout', async () => {
    behave = () => {}; // never answers
    const error = await failure(createOpenAIEngine(lane({ settings: { timeoutMs: 300 } }), withKey).recognize(png, never()));
    expect(error.kind).toBe('transient');
    expect(error.message).toMatch(/in time/);
  });

  it('aborts a request in flight', async () => {
    behave = () => {};
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    expect((await failure(createOpenAIEngine(lane(), withKey).recognize(png, controller.signal))).kind).toBe('aborted');
  });

  it('a server that is not running: unavailable', async () => {
    const error = await failure(createOpenAIEngine(lane({ endpoint: 'http://127.0.0.1:9' }), withKey).recognize(png, never()));
    expect(error.kind).toBe('unavailable');
  });

  it('a 200 that is not a chat completion: transient, not a crash', async () => {
    behave = (_req, res) => json(res, 200, { hello: 'world' });
    expect((await failure(createOpenAIEngine(lane(), withKey).recognize(png, never()))).kind).toBe('transient');
  });

  it('availability checks that the endpoint serves the model', async () => {
    behave = (_req, res) => json(res, 200, { object: 'list', data: [{ id: 'deepseek-ai/DeepSeek-OCR' }] });
    expect(await createOpenAIEngine(lane({ model: 'deepseek-ai/DeepSeek-OCR' }), withKey).availability?.()).toEqual({ type: 'available' });
    expect(await createOpenAIEngine(lane({ model: 'other' }), withKey).availability?.()).toMatchObject({ type: 'unavailable', reason: expect.stringContaining('DeepSeek-OCR') });
    behave = (_req, res) => json(res, 401, { error: { message: 'bad key' } });
    expect(await createOpenAIEngine(lane(), withKey).availability?.()).toMatchObject({ type: 'unavailable', reason: expect.stringMatching(/API key/) });
  });

  it('a lane without an endpoint is a configuration error', () => {
    expect(() => createOpenAIEngine({ id: 'x', engine: 'openai', workers: 1, enabled: true })).toThrow(EngineError);
  });

  it('a setting of the wrong kind is a configuration error naming the lane and the setting', () => {
    expect(() => createOpenAIEngine({ id: 'gpu', engine: 'openai', endpoint: 'http://127.0.0.1:1/v1', workers: 1, enabled: true, settings: { timeoutMs: 'soon' } })).toThrow(
      expect.objectContaining({ kind: 'config', message: 'lane "gpu": setting "timeoutMs": expected a positive number, got "soon"' }),
    );
    expect(() => createOpenAIEngine({ id: 'gpu', engine: 'openai', endpoint: 'http://127.0.0.1:1/v1', workers: 1, enabled: true, settings: { repetitionGuard: 'off' } })).toThrow(/setting "repetitionGuard": expected true or false/);
  });
});

describe('DeepSeek-OCR on vLLM (fake OpenAI-compatible server, streamed)', () => {
  const fakes: FakeOpenAI[] = [];
  async function fake(env: Record<string, string> = {}): Promise<FakeOpenAI> {
    const server = await startFakeOpenAI(env);
    fakes.push(server);
    return server;
  }
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.stop()));
  });
  const grounded = '<|ref|>SUMMER SALE<|/ref|><|det|>[[0, 0, 499, 999]]<|/det|>\n<|ref|>50% OFF<|/ref|><|det|>[[500, 0, 999, 999]]<|/det|><｜end▁of▁sentence｜>';
  const deepseek = (endpoint: string, settings: LaneConfig['settings'] = {}): LaneConfig => lane({ endpoint, model: 'deepseek-ai/DeepSeek-OCR', settings });
  const sized: () => EngineImage = () => ({ ...png, width: 40, height: 20 });

  it("sends vLLM's recipe (image first, grounding prompt, temperature 0, max_tokens, skip_special_tokens false, n-gram xargs) and parses the boxes", async () => {
    const vllm = await fake({ FAKE_OPENAI_ANSWER: grounded });
    const result = await createOpenAIEngine(deepseek(vllm.url)).recognize(sized(), new AbortController().signal);
    expect(result.text).toBe('SUMMER SALE\n50% OFF');
    expect(result.blocks).toEqual([
      { text: 'SUMMER SALE', box: [0, 0, 20, 20] },
      { text: '50% OFF', box: [20, 0, 40, 20] },
    ]);
    expect(result.truncated).toBeUndefined();
    expect(result.timings.answer_tokens).toBeGreaterThan(0);
    expect(vllm.requests()[0]).toEqual({
      model: 'deepseek-ai/DeepSeek-OCR',
      temperature: 0,
      max_tokens: 4096,
      stream: true,
      skip_special_tokens: false,
      vllm_xargs: { ngram_size: 30, window_size: 90, whitelist_token_ids: [128821, 128822] },
      parts: ['image_url', 'text'],
      prompt: '<|grounding|>OCR this image.',
    });
  });

  it('the free task keeps special tokens skipped; serverExtras false sends nothing vLLM-specific', async () => {
    const vllm = await fake({ FAKE_OPENAI_ANSWER: 'MEGA SALE' });
    expect((await createOpenAIEngine(deepseek(vllm.url, { task: 'free' })).recognize(sized(), new AbortController().signal)).text).toBe('MEGA SALE');
    await createOpenAIEngine(deepseek(vllm.url, { serverExtras: false })).recognize(sized(), new AbortController().signal);
    const [free, plain] = vllm.requests();
    expect(free).toMatchObject({ prompt: 'Free OCR.' });
    expect(free?.skip_special_tokens).toBeUndefined();
    expect(plain?.skip_special_tokens).toBeUndefined();
    expect(plain?.vllm_xargs).toBeUndefined();
  });

  it('an answer cut at max_tokens (finish_reason "length") is truncated, its complete lines kept', async () => {
    const vllm = await fake({ FAKE_OPENAI_ANSWER: grounded });
    const result = await createOpenAIEngine(deepseek(vllm.url, { maxTokens: 10 })).recognize(sized(), new AbortController().signal);
    expect(result).toMatchObject({ truncated: true, text: 'SUMMER SALE' });
  });

  it('a server repeating itself forever: the guard stops it, keeps the text before the loop, and hangs up', async () => {
    const vllm = await fake({ FAKE_OPENAI_FAIL: 'loop', FAKE_OPENAI_DELAY_MS: '0' });
    const result = await createOpenAIEngine(deepseek(vllm.url)).recognize(sized(), new AbortController().signal);
    expect(result).toMatchObject({ truncated: true, text: 'SUMMER SALE\n50% OFF' });
    await expect.poll(() => vllm.closedAfterBytes().length).toBe(1);
  });

  it('a 1 GB stream and a 1 GB JSON body stop at their limits with a clear transient error', async () => {
    const streamed = await fake({ FAKE_OPENAI_FAIL: 'huge-body' });
    const whole = await fake({ FAKE_OPENAI_FAIL: 'huge-body', FAKE_OPENAI_NO_STREAM: '1' });
    const a = await failure(createOpenAIEngine(deepseek(streamed.url)).recognize(sized(), new AbortController().signal));
    const b = await failure(createOpenAIEngine(deepseek(whole.url)).recognize(sized(), new AbortController().signal));
    expect(a.kind).toBe('transient');
    expect(a.message).toMatch(/more than 16 MB/);
    expect(b.kind).toBe('transient');
    expect(b.message).toMatch(/more than 16 MB/);
    for (const server of [streamed, whole]) {
      await expect.poll(() => server.closedAfterBytes().length).toBe(1);
      expect(server.closedAfterBytes()[0]).toBeLessThan(64 * 1024 * 1024);
    }
  });

  it('one 100 MB line: stopped at the line limit', async () => {
    const vllm = await fake({ FAKE_OPENAI_FAIL: 'long-line' });
    const error = await failure(createOpenAIEngine(deepseek(vllm.url)).recognize(sized(), new AbortController().signal));
    expect(error.kind).toBe('transient');
    expect(error.message).toMatch(/longer than \d+ characters/);
    await expect.poll(() => vllm.closedAfterBytes().length).toBe(1);
    expect(vllm.closedAfterBytes()[0]).toBeLessThan(100 * 1024 * 1024);
  });
});
