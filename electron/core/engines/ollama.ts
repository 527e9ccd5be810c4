/**
 * Ollama engine: any Ollama vision model (LLaVA by default) through `ollama serve`'s
 * HTTP API, plus the model management the UI needs (list, vision check, pull).
 *
 * Chat answers stream as NDJSON so that aborting a run stops a 60-second LLaVA answer
 * at once; `keep_alive` keeps the model loaded between the ads of a run.
 */
import { request } from 'undici';
import { z } from 'zod';
import type { LaneConfig } from '../../../shared/domain.js';
import type { Engine, EngineAvailability, EngineDeps, EngineImage, RecognizeResult } from './types.js';
import { EngineError } from './types.js';
import { errorMessageFromBody, networkError, parseRetryAfter } from './lib/http-errors.js';
import { imageSize, toAcceptedFormat } from './lib/image-format.js';
import { LineTooLongError } from '../lib/lines.js';
import { NdjsonParseError, readNdjson } from './lib/ndjson.js';
import { AD_ANSWER_SCHEMA, PromptSettings, promptPresetFor, readPresetAnswer } from './lib/vision-prompt.js';
import { parseLaneSettings, setting } from './lib/lane-settings.js';
import { BodyTooLargeError, MAX_JSON_BODY_BYTES, MAX_STREAM_BODY_BYTES, formatMegabytes, limitBytes, readBoundedText, readErrorText } from './lib/bounded-body.js';
import { GenerationLimitSettings, GenerationWatch, generationLimits } from './lib/generation-limits.js';

export const DEFAULT_OLLAMA_URL = 'http://127.0.0.1:11434';
export const DEFAULT_OLLAMA_MODEL = 'llava';
const DEFAULT_KEEP_ALIVE = '30m';
/** Loading a large model into memory before the first token can take minutes. */
const DEFAULT_FIRST_TOKEN_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_BETWEEN_TOKENS_TIMEOUT_MS = 2 * 60_000;
const DEFAULT_BUSY_RETRY_MS = 2_000;
/** Per ad, from the request to the last token: the first token's wait plus a long answer. */
const DEFAULT_AD_TIMEOUT_MS = 15 * 60_000;
const OLLAMA_IMAGE_FORMATS = ['image/png', 'image/jpeg'] as const;

const START_HINT = 'Start it with `ollama serve` (or open Ollama.app).';

const ChatChunk = z.object({
  model: z.string().optional(),
  message: z.object({ content: z.string().optional() }).optional(),
  done: z.boolean().optional(),
  done_reason: z.string().optional(),
  error: z.string().optional(),
  total_duration: z.number().optional(),
  load_duration: z.number().optional(),
  prompt_eval_count: z.number().optional(),
  prompt_eval_duration: z.number().optional(),
  eval_count: z.number().optional(),
  eval_duration: z.number().optional(),
});

const TagsResponse = z.object({
  models: z.array(
    z.object({
      name: z.string(),
      model: z.string().optional(),
      size: z.number().optional(),
      modified_at: z.string().optional(),
      details: z.object({ family: z.string().optional(), families: z.array(z.string()).nullish(), parameter_size: z.string().optional() }).partial().optional(),
    }),
  ),
});

const ShowResponse = z.object({
  capabilities: z.array(z.string()).optional(),
  details: z.object({ families: z.array(z.string()).nullish() }).partial().optional(),
  model_info: z.record(z.string(), z.unknown()).optional(),
  projector_info: z.record(z.string(), z.unknown()).optional(),
});

const PullChunk = z.object({
  status: z.string().optional(),
  digest: z.string().optional(),
  total: z.number().optional(),
  completed: z.number().optional(),
  error: z.string().optional(),
});

export interface OllamaModel {
  name: string;
  sizeBytes: number | null;
  modifiedAt: string | null;
  family: string | null;
  parameterSize: string | null;
}

export interface OllamaPullProgress {
  status: string;
  digest?: string;
  completedBytes?: number;
  totalBytes?: number;
  /** 0..1 for the layer being downloaded, null while there is nothing to measure. */
  fraction: number | null;
}

function trimBase(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '');
}

function serverName(baseUrl: string): string {
  return `Ollama at ${trimBase(baseUrl)}`;
}

function withTag(model: string): string {
  return model.includes(':') ? model : `${model}:latest`;
}

