/**
 * The `deepseek` engine: HTTP client of the Python OCR service in scripts/deepseek
 * (DeepSeek-OCR on the Mac's GPU, or RapidOCR on CPU). One keep-alive connection pool
 * per lane; every answer is checked with zod; every failure becomes an EngineError whose
 * kind tells the orchestrator what to do (see types.ts).
 */
import { performance } from 'node:perf_hooks';
import { Agent, request, type Dispatcher } from 'undici';
import { z } from 'zod';
import type { LaneConfig, RecognizeResult } from '../../../shared/domain.js';
import { EngineError, type Engine, type EngineAvailability, type EngineDeps, type EngineImage } from './types.js';
import { errorMessageFromBody, networkError, parseRetryAfter } from './lib/http-errors.js';
import { toAcceptedFormat } from './lib/image-format.js';
import { parseLaneSettings, setting } from './lib/lane-settings.js';
import { BodyTooLargeError, MAX_ERROR_BODY_BYTES, MAX_JSON_BODY_BYTES, formatMegabytes, readBoundedText, readErrorText } from './lib/bounded-body.js';

export const DEFAULT_DEEPSEEK_URL = 'http://127.0.0.1:8001';
export const DEEPSEEK_MODES = ['tiny', 'small', 'base', 'large', 'gundam'] as const;
export const DEEPSEEK_TASKS = ['ocr', 'free', 'describe'] as const;
/** Formats the service decodes (Pillow); others are converted to PNG first. */
const SERVICE_IMAGE_FORMATS = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp', 'image/tiff'] as const;
/** Read in the window, a terminal and an API answer alike: it names both ways to start the service. */
const START_HINT = 'Start it with Start on the Services screen, or `parallel-vision services start deepseek`.';
/** Waiting in the service's queue plus inference; DeepSeek on MPS takes 3-5 s per ad, the queue holds 8. */
const DEFAULT_RESPONSE_TIMEOUT_MS = 120_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
/** An availability check asks /health this often before a transient failure (a timeout) makes the lane unavailable. */
const HEALTH_CHECK_ATTEMPTS = 3;
const DEFAULT_OVERLOAD_RETRY_MS = 1_000;

export const DeepSeekSettings = z.object({
  mode: setting.oneOf(DEEPSEEK_MODES).optional(),
  task: setting.oneOf(DEEPSEEK_TASKS).optional(),
  /** Longest wait for the answer's headers (queue + inference), ms. */
  timeoutMs: setting.integerIn(100, 30 * 60_000).optional(),
  connectTimeoutMs: setting.integerIn(50, 60_000).optional(),
});
export type DeepSeekSettings = z.infer<typeof DeepSeekSettings>;

export const DeepSeekHealth = z.object({
  status: z.enum(['loading', 'ready', 'error']),
  message: z.string().nullable(),
  backend: z.string(),
  device: z.string(),
  model: z.string(),
  queue_depth: z.number().int().min(0),
  queue_capacity: z.number().int().min(1),
  version: z.string(),
  uptime_s: z.number().optional(),
});
export type DeepSeekHealth = z.infer<typeof DeepSeekHealth>;

const PixelBox = z.tuple([z.number(), z.number(), z.number(), z.number()]);
export const DeepSeekOcrResponse = z.object({
  text: z.string(),
  blocks: z.array(z.object({ text: z.string(), box: PixelBox, confidence: z.number().min(0).max(1).nullish() })),
  description: z.string().nullish(),
  model: z.string(),
  device: z.string(),
  backend: z.string(),
  mode: z.string().optional(),
  task: z.string().optional(),
  timings: z.record(z.string(), z.number()),
});
export type DeepSeekOcrResponse = z.infer<typeof DeepSeekOcrResponse>;

const ServiceError = z.object({ kind: z.string(), detail: z.string() });

function trimBase(url: string): string {
  return url.replace(/\/+$/, '');
}

