/**
 * When to restart a crashed child: exponential backoff, at most `maxInARow` restarts in a
 * row. A child that stayed ready for `stableMs` has earned a fresh budget, so a server that
 * crashes once a day is restarted every time while a crash loop gives up quickly.
 */

export interface BackoffOptions {
  baseMs?: number;
  maxDelayMs?: number;
  maxInARow?: number;
  stableMs?: number;
}

export type RestartDecision =
  | { type: 'restart'; attempt: number; delayMs: number }
  | { type: 'give-up'; attempts: number };

export function backoffDelayMs(attempt: number, baseMs = 500, maxDelayMs = 30_000): number {
  if (attempt < 1) return 0;
  return Math.min(maxDelayMs, baseMs * 2 ** (attempt - 1));
}

export class RestartBudget {
  private readonly baseMs: number;
  private readonly maxDelayMs: number;
  readonly maxInARow: number;
  private readonly stableMs: number;
  private crashesInARow = 0;
  private readySince: number | null = null;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.maxInARow = options.maxInARow ?? 5;
    this.stableMs = options.stableMs ?? 60_000;
  }

  /** The child became ready at `now`. */
  markReady(now: number): void {
    this.readySince = now;
  }

  /** The child died unexpectedly at `now`: restart it (after the delay) or give up. */
  onCrash(now: number): RestartDecision {
    if (this.readySince !== null && now - this.readySince >= this.stableMs) this.crashesInARow = 0;
    this.readySince = null;
    this.crashesInARow += 1;
    if (this.crashesInARow > this.maxInARow) return { type: 'give-up', attempts: this.crashesInARow - 1 };
    return { type: 'restart', attempt: this.crashesInARow, delayMs: backoffDelayMs(this.crashesInARow, this.baseMs, this.maxDelayMs) };
  }

  get restarts(): number {
    return Math.min(this.crashesInARow, this.maxInARow);
  }

  /** A deliberate start by the user clears the history. */
  reset(): void {
    this.crashesInARow = 0;
    this.readySince = null;
  }
}
