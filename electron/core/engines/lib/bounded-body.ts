/**
 * Reading an engine server's response with a ceiling, so a server that answers a
 * gigabyte (or never stops) costs at most the ceiling in memory and then the
 * connection, instead of the app. The body is destroyed as soon as it goes over.
 */

/** An answer of one ad is kilobytes; anything near these is a broken or looping server. */
export const MAX_JSON_BODY_BYTES = 16 * 1024 * 1024;
export const MAX_STREAM_BODY_BYTES = 16 * 1024 * 1024;
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`the answer is larger than ${formatMegabytes(maxBytes)}`);
  }
}

export function formatMegabytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / (1024 * 1024))} MB` : `${Math.round(bytes / 1024)} kB`;
}

interface DestroyableBody extends AsyncIterable<Uint8Array | string> {
  destroy(error?: Error): unknown;
}

/** Passes the body's chunks through, throwing BodyTooLargeError (and closing the body) past `maxBytes`. */
export async function* limitBytes(body: DestroyableBody, maxBytes: number): AsyncGenerator<Uint8Array | string> {
  let total = 0;
  for await (const chunk of body) {
    total += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (total > maxBytes) {
      const error = new BodyTooLargeError(maxBytes);
      body.destroy(error);
      throw error;
    }
    yield chunk;
  }
}

/** The whole body as UTF-8 text, at most `maxBytes`. */
export async function readBoundedText(body: DestroyableBody, maxBytes: number): Promise<string> {
  const decoder = new TextDecoder();
  const parts: string[] = [];
  for await (const chunk of limitBytes(body, maxBytes)) parts.push(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  parts.push(decoder.decode());
  return parts.join('');
}

/**
 * The start of an error body (it only feeds a message): at most `maxBytes`, and the
 * rest closed rather than failing, so a huge error page still gives its status.
 */
export async function readErrorText(body: DestroyableBody, maxBytes = MAX_ERROR_BODY_BYTES): Promise<string> {
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let total = 0;
  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const room = maxBytes - total;
    parts.push(decoder.decode(bytes.subarray(0, Math.max(0, room)), { stream: true }));
    total += bytes.byteLength;
    if (total > maxBytes) {
      body.destroy();
      return `${parts.join('')}${decoder.decode()}…`;
    }
  }
  parts.push(decoder.decode());
  return parts.join('');
}
