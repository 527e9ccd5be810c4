/**
 * Newline-delimited JSON (Ollama's streaming format) from a byte stream. Chunks may
 * split a line, or a multi-byte character, anywhere; a line that is not JSON is an
 * error naming what was received, so a wrong server on the port is obvious. A line
 * longer than the limit is an error too, so a server that never sends a newline cannot
 * fill the memory; the work per chunk is proportional to the chunk, not to the line.
 */
export class NdjsonParseError extends Error {
  override readonly name = 'NdjsonParseError';
  constructor(readonly line: string) {
    super(`not NDJSON: ${JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}…` : line)}`);
  }
}

export class LineTooLongError extends Error {
  override readonly name = 'LineTooLongError';
  constructor(readonly maxChars: number) {
    super(`a line longer than ${maxChars} characters (no newline)`);
  }
}

/** Longest line read by default: Ollama's lines are one token or one progress report. */
export const DEFAULT_MAX_LINE_CHARS = 4 * 1024 * 1024;

/** Splits text chunks into complete lines, keeping an unfinished line for the next chunk. */
export class LineSplitter {
  // The unfinished line as the chunks it came in, joined once when its newline arrives.
  #pending: string[] = [];
  #pendingChars = 0;

  constructor(readonly maxLineChars = Infinity) {}

  push(chunk: string): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let newline = chunk.indexOf('\n'); newline >= 0; newline = chunk.indexOf('\n', start)) {
      const piece = chunk.slice(start, newline);
      this.#check(this.#pendingChars + piece.length);
      lines.push(stripCarriageReturn(this.#pending.length > 0 ? this.#pending.join('') + piece : piece));
      this.#pending = [];
      this.#pendingChars = 0;
      start = newline + 1;
    }
    if (start < chunk.length) {
      const rest = start === 0 ? chunk : chunk.slice(start);
      this.#check(this.#pendingChars + rest.length);
      this.#pending.push(rest);
      this.#pendingChars += rest.length;
    }
    return lines;
  }

  /** The last line when the stream ended without a newline (empty string if none). */
  flush(): string {
    const rest = stripCarriageReturn(this.#pending.join(''));
    this.#pending = [];
    this.#pendingChars = 0;
    return rest;
  }

  #check(chars: number): void {
    if (chars > this.maxLineChars) throw new LineTooLongError(this.maxLineChars);
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

export function parseNdjsonLine(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    throw new NdjsonParseError(line);
  }
}

/** Yields one parsed value per non-blank line; throws LineTooLongError past `maxLineChars`. */
export async function* readNdjson(
  stream: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  options: { maxLineChars?: number } = {},
): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  const splitter = new LineSplitter(options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS);
  for await (const chunk of stream) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    for (const line of splitter.push(text)) {
      if (line.trim() !== '') yield parseNdjsonLine(line);
    }
  }
  const last = splitter.flush() + decoder.decode();
  if (last.trim() !== '') yield parseNdjsonLine(last);
}
