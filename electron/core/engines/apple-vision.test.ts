import { getEventListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { LaneConfig } from '../../../shared/domain.js';
import {
  NativeOcrResult,
  createAppleVisionEngine,
  defaultAppleVisionLane,
  defaultAppleVisionWorkers,
  linesToBlocks,
  loadAppleVisionModule,
  nativeInFlightLimit,
  parseAppleVisionSettings,
  type AppleVisionModuleState,
  type SystemOcrModule,
} from './apple-vision.js';
import { Semaphore } from '../lib/semaphore.js';
import { createEngine } from './create.js';
import { EngineError, type EngineImage } from './types.js';

const Fixture = z.object({ image: z.object({ width: z.number(), height: z.number() }), result: NativeOcrResult });
const fixtureUrl = (name: string): URL => new URL(`./__fixtures__/apple-vision/${name}`, import.meta.url);
const fixture = (name: string): z.infer<typeof Fixture> => Fixture.parse(JSON.parse(readFileSync(fixtureUrl(name), 'utf8')));
const errorMessages = z.record(z.string(), z.string()).parse(JSON.parse(readFileSync(fixtureUrl('errors.json'), 'utf8')));

const lane = (settings?: LaneConfig['settings']): LaneConfig => ({ id: 'av', engine: 'apple-vision', workers: 2, enabled: true, settings });

/** A native module double answering with `answer` and recording its calls. */
function nativeDouble(answer: (signal: AbortSignal | null | undefined) => Promise<unknown>) {
  const recognize = vi.fn((_image: Uint8Array, _accuracy?: number | null, _langs?: string[] | null, signal?: AbortSignal | null) => answer(signal));
  const module: SystemOcrModule = { recognize, OcrAccuracy: { Fast: 0, Accurate: 1 } };
  const loadModule = (): Promise<AppleVisionModuleState> => Promise.resolve({ type: 'available', module });
  // Own slots per double: a call left hanging by one test must not hold another test's slot.
  return { recognize, options: { loadModule, nativeSlots: new Semaphore(nativeInFlightLimit()) } };
}

const pngHeader = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const sizedImage = (width: number, height: number): EngineImage => ({ bytes: pngHeader, mime: 'image/png', width, height });
const never = (): Promise<never> => new Promise<never>(() => undefined);

async function expectEngineError(promise: Promise<unknown>, kind: EngineError['kind']): Promise<EngineError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(EngineError);
  expect((error as EngineError).kind).toBe(kind);
  return error as EngineError;
}

