/**
 * Embedded engine: PaddleOCR (PP-OCRv4 ONNX models from npm) in a pool of worker
 * threads, so it works with nothing installed and never blocks the main process. Each
 * worker loads the models once and handles one image at a time; the pool size is the
 * lane's concurrency, up to its workers (engines/concurrency.ts decides what a machine can afford).
 */
import path from 'node:path';
import { z } from 'zod';
import type { LaneConfig, TextBlock } from '../../../shared/domain.js';
import type { EngineDeps } from './create.js';
import type { Engine, EngineAvailability, EngineImage, RecognizeResult } from './types.js';
import { EngineError } from './types.js';
import { WorkerPool } from './lib/worker-pool.js';
import { embeddedWorkerFits } from './concurrency.js';
import { DEFAULT_DECODE_OPTIONS, decodeCtcLine, dictionaryFromText, readingOrderText, type DecodeOptions } from './lib/ocr-decode.js';

export const EMBEDDED_MODEL = 'PP-OCRv4 (ONNX)';

const MAX_RESTARTS_IN_WINDOW = 5;
const RESTART_WINDOW_MS = 60_000;

/** Tuning of the pipeline; defaults measured on the ICDAR 2013 born-digital ads. */
export interface EmbeddedOptions {
  /** Upscale images whose shorter side is below this before detection (0 = never). */
  minSide: number;
  /** Downscale images whose longer side is above this. */
  maxSide: number;
  /** Detection probability threshold. */
  threshold: number;
  /**
   * Images whose shorter side is below this are also read at twice the size and the
   * reading with more confident text is kept (0 = never). 200 measured best on the
   * ICDAR 2013 born-digital ads (word F1 0.857 → 0.866, better on both the odd and the
   * even half of the images; 180–240 within 0.001).
   */
  secondPassBelow: number;
  /** Feed the recognizer [0, 1] pixels instead of PaddleOCR's [-1, 1] (measured better with these models). */
  recUnitRange: boolean;
  /**
   * Lines whose mean character probability is below this are dropped as noise. 0.7
   * measured on the ICDAR 2013 born-digital ads: word F1 0.866 → 0.872 (both halves
   * better) with the same recall (0.870; 0.8 and above start losing real words).
   */
  minConfidence: number;
  decode: DecodeOptions;
}

export const DEFAULT_EMBEDDED_OPTIONS: EmbeddedOptions = {
  minSide: 0,
  maxSide: 1600,
  threshold: 0.3,
  secondPassBelow: 200,
  recUnitRange: true,
  minConfidence: 0.7,
  decode: DEFAULT_DECODE_OPTIONS,
};

const WorkerLine = z.object({
  box: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  indices: z.instanceof(Int32Array),
  probs: z.instanceof(Float32Array),
  ink: z.instanceof(Uint8Array),
  space: z.instanceof(Float32Array).optional(),
});
const WorkerResult = z.object({
  width: z.number(),
  height: z.number(),
  lines: z.array(WorkerLine),
  timings: z.record(z.string(), z.number()),
});
type WorkerResult = z.infer<typeof WorkerResult>;
/** What a ready worker says about its models. */
const WorkerReady = z.object({ dictionaryText: z.string() });

/**
 * Where the worker script is: next to this module in the sources (vitest, tsx); next to
 * the bundle when built (the build copies embedded-worker.mjs and embedded-ocr-runner.mjs
 * beside it); or wherever PARALLEL_VISION_EMBEDDED_WORKER says.
 */
export function embeddedWorkerPath(): string | URL {
  const override = process.env.PARALLEL_VISION_EMBEDDED_WORKER;
  if (override) return override;
  const moduleUrl = typeof import.meta === 'object' && import.meta ? import.meta.url : undefined;
  if (moduleUrl) return new URL('./embedded-worker.mjs', moduleUrl);
  return path.join(__dirname, 'embedded-worker.mjs');
}

/** The options each job sends to the worker (embedded-worker.mjs → embedded-ocr-runner.mjs). */
function workerJobOptions(options: EmbeddedOptions): Record<string, unknown> {
  return { minSide: options.minSide, maxSide: options.maxSide, threshold: options.threshold, secondPassBelow: options.secondPassBelow, minLineConfidence: options.minConfidence, recUnitRange: options.recUnitRange };
}