/** Maps an Ollama error status and message to what the orchestrator and the user need. */
export function ollamaHttpError(status: number, message: string, model: string | undefined, retryAfterMs?: number): EngineError {
  const options = { status };
  if (status === 404 && model) {
    return new EngineError('config', `Model "${model}" is not installed in Ollama. Download it (ollama pull ${model}). Ollama said: ${message}`, options);
  }
  if (status === 400 && model && /image|vision|multimodal/i.test(message) && !/base64/i.test(message)) {
    return new EngineError('config', `Model "${model}" cannot read images (it has no vision capability). Choose a vision model such as llava. Ollama said: ${message}`, options);
  }
  if (status === 429 || status === 503) {
    return new EngineError('overloaded', `Ollama is busy (${status}): ${message}`, { ...options, retryAfterMs: retryAfterMs ?? DEFAULT_BUSY_RETRY_MS });
  }
  if (status === 401 || status === 403) return new EngineError('config', `Ollama refused access (${status}): ${message}`, options);
  if (status >= 500) return new EngineError('transient', `Ollama failed (${status}): ${message}`, options);
  return new EngineError('permanent', `Ollama rejected the request (${status}): ${message}`, options);
}

interface OllamaCall {
  method: 'GET' | 'POST';
  body?: unknown;
  signal?: AbortSignal;
  model?: string;
  headersTimeout?: number;
  bodyTimeout?: number;
}

/** One request to Ollama; a non-2xx status becomes an EngineError. Returns the open response. */
async function callOllama(baseUrl: string, path: string, call: OllamaCall) {
  let response;
  try {
    response = await request(`${trimBase(baseUrl)}${path}`, {
      method: call.method,
      headers: call.body === undefined ? {} : { 'content-type': 'application/json' },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal: call.signal,
      headersTimeout: call.headersTimeout ?? 15_000,
      bodyTimeout: call.bodyTimeout ?? 30_000,
    });
  } catch (error) {
    throw networkError(error, serverName(baseUrl), call.signal, START_HINT);
  }
  if (response.statusCode >= 200 && response.statusCode < 300) {
    // undici does not always notice an abort that happens between two body chunks.
    const body = response.body;
    const stop = () => body.destroy(new EngineError('aborted', 'cancelled'));
    call.signal?.addEventListener('abort', stop, { once: true });
    body.once('close', () => call.signal?.removeEventListener('abort', stop));
    return response;
  }
  let text = '';
  try {
    text = await readErrorText(response.body);
  } catch (error) {
    throw networkError(error, serverName(baseUrl), call.signal);
  }
  throw ollamaHttpError(response.statusCode, errorMessageFromBody(text), call.model, parseRetryAfter(response.headers['retry-after']));
}

async function readJson<T>(baseUrl: string, response: Awaited<ReturnType<typeof callOllama>>, schema: z.ZodType<T>, signal?: AbortSignal): Promise<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readBoundedText(response.body, MAX_JSON_BODY_BYTES)) as unknown;
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new EngineError('unavailable', `${serverName(baseUrl)} answered more than ${formatMegabytes(error.maxBytes)}: is another program using its port?`, { cause: error });
    const wrapped = networkError(error, serverName(baseUrl), signal);
    if (wrapped.kind === 'aborted' || /dropped|in time/.test(wrapped.message)) throw wrapped;
    throw new EngineError('unavailable', `${serverName(baseUrl)} answered something that is not JSON: is another program using its port?`, { cause: error });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new EngineError('unavailable', `${serverName(baseUrl)} answered an unexpected shape: ${parsed.error.message.slice(0, 200)}`);
  return parsed.data;
}

export async function ollamaVersion(baseUrl: string = DEFAULT_OLLAMA_URL, signal?: AbortSignal): Promise<string> {
  const response = await callOllama(baseUrl, '/api/version', { method: 'GET', signal, headersTimeout: 3_000, bodyTimeout: 3_000 });
  return (await readJson(baseUrl, response, z.object({ version: z.string() }), signal)).version;
}

/** The models installed in Ollama (`/api/tags`). */
export async function listOllamaModels(baseUrl: string = DEFAULT_OLLAMA_URL, signal?: AbortSignal): Promise<OllamaModel[]> {
  const response = await callOllama(baseUrl, '/api/tags', { method: 'GET', signal });
  const tags = await readJson(baseUrl, response, TagsResponse, signal);
  return tags.models.map((m) => ({
    name: m.name,
    sizeBytes: m.size ?? null,
    modifiedAt: m.modified_at ?? null,
    family: m.details?.family ?? null,
    parameterSize: m.details?.parameter_size ?? null,
  }));
}

/**
 * Whether the installed model can read images (`/api/show`: the "vision" capability;
 * older Ollama versions without capabilities: a CLIP projector). A model that is not
 * installed throws an EngineError of kind `config` telling what to pull.
 */