describe('linesToBlocks', () => {
  it('converts normalised top-left boxes to pixel corners of the input image', () => {
    const { image, result } = fixture('lines-banner.json');
    const blocks = linesToBlocks(result.lines ?? [], image);
    expect(blocks.map((block) => block.box)).toEqual([
      [36, 9, 328, 45],
      [36, 54, 255, 77],
      [546, 27, 692, 54],
    ]);
    expect(blocks.map((block) => block.confidence)).toEqual([0.99, 0.97, 0.86]);
  });

  it('clamps boxes to the image, drops blank lines and clamps confidence to 0..1', () => {
    const { image, result } = fixture('lines-edges.json');
    const blocks = linesToBlocks(result.lines ?? [], image);
    expect(blocks).toEqual([
      { text: 'BIG', box: [0, 0, 146, 74], confidence: 1 },
      { text: 'fine print', box: [180, 238, 300, 250], confidence: 0.42 },
    ]);
  });

  it('keeps the native order and keeps every box inside the image with ordered corners', () => {
    const unit = fc.double({ min: -0.5, max: 1.5, noNaN: true });
    const line = fc.record({
      text: fc.string({ minLength: 1, maxLength: 5 }).map((text) => `w${text}`),
      confidence: fc.double({ min: 0, max: 1, noNaN: true }),
      boundingBox: fc.record({ x: unit, y: unit, width: unit, height: unit }),
    });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.integer({ min: 1, max: 4000 }), fc.integer({ min: 1, max: 4000 }), (lines, width, height) => {
        const blocks = linesToBlocks(lines, { width, height });
        expect(blocks.map((block) => block.text)).toEqual(lines.map((entry) => entry.text.trim()));
        for (const { box } of blocks) {
          const [x1, y1, x2, y2] = box;
          expect(0 <= x1 && x1 <= x2 && x2 <= width).toBe(true);
          expect(0 <= y1 && y1 <= y2 && y2 <= height).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('settings and defaults', () => {
  it('defaults to accurate English and reads fast and other languages', () => {
    expect(parseAppleVisionSettings(undefined)).toEqual({ accuracy: 'accurate', languages: ['en-US'] });
    expect(parseAppleVisionSettings({ accuracy: 'fast', languages: ['fr-FR', 'zh-Hans'] })).toEqual({ accuracy: 'fast', languages: ['fr-FR', 'zh-Hans'] });
  });

  it('rejects a bad setting as a config error naming it', () => {
    expect(() => parseAppleVisionSettings({ accuracy: 'best' })).toThrow(/accuracy/);
    expect(() => createAppleVisionEngine(lane({ languages: ['english please'] }))).toThrow(EngineError);
    try {
      parseAppleVisionSettings({ languages: [] });
    } catch (error) {
      expect(error).toMatchObject({ kind: 'config', message: expect.stringContaining('languages') });
    }
  });

  it('uses two workers, fewer when the libuv pool is small', () => {
    expect(defaultAppleVisionWorkers({})).toBe(2);
    expect(defaultAppleVisionWorkers({ UV_THREADPOOL_SIZE: '16' })).toBe(2);
    expect(defaultAppleVisionWorkers({ UV_THREADPOOL_SIZE: '3' })).toBe(1);
    expect(defaultAppleVisionWorkers({ UV_THREADPOOL_SIZE: '1' })).toBe(1);
    expect(defaultAppleVisionWorkers({ UV_THREADPOOL_SIZE: 'lots' })).toBe(2);
    expect(nativeInFlightLimit({})).toBe(3);
    expect(nativeInFlightLimit({ UV_THREADPOOL_SIZE: '1' })).toBe(1);
    expect(defaultAppleVisionLane()).toMatchObject({ engine: 'apple-vision', workers: defaultAppleVisionWorkers(), settings: { accuracy: 'accurate' } });
  });
});

describe('the engine with the native module replaced by recorded shapes', () => {
  it('answers blocks in pixels and one text line per native line, in the native reading order', async () => {
    const { image, result } = fixture('lines-banner.json');
    const native = nativeDouble(() => Promise.resolve(result));
    const engine = createAppleVisionEngine(lane(), {}, native.options);
    const answer = await engine.recognize(sizedImage(image.width, image.height), new AbortController().signal);
    expect(answer.text).toBe('SUMMER SALE\nUp to 50% off\nShop now');
    expect(answer.blocks.map((block) => block.text)).toEqual(['SUMMER SALE', 'Up to 50% off', 'Shop now']);
    expect(answer.blocks[2]?.box).toEqual([546, 27, 692, 54]);
    expect(answer.model).toBe('apple-vision:accurate');
    expect(answer.timings.recognize).toBeGreaterThanOrEqual(0);
    expect(answer.timings.total).toBeGreaterThanOrEqual(answer.timings.recognize ?? 0);
    expect(engine.kind).toBe('apple-vision');
  });

  it('passes accuracy, languages, the bytes and the signal to the native module', async () => {
    const native = nativeDouble(() => Promise.resolve(fixture('text-only-1.1.0.json').result));
    const engine = createAppleVisionEngine(lane({ accuracy: 'fast', languages: ['de-DE', 'en-US'] }), {}, native.options);
    const controller = new AbortController();
    const image = sizedImage(10, 10);
    await engine.recognize(image, controller.signal);
    expect(native.recognize).toHaveBeenCalledWith(image.bytes, 0, ['de-DE', 'en-US'], expect.any(AbortSignal));
    await createAppleVisionEngine(lane(), {}, native.options).recognize(image, controller.signal);
    expect(native.recognize.mock.calls[1]?.[1]).toBe(1);
  });

  it('reads the pixel size with sharp when the image arrives without one', async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200"><rect width="400" height="200" fill="white"/><text x="20" y="120" font-size="60">SALE</text></svg>';
    const bytes = await sharp(Buffer.from(svg)).png().toBuffer();
    const native = nativeDouble(() => Promise.resolve({ text: 'SALE', confidence: 0.9, lines: [{ text: 'SALE', confidence: 0.9, boundingBox: { x: 0.05, y: 0.35, width: 0.5, height: 0.3 } }] }));
    const engine = createAppleVisionEngine(lane(), {}, native.options);
    const answer = await engine.recognize({ bytes, mime: 'image/png' }, new AbortController().signal);
    expect(answer.blocks).toEqual([{ text: 'SALE', box: [20, 70, 220, 130], confidence: 0.9 }]);
  });

  it('hands Vision a PNG when the image format is not one ImageIO reads', async () => {
    const bytes = await sharp({ create: { width: 64, height: 32, channels: 3, background: '#fff' } }).avif().toBuffer();
    const native = nativeDouble(() => Promise.resolve({ text: 'x', confidence: 1, lines: [{ text: 'x', confidence: 1, boundingBox: { x: 0, y: 0, width: 1, height: 1 } }] }));
    const engine = createAppleVisionEngine(lane(), {}, native.options);
    const answer = await engine.recognize({ bytes, mime: 'image/avif' }, new AbortController().signal);
    expect(Array.from(native.recognize.mock.calls[0]?.[0].subarray(0, 8) ?? [])).toEqual(Array.from(pngHeader));
    expect(answer.blocks[0]?.box).toEqual([0, 0, 64, 32]);
  });

  it('answers the 1.1.0 text-only shape with its text and no blocks, without decoding the image', async () => {
    const readImageSize = vi.fn(() => Promise.resolve({ width: 1, height: 1 }));
    const native = nativeDouble(() => Promise.resolve(fixture('text-only-1.1.0.json').result));
    const engine = createAppleVisionEngine(lane(), {}, { ...native.options, readImageSize });
    const answer = await engine.recognize({ bytes: pngHeader, mime: 'image/png' }, new AbortController().signal);
    expect(answer).toMatchObject({ text: 'SUMMER SALE Up to 50% off Shop now', blocks: [] });
    expect(readImageSize).not.toHaveBeenCalled();
  });

  it('answers an image without text as an empty result, not an error', async () => {
    const native = nativeDouble(() => Promise.reject(new Error(errorMessages.noText)));
    const engine = createAppleVisionEngine(lane(), {}, native.options);
    const answer = await engine.recognize(sizedImage(10, 10), new AbortController().signal);
    expect(answer).toMatchObject({ text: '', blocks: [], model: 'apple-vision:accurate' });
    const emptyLines = nativeDouble(() => Promise.resolve({ text: '', confidence: 0, lines: [] }));
    const second = await createAppleVisionEngine(lane(), {}, emptyLines.options).recognize(sizedImage(10, 10), new AbortController().signal);
    expect(second).toMatchObject({ text: '', blocks: [] });
  });

  it('does not call Vision when the signal has already fired', async () => {
    const native = nativeDouble(() => Promise.resolve(fixture('text-only-1.1.0.json').result));
    const engine = createAppleVisionEngine(lane(), {}, native.options);
    const controller = new AbortController();
    controller.abort();
    await expectEngineError(engine.recognize(sizedImage(10, 10), controller.signal), 'aborted');
    expect(native.recognize).not.toHaveBeenCalled();
  });

  it('rejects as aborted as soon as the signal fires, while the native call is still running', async () => {
    let finishNative: (value: unknown) => void = () => undefined;
    const native = nativeDouble(() => new Promise((resolve) => (finishNative = resolve)));
    const engine = createAppleVisionEngine(lane(), {}, native.options);
    const controller = new AbortController();
    const pending = engine.recognize(sizedImage(10, 10), controller.signal);
    await vi.waitFor(() => expect(native.recognize).toHaveBeenCalled(), { timeout: 30_000 });
    controller.abort(new Error('user cancelled'));
    await expectEngineError(pending, 'aborted');
    finishNative(fixture('text-only-1.1.0.json').result);
  });

  it('gives the binding its own signal, which fires when the caller\'s does', async () => {
    const nativeSignals: AbortSignal[] = [];
    const native = nativeDouble((signal) => {
      if (signal) nativeSignals.push(signal);
      return never();
    });
    const engine = createAppleVisionEngine(lane(), {}, native.options);
    const controller = new AbortController();
    const pending = engine.recognize(sizedImage(10, 10), controller.signal);
    await vi.waitFor(() => expect(nativeSignals).toHaveLength(1), { timeout: 30_000 });
    expect(nativeSignals[0]).not.toBe(controller.signal);
    expect(nativeSignals[0]?.aborted).toBe(false);
    controller.abort();
    expect(nativeSignals[0]?.aborted).toBe(true);
    await expectEngineError(pending, 'aborted');
  });

  it('leaves no listener behind on a signal shared by many calls', async () => {
    const native = nativeDouble(() => Promise.resolve(fixture('lines-banner.json').result));
    const failing = nativeDouble(() => Promise.reject(new Error(errorMessages.visionFailure)));
    const runSignal = new AbortController().signal;
    const engine = createAppleVisionEngine(lane(), {}, native.options);
    const failingEngine = createAppleVisionEngine(lane(), {}, failing.options);
    await Promise.all(Array.from({ length: 30 }, () => engine.recognize(sizedImage(728, 90), runSignal)));
    await Promise.allSettled(Array.from({ length: 5 }, () => failingEngine.recognize(sizedImage(728, 90), runSignal)));
    expect(getEventListeners(runSignal, 'abort')).toHaveLength(0);
  });

  it('keeps at most nativeInFlightLimit() native calls running, holding a slot until the native call really ends', async () => {
    const limit = nativeInFlightLimit();
    const finishers: Array<() => void> = [];
    let running = 0;
    let peak = 0;
    const native = nativeDouble(() => {
      running++;
      peak = Math.max(peak, running);
      return new Promise((resolve) =>
        finishers.push(() => {
          running--;
          resolve(fixture('text-only-1.1.0.json').result);
        }),
      );
    });
    const engine = createAppleVisionEngine(lane(), {}, native.options);
    const abandoned = new AbortController();
    const first = engine.recognize(sizedImage(10, 10), abandoned.signal);
    const rest = Array.from({ length: limit + 1 }, () => engine.recognize(sizedImage(10, 10), new AbortController().signal));
    await vi.waitFor(() => expect(native.recognize).toHaveBeenCalledTimes(limit), { timeout: 30_000 });
    // The caller gives up on the first call, but its native recognition still occupies a thread.
    abandoned.abort();
    await expectEngineError(first, 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(native.recognize).toHaveBeenCalledTimes(limit);
    while (finishers.length > 0 || native.recognize.mock.calls.length < limit + 2) {
      await vi.waitFor(() => expect(finishers.length).toBeGreaterThan(0), { timeout: 30_000 });
      finishers.shift()?.();
    }
    await Promise.all(rest);
    expect(native.recognize).toHaveBeenCalledTimes(limit + 2);
    expect(peak).toBe(limit);
  });

  it('shares the slots between all Apple Vision lanes of the process by default', async () => {
    const limit = nativeInFlightLimit();
    const finishers: Array<() => void> = [];
    const native = nativeDouble(() => new Promise((resolve) => finishers.push(() => resolve({ text: '', confidence: 0 }))));
    const { loadModule } = native.options;
    const lanes = [createAppleVisionEngine(lane(), {}, { loadModule }), createAppleVisionEngine({ ...lane({ accuracy: 'fast' }), id: 'av2' }, {}, { loadModule })];
    const calls = Array.from({ length: limit + 2 }, (_, i) => lanes[i % 2]!.recognize(sizedImage(10, 10), new AbortController().signal));
    await vi.waitFor(() => expect(native.recognize).toHaveBeenCalledTimes(limit), { timeout: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(native.recognize).toHaveBeenCalledTimes(limit);
    while (native.recognize.mock.calls.length < limit + 2 || finishers.length > 0) {
      await vi.waitFor(() => expect(finishers.length).toBeGreaterThan(0), { timeout: 30_000 });
      finishers.shift()?.();
    }
    await Promise.all(calls);
  });

  it('never starts a call whose caller gave up while it waited for a slot', async () => {
    const limit = nativeInFlightLimit();
    const finishers: Array<() => void> = [];
    const native = nativeDouble(() => new Promise((resolve) => finishers.push(() => resolve({ text: '', confidence: 0 }))));
    const engine = createAppleVisionEngine(lane(), {}, native.options);
    const busy = Array.from({ length: limit }, () => engine.recognize(sizedImage(10, 10), new AbortController().signal));
    await vi.waitFor(() => expect(native.recognize).toHaveBeenCalledTimes(limit), { timeout: 30_000 });
    const waiting = new AbortController();
    const queued = engine.recognize(sizedImage(10, 10), waiting.signal);
    await new Promise((resolve) => setTimeout(resolve, 10));
    waiting.abort();
    await expectEngineError(queued, 'aborted');
    for (const finish of finishers.splice(0)) finish();
    await Promise.all(busy);
    expect(native.recognize).toHaveBeenCalledTimes(limit);
  });

  it('reports the binding rejecting because of the abort as aborted', async () => {
    const native = nativeDouble((signal) => (signal?.aborted ? Promise.reject(new Error('AbortError')) : never()));
    const engine = createAppleVisionEngine(lane(), {}, native.options);
    const controller = new AbortController();
    const pending = engine.recognize(sizedImage(10, 10), controller.signal);
    await vi.waitFor(() => expect(native.recognize).toHaveBeenCalled(), { timeout: 30_000 });
    controller.abort();
    await expectEngineError(pending, 'aborted');
  });

  it('turns a Vision failure into a transient error that keeps the message', async () => {
    const native = nativeDouble(() => Promise.reject(new Error(errorMessages.visionFailure)));
    const engine = createAppleVisionEngine(lane(), {}, native.options);
    const error = await expectEngineError(engine.recognize(sizedImage(10, 10), new AbortController().signal), 'transient');
    expect(error.message).toContain('com.apple.Vision error 9');
    expect(error.retryable).toBe(true);
  });

  it('treats an unknown result shape as a config error (a binding version we do not support)', async () => {
    const native = nativeDouble(() => Promise.resolve({ words: ['SALE'] }));
    const engine = createAppleVisionEngine(lane(), {}, native.options);
    await expectEngineError(engine.recognize(sizedImage(10, 10), new AbortController().signal), 'config');
  });

  it('reports an image it cannot decode as permanent when it needs its size', async () => {
    const native = nativeDouble(() => Promise.resolve(fixture('lines-banner.json').result));
    const engine = createAppleVisionEngine(lane(), {}, native.options);
    const error = await expectEngineError(engine.recognize({ bytes: new Uint8Array([1, 2, 3]), mime: 'image/png' }, new AbortController().signal), 'permanent');
    expect(error.message).toMatch(/cannot be decoded/);
  });

  it('is unavailable with the reason when the module cannot load, and refuses work as a config error', async () => {
    const reason = 'The Vision OCR module could not load: missing';
    const engine = createAppleVisionEngine(lane(), {}, { loadModule: () => Promise.resolve({ type: 'unavailable', reason }) });
    expect(await engine.availability?.()).toEqual({ type: 'unavailable', reason });
    const error = await expectEngineError(engine.recognize(sizedImage(10, 10), new AbortController().signal), 'config');
    expect(error.message).toBe(reason);
    const available = nativeDouble(() => never());
    expect(await createAppleVisionEngine(lane(), {}, available.options).availability?.()).toEqual({ type: 'available' });
  });
});

describe('platform gating', () => {
  it('does not try to load on Linux or Windows and says why', async () => {
    const importModule = vi.fn(() => Promise.resolve({}));
    const linux = await loadAppleVisionModule('linux', importModule);
    expect(linux).toEqual({ type: 'unavailable', reason: expect.stringMatching(/needs macOS.*Linux/) });
    expect((await loadAppleVisionModule('win32', importModule)).type).toBe('unavailable');
    expect(importModule).not.toHaveBeenCalled();
  });

  it('turns a failed load on a Mac into a reason that names the package and the error', async () => {
    const failure = new Error(errorMessages.loadOnLinux, { cause: [new Error("Cannot find module '@napi-rs/system-ocr-darwin-arm64'\nRequire stack: …")] });
    const state = await loadAppleVisionModule('darwin', () => Promise.reject(failure));
    expect(state.type).toBe('unavailable');
    const reason = state.type === 'unavailable' ? state.reason : '';
    expect(reason).toContain('@napi-rs/system-ocr');
    expect(reason).toContain("Cannot find module '@napi-rs/system-ocr-darwin-arm64'");
    expect(reason).not.toContain('Require stack');
  });

  it('accepts the module as imported from CommonJS (under default) or as a namespace', async () => {
    const recognize = (): Promise<unknown> => Promise.resolve({ text: '', confidence: 0 });
    expect((await loadAppleVisionModule('darwin', () => Promise.resolve({ default: { recognize } }))).type).toBe('available');
    expect((await loadAppleVisionModule('darwin', () => Promise.resolve({ recognize }))).type).toBe('available');
    expect(await loadAppleVisionModule('darwin', () => Promise.resolve({ default: {} }))).toMatchObject({ type: 'unavailable', reason: expect.stringContaining('recognize') });
  });

  it.skipIf(process.platform === 'darwin')('loads as unavailable on this machine, with the real package, through the engine factory', async () => {
    // The real import: the package is installed, but it has no binary for this OS.
    const realDarwinAttempt = await loadAppleVisionModule('darwin');
    expect(realDarwinAttempt).toMatchObject({ type: 'unavailable', reason: expect.stringContaining('Cannot find native binding') });

    const engine = await createEngine(lane());
    expect(engine.kind).toBe('apple-vision');
    const availability = await engine.availability?.();
    expect(availability).toMatchObject({ type: 'unavailable', reason: expect.stringContaining('needs macOS') });
    await expectEngineError(engine.recognize(sizedImage(10, 10), new AbortController().signal), 'config');
  });
});

// Runs only on an Apple Silicon Mac: the real Vision framework through the real binding.
// `APPLE_VISION_RECORD=1` also writes what the binding answered to __fixtures__/apple-vision/recorded-*.json.
describe.runIf(process.platform === 'darwin' && process.arch === 'arm64')('on this Mac, with the real Vision framework', () => {
  const adSvg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="240"><rect width="600" height="240" fill="white"/>' +
    '<text x="30" y="80" font-family="Helvetica" font-size="56" font-weight="bold">SUMMER SALE</text>' +
    '<text x="30" y="190" font-family="Helvetica" font-size="40">Shop now</text></svg>';

  it('reads an ad, top line first, with boxes inside the image', async () => {
    const bytes = await sharp(Buffer.from(adSvg)).png().toBuffer();
    const engine = createAppleVisionEngine(lane());
    expect(await engine.availability?.()).toEqual({ type: 'available' });
    const answer = await engine.recognize({ bytes, mime: 'image/png' }, new AbortController().signal);
    const text = answer.text.toUpperCase();
    expect(text).toContain('SUMMER SALE');
    expect(text).toContain('SHOP NOW');
    expect(text.indexOf('SUMMER')).toBeLessThan(text.indexOf('SHOP'));
    for (const { box } of answer.blocks) {
      expect(box[0] >= 0 && box[2] <= 600 && box[1] >= 0 && box[3] <= 240 && box[0] <= box[2] && box[1] <= box[3]).toBe(true);
    }
    if (answer.blocks.length >= 2) expect(answer.blocks[0]!.box[1]).toBeLessThan(answer.blocks[answer.blocks.length - 1]!.box[1]);

    if (process.env.APPLE_VISION_RECORD === '1') {
      const state = await loadAppleVisionModule();
      if (state.type !== 'available') throw new Error(state.reason);
      const raw = await state.module.recognize(bytes, 1, ['en-US']);
      const { writeFileSync } = await import('node:fs');
      writeFileSync(fixtureUrl(`recorded-${new Date().toISOString().slice(0, 10)}.json`), `${JSON.stringify({ image: { width: 600, height: 240 }, result: raw }, null, 2)}\n`);
    }
  });

  it('answers a blank image with empty text, not an error', async () => {
    const bytes = await sharp({ create: { width: 300, height: 250, channels: 3, background: '#ffffff' } }).png().toBuffer();
    const answer = await createAppleVisionEngine(lane({ accuracy: 'fast' })).recognize({ bytes, mime: 'image/png' }, new AbortController().signal);
    expect(answer).toMatchObject({ text: '', blocks: [], model: 'apple-vision:fast' });
  });

  it('stops waiting when aborted', async () => {
    const bytes = await sharp(Buffer.from(adSvg)).png().toBuffer();
    const controller = new AbortController();
    const pending = createAppleVisionEngine(lane()).recognize({ bytes, mime: 'image/png' }, controller.signal);
    controller.abort();
    await expectEngineError(pending, 'aborted');
  });
});
