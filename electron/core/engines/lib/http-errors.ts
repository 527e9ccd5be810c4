/**
 * Turning what an HTTP engine server did (refused, timed out, dropped, answered 4xx/5xx)
 * into an EngineError the orchestrator can act on, with a message a user understands.
 */
import { EngineError } from '../types.js';

const REFUSED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);
const DROPPED_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Seconds or an HTTP date, as in RFC 9110; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current === 'object' && 'code' in current && typeof current.code === 'string') return current.code;
    current = typeof current === 'object' && 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

/**
 * A failure of the request itself (no HTTP status to go by). `server` names the server
 * for the user, e.g. "Ollama at http://127.0.0.1:11434".
 */
export function networkError(error: unknown, server: string, signal?: AbortSignal, startHint = ''): EngineError {
  if (error instanceof EngineError) return error;
  if (signal?.aborted) return new EngineError('aborted', 'cancelled', { cause: error });
  const code = errorCode(error);
  if (code && REFUSED_CODES.has(code)) {
    return new EngineError('unavailable', `${server} is not running (${code}).${startHint ? ` ${startHint}` : ''}`, { cause: error });
  }
  if (code && TIMEOUT_CODES.has(code)) {
    return new EngineError('transient', `${server} did not answer in time (${code}).`, { cause: error });
  }
  if (code && DROPPED_CODES.has(code)) {
    return new EngineError('transient', `${server} dropped the connection mid-answer (${code}).`, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new EngineError('transient', `${server}: request failed: ${message}`, { cause: error });
}

/** Error text from a JSON body such as `{"error": "..."}` or `{"error": {"message": "..."}}`, else the raw text, shortened. */
export function errorMessageFromBody(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && 'error' in parsed) {
      const inner = parsed.error;
      if (typeof inner === 'string') return inner;
      if (inner && typeof inner === 'object' && 'message' in inner && typeof inner.message === 'string') return inner.message;
    }
    if (parsed && typeof parsed === 'object' && 'detail' in parsed && typeof parsed.detail === 'string') return parsed.detail;
  } catch {
    // not JSON: fall through to the raw text
  }
  const trimmed = body.trim().replace(/\s+/g, ' ');
  return trimmed.length > 200 ? `${trimmed.slice(0, 200)}…` : trimmed;
}

/** Removes a secret (and anything that looks like an API key) from text shown to users or logs. */
export function redactSecrets(text: string, secret?: string): string {
  let out = text;
  if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out.replace(/\b(sk|pk|rk)-[A-Za-z0-9_-]{8,}/g, '[redacted]').replace(/(Bearer\s+)[^\s"']+/gi, '$1[redacted]');
}