export async function ollamaModelHasVision(baseUrl: string, model: string, signal?: AbortSignal): Promise<boolean> {
  const response = await callOllama(baseUrl, '/api/show', { method: 'POST', body: { model }, model, signal });
  const show = await readJson(baseUrl, response, ShowResponse, signal);
  if (show.capabilities) return show.capabilities.includes('vision');
  if (show.projector_info && Object.keys(show.projector_info).length > 0) return true;
  return (show.details?.families ?? []).includes('clip') || Object.keys(show.model_info ?? {}).some((key) => key.includes('vision'));
}

/**
 * Downloads a model (`/api/pull`), reporting progress as Ollama streams it. Resolves when
 * Ollama says "success"; rejects with an EngineError otherwise (unknown model, network,
 * abort). Aborting stops the download (Ollama keeps the layers it finished).
 */
export async function pullOllamaModel(
  baseUrl: string,
  model: string,
  onProgress: (progress: OllamaPullProgress) => void,
  signal?: AbortSignal,
): Promise<void> {
  const response = await callOllama(baseUrl, '/api/pull', {
    method: 'POST',
    body: { model, stream: true },
    model,
    signal,
    headersTimeout: 60_000,
    // Verifying a multi-GB blob can take a while without output.
    bodyTimeout: 10 * 60_000,
  });
  let succeeded = false;
  try {
    for await (const raw of readNdjson(response.body)) {
      const chunk = PullChunk.safeParse(raw);
      if (!chunk.success) continue;
      const { status, error, total, completed, digest } = chunk.data;
      if (error) {
        throw new EngineError(/file does not exist|not found|manifest/i.test(error) ? 'config' : 'transient', `Could not download "${model}": ${error}`);
      }
      if (!status) continue;
      const fraction = total && total > 0 && completed !== undefined ? Math.min(1, completed / total) : status === 'success' ? 1 : null;
      onProgress({
        status,
        fraction,
        ...(digest ? { digest } : {}),
        ...(completed !== undefined ? { completedBytes: completed } : {}),
        ...(total !== undefined ? { totalBytes: total } : {}),
      });
      if (status === 'success') succeeded = true;
    }
  } catch (error) {
    if (error instanceof NdjsonParseError) throw new EngineError('unavailable', `${serverName(baseUrl)} answered the pull with something that is not NDJSON.`, { cause: error });
    throw networkError(error, serverName(baseUrl), signal);
  }
  if (!succeeded) throw new EngineError('transient', `Download of "${model}" ended before Ollama reported success.`);
}




export const OllamaSettings = z.object({
  ...PromptSettings.shape,
  ...GenerationLimitSettings.shape,
  /** An Ollama duration such as `30m`. */
  keepAlive: setting.text().optional(),
  /** Time to the first token, ms. */
  timeoutMs: setting.positiveNumber().optional(),
  numCtx: setting.positiveNumber().optional(),
});

/**
 * Lane settings: `prompt` (string), `structured` (boolean: ask for JSON via `format`),
 * `task` (deepseek-ocr: `ocr` with boxes, `free`, `describe`), `keepAlive` (Ollama
 * duration, default 30m), `timeoutMs` (time to first token), `numPredict` / `maxTokens`
 * (output budget per ad; default per model preset), `adTimeoutMs` (total time per ad),
 * `repetitionGuard` (default on), `numCtx` (context size).
 */
