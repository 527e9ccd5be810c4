/**
 * Server-sent events (the OpenAI-compatible streaming format): yields the `data` of each
 * event, several `data:` lines of one event joined by \n; comments and other fields are
 * skipped. Lines are bounded like NDJSON's (LineTooLongError).
 */
import { LineSplitter } from '../../lib/lines.js';
import { DEFAULT_MAX_LINE_CHARS } from './ndjson.js';

export async function* readSseData(
  stream: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  options: { maxLineChars?: number } = {},
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const splitter = new LineSplitter({ maxLineChars: options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS });
  let data: string[] = [];
  function* take(line: string): Generator<string> {
    if (line === '') {
      if (data.length > 0) yield data.join('\n');
      data = [];
    } else if (line.startsWith('data:')) {
      data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
    }
  }
  for await (const chunk of stream) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    for (const line of splitter.push(text)) yield* take(line);
  }
  for (const line of [...splitter.push(decoder.decode()), ...splitter.flush()]) yield* take(line);
  yield* take('');
}
