import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LineTooLongError } from '../../lib/lines.js';
import { NdjsonParseError, readNdjson } from './ndjson.js';

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function* chunksOf(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let start = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    yield bytes.subarray(start, cut);
    start = cut;
  }
  yield bytes.subarray(start);
}

describe('readNdjson', () => {
  it('parses the same objects however the bytes are chunked (including inside multi-byte characters)', async () => {
    const objects = [{ message: { content: 'Grüße 🎉' } }, { done: false }, { done: true, total_duration: 123 }];
    const bytes = new TextEncoder().encode(objects.map((o) => JSON.stringify(o)).join('\n'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 6 }), async (cuts) => {
        expect(await collect(readNdjson(chunksOf(bytes, cuts)))).toEqual(objects);
      }),
      { numRuns: 200 },
    );
  });

  it('skips blank lines', async () => {
    expect(await collect(readNdjson(['\n{"a":1}\n\n', '  \n{"b":2}\n']))).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('rejects a body that is not NDJSON and says what it got', async () => {
    const parse = collect(readNdjson(['{"a":1}\n<html>oops</html>\n']));
    await expect(parse).rejects.toBeInstanceOf(NdjsonParseError);
    await expect(parse).rejects.toThrow('<html>oops</html>');
  });
});

describe('bounded lines', () => {
  it('one 100 MB line without a newline stops at the limit instead of filling the memory', async () => {
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    let sent = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      while (sent < 100 * 1024 * 1024) {
        sent += chunk.byteLength;
        yield chunk;
      }
    }
    await expect(collect(readNdjson(endless(), { maxLineChars: 1024 * 1024 }))).rejects.toBeInstanceOf(LineTooLongError);
    expect(sent, 'bytes pulled from the stream before giving up').toBeLessThanOrEqual(1024 * 1024 + chunk.byteLength);
  });
});