function describeServer(baseUrl: string): string {
  return `the DeepSeek service at ${trimBase(baseUrl)}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function shorten(text: string, max = 120): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/**
 * GET /health, validated. Throws EngineError: `unavailable` when nothing listens,
 * `transient` on a timeout or an answer that is not the service's health body.
 */
export async function deepseekHealth(baseUrl: string, signal?: AbortSignal, dispatcher?: Dispatcher): Promise<DeepSeekHealth> {
  const server = describeServer(baseUrl);
  const timeout = AbortSignal.timeout(3_000);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let text: string;
  let status: number;
  try {
    const response = await request(`${trimBase(baseUrl)}/health`, {
      method: 'GET',
      signal: combined,
      dispatcher,
      headers: { accept: 'application/json' },
      headersTimeout: 3_000,
      bodyTimeout: 3_000,
    });
    status = response.statusCode;
    // A health body is a few hundred bytes: read only the start of anything else.
    text = await readErrorText(response.body, MAX_ERROR_BODY_BYTES);
  } catch (error) {
    if (!signal?.aborted && timeout.aborted) throw new EngineError('transient', `${server} did not answer /health within 3 s.`, { cause: error });
    throw networkError(error, server, signal, START_HINT);
  }
  const parsed = DeepSeekHealth.safeParse(parseJson(text));
  if (status !== 200 || !parsed.success) {
    throw new EngineError('transient', `${server} answered /health with HTTP ${status} and not the service's health body: ${shorten(text)}`, { status });
  }
  return parsed.data;
}

/** The lane's settings, validated; an invalid value is a `config` error naming it (lib/lane-settings.ts). */
export function parseDeepSeekSettings(settings: LaneConfig['settings'], laneId = 'deepseek'): DeepSeekSettings {
  return parseLaneSettings(laneId, settings, DeepSeekSettings);
}

/** What an HTTP error status from /ocr means for the orchestrator. */
export function errorForStatus(status: number, body: string, headers: Record<string, string | string[] | undefined>, server: string): EngineError {
  const parsed = ServiceError.safeParse(parseJson(body));
  const kind = parsed.success ? parsed.data.kind : undefined;
  const detail = parsed.success ? parsed.data.detail : errorMessageFromBody(body);
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  if (status === 429 || (status === 503 && kind !== 'backend-error')) {
    const why = status === 429 ? 'is busy (queue full)' : kind === 'loading' ? 'is still loading its model' : 'is unavailable for now';
    return new EngineError('overloaded', `${server} ${why}: ${detail}`, { status, retryAfterMs: retryAfterMs ?? DEFAULT_OVERLOAD_RETRY_MS });
  }
  if (status === 503) return new EngineError('config', `${server} could not load its model: ${detail}`, { status });
  if (status === 422 || status === 413 || status === 415) return new EngineError('permanent', `${server} rejected the image: ${detail}`, { status });
  if (status >= 500) return new EngineError('transient', `${server} failed (HTTP ${status}): ${detail}`, { status });
  // 400 (bad mode/task for this backend), 404 (not our service at that address), other 4xx.
  return new EngineError('config', `${server} refused the request (HTTP ${status}): ${detail}`, { status });
}

function toResult(body: DeepSeekOcrResponse, totalMs: number): RecognizeResult {
  const result: RecognizeResult = {
    text: body.text,
    blocks: body.blocks.map((block) => ({
      text: block.text,
      box: block.box,
      ...(block.confidence === null || block.confidence === undefined ? {} : { confidence: block.confidence }),
    })),
    model: body.model,
    timings: { ...body.timings, total_ms: totalMs },
  };
  if (body.description) result.description = body.description;
  // The service built an engine (or loaded weights) for this request: its time is not the service's speed.
  if ((body.timings.load_ms ?? 0) > 0) result.coldStart = true;
  return result;
}

export interface DeepSeekEngine extends Engine {
  readonly baseUrl: string;
  health(signal?: AbortSignal): Promise<DeepSeekHealth>;
}

