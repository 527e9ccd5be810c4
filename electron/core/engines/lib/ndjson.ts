/**
 * Newline-delimited JSON (Ollama's streaming format) from a byte stream. Chunks may
 * split a line, or a multi-byte character, anywhere; a line that is not JSON is an
 * error naming what was received, so a wrong server on the port is obvious. Lines are
 * bounded (LineTooLongError, core/lib/lines.ts), so a server that never sends a newline
 * cannot fill the memory.
 */
import { LineSplitter } from '../../lib/lines.js';

export class NdjsonParseError extends Error {
  override readonly name = 'NdjsonParseError';
  constructor(readonly line: string) {
    super(`not NDJSON: ${JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}…` : line)}`);
  }
}

/** Longest line read by default: Ollama's lines are one token or one progress report. */
export const DEFAULT_MAX_LINE_CHARS = 4 * 1024 * 1024;

function parseNdjsonLine(line: string): unknown {
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
  const splitter = new LineSplitter({ maxLineChars: options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS });
  for await (const chunk of stream) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    for (const line of splitter.push(text)) {
      if (line.trim() !== '') yield parseNdjsonLine(line);
    }
  }
  for (const line of [...splitter.push(decoder.decode()), ...splitter.flush()]) {
    if (line.trim() !== '') yield parseNdjsonLine(line);
  }
}
