/**
 * A child's log lines: ANSI colours stripped, the last ones kept. Pure and tested apart
 * from any process; the splitting into lines is core/lib/lines.ts.
 */

// eslint-disable-next-line no-control-regex
const ANSI_SEQUENCE = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007]*(?:\u0007|\u001b\\)/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI_SEQUENCE, '');
}

/** The last `capacity` lines of a log, in order, in constant memory. */
export class LogRing {
  private readonly buffer: string[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity = 2000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.buffer = new Array<string>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(...lines: string[]): void {
    for (const line of lines) {
      const end = (this.start + this.count) % this.capacity;
      this.buffer[end] = line;
      if (this.count < this.capacity) this.count += 1;
      else this.start = (this.start + 1) % this.capacity;
    }
  }

  /** The newest `limit` lines (all by default), oldest first. */
  tail(limit = this.count): string[] {
    const take = Math.max(0, Math.min(limit, this.count));
    const out: string[] = [];
    for (let i = this.count - take; i < this.count; i += 1) {
      out.push(this.buffer[(this.start + i) % this.capacity] as string);
    }
    return out;
  }

  clear(): void {
    this.start = 0;
    this.count = 0;
  }
}