export function createDeepSeekEngine(lane: LaneConfig, _deps: EngineDeps = {}): DeepSeekEngine {
  const settings = parseDeepSeekSettings(lane.settings, lane.id);
  const baseUrl = trimBase(lane.endpoint ?? DEFAULT_DEEPSEEK_URL);
  let host: string;
  try {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`);
    host = url.host;
  } catch (error) {
    throw new EngineError('config', `DeepSeek lane endpoint ${JSON.stringify(baseUrl)} is not an http(s) URL.`, { cause: error });
  }
  const server = describeServer(baseUrl);
  const responseTimeout = settings.timeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
  // Keep-alive pool sized to the lane: one connection per worker plus one for health checks.
  const agent = new Agent({
    connections: lane.workers + 1,
    keepAliveTimeout: 30_000,
    connect: { timeout: settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS },
    headersTimeout: responseTimeout,
    bodyTimeout: 30_000,
  });
  const query = new URLSearchParams();
  if (settings.mode) query.set('mode', settings.mode);
  if (settings.task) query.set('task', settings.task);
  const ocrUrl = `${baseUrl}/ocr${query.size > 0 ? `?${query.toString()}` : ''}`;

  async function recognize(image: EngineImage, signal: AbortSignal): Promise<RecognizeResult> {
    if (signal.aborted) throw new EngineError('aborted', 'cancelled', { cause: signal.reason });
    const upload = await toAcceptedFormat(image, SERVICE_IMAGE_FORMATS);
    const started = performance.now();
    let status: number;
    let text: string;
    let headers: Record<string, string | string[] | undefined>;
    try {
      const response = await request(ocrUrl, {
        method: 'POST',
        dispatcher: agent,
        signal,
        headers: { 'content-type': upload.mime, accept: 'application/json' },
        body: upload.bytes,
      });
      status = response.statusCode;
      headers = response.headers;
      text = status === 200 ? await readBoundedText(response.body, MAX_JSON_BODY_BYTES) : await readErrorText(response.body);
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw new EngineError('transient', `${server} answered more than ${formatMegabytes(error.maxBytes)} for one image.`, { cause: error });
      throw networkError(error, server, signal, START_HINT);
    }
    if (status !== 200) throw errorForStatus(status, text, headers, server);
    const json = parseJson(text);
    if (json === undefined) throw new EngineError('transient', `${server} answered something that is not JSON: ${shorten(text)}`, { status });
    const parsed = DeepSeekOcrResponse.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
      throw new EngineError('transient', `${server} answered in an unexpected shape (${problems}).`, { status });
    }
    return toResult(parsed.data, Math.round(performance.now() - started));
  }

  async function availability(): Promise<EngineAvailability> {
    for (let attempt = 1; ; attempt++) {
      try {
        const health = await deepseekHealth(baseUrl, undefined, agent);
        if (health.status === 'ready') return { type: 'available', device: health.device };
        if (health.status === 'loading') return { type: 'unavailable', reason: `${server} is loading ${health.model}.` };
        return { type: 'unavailable', reason: `${server} could not load ${health.model}: ${health.message ?? 'unknown error'}` };
      } catch (error) {
        // One missed 3 s /health is not an absent service: on a loaded machine, while another lane's workers load
        // their models, it left a running service out of 2 of 3 bench:pipeline runs. The lane builder bounds the wait.
        if (error instanceof EngineError && error.kind === 'transient' && attempt < HEALTH_CHECK_ATTEMPTS) continue;
        return { type: 'unavailable', reason: error instanceof Error ? error.message : String(error) };
      }
    }
  }

  return {
    kind: 'deepseek',
    label: lane.label ?? `DeepSeek-OCR (${host})`,
    baseUrl,
    recognize,
    availability,
    health: (signal) => deepseekHealth(baseUrl, signal, agent),
    close: () => agent.close(),
  };
}
