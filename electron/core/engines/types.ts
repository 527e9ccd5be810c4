/**
 * The one engine interface of the design: every model, local or remote, is an
 * `Engine` that turns image bytes into text, blocks and an optional description.
 */
import type { EngineKind, RecognizeResult } from '../../../shared/domain.js';

export type { RecognizeResult } from '../../../shared/domain.js';

/** Image bytes as fetched and prepared by core (already decoded/oriented where needed). */
export interface EngineImage {
  bytes: Uint8Array;
  /** MIME type decided from the bytes (magic numbers), e.g. image/png. */
  mime: string;
  width?: number;
  height?: number;
}

/**
 * Why an engine call failed, so the orchestrator can act without parsing messages:
 * - `unavailable`: the server is down / refused the connection (fail over, cool the lane down)
 * - `overloaded`: 429/503, back off `retryAfterMs` then retry
 * - `transient`: 5xx, timeout, dropped connection: retry, preferably elsewhere
 * - `permanent`: this input will never work on any engine (bad image): do not retry
 * - `config`: the lane is misconfigured (model not pulled, no vision, bad key): the lane stops taking work
 * - `aborted`: the caller's AbortSignal fired
 */
export type EngineErrorKind = 'unavailable' | 'overloaded' | 'transient' | 'permanent' | 'config' | 'aborted';

export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly kind: EngineErrorKind,
    message: string,
    readonly options: { retryAfterMs?: number; status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }
  get retryable(): boolean {
    return this.kind === 'unavailable' || this.kind === 'overloaded' || this.kind === 'transient';
  }
}

/** What the app hands every engine factory (`create…Engine(lane, deps)`). */
export interface EngineDeps {
  /** Secrets (API keys) looked up by endpoint id; never logged. */
  getSecret?: (key: string) => string | undefined;
}

export type EngineAvailability =
  /** `device`: where a service says it runs its model ('cpu', 'mps', 'cuda'), when it says. */
  | { type: 'available'; device?: string }
  | { type: 'unavailable'; reason: string };

export interface Engine {
  readonly kind: EngineKind;
  /** Human label, e.g. "DeepSeek-OCR (127.0.0.1:8001)". */
  readonly label: string;
  recognize(image: EngineImage, signal: AbortSignal): Promise<RecognizeResult>;
  /** Cheap check used by the services list and before a run. */
  availability?(): Promise<EngineAvailability>;
  /**
   * The scheduler's in-flight limit for this lane changed (1 ≤ n ≤ the lane's workers).
   * In-process engines size their worker pool to it; HTTP engines may ignore it.
   */
  setConcurrency?(n: number): void | Promise<void>;
  /** Release workers, sockets, models. */
  close?(): Promise<void>;
}
