/**
 * OpenAI-compatible engine: `/v1/chat/completions` with the image as a data URL. One lane
 * per endpoint (vLLM serving DeepSeek-OCR, LM Studio, llama.cpp's server, a hosted API),
 * which is how a big batch spreads over a few GPU servers.
 *
 * Answers are streamed (server-sent events) so the output budget, the time budget and
 * the repetition guard can stop a runaway generation (lib/generation-limits.ts); a
 * server that ignores `stream` and answers one JSON body is read too, bounded.
 *
 * The API key comes from the app's secret store (`deps.getSecret(lane.id)`, backed by
 * Electron safeStorage) or, for the CLI, the PARALLEL_VISION_OPENAI_KEY environment
 * variable. It is never part of an error message, a label or a log line.
 */
import { request } from 'undici';
import { z } from 'zod';
import type { LaneConfig } from '../../../shared/domain.js';
import type { Engine, EngineAvailability, EngineDeps, EngineImage, RecognizeResult } from './types.js';
import { EngineError } from './types.js';
import { errorMessageFromBody, networkError, parseRetryAfter, redactSecrets } from './lib/http-errors.js';
import { imageSize, toAcceptedFormat } from './lib/image-format.js';
import { AD_ANSWER_SCHEMA, PromptSettings, promptPresetFor, readPresetAnswer } from './lib/vision-prompt.js';
import { parseLaneSettings, setting } from './lib/lane-settings.js';
import { BodyTooLargeError, MAX_JSON_BODY_BYTES, MAX_STREAM_BODY_BYTES, formatMegabytes, limitBytes, readBoundedText, readErrorText } from './lib/bounded-body.js';
import { GenerationLimitSettings, GenerationWatch, generationLimits } from './lib/generation-limits.js';
import { LineTooLongError } from '../lib/lines.js';
import { readSseData } from './lib/sse.js';

export const OPENAI_KEY_ENV = 'PARALLEL_VISION_OPENAI_KEY';
const DEFAULT_TIMEOUT_MS = 120_000;
/** Per ad, from the request to the last token. */
const DEFAULT_AD_TIMEOUT_MS = 10 * 60_000;
/**
 * vLLM's DeepSeek-OCR recipe: its n-gram logits processor (started with
 * `--logits_processors …NGramPerReqLogitsProcessor`) blocks a 30-gram repeated within
 * 90 tokens, except the table cell tokens <td> and </td>.
 */
export const VLLM_DEEPSEEK_OCR_XARGS = { ngram_size: 30, window_size: 90, whitelist_token_ids: [128821, 128822] } as const;
const DEFAULT_RATE_LIMIT_RETRY_MS = 5_000;
const ACCEPTED_FORMATS = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'] as const;

const ChatCompletion = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.union([z.string(), z.null(), z.array(z.object({ type: z.string(), text: z.string().optional() }))]).optional(),
        }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: z.object({ prompt_tokens: z.number().optional(), completion_tokens: z.number().optional() }).nullish(),
});

const ChatChunk = z.object({
  model: z.string().optional(),
  choices: z
    .array(z.object({ delta: z.object({ content: z.string().nullish() }).partial().nullish(), finish_reason: z.string().nullish() }))
    .default([]),
  usage: z.object({ prompt_tokens: z.number().optional(), completion_tokens: z.number().optional() }).nullish(),
  error: z.union([z.string(), z.object({ message: z.string().optional() })]).optional(),
});

const ModelList = z.object({ data: z.array(z.object({ id: z.string() })) });

/** `http://host:8000`, `http://host:8000/`, `http://host:8000/v1` → `http://host:8000/v1`. */
export function openAIBaseUrl(endpoint: string): string {
  const trimmed = endpoint.replace(/\/+$/, '').replace(/\/chat\/completions$/, '');
  return /\/v\d+$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
}

export function openAIHttpError(status: number, message: string, server: string, retryAfterMs?: number): EngineError {
  const options = { status };
  if (status === 401 || status === 403) {
    return new EngineError('config', `${server} rejected the API key (${status}): set the key for this endpoint. Server said: ${message}`, options);
  }
  if (status === 404) return new EngineError('config', `${server}: model or endpoint not found (404): ${message}`, options);
  if (status === 429) {
    return new EngineError('overloaded', `${server} is rate limiting (429): ${message}`, { ...options, retryAfterMs: retryAfterMs ?? DEFAULT_RATE_LIMIT_RETRY_MS });
  }
  if (status === 503) return new EngineError('overloaded', `${server} is overloaded (503): ${message}`, { ...options, retryAfterMs: retryAfterMs ?? DEFAULT_RATE_LIMIT_RETRY_MS });
  if (status >= 500) return new EngineError('transient', `${server} failed (${status}): ${message}`, options);
  if (status === 400 && /image|vision|multimodal|modalit/i.test(message) && !/too large|size/i.test(message)) {
    return new EngineError('config', `${server}: this model cannot read images (${status}): ${message}`, options);
  }
  return new EngineError('permanent', `${server} rejected the request (${status}): ${message}`, options);
}