export function createOllamaEngine(lane: LaneConfig, _deps: EngineDeps = {}): Engine {
  const baseUrl = trimBase(lane.endpoint ?? DEFAULT_OLLAMA_URL);
  const model = lane.model ?? DEFAULT_OLLAMA_MODEL;
  const settings = parseLaneSettings(lane.id, lane.settings, OllamaSettings);
  const preset = promptPresetFor(model, settings);
  const keepAlive = settings.keepAlive ?? DEFAULT_KEEP_ALIVE;
  const firstTokenTimeout = settings.timeoutMs ?? DEFAULT_FIRST_TOKEN_TIMEOUT_MS;
  const limits = generationLimits(settings, preset, DEFAULT_AD_TIMEOUT_MS);
  const numCtx = settings.numCtx;
  const server = serverName(baseUrl);

  async function recognize(image: EngineImage, signal: AbortSignal): Promise<RecognizeResult> {
    if (signal.aborted) throw new EngineError('aborted', 'cancelled');
    const started = performance.now();
    const prepared = await toAcceptedFormat(image, OLLAMA_IMAGE_FORMATS);
    const body = {
      model,
      stream: true,
      keep_alive: keepAlive,
      ...(preset.structured ? { format: AD_ANSWER_SCHEMA } : {}),
      options: { temperature: 0, num_predict: limits.maxTokens, ...(numCtx ? { num_ctx: numCtx } : {}) },
      messages: [{ role: 'user', content: preset.prompt, images: [Buffer.from(prepared.bytes).toString('base64')] }],
    };
    const watch = new GenerationWatch(limits, signal);
    let final: z.infer<typeof ChatChunk> | undefined;
    let firstByteMs = 0;
    let lines = 0;
    try {
      const response = await callOllama(baseUrl, '/api/chat', {
        method: 'POST',
        body,
        model,
        signal: watch.signal,
        headersTimeout: firstTokenTimeout,
        bodyTimeout: Math.max(DEFAULT_BETWEEN_TOKENS_TIMEOUT_MS, Math.min(firstTokenTimeout, 10 * 60_000)),
      });
      firstByteMs = performance.now() - started;
      for await (const raw of readNdjson(limitBytes(response.body, MAX_STREAM_BODY_BYTES))) {
        lines += 1;
        const chunk = ChatChunk.safeParse(raw);
        if (!chunk.success) throw new EngineError('transient', `${server} sent an unexpected stream line: ${chunk.error.message.slice(0, 120)}`);
        if (chunk.data.error) throw new EngineError('transient', `Ollama failed mid-answer: ${chunk.data.error}`);
        if (watch.push(chunk.data.message?.content ?? '')) break;
        if (chunk.data.done) {
          final = chunk.data;
          if (final.done_reason === 'length') watch.hitLength();
          break;
        }
      }
    } catch (error) {
      if (signal.aborted) throw new EngineError('aborted', 'cancelled', { cause: error });
      // The time budget closed the connection: what came so far is the (truncated) answer.
      if (watch.stopReason === 'time' && watch.chars > 0) {
        // fall through to the answer below
      } else if (watch.stopReason === 'time') {
        throw new EngineError('transient', `${server} gave no answer within the per-ad time budget of ${Math.round(limits.adTimeoutMs / 1000)} s (setting adTimeoutMs).`, { cause: error });
      } else if (error instanceof NdjsonParseError || error instanceof LineTooLongError) {
        // Garbage from the first line on means the port is not Ollama at all.
        throw new EngineError(lines === 0 ? 'unavailable' : 'transient', `${server} answered something that is not NDJSON (${error.message}). Is another program using its port?`, { cause: error });
      } else if (error instanceof BodyTooLargeError) {
        throw new EngineError('transient', `${server} streamed more than ${formatMegabytes(error.maxBytes)} for one ad without finishing.`, { cause: error });
      } else {
        throw networkError(error, server, signal);
      }
    } finally {
      watch.dispose();
    }
    if (!final && watch.stopReason === null) {
      throw new EngineError('transient', `${server} dropped the connection mid-answer (the stream ended before "done").`);
    }
    const answer = await readPresetAnswer(watch.text(), preset, () => imageSize(image));
    const timings: Record<string, number> = { total_ms: performance.now() - started, first_byte_ms: firstByteMs };
    const reported: Array<[string, number | undefined]> = [
      ['ollama_total_ns', final?.total_duration],
      ['ollama_load_ns', final?.load_duration],
      ['ollama_prompt_eval_ns', final?.prompt_eval_duration],
      ['ollama_eval_ns', final?.eval_duration],
      ['prompt_tokens', final?.prompt_eval_count],
      ['answer_tokens', final?.eval_count],
    ];
    for (const [key, value] of reported) if (value !== undefined) timings[key] = value;
    return {
      text: answer.text,
      blocks: answer.blocks,
      ...(answer.description ? { description: answer.description } : {}),
      model: final?.model ?? model,
      timings,
      ...(watch.stopReason ? { truncated: true } : {}),
    };
  }

  async function availability(): Promise<EngineAvailability> {
    const signal = AbortSignal.timeout(5_000);
    try {
      await ollamaVersion(baseUrl, signal);
      const installed = await listOllamaModels(baseUrl, signal);
      if (!installed.some((m) => m.name === withTag(model) || m.name === model)) {
        return { type: 'unavailable', reason: `Model "${model}" is not installed in Ollama: download it (ollama pull ${model}).` };
      }
      if (!(await ollamaModelHasVision(baseUrl, model, signal))) {
        return { type: 'unavailable', reason: `Model "${model}" has no vision capability: choose a vision model such as llava.` };
      }
      return { type: 'available' };
    } catch (error) {
      return { type: 'unavailable', reason: error instanceof Error ? error.message : String(error) };
    }
  }

  return {
    kind: 'ollama',
    label: lane.label ?? `Ollama ${model} (${baseUrl.replace(/^https?:\/\//, '')})`,
    recognize,
    availability,
  };
}
