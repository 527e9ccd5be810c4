/**
 * The `apple-vision` engine: the Mac's own text recogniser (Vision framework, running on
 * the Neural Engine) through `@napi-rs/system-ocr`. Zero install on a Mac; on any other
 * machine, or when the native package is missing, it is a lane that reports
 * `unavailable` with the reason instead of crashing.
 *
 * The native module answers `{ text, confidence, lines? }`. `lines` (reading order, boxes
 * normalised to 0..1 with a top-left origin) arrived after 1.1.0 (upstream PR #111);
 * 1.1.0 answers text only, so blocks are empty there and fill in with the newer release
 * without a code change.
 */
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { z } from 'zod';
import type { LaneConfig, TextBlock } from '../../../shared/domain.js';
import { Semaphore } from '../lib/semaphore.js';
import { parseLaneSettings, setting } from './lib/lane-settings.js';
import { EngineError, type Engine, type EngineAvailability, type EngineDeps, type EngineImage, type RecognizeResult } from './types.js';

const NATIVE_PACKAGE = '@napi-rs/system-ocr';

// ---------------------------------------------------------------------------
// The native module boundary

/** The part of `@napi-rs/system-ocr` this engine uses; results are checked with zod. */
export interface SystemOcrModule {
  recognize(image: Uint8Array, accuracy?: number | null, preferredLangs?: string[] | null, signal?: AbortSignal | null): Promise<unknown>;
  /** The native enum (`Fast = 0`, `Accurate = 1`); absent in test doubles. */
  OcrAccuracy?: { Fast: number; Accurate: number };
}

const NormalisedBox = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });
const NativeOcrLine = z.object({ text: z.string(), confidence: z.number(), boundingBox: NormalisedBox });
/** What `recognize` resolves to: 1.1.0 has no `lines`, later releases do. */
export const NativeOcrResult = z.object({ text: z.string(), confidence: z.number(), lines: z.array(NativeOcrLine).optional() });
export type NativeOcrResult = z.infer<typeof NativeOcrResult>;
export type NativeOcrLine = z.infer<typeof NativeOcrLine>;

export type AppleVisionModuleState = { type: 'available'; module: SystemOcrModule } | { type: 'unavailable'; reason: string };

function isSystemOcrModule(value: unknown): value is SystemOcrModule {
  return typeof value === 'object' && value !== null && 'recognize' in value && typeof value.recognize === 'function';
}

const PLATFORM_NAMES: Partial<Record<NodeJS.Platform, string>> = { linux: 'Linux', win32: 'Windows', darwin: 'macOS', freebsd: 'FreeBSD' };

function describeLoadError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // napi-rs puts one error per candidate binary in `cause`; the first line of each is enough.
  const causes = error instanceof Error && Array.isArray(error.cause) ? error.cause : [];
  const details = causes.map((cause) => (cause instanceof Error ? cause.message : String(cause)).split('\n')[0]).filter(Boolean);
  const text = [message.split('\n')[0], ...details].join('; ');
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

/**
 * Loads the native module as a state. Not macOS: unavailable without trying (the package
 * also loads on Windows, but that is Windows OCR, not Apple Vision). On macOS, any load
 * failure (missing darwin-arm64 package, an Intel build, a broken asar unpack) is the reason.
 */
export async function loadAppleVisionModule(
  platform: NodeJS.Platform = process.platform,
  importModule: () => Promise<unknown> = () => import('@napi-rs/system-ocr'),
): Promise<AppleVisionModuleState> {
  if (platform !== 'darwin') {
    const name = PLATFORM_NAMES[platform] ?? platform;
    return { type: 'unavailable', reason: `Apple Vision needs macOS; this computer runs ${name}. Use the embedded (PaddleOCR) lane instead.` };
  }
  try {
    const imported = await importModule();
    const candidate = isSystemOcrModule(imported) ? imported : (imported as { default?: unknown } | null)?.default;
    if (!isSystemOcrModule(candidate)) return { type: 'unavailable', reason: `${NATIVE_PACKAGE} loaded but has no recognize() function.` };
    return { type: 'available', module: candidate };
  } catch (error) {
    return {
      type: 'unavailable',
      reason: `The Vision OCR module (${NATIVE_PACKAGE}) could not load on this Mac (${process.arch}): ${describeLoadError(error)}`,
    };
  }
}

let defaultModuleState: Promise<AppleVisionModuleState> | undefined;

/** The real module on this machine, loaded once per process. */
export function loadDefaultAppleVisionModule(): Promise<AppleVisionModuleState> {
  defaultModuleState ??= loadAppleVisionModule();
  return defaultModuleState;
}

// ---------------------------------------------------------------------------
// Settings and defaults

/** Vision language identifiers: `en-US`, `fr-FR`, `zh-Hans`, `yue-Hant`, `de`. */
const LANGUAGE_TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

