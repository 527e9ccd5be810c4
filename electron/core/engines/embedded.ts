/**
 * Embedded engine: PaddleOCR ONNX models in a pool of worker threads, so it works with
 * nothing installed and never blocks the main process. Two models (the lane setting
 * `model`): `accurate`, PP-OCRv6 small (committed under models/), and `fast`, PP-OCRv4
 * mobile (from npm). Each worker loads its models once and handles one image at a time;
 * the pool size is the lane's concurrency, up to its workers (engines/concurrency.ts
 * decides what a machine can afford).
 */
import path from 'node:path';
import { z } from 'zod';
import type { LaneConfig, TextBlock } from '../../../shared/domain.js';
import type { Engine, EngineAvailability, EngineDeps, EngineImage, RecognizeResult } from './types.js';
import { EngineError } from './types.js';
import { WorkerPool } from './lib/worker-pool.js';
import { laneSettingError, parseLaneSettings, setting } from './lib/lane-settings.js';
import { embeddedWorkerFits } from './concurrency.js';
import { DEFAULT_MIN_LINE_CONFIDENCE } from './lib/line-confidence.mjs';
import { DEFAULT_DECODE_OPTIONS, decodeCtcLine, dictionaryFromText, dropLoneScriptOutliers, readingOrderText, type DecodeOptions } from './lib/ocr-decode.js';
import { allowedCharsPattern, DEFAULT_EMBEDDED_MODEL, EMBEDDED_MODEL_CHOICES, EMBEDDED_MODEL_IDS, foldChars, languagesFor, OCR_LANGUAGE_CODES, OCR_LANGUAGES, type EmbeddedModel, type ModelGeneration, type OcrLanguageCode } from '../../../shared/embedded-ocr.js';

const MAX_RESTARTS_IN_WINDOW = 5;
const RESTART_WINDOW_MS = 60_000;

/** Model generations of the detector and the recogniser (see embedded-ocr-runner.mjs). */

/** Tuning of the pipeline; every value chosen on the tuning half of the ads (see scripts/bench-ocr.ts). */
export interface EmbeddedOptions {
  detector: ModelGeneration;
  recognizer: ModelGeneration;
  /** Which characters the recogniser may choose (shared/embedded-ocr.ts). */
  language: OcrLanguageCode;
  /** Upscale images whose shorter side is below this before detection (0 = never). */
  minSide: number;
  /** Downscale images whose longer side is above this. */
  maxSide: number;
  /** Detection probability threshold. */
  threshold: number;
  /**
   * How text boxes are found in the detection map: `lines`, @gutenye/ocr-common's
   * contours cut from the detection-size image; `db`, PaddleOCR's DB post-processing
   * (lib/text-boxes.mjs) cut from the image at its own size.
   */
  boxes: 'lines' | 'db';
  /** `db`: boxes whose mean detection probability is below this are dropped (PaddleOCR: 0.5–0.6). */
  boxThreshold: number;
  /** `db`: how far boxes grow around the detected text, area × ratio / perimeter (PaddleOCR: 1.5–1.6). */
  unclipRatio: number;
  /**
   * Images whose shorter side is below this are also read at twice the size and the
   * reading with more confident text is kept (0 = never).
   */
  secondPassBelow: number;
  /**
   * Feed the recogniser [0, 1] pixels instead of the [-1, 1] PaddleOCR trains with. Only
   * the v4 pipeline's decoder thresholds were tuned on [0, 1]; see DEFAULT_EMBEDDED_OPTIONS.
   */
  recUnitRange: boolean;
  /** Narrowest recognition input: crops are padded to it (PaddleOCR: 320; 0 = never pad). */
  recMinWidth: number;
  /** Line crops per recogniser call, sorted by width and padded to the batch's widest (PaddleOCR: 6). */
  recBatch: number;
  /** At most this many recogniser input columns per call (crops × padded width; 0 = no bound): wide lines go in smaller batches, which bounds a worker's memory. */
  recBatchColumns: number;
  /** How line crops are resized to the recogniser's 48 px (sharp kernel). */
  recKernel: 'lanczos3' | 'cubic';
  /**
   * Upside-down lines. A crop standing upright is turned 90° counter-clockwise, so text
   * that read bottom to top ends up upside down: `cls` runs PaddleOCR's angle classifier on
   * those crops and turns the ones it calls 180° (score > 0.9, its default); `none` reads
   * them as they are.
   */
  orientation: 'none' | 'cls';
  /** Lines whose mean character probability is below this are dropped as noise. */
  minConfidence: number;
  decode: DecodeOptions;
}