function contentText(content: z.infer<typeof ChatCompletion>['choices'][number]['message']['content']): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => part.text ?? '').join('');
  return '';
}

export const OpenAISettings = z.object({
  ...PromptSettings.shape,
  ...GenerationLimitSettings.shape,
  /** Also send `response_format` with the schema (servers that support it). */
  jsonSchema: setting.flag().optional(),
  /** To the first byte, and between bytes, ms. */
  timeoutMs: setting.positiveNumber().optional(),
  /** false: do not send vLLM's `skip_special_tokens` and `vllm_xargs`. */
  serverExtras: setting.flag().optional(),
});

/**
 * Lane: `endpoint` (base URL, required), `model` (required by most servers).
 * Settings: `prompt` (string), `structured` (boolean: ask for JSON {text, description}),
 * `jsonSchema` (boolean: also send `response_format` with the schema, for servers that
 * support it), `timeoutMs` (to the first byte, and between bytes), `maxTokens` (output
 * budget per ad; default per model preset), `adTimeoutMs` (total time per ad),
 * `repetitionGuard` (default on), and for DeepSeek-OCR `task` (`ocr` with boxes, `free`,
 * `describe`) and `serverExtras` (false: do not send vLLM's `skip_special_tokens` and
 * `vllm_xargs`).
 */
