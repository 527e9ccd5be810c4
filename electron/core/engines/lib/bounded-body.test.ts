import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyTooLargeError, limitBytes, readBoundedText, readErrorText } from './bounded-body.js';

function generated(totalBytes: number, chunkBytes = 64 * 1024): { body: Readable; pulled: () => number } {
  let pulled = 0;
  const chunk = Buffer.alloc(chunkBytes, 0x7a);
  const body = new Readable({
    read() {
      if (pulled >= totalBytes) return void this.push(null);
      pulled += chunk.byteLength;
      this.push(chunk);
    },
  });
  return { body, pulled: () => pulled };
}

describe('bounded bodies', () => {
  it('reads a body under the limit whole, multi-byte characters split across chunks included', async () => {
    const bytes = Buffer.from('Grüße 🎉 done');
    const body = Readable.from([bytes.subarray(0, 3), bytes.subarray(3, 9), bytes.subarray(9)]);
    expect(await readBoundedText(body, 1024)).toBe('Grüße 🎉 done');
  });

  it('a 1 GB body stops at the limit and the body is destroyed', async () => {
    const { body, pulled } = generated(1024 * 1024 * 1024);
    await expect(readBoundedText(body, 4 * 1024 * 1024)).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(body.destroyed).toBe(true);
    expect(pulled()).toBeLessThan(8 * 1024 * 1024);
  });

  it('limitBytes passes chunks through until the limit', async () => {
    const seen: number[] = [];
    const { body } = generated(10 * 1024, 1024);
    await expect(
      (async () => {
        for await (const chunk of limitBytes(body, 4096)) seen.push(typeof chunk === 'string' ? chunk.length : chunk.byteLength);
      })(),
    ).rejects.toThrow(/larger than 4 kB/);
    expect(seen).toEqual([1024, 1024, 1024, 1024]);
  });

  it('an error page is read only up to its limit, without failing', async () => {
    const { body } = generated(1024 * 1024 * 1024);
    const text = await readErrorText(body, 100);
    expect(text).toBe(`${'z'.repeat(100)}…`);
    expect(body.destroyed).toBe(true);
  });
});