/**
 * The lane setting `model`: a named pairing of detector and recogniser with its tuned options.
 * "The tuning halves of both data sets" below: the odd-numbered images of
 * ../shared/testdata/ads and of the ICDAR 2013 images not in it (npm run make:ocr-dataset);
 * the even-numbered ones of each are held out (scripts/bench-ocr.ts).
 */
export const EMBEDDED_MODELS = {
  accurate: {
    name: EMBEDDED_MODEL_CHOICES.accurate.name,
    options: {
      detector: 'v6',
      recognizer: 'v6',
      language: 'auto',
      minSide: 0,
      maxSide: 1600,
      threshold: 0.3,
      boxes: 'db',
      // Below PaddleOCR's 0.5: keeps faint lines (chosen on the tuning half).
      boxThreshold: 0.45,
      unclipRatio: 1.5,
      secondPassBelow: 200,
      recUnitRange: false,
      // PaddleOCR pads to 320 px; unpadded crops read better on the tuning half.
      recMinWidth: 0,
      recBatch: 8,
      // Bounds the memory a batch of wide lines takes (peak RSS); also better on the tuning halves of both data sets.
      recBatchColumns: 2000,
      // Cubic over lanczos3: as good on the tuning half, and better on none worse.
      recKernel: 'cubic',
      // The angle classifier on upright crops (as PaddleOCR): as good on the tuning half (its one
      // bottom-to-top word was already read), and it reads bottom-to-top lines that otherwise come out garbled.
      orientation: 'cls',
      minConfidence: DEFAULT_MIN_LINE_CONFIDENCE,
      // PP-OCRv6 marks most word gaps itself, so a blank ink run needs to be wider to be a space.
      // A lone character must be read with 0.9 (chosen on the tuning half, as the fast model's 0.8).
      // An unsure character at a line's end is a sliver of a neighbouring graphic more often than text;
      // an l among capitals is an I; bars between items are dividers; a lone glyph of a script
      // nothing else in the image uses is a misread logo (each chosen on the tuning half).
      // A ® or ™ after a name is a word of its own (better on the tuning halves of both data sets).
      decode: { ...DEFAULT_DECODE_OPTIONS, restoreCurrency: false, inkSpacePx: 14, minLoneCharConfidence: 0.9, minEdgeCharConfidence: 0.6, capitalLookalikes: true, dropDividers: true, dropLoneScriptOutliers: true, separateMarks: true },
    },
  },
  fast: {
    name: EMBEDDED_MODEL_CHOICES.fast.name,
    options: {
      detector: 'v4',
      recognizer: 'v4',
      language: 'auto',
      minSide: 0,
      maxSide: 1600,
      threshold: 0.3,
      boxes: 'lines',
      boxThreshold: 0.5,
      unclipRatio: 1.5,
      secondPassBelow: 200,
      // [0, 1] reads better than [-1, 1] here only because the rest of this pipeline
      // (spacing, confidence floor) was tuned around it; see the commit measuring it.
      recUnitRange: true,
      recMinWidth: 0,
      // One crop per call: padding crops to a batch's widest reads worse and costs more here.
      recBatch: 1,
      recBatchColumns: 0,
      recKernel: 'lanczos3',
      // Its contour crops are never turned upright, so there is nothing to classify.
      orientation: 'none',
      minConfidence: DEFAULT_MIN_LINE_CONFIDENCE,
      decode: { ...DEFAULT_DECODE_OPTIONS, minLoneCharConfidence: 0.8 },
    },
  },
} as const satisfies Record<EmbeddedModel, { name: string; options: EmbeddedOptions }>;

