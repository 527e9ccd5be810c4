/**
 * Per-lane circuit breaker: after `threshold` failures in a row the lane cools down; when
 * the cooldown is over it may run one probe call (half-open). A good probe closes the
 * breaker, a bad one opens it again for twice as long (up to `maxCooldownMs`).
 */

export interface CircuitBreakerOptions {
  threshold?: number;
  baseCooldownMs?: number;
  maxCooldownMs?: number;
}

export type BreakerState =
  | { type: 'closed' }
  | { type: 'open'; until: number }
  | { type: 'half-open'; probing: boolean };

export class CircuitBreaker {
  private readonly threshold: number;
  private readonly baseCooldownMs: number;
  private readonly maxCooldownMs: number;
  private failuresInARow = 0;
  private trips = 0;
  private current: BreakerState = { type: 'closed' };

  constructor(options: CircuitBreakerOptions = {}) {
    this.threshold = options.threshold ?? 3;
    this.baseCooldownMs = options.baseCooldownMs ?? 5_000;
    this.maxCooldownMs = options.maxCooldownMs ?? 300_000;
  }

  state(now: number): BreakerState {
    if (this.current.type === 'open' && now >= this.current.until) this.current = { type: 'half-open', probing: false };
    return this.current;
  }

  /** Whether the lane may start a call now. */
  allows(now: number): boolean {
    const state = this.state(now);
    return state.type === 'closed' || (state.type === 'half-open' && !state.probing);
  }

  /** A call starts (when allowed); in half-open it is the one probe. */
  onStart(now: number): void {
    const state = this.state(now);
    if (state.type === 'half-open') this.current = { type: 'half-open', probing: true };
  }

  onSuccess(): void {
    this.failuresInARow = 0;
    this.trips = 0;
    this.current = { type: 'closed' };
  }

  /** A failure the lane is to blame for. Returns true when the breaker (re)opened. */
  onFailure(now: number): boolean {
    this.failuresInARow++;
    const state = this.state(now);
    if (state.type === 'half-open' || (state.type === 'closed' && this.failuresInARow >= this.threshold)) {
      const cooldown = Math.min(this.maxCooldownMs, this.baseCooldownMs * 2 ** this.trips);
      this.trips++;
      this.current = { type: 'open', until: now + cooldown };
      return true;
    }
    return false;
  }

  /** A call that ended without a verdict (aborted) releases the probe slot. */
  onAbandon(now: number): void {
    const state = this.state(now);
    if (state.type === 'half-open') this.current = { type: 'half-open', probing: false };
  }
}
