/**
 * Newline-delimited JSON (Ollama's streaming format) from a byte stream. Chunks may
 * split a line, or a multi-byte character, anywhere; a line that is not JSON is an
 * error naming what was received, so a wrong server on the port is obvious.
 */
export class NdjsonParseError extends Error {
  override readonly name = 'NdjsonParseError';
  constructor(readonly line: string) {
    super(`not NDJSON: ${JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}…` : line)}`);
  }
}

/** Splits text chunks into complete lines, keeping an unfinished line for the next chunk. */
export class LineSplitter {
  #pending = '';

  push(chunk: string): string[] {
    const parts = (this.#pending + chunk).split('\n');
    this.#pending = parts.pop() ?? '';
    return parts.map(stripCarriageReturn);
  }

  /** The last line when the stream ended without a newline (empty string if none). */
  flush(): string {
    const rest = stripCarriageReturn(this.#pending);
    this.#pending = '';
    return rest;
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

/** Yields one parsed value per non-blank line. */
export async function* readNdjson(stream: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  const splitter = new LineSplitter();
  for await (const chunk of stream) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    for (const line of splitter.push(text)) {
      if (line.trim() !== '') yield parseNdjsonLine(line);
    }
  }
  const last = splitter.flush() + decoder.decode();
  if (last.trim() !== '') yield parseNdjsonLine(last);
}