export const DEFAULT_EMBEDDED_OPTIONS: EmbeddedOptions = EMBEDDED_MODELS[DEFAULT_EMBEDDED_MODEL].options;

const GENERATION_NAMES: Record<ModelGeneration, string> = { v4: EMBEDDED_MODEL_CHOICES.fast.name, v6: EMBEDDED_MODEL_CHOICES.accurate.name };

/** The model name results carry, e.g. `PP-OCRv6 small (ONNX)` or `PP-OCRv4 mobile det + PP-OCRv6 small rec (ONNX)`. */
export function embeddedModelName(options: Pick<EmbeddedOptions, 'detector' | 'recognizer'>): string {
  if (options.detector === options.recognizer) return `${GENERATION_NAMES[options.recognizer]} (ONNX)`;
  return `${GENERATION_NAMES[options.detector]} det + ${GENERATION_NAMES[options.recognizer]} rec (ONNX)`;
}

/** Lane settings of the embedded engine; every key optional. */
export const EmbeddedSettings = z.object({
  model: setting.oneOf(EMBEDDED_MODEL_IDS).optional(),
  /** Mix generations where it measures better (e.g. v4 detection with v6 recognition). */
  detector: setting.oneOf(['v4', 'v6']).optional(),
  recognizer: setting.oneOf(['v4', 'v6']).optional(),
  language: setting.oneOf(OCR_LANGUAGE_CODES).optional(),
  minSide: setting.nonNegativeNumber().optional(),
  maxSide: setting.positiveNumber().optional(),
  threshold: setting.positiveNumber(1).optional(),
  secondPassBelow: setting.nonNegativeNumber().optional(),
  minConfidence: setting.numberIn(0, 1).optional(),
});

/**
 * The lane's settings over its model's tuned options. An invalid value, or a language
 * the chosen recogniser's dictionary does not hold, is a `config` error naming it.
 */
export function parseEmbeddedSettings(settings: LaneConfig['settings'], laneId = 'embedded'): EmbeddedOptions {
  const parsed = parseLaneSettings(laneId, settings, EmbeddedSettings);
  const { model, ...overrides } = parsed;
  const base = EMBEDDED_MODELS[model ?? DEFAULT_EMBEDDED_MODEL].options;
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  const options: EmbeddedOptions = { ...base, ...defined };
  // Options tuned for one recogniser do not carry over to the other.
  if (options.recognizer !== base.recognizer) {
    const other = options.recognizer === 'v6' ? EMBEDDED_MODELS.accurate.options : EMBEDDED_MODELS.fast.options;
    Object.assign(options, { recUnitRange: other.recUnitRange, recMinWidth: other.recMinWidth, recBatch: other.recBatch, recBatchColumns: other.recBatchColumns, recKernel: other.recKernel, decode: other.decode });
  }
  const language: { label: string; recognizers: readonly ModelGeneration[] } = OCR_LANGUAGES[options.language];
  if (!language.recognizers.includes(options.recognizer)) {
    const supported = languagesFor(options.recognizer);
    throw laneSettingError(laneId, 'language', `"${options.language}" (${language.label}) needs the PP-OCRv6 recogniser (model: accurate); ${GENERATION_NAMES[options.recognizer]} reads only ${supported.join(', ')}`);
  }
  return options;
}

/**
 * What a worker thread loads (workerData of embedded-worker.mjs). In the packaged app the
 * models are in Electron's resources folder, which only the main thread is told about.
 */