export function createOpenAIEngine(lane: LaneConfig, deps: EngineDeps = {}): Engine {
  if (!lane.endpoint) throw new EngineError('config', `OpenAI-compatible lane "${lane.id}" has no endpoint URL.`);
  const baseUrl = openAIBaseUrl(lane.endpoint);
  const host = new URL(baseUrl).host;
  const model = lane.model ?? 'default';
  const server = `${lane.label ?? host}`;
  const settings = parseLaneSettings(lane.id, lane.settings, OpenAISettings);
  const preset = promptPresetFor(model, settings);
  const sendSchema = settings.jsonSchema === true && preset.structured;
  const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const limits = generationLimits(settings, preset, DEFAULT_AD_TIMEOUT_MS);
  const serverExtras = settings.serverExtras ?? true;
  // Looked up per request so a key changed in the settings applies to the next ad.
  const apiKey = (): string | undefined => deps.getSecret?.(lane.id) || process.env[OPENAI_KEY_ENV] || undefined;

  function headers(key: string | undefined): Record<string, string> {
    return { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
  }

  function clean(error: EngineError, key: string | undefined): EngineError {
    const message = redactSecrets(error.message, key);
    if (message === error.message) return error;
    return new EngineError(error.kind, message, { ...error.options, cause: undefined });
  }

  async function open(path: string, init: { method: 'GET' | 'POST'; body?: unknown; signal: AbortSignal; timeout: number }, key: string | undefined) {
    let response;
    try {
      response = await request(`${baseUrl}${path}`, {
        method: init.method,
        headers: headers(key),
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
        headersTimeout: init.timeout,
        bodyTimeout: init.timeout,
      });
    } catch (error) {
      throw networkError(error, server, init.signal);
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      let text: string;
      try {
        text = await readErrorText(response.body);
      } catch (error) {
        throw networkError(error, server, init.signal);
      }
      const retryAfterMs = parseRetryAfter(response.headers['retry-after']) ?? parseRetryAfterMs(response.headers['retry-after-ms']);
      throw openAIHttpError(response.statusCode, errorMessageFromBody(text), server, retryAfterMs);
    }
    return response;
  }

  async function readJson(body: Parameters<typeof readBoundedText>[0], signal: AbortSignal): Promise<unknown> {
    let text: string;
    try {
      text = await readBoundedText(body, MAX_JSON_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw new EngineError('transient', `${server} answered more than ${formatMegabytes(error.maxBytes)} for one request.`, { cause: error });
      throw networkError(error, server, signal);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new EngineError('transient', `${server} answered something that is not JSON: ${errorMessageFromBody(text).slice(0, 80)}`);
    }
  }

  /** Network errors can carry request details: every message leaves with anything key-like removed. */
  async function guarded<T>(key: string | undefined, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw clean(error instanceof EngineError ? error : networkError(error, server, signal), key);
    }
  }

  async function recognize(image: EngineImage, signal: AbortSignal): Promise<RecognizeResult> {
    if (signal.aborted) throw new EngineError('aborted', 'cancelled');
    const started = performance.now();
    const prepared = await toAcceptedFormat(image, ACCEPTED_FORMATS);
    const dataUrl = `data:${prepared.mime};base64,${Buffer.from(prepared.bytes).toString('base64')}`;
    const textPart = { type: 'text', text: preset.prompt };
    const imagePart = { type: 'image_url', image_url: { url: dataUrl } };
    const body = {
      model,
      temperature: 0,
      max_tokens: limits.maxTokens,
      stream: true,
      stream_options: { include_usage: true },
      // DeepSeek-OCR reads `<image>\n<prompt>`: the image goes first.
      messages: [{ role: 'user', content: preset.grounding ? [imagePart, textPart] : [textPart, imagePart] }],
      ...(sendSchema ? { response_format: { type: 'json_schema', json_schema: { name: 'ad_text', schema: AD_ANSWER_SCHEMA } } } : {}),
      ...(preset.grounding && serverExtras
        ? { ...(preset.prompt.includes('<|grounding|>') ? { skip_special_tokens: false } : {}), vllm_xargs: VLLM_DEEPSEEK_OCR_XARGS }
        : {}),
    };
    const key = apiKey();
    const watch = new GenerationWatch(limits, signal);
    let answerModel: string | undefined;
    let usage: z.infer<typeof ChatChunk>['usage'];
    let finished = false;
    try {
      await guarded(key, signal, async () => {
        const response = await open('/chat/completions', { method: 'POST', body, signal: watch.signal, timeout: timeoutMs }, key);
        const type = String(response.headers['content-type'] ?? '');
        if (!type.includes('text/event-stream')) {
          // A server that ignores `stream` answers one completion.
          const parsed = ChatCompletion.safeParse(await readJson(response.body, watch.signal));
          if (!parsed.success) throw new EngineError('transient', `${server} answered an unexpected shape: ${parsed.error.message.slice(0, 160)}`);
          const choice = parsed.data.choices[0];
          watch.push(contentText(choice?.message.content));
          if (choice?.finish_reason === 'length') watch.hitLength();
          answerModel = parsed.data.model;
          usage = parsed.data.usage;
          finished = true;
          return;
        }
        for await (const data of readSseData(limitBytes(response.body, MAX_STREAM_BODY_BYTES))) {
          if (data.trim() === '[DONE]') {
            finished = true;
            break;
          }
          let raw: unknown;
          try {
            raw = JSON.parse(data) as unknown;
          } catch {
            throw new EngineError('transient', `${server} sent a stream event that is not JSON: ${errorMessageFromBody(data).slice(0, 80)}`);
          }
          const chunk = ChatChunk.safeParse(raw);
          if (!chunk.success) throw new EngineError('transient', `${server} sent an unexpected stream event: ${chunk.error.message.slice(0, 120)}`);
          if (chunk.data.error) {
            const message = typeof chunk.data.error === 'string' ? chunk.data.error : (chunk.data.error.message ?? 'unknown error');
            throw new EngineError('transient', `${server} failed mid-answer: ${message}`);
          }
          answerModel ??= chunk.data.model;
          if (chunk.data.usage) usage = chunk.data.usage;
          const choice = chunk.data.choices[0];
          if (watch.push(choice?.delta?.content ?? '')) break;
          if (choice?.finish_reason === 'length') watch.hitLength();
        }
      });
    } catch (error) {
      if (signal.aborted) throw new EngineError('aborted', 'cancelled', { cause: error });
      if (watch.stopReason !== 'time') {
        const cause = error instanceof EngineError ? error.cause : error;
        if (cause instanceof BodyTooLargeError) throw new EngineError('transient', `${server} streamed more than ${formatMegabytes(cause.maxBytes)} for one ad without finishing.`, { cause });
        if (cause instanceof LineTooLongError) throw new EngineError('transient', `${server} sent a stream line ${cause.message.replace(/^a line /, '')}.`, { cause });
        throw error;
      }
      if (watch.chars === 0) throw new EngineError('transient', `${server} gave no answer within the per-ad time budget of ${Math.round(limits.adTimeoutMs / 1000)} s (setting adTimeoutMs).`, { cause: error });
      // The time budget closed the connection: what came so far is the (truncated) answer.
    } finally {
      watch.dispose();
    }
    if (!finished && watch.stopReason === null && watch.chars === 0) {
      throw new EngineError('transient', `${server} ended the stream without an answer.`);
    }
    const answer = await readPresetAnswer(watch.text(), preset, () => imageSize(image));
    const timings: Record<string, number> = { total_ms: performance.now() - started };
    if (usage?.prompt_tokens !== undefined) timings.prompt_tokens = usage.prompt_tokens;
    if (usage?.completion_tokens !== undefined) timings.answer_tokens = usage.completion_tokens;
    return {
      text: answer.text,
      blocks: answer.blocks,
      ...(answer.description ? { description: answer.description } : {}),
      model: answerModel ?? model,
      timings,
      ...(watch.stopReason ? { truncated: true } : {}),
    };
  }

  async function availability(): Promise<EngineAvailability> {
    try {
      const key = apiKey();
      const signal = AbortSignal.timeout(5_000);
      const raw = await guarded(key, signal, async () => readJson((await open('/models', { method: 'GET', signal, timeout: 5_000 }, key)).body, signal));
      const list = ModelList.safeParse(raw);
      if (list.success && lane.model && list.data.data.length > 0 && !list.data.data.some((m) => m.id === lane.model)) {
        return { type: 'unavailable', reason: `${server} does not serve model "${lane.model}" (it serves: ${list.data.data.map((m) => m.id).slice(0, 5).join(', ')})` };
      }
      return { type: 'available' };
    } catch (error) {
      return { type: 'unavailable', reason: error instanceof Error ? error.message : String(error) };
    }
  }

  return {
    kind: 'openai',
    label: lane.label ?? `${model} (${host})`,
    recognize,
    availability,
  };
}

function parseRetryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const ms = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}
