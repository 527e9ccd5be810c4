/**
 * The limits that keep one ad on a generative lane (Ollama, OpenAI-compatible) from
 * running away: an output budget in tokens (sent to the server as `num_predict` /
 * `max_tokens`, and checked here in characters in case the server ignores it), a total
 * time budget per ad, and the repetition guard on the streamed answer. A generation
 * stopped by any of them keeps the text it had and is marked `truncated`.
 *
 * Lane settings (both engines): `maxTokens` (Ollama also `numPredict`), `adTimeoutMs`,
 * `repetitionGuard` (false turns it off).
 */
import { z } from 'zod';
import { setting } from './lane-settings.js';
import { RepetitionGuard, cutAtLoop, type RepetitionFound } from './repetition-guard.js';
import type { PromptPreset } from './vision-prompt.js';

/** Far more characters per token than any tokenizer makes: only a server ignoring the budget gets here. */
const MAX_CHARS_PER_TOKEN = 16;

export interface GenerationLimits {
  maxTokens: number;
  adTimeoutMs: number;
  repetitionGuard: boolean;
}

export type StopReason = 'repetition' | 'time' | 'length';

/** The lane settings these limits read; part of both engines' settings schemas. */
export const GenerationLimitSettings = z.object({
  maxTokens: setting.positiveNumber().optional(),
  /** Ollama's name for maxTokens. */
  numPredict: setting.positiveNumber().optional(),
  adTimeoutMs: setting.positiveNumber().optional(),
  repetitionGuard: setting.flag().optional(),
});

export function generationLimits(settings: z.output<typeof GenerationLimitSettings>, preset: PromptPreset, defaultAdTimeoutMs: number): GenerationLimits {
  return {
    maxTokens: Math.floor(settings.maxTokens ?? settings.numPredict ?? preset.maxTokens),
    adTimeoutMs: settings.adTimeoutMs ?? defaultAdTimeoutMs,
    repetitionGuard: settings.repetitionGuard ?? true,
  };
}

/**
 * Watches one generation. Pass `signal` to the request: it fires when the caller
 * cancels or the time budget is spent. When `push` says stop (a loop, the output
 * budget), the engine stops reading: closing the body closes the connection, which is
 * how Ollama and vLLM are told to stop generating.
 */
export class GenerationWatch {
  readonly signal: AbortSignal;
  readonly #stop = new AbortController();
  readonly #guard: RepetitionGuard | null;
  readonly #maxChars: number;
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #pieces: string[] = [];
  #chars = 0;
  #loop: RepetitionFound | null = null;
  #reason: StopReason | null = null;

  constructor(readonly limits: GenerationLimits, caller: AbortSignal) {
    this.#guard = limits.repetitionGuard ? new RepetitionGuard() : null;
    this.#maxChars = limits.maxTokens * MAX_CHARS_PER_TOKEN;
    this.signal = AbortSignal.any([caller, this.#stop.signal]);
    this.#timer = setTimeout(() => this.#halt('time'), limits.adTimeoutMs);
    this.#timer.unref?.();
  }

  /** Adds a piece of the answer; true when the generation must stop now (loop or budget). */
  push(piece: string): boolean {
    if (this.#reason) return true;
    if (piece === '') return false;
    this.#pieces.push(piece);
    this.#chars += piece.length;
    const loop = this.#guard?.push(piece) ?? null;
    if (loop) {
      this.#loop = loop;
      this.#halt('repetition');
    } else if (this.#chars > this.#maxChars) {
      this.#halt('length');
    }
    return this.#reason !== null;
  }

  /** The server said it stopped at the output budget (`done_reason` / `finish_reason` "length"). */
  hitLength(): void {
    this.#reason ??= 'length';
  }

  /** Why the generation was stopped, null if it ended by itself. */
  get stopReason(): StopReason | null {
    return this.#reason;
  }

  get chars(): number {
    return this.#chars;
  }

  /** The answer so far, cut before the loop when one was found. */
  text(): string {
    const whole = this.#pieces.join('');
    if (this.#loop) return cutAtLoop(whole, this.#loop);
    return this.#reason === 'length' && whole.length > this.#maxChars ? whole.slice(0, this.#maxChars) : whole;
  }

  /** A sentence for timings/logs: what stopped it. */
  describe(): string {
    switch (this.#reason) {
      case 'repetition':
        return `stopped: the answer repeated a ${this.#loop?.period}-character unit ${this.#loop?.copies} times`;
      case 'time':
        return `stopped: the per-ad time budget of ${Math.round(this.limits.adTimeoutMs / 1000)} s was spent`;
      case 'length':
        return `stopped: the output budget of ${this.limits.maxTokens} tokens was reached`;
      default:
        return 'finished';
    }
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }

  #halt(reason: StopReason): void {
    this.#reason ??= reason;
    clearTimeout(this.#timer);
    // Only the timer interrupts a read in progress; the other stops happen between reads.
    if (reason === 'time') this.#stop.abort(new Error(this.describe()));
  }
}