export function embeddedWorkerData(options: EmbeddedOptions): { threads: number; detector: ModelGeneration; recognizer: ModelGeneration; classifier?: true; resourcesPath?: string } {
  const { resourcesPath } = process as { resourcesPath?: string };
  return { threads: 1, detector: options.detector, recognizer: options.recognizer, ...(options.orientation === 'cls' ? { classifier: true as const } : {}), ...(resourcesPath ? { resourcesPath } : {}) };
}

/** Per-image options of the runner (see RecognizeOptions in embedded-ocr-runner.mjs). */
export function embeddedJobOptions(options: EmbeddedOptions): Record<string, number | boolean | string> {
  const allowedChars = allowedCharsPattern(options.language);
  const folds = foldChars(options.language);
  return {
    minSide: options.minSide,
    maxSide: options.maxSide,
    threshold: options.threshold,
    boxes: options.boxes,
    boxThreshold: options.boxThreshold,
    unclipRatio: options.unclipRatio,
    secondPassBelow: options.secondPassBelow,
    minLineConfidence: options.minConfidence,
    recUnitRange: options.recUnitRange,
    recMinWidth: options.recMinWidth,
    recBatch: options.recBatch,
    recBatchColumns: options.recBatchColumns,
    recKernel: options.recKernel,
    ...(options.orientation !== 'none' ? { orientation: options.orientation } : {}),
    ...(allowedChars ? { allowedChars } : {}),
    ...(folds ? { foldChars: folds } : {}),
  };
}

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
const WorkerReady = z.object({ dictionaryText: z.string(), model: z.string().optional() });

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

/** Turns the workers' raw output into blocks (boxes in image pixels) and reading-order text. */
export function toRecognizeResult(raw: WorkerResult, dictionary: readonly string[], options: EmbeddedOptions): Omit<RecognizeResult, 'timings'> & { timings: Record<string, number> } {
  const blocks: TextBlock[] = [];
  for (const line of raw.lines) {
    const decoded = decodeCtcLine(line, dictionary, options.decode);
    if (decoded.text === '' || decoded.confidence < options.minConfidence) continue;
    blocks.push({ text: decoded.text, box: line.box, confidence: Math.min(1, Math.max(0, decoded.confidence)) });
  }
  const kept = options.decode.dropLoneScriptOutliers ? dropLoneScriptOutliers(blocks) : blocks;
  const text = readingOrderText(kept, options.decode.lineGrouping);
  return { text, blocks: kept, model: embeddedModelName(options), timings: { ...raw.timings } };
}

/**
 * Lane settings (see EmbeddedSettings): `model` (`accurate` | `fast`), `language`
 * (shared/embedded-ocr.ts), `detector`/`recognizer` (`v4` | `v6`, to mix), and the numbers
 * `minSide`, `maxSide`, `threshold`, `secondPassBelow`, `minConfidence` over the model's
 * tuned options.
 */
export function createEmbeddedEngine(lane: LaneConfig, _deps: EngineDeps = {}): Engine {
  const options = parseEmbeddedSettings(lane.settings, lane.id);
  const pool = new WorkerPool<WorkerResult>({
    name: 'embedded OCR',
    script: embeddedWorkerPath(),
    workerData: embeddedWorkerData(options),
    size: Math.max(1, lane.workers),
    maxWorkers: Math.max(1, lane.workers),
    spareWorkers: 1,
    parseResult: (raw) => WorkerResult.parse(raw),
    jobOptions: embeddedJobOptions(options),
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
      return { ...result, timings: { ...result.timings, ready_ms: readyMs, total_ms: performance.now() - started }, ...(job.coldStart ? { coldStart: true } : {}) };
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
    // The model is in the label (also after a label the user gave), so the lane card shows what this lane runs.
    label: `${lane.label ?? 'Embedded OCR'} · ${embeddedModelName(options).replace(' (ONNX)', '')}`,
    recognize,
    availability,
    setConcurrency: (n) => pool.setConcurrency(n),
    close: () => pool.close(),
  };
}