function numberSetting(lane: LaneConfig, key: string): number | undefined {
  const value = lane.settings?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Turns the workers' raw output into blocks (boxes in image pixels) and reading-order text. */
export function toRecognizeResult(raw: WorkerResult, dictionary: readonly string[], options: EmbeddedOptions): Omit<RecognizeResult, 'timings'> & { timings: Record<string, number> } {
  const blocks: TextBlock[] = [];
  for (const line of raw.lines) {
    const decoded = decodeCtcLine(line, dictionary, options.decode);
    if (decoded.text === '' || decoded.confidence < options.minConfidence) continue;
    blocks.push({ text: decoded.text, box: line.box, confidence: Math.min(1, Math.max(0, decoded.confidence)) });
  }
  const text = readingOrderText(blocks);
  return { text, blocks, model: EMBEDDED_MODEL, timings: { ...raw.timings } };
}

/**
 * Lane settings (numbers): `minSide`, `maxSide`, `threshold`, `secondPassBelow`, `minConfidence` override
 * DEFAULT_EMBEDDED_OPTIONS.
 */
export function createEmbeddedEngine(lane: LaneConfig, _deps: EngineDeps = {}): Engine {
  const options: EmbeddedOptions = {
    ...DEFAULT_EMBEDDED_OPTIONS,
    minSide: numberSetting(lane, 'minSide') ?? DEFAULT_EMBEDDED_OPTIONS.minSide,
    secondPassBelow: numberSetting(lane, 'secondPassBelow') ?? DEFAULT_EMBEDDED_OPTIONS.secondPassBelow,
    maxSide: numberSetting(lane, 'maxSide') ?? DEFAULT_EMBEDDED_OPTIONS.maxSide,
    threshold: numberSetting(lane, 'threshold') ?? DEFAULT_EMBEDDED_OPTIONS.threshold,
    minConfidence: numberSetting(lane, 'minConfidence') ?? DEFAULT_EMBEDDED_OPTIONS.minConfidence,
  };
  const pool = new WorkerPool<WorkerResult>({
    name: 'embedded OCR',
    script: embeddedWorkerPath(),
    workerData: { threads: 1 },
    size: Math.max(1, lane.workers),
    maxWorkers: Math.max(1, lane.workers),
    parseResult: (raw) => WorkerResult.parse(raw),
    jobOptions: workerJobOptions(options),
    restartBudget: { crashes: MAX_RESTARTS_IN_WINDOW, windowMs: RESTART_WINDOW_MS },
    canAddWorker: () => embeddedWorkerFits(),
  });
  let dictionary: string[] | null = null;
  const dictionaryOf = (): string[] => (dictionary ??= dictionaryFromText(WorkerReady.parse(pool.readyInfo).dictionaryText));

  async function recognize(image: EngineImage, signal: AbortSignal): Promise<RecognizeResult> {
    if (signal.aborted) throw new EngineError('aborted', 'cancelled');
    const started = performance.now();
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new EngineError('aborted', 'cancelled'));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => {});
    let jobId: number | undefined;
    try {
      await Promise.race([pool.ready(), aborted]);
      const readyMs = performance.now() - started;
      const job = pool.run(image.bytes);
      jobId = job.id;
      job.result.catch(() => {});
      const raw = await Promise.race([job.result, aborted]);
      const result = toRecognizeResult(raw, dictionaryOf(), options);
      return { ...result, timings: { ...result.timings, ready_ms: readyMs, total_ms: performance.now() - started } };
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted && jobId !== undefined) pool.cancel(jobId);
    }
  }

  async function availability(): Promise<EngineAvailability> {
    try {
      await pool.ready();
      return { type: 'available' };
    } catch (error) {
      return { type: 'unavailable', reason: error instanceof Error ? error.message : String(error) };
    }
  }

  return {
    kind: 'embedded',
    label: lane.label ?? 'Embedded OCR',
    recognize,
    availability,
    setConcurrency: (n) => pool.setConcurrency(n),
    close: () => pool.close(),
  };
}
