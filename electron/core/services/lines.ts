/**
 * Turning a child's output into lines and keeping the last ones: the fiddly parts of
 * log handling, pure and tested apart from any process.
 */

// eslint-disable-next-line no-control-regex
const ANSI_SEQUENCE = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007]*(?:\u0007|\u001b\\)/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI_SEQUENCE, '');
}

/**
 * Splits a stream of text chunks into lines without losing a half line between chunks.
 * A bare `\r` (progress bars of pip, tqdm, ollama) also ends a line, so progress updates
 * arrive as they happen instead of as one huge line at the end.
 */
export class LineSplitter {
  private pending = '';
  private lastWasCarriageReturn = false;

  push(chunk: string): string[] {
    const lines: string[] = [];
    for (const char of chunk) {
      if (char === '\n') {
        // "\r\n" is one line break, already emitted at the "\r".
        if (!this.lastWasCarriageReturn) lines.push(this.pending);
        this.pending = '';
        this.lastWasCarriageReturn = false;
      } else if (char === '\r') {
        lines.push(this.pending);
        this.pending = '';
        this.lastWasCarriageReturn = true;
      } else {
        this.pending += char;
        this.lastWasCarriageReturn = false;
      }
    }
    return lines.map(stripAnsi);
  }

  /** The unterminated rest, when the stream ends. */
  flush(): string[] {
    const rest = this.pending;
    this.pending = '';
    this.lastWasCarriageReturn = false;
    return rest === '' ? [] : [stripAnsi(rest)];
  }
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
