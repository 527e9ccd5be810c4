/**
 * A supervised service's log: the last lines kept in a ring (for the log view and crash
 * reports) and sent as `log` events, bursts (pip, model loading) coalesced into one event
 * per 100 ms. Lines of our own (restarts, stops) go in too, so the log tells the whole story.
 */
import { LogRing } from './log-lines.js';

export const LOG_COALESCE_MS = 100;

export class LogChannel {
  private readonly ring: LogRing;
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: (lines: string[]) => void,
    capacity = 2000,
  ) {
    this.ring = new LogRing(capacity);
  }

  push(lines: readonly string[]): void {
    this.ring.push(...lines);
    this.pending.push(...lines);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.sendPending();
    }, LOG_COALESCE_MS);
  }

  /** A line of the app's own, marked as such. */
  note(message: string): void {
    this.push([`[parallel-vision] ${message}`]);
  }

  /** The newest `limit` lines (all by default), oldest first. */
  tail(limit?: number): string[] {
    return this.ring.tail(limit);
  }

  /** Sends what is waiting now and stops the timer (dispose). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.sendPending();
  }

  private sendPending(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.send(batch);
  }
}
