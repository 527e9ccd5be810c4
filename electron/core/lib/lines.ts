/**
 * Text chunks (a child's output, a streamed HTTP body) into complete lines. Chunks may
 * split a line anywhere; the unfinished part waits for the next chunk. A line longer than
 * `maxLineChars` is an error, so a stream that never sends a newline cannot fill the
 * memory, and the work per chunk is proportional to the chunk, not to the line.
 */
export class LineTooLongError extends Error {
  override readonly name = 'LineTooLongError';
  constructor(readonly maxChars: number) {
    super(`a line longer than ${maxChars} characters (no newline)`);
  }
}

export interface LineSplitterOptions {
  /** Longest line accepted (default: no limit). */
  maxLineChars?: number;
  /**
   * A bare `\r` ends a line too, so progress bars (pip, tqdm, ollama) arrive as they are
   * redrawn instead of as one huge line at the end. Otherwise only `\n` does, and a `\r`
   * just before it is dropped.
   */
  carriageReturnEndsLine?: boolean;
}

const LINE_BREAK = /[\r\n]/g;

export class LineSplitter {
  readonly maxLineChars: number;
  readonly #carriageReturnEndsLine: boolean;
  // The unfinished line as the chunks it came in, joined once when its end arrives.
  #pending: string[] = [];
  #pendingChars = 0;
  // The last chunk ended with a "\r" that ended a line: a "\n" starting the next one belongs to it.
  #afterCarriageReturn = false;

  constructor(options: LineSplitterOptions = {}) {
    this.maxLineChars = options.maxLineChars ?? Infinity;
    this.#carriageReturnEndsLine = options.carriageReturnEndsLine ?? false;
  }

  push(chunk: string): string[] {
    if (chunk === '') return [];
    const lines: string[] = [];
    let start = this.#afterCarriageReturn && chunk.startsWith('\n') ? 1 : 0;
    this.#afterCarriageReturn = false;
    for (let end = this.#nextBreak(chunk, start); end >= 0; end = this.#nextBreak(chunk, start)) {
      const line = this.#take(chunk.slice(start, end));
      start = end + 1;
      if (chunk[end] === '\r') {
        // "\r\n" is one line break, already counted at the "\r".
        if (chunk[start] === '\n') start += 1;
        else if (start === chunk.length) this.#afterCarriageReturn = true;
        lines.push(line);
      } else {
        lines.push(this.#carriageReturnEndsLine ? line : stripCarriageReturn(line));
      }
    }
    if (start < chunk.length) {
      const rest = start === 0 ? chunk : chunk.slice(start);
      this.#check(this.#pendingChars + rest.length);
      this.#pending.push(rest);
      this.#pendingChars += rest.length;
    }
    return lines;
  }

  /** The unterminated last line when the stream ends (none if nothing is pending). */
  flush(): string[] {
    const rest = stripCarriageReturn(this.#pending.join(''));
    this.#pending = [];
    this.#pendingChars = 0;
    this.#afterCarriageReturn = false;
    return rest === '' ? [] : [rest];
  }

  #nextBreak(chunk: string, from: number): number {
    if (!this.#carriageReturnEndsLine) return chunk.indexOf('\n', from);
    LINE_BREAK.lastIndex = from;
    return LINE_BREAK.exec(chunk)?.index ?? -1;
  }

  /** The pending part and `piece` as one line; the pending part is then empty. */
  #take(piece: string): string {
    this.#check(this.#pendingChars + piece.length);
    const line = this.#pending.length > 0 ? this.#pending.join('') + piece : piece;
    this.#pending = [];
    this.#pendingChars = 0;
    return line;
  }

  #check(chars: number): void {
    if (chars > this.maxLineChars) throw new LineTooLongError(this.maxLineChars);
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
