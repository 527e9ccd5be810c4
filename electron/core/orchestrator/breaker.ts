/**
 * Per-lane circuit breaker: after `threshold` failures in a row the lane cools down; when
 * the cooldown is over it may run one probe call (half-open). A good probe closes the
 * breaker, a bad one opens it again for twice as long (up to `maxCooldownMs`).
 * It also remembers how long the lane has failed without a single success, so the
 * scheduler can tell an outage (give up on the ads) from a blip (wait for the lane).
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
  private firstFailureAt: number | null = null;
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
    this.firstFailureAt = null;
    this.trips = 0;
    this.current = { type: 'closed' };
  }

  /** A failure the lane is to blame for. Returns true when the breaker (re)opened. */
  onFailure(now: number): boolean {
    this.failuresInARow++;
    this.firstFailureAt ??= now;
    const state = this.state(now);
    if (state.type === 'half-open' || (state.type === 'closed' && this.failuresInARow >= this.threshold)) {
      const cooldown = Math.min(this.maxCooldownMs, this.baseCooldownMs * 2 ** this.trips);
      this.trips++;
      this.current = { type: 'open', until: now + cooldown };
      return true;
    }
    return false;
  }

  /** When the current run of failures began (null after a success, or before any failure). */
  get failingSince(): number | null {
    return this.firstFailureAt;
  }

  /** Half-open probes that failed since the last success (each one reopened the breaker). */
  get failedProbes(): number {
    return Math.max(0, this.trips - 1);
  }

  /** A call that ended without a verdict (aborted) releases the probe slot. */
  onAbandon(now: number): void {
    const state = this.state(now);
    if (state.type === 'half-open') this.current = { type: 'half-open', probing: false };
  }
}
