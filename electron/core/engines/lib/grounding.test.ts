import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hasGroundingTags, parseBoxes, parseGrounding } from './grounding.js';

const Case = z.object({
  name: z.string(),
  note: z.string().optional(),
  raw: z.string(),
  width: z.number().positive(),
  height: z.number().positive(),
  /** The joined text, where the case records it (the blocks are checked in every case). */
  expected_text: z.string().optional(),
  expected_blocks: z.array(z.object({ text: z.string(), box: z.tuple([z.number(), z.number(), z.number(), z.number()]) })),
});
const cases = z.array(Case).min(8).parse(JSON.parse(readFileSync(new URL('../../../../test/fixtures/deepseek-grounding/cases.json', import.meta.url), 'utf8')));

describe('parseGrounding against the recorded DeepSeek-OCR strings shared with the Python service', () => {
  for (const c of cases) {
    it(c.name, () => {
      const parsed = parseGrounding(c.raw, c.width, c.height);
      if (c.expected_text !== undefined) expect(parsed.text).toBe(c.expected_text);
      expect(parsed.blocks.map((b) => b.text)).toEqual(c.expected_blocks.map((b) => b.text));
      parsed.blocks.forEach((block, i) => {
        const expected = c.expected_blocks[i]!.box;
        // Within 0.1 px: exact rounding ties differ between JavaScript and Python.
        block.box.forEach((value, k) => expect(Math.abs(value - expected[k]!), `${c.name} block ${i} coordinate ${k}`).toBeLessThanOrEqual(0.1 + 1e-9));
      });
    });
  }

  it('the fixtures cover nested brackets, several boxes per ref and a truncated last tag', () => {
    const names = cases.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['nested-brackets', 'several-boxes-per-ref', 'truncated-last-tag-in-det', 'truncated-last-tag-in-ref']));
  });
});

describe('grounding helpers', () => {
  it('finds boxes at any nesting depth and orders their corners', () => {
    expect(parseBoxes('[[[1, 2, 3, 4]], [8,7,6,5]]')).toEqual([
      [1, 2, 3, 4],
      [6, 5, 8, 7],
    ]);
    expect(parseBoxes('[[1, 2]]')).toEqual([]);
  });

  it('tells tagged output from plain text', () => {
    expect(hasGroundingTags('<|ref|>A<|/ref|>')).toBe(true);
    expect(hasGroundingTags('plain')).toBe(false);
  });

  it('rejects an image size that is not positive, naming it', () => {
    expect(() => parseGrounding('x', 0, 10)).toThrow(/0×10/);
  });
});
