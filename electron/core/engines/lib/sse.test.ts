import { describe, expect, it } from 'vitest';
import { LineTooLongError } from '../../lib/lines.js';
import { readSseData } from './sse.js';

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('readSseData', () => {
  it('yields each event’s data however the text is chunked, skipping comments and other fields', async () => {
    const text = ': ping\n\ndata: {"a":1}\n\nevent: x\ndata: line one\ndata: line two\n\ndata:[DONE]\n\n';
    for (const size of [1, 3, 7, text.length]) {
      const chunks = Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));
      expect(await collect(readSseData(chunks))).toEqual(['{"a":1}', 'line one\nline two', '[DONE]']);
    }
  });

  it('an event without the final blank line still counts; CRLF line ends work', async () => {
    expect(await collect(readSseData(['data: a\r\n\r\ndata: b']))).toEqual(['a', 'b']);
  });

  it('bounds a line', async () => {
    await expect(collect(readSseData([`data: ${'x'.repeat(100)}`], { maxLineChars: 50 }))).rejects.toBeInstanceOf(LineTooLongError);
  });
});