const LANGUAGES = 'expected 1 to 16 language tags such as en-US or zh-Hans';
export const AppleVisionSettings = z.object({
  accuracy: setting.oneOf(['fast', 'accurate']).default('accurate'),
  languages: z
    .array(z.string({ error: 'expected a language tag such as en-US or zh-Hans' }).regex(LANGUAGE_TAG, { error: 'expected a language tag such as en-US or zh-Hans' }), { error: LANGUAGES })
    .min(1, { error: LANGUAGES })
    .max(16, { error: LANGUAGES })
    .default(['en-US']),
});
export type AppleVisionSettings = z.output<typeof AppleVisionSettings>;

/** The lane's settings, validated; an invalid value is a `config` error naming the setting (lib/lane-settings.ts). */
export function parseAppleVisionSettings(settings: LaneConfig['settings'], laneId = 'apple-vision'): AppleVisionSettings {
  return parseLaneSettings(laneId, settings, AppleVisionSettings);
}

/**
 * How many recognitions to keep in flight on one Mac: 2, or fewer with a small libuv pool.
 * - The binding runs each call as a napi AsyncTask on libuv's thread pool (UV_THREADPOOL_SIZE,
 *   default 4), which fs, dns, zlib and sharp share: at most half of it, so decoding the next
 *   images never waits behind OCR.
 * - Vision's neural text recogniser runs on the Neural Engine, a single shared accelerator,
 *   so calls beyond a couple queue there and add only latency and memory; two keep it busy
 *   (one recognising while the next is decoded and handed over).
 * - On macOS 26 the binding goes through the Swift RecognizeDocumentsRequest API; a report on
 *   Apple's developer forums (thread 784672, the sibling RecognizeTextRequest on iOS 18) has
 *   more than 2 requests in parallel hang.
 * The scheduler learns the lane's real throughput; a user can still raise `workers`, and
 * nativeInFlightLimit() caps what reaches the thread pool.
 */
export function defaultAppleVisionWorkers(env: NodeJS.ProcessEnv = process.env): number {
  return Math.max(1, Math.min(2, Math.floor(libuvPoolSize(env) / 2)));
}

function libuvPoolSize(env: NodeJS.ProcessEnv): number {
  const size = Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10);
  return Number.isFinite(size) && size > 0 ? size : 4;
}

/**
 * Native calls allowed in flight in this process, whatever the lanes' workers add up to:
 * one pool thread always stays free for fs and sharp, so raising `workers` cannot stall
 * image decoding.
 */
export function nativeInFlightLimit(env: NodeJS.ProcessEnv = process.env): number {
  return Math.max(1, libuvPoolSize(env) - 1);
}

/** Shared by every Apple Vision lane: the thread pool is per process. A slot is held until the native call really ends. */
const nativeSlots = new Semaphore(nativeInFlightLimit());

/** The lane a new Mac user gets: accurate, English, default workers. */
export function defaultAppleVisionLane(id = 'apple-vision'): LaneConfig {
  return { id, engine: 'apple-vision', workers: defaultAppleVisionWorkers(), enabled: true, settings: { accuracy: 'accurate', languages: ['en-US'] } };
}

// ---------------------------------------------------------------------------
// Pure mapping

export interface ImageSize {
  width: number;
  height: number;
}

const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));

/**
 * Native lines (normalised, top-left origin) to blocks in pixels of the input image,
 * in the native reading order. Boxes are clamped to the image; blank lines are dropped.
 */
export function linesToBlocks(lines: readonly NativeOcrLine[], size: ImageSize): TextBlock[] {
  const blocks: TextBlock[] = [];
  for (const line of lines) {
    const text = line.text.trim();
    if (text === '') continue;
    const { x, y, width, height } = line.boundingBox;
    const x1 = clamp(x, 0, 1);
    const y1 = clamp(y, 0, 1);
    const x2 = clamp(x + Math.max(0, width), 0, 1);
    const y2 = clamp(y + Math.max(0, height), 0, 1);
    blocks.push({
      text,
      box: [Math.round(x1 * size.width), Math.round(y1 * size.height), Math.round(x2 * size.width), Math.round(y2 * size.height)],
      confidence: clamp(line.confidence, 0, 1),
    });
  }
  return blocks;
}

/** One line per block (the ground-truth layout of an ad); without lines, the native text. */
export function resultText(result: NativeOcrResult, blocks: readonly TextBlock[]): string {
  if (result.lines !== undefined && result.lines.length > 0) return blocks.map((block) => block.text).join('\n');
  return result.text.trim();
}

// ---------------------------------------------------------------------------
// The engine

/** Formats Vision decodes itself (ImageIO); anything else is converted to PNG first. */
const VISION_MIMES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/tiff', 'image/bmp', 'image/webp', 'image/heic', 'image/heif']);

function abortedError(signal: AbortSignal): EngineError {
  return new EngineError('aborted', 'cancelled', { cause: signal.reason });
}

/**
 * Runs one native call with its own AbortSignal linked to the caller's, and rejects as
 * `aborted` as soon as the caller's fires. Its own signal, because napi-rs takes over the
 * signal it is given (overwrites `onabort`, wraps it with a record per call kept until the
 * signal is collected, and stops cancelling at the first finished call), while the
 * caller's may be shared by a whole run. The binding can only cancel a call still queued
 * in the thread pool; a running recognition finishes in the background, result dropped.
 */
