/**
 * OpenAI-compatible engine: `/v1/chat/completions` with the image as a data URL. One lane
 * per endpoint (vLLM serving DeepSeek-OCR, LM Studio, llama.cpp's server, a hosted API),
 * which is how a big batch spreads over a few GPU servers.
 *
 * The API key comes from the app's secret store (`deps.getSecret(lane.id)`, backed by
 * Electron safeStorage) or, for the CLI, the PARALLEL_VISION_OPENAI_KEY environment
 * variable. It is never part of an error message, a label or a log line.
 */
import { request } from 'undici';
import { z } from 'zod';
import type { LaneConfig } from '../../../shared/domain.js';
import type { EngineDeps } from './create.js';
import type { Engine, EngineAvailability, EngineImage, RecognizeResult } from './types.js';
import { EngineError } from './types.js';
import { errorMessageFromBody, networkError, parseRetryAfter, redactSecrets } from './lib/http-errors.js';
import { toAcceptedFormat } from './lib/image-format.js';
import { AD_ANSWER_SCHEMA, parseVisionAnswer, promptPresetFor } from './lib/vision-prompt.js';
import { stringSetting, numberSetting } from './lib/lane-settings.js';

export const OPENAI_KEY_ENV = 'PARALLEL_VISION_OPENAI_KEY';
const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_TOKENS = 2048;
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

/**
 * Lane: `endpoint` (base URL, required), `model` (required by most servers).
 * Settings: `prompt` (string), `structured` (boolean: ask for JSON {text, description}),
 * `jsonSchema` (boolean: also send `response_format` with the schema, for servers that
 * support it), `timeoutMs`, `maxTokens`.
 */
export function createOpenAIEngine(lane: LaneConfig, deps: EngineDeps = {}): Engine {
  if (!lane.endpoint) throw new EngineError('config', `OpenAI-compatible lane "${lane.id}" has no endpoint URL.`);
  const baseUrl = openAIBaseUrl(lane.endpoint);
  const host = new URL(baseUrl).host;
  const model = lane.model ?? 'default';
  const server = `${lane.label ?? host}`;
  const preset = promptPresetFor(model, {
    prompt: stringSetting(lane, 'prompt'),
    structured: typeof lane.settings?.structured === 'boolean' ? lane.settings.structured : undefined,
  });
  const sendSchema = lane.settings?.jsonSchema === true && preset.structured;
  const timeoutMs = numberSetting(lane, 'timeoutMs') ?? DEFAULT_TIMEOUT_MS;
  const maxTokens = numberSetting(lane, 'maxTokens') ?? DEFAULT_MAX_TOKENS;
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

  async function call(path: string, init: { method: 'GET' | 'POST'; body?: unknown; signal: AbortSignal; timeout: number }) {
    const key = apiKey();
    try {
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
      let text: string;
      try {
        text = await response.body.text();
      } catch (error) {
        throw networkError(error, server, init.signal);
      }
      if (response.statusCode < 200 || response.statusCode >= 300) {
        const retryAfterMs = parseRetryAfter(response.headers['retry-after']) ?? parseRetryAfterMs(response.headers['retry-after-ms']);
        throw openAIHttpError(response.statusCode, errorMessageFromBody(text), server, retryAfterMs);
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new EngineError('transient', `${server} answered something that is not JSON: ${errorMessageFromBody(text).slice(0, 80)}`);
      }
    } catch (error) {
      // Network errors can carry request details; strip anything key-like from every message.
      throw clean(error instanceof EngineError ? error : networkError(error, server, init.signal), key);
    }
  }

  async function recognize(image: EngineImage, signal: AbortSignal): Promise<RecognizeResult> {
    if (signal.aborted) throw new EngineError('aborted', 'cancelled');
    const started = performance.now();
    const prepared = await toAcceptedFormat(image, ACCEPTED_FORMATS);
    const dataUrl = `data:${prepared.mime};base64,${Buffer.from(prepared.bytes).toString('base64')}`;
    const body = {
      model,
      temperature: 0,
      max_tokens: maxTokens,
      stream: false,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: preset.prompt },
            { type: 'image_url', image_url: { url: dataUrl } },
          ],
        },
      ],
      ...(sendSchema ? { response_format: { type: 'json_schema', json_schema: { name: 'ad_text', schema: AD_ANSWER_SCHEMA } } } : {}),
    };
    const raw = await call('/chat/completions', { method: 'POST', body, signal, timeout: timeoutMs });
    const parsed = ChatCompletion.safeParse(raw);
    if (!parsed.success) throw new EngineError('transient', `${server} answered an unexpected shape: ${parsed.error.message.slice(0, 160)}`);
    const choice = parsed.data.choices[0];
    const answer = parseVisionAnswer(contentText(choice?.message.content), preset.structured);
    const timings: Record<string, number> = { total_ms: performance.now() - started };
    if (parsed.data.usage?.prompt_tokens !== undefined) timings.prompt_tokens = parsed.data.usage.prompt_tokens;
    if (parsed.data.usage?.completion_tokens !== undefined) timings.answer_tokens = parsed.data.usage.completion_tokens;
    return {
      text: answer.text,
      blocks: [],
      ...(answer.description ? { description: answer.description } : {}),
      model: parsed.data.model ?? model,
      timings,
    };
  }

  async function availability(): Promise<EngineAvailability> {
    try {
      const raw = await call('/models', { method: 'GET', signal: AbortSignal.timeout(5_000), timeout: 5_000 });
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