function callAbortably<T>(call: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortedError(signal));
  const nativeAbort = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      nativeAbort.abort(signal.reason);
      reject(abortedError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => signal.removeEventListener('abort', onAbort);
    let work: Promise<T>;
    try {
      work = call(nativeAbort.signal);
    } catch (error) {
      settle();
      reject(error);
      return;
    }
    work.then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}

/** The binding rejects an image without text instead of answering an empty result. */
function isNoTextError(error: unknown): boolean {
  return error instanceof Error && /no text recogni[sz]ed/i.test(error.message);
}

async function readImageSizeWithSharp(image: EngineImage): Promise<ImageSize> {
  try {
    const metadata = await sharp(image.bytes).metadata();
    // Vision reads EXIF orientation, so boxes refer to the upright image.
    const upright = metadata.autoOrient ?? metadata;
    if (!upright.width || !upright.height) throw new Error('no dimensions');
    return { width: upright.width, height: upright.height };
  } catch (error) {
    throw new EngineError('permanent', `The image cannot be decoded (${error instanceof Error ? error.message : String(error)}).`, { cause: error });
  }
}

async function toVisionInput(image: EngineImage): Promise<EngineImage> {
  if (VISION_MIMES.has(image.mime)) return image;
  try {
    const { data, info } = await sharp(image.bytes).autoOrient().png().toBuffer({ resolveWithObject: true });
    return { bytes: data, mime: 'image/png', width: info.width, height: info.height };
  } catch (error) {
    throw new EngineError('permanent', `The image (${image.mime}) cannot be decoded for Apple Vision.`, { cause: error });
  }
}

export interface AppleVisionOptions {
  /** The native module as a state; defaults to the real one, loaded once. Tests inject recorded shapes. */
  loadModule?: () => Promise<AppleVisionModuleState>;
  /** Pixel size of an image that arrives without one; defaults to sharp's metadata. */
  readImageSize?: (image: EngineImage) => Promise<ImageSize>;
  /** Native call slots; defaults to the one limiter of the process. */
  nativeSlots?: Semaphore;
}

export function createAppleVisionEngine(lane: LaneConfig, _deps: EngineDeps = {}, options: AppleVisionOptions = {}): Engine {
  const settings = parseAppleVisionSettings(lane.settings, lane.id);
  const loadModule = options.loadModule ?? loadDefaultAppleVisionModule;
  const readImageSize = options.readImageSize ?? readImageSizeWithSharp;
  const slots = options.nativeSlots ?? nativeSlots;
  const model = `apple-vision:${settings.accuracy}`;

  async function availability(): Promise<EngineAvailability> {
    const state = await loadModule();
    return state.type === 'available' ? { type: 'available' } : state;
  }

  async function recognize(image: EngineImage, signal: AbortSignal): Promise<RecognizeResult> {
    if (signal.aborted) throw abortedError(signal);
    const startedAt = performance.now();
    const state = await loadModule();
    if (state.type === 'unavailable') throw new EngineError('config', state.reason);
    const input = await toVisionInput(image);
    if (signal.aborted) throw abortedError(signal);

    const native = state.module;
    const accuracy = settings.accuracy === 'fast' ? (native.OcrAccuracy?.Fast ?? 0) : (native.OcrAccuracy?.Accurate ?? 1);
    const recognizeStartedAt = performance.now();
    let raw: unknown;
    try {
      raw = await callAbortably(
        (nativeSignal) => slots.run(() => native.recognize(input.bytes, accuracy, [...settings.languages], nativeSignal), nativeSignal),
        signal,
      );
    } catch (error) {
      if (error instanceof EngineError) throw error;
      if (signal.aborted) throw abortedError(signal);
      if (!isNoTextError(error)) {
        const message = error instanceof Error ? error.message : String(error);
        throw new EngineError('transient', `Apple Vision failed: ${message}`, { cause: error });
      }
      raw = { text: '', confidence: 0, lines: [] } satisfies NativeOcrResult;
    }
    const recognizeMs = performance.now() - recognizeStartedAt;

    const parsed = NativeOcrResult.safeParse(raw);
    if (!parsed.success) {
      // A shape we do not know means a binding version we do not support: every ad would fail the same way.
      throw new EngineError('config', `${NATIVE_PACKAGE} answered an unexpected shape: ${z.prettifyError(parsed.error)}`);
    }
    const lines = parsed.data.lines ?? [];
    let blocks: TextBlock[] = [];
    if (lines.length > 0) {
      const size = input.width && input.height ? { width: input.width, height: input.height } : await readImageSize(input);
      blocks = linesToBlocks(lines, size);
    }
    return {
      text: resultText(parsed.data, blocks),
      blocks,
      model,
      timings: { recognize: recognizeMs, total: performance.now() - startedAt },
    };
  }

  return {
    kind: 'apple-vision',
    label: lane.label ?? `Apple Vision (${settings.accuracy})`,
    recognize,
    availability,
  };
}
