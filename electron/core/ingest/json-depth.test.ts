import { describe, expect, it } from 'vitest';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.js';

/** `levels` arrays inside each other: `[[…]]`. */
function nestedArrays(levels: number): unknown {
  return JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`);
}

describe('exceedsJsonDepth', () => {
  it('counts scalars as level 0 and each object or array as one level', () => {
    expect(exceedsJsonDepth('https://x.test/a.png', 0)).toBe(false);
    expect(exceedsJsonDepth(null, 0)).toBe(false);
    expect(exceedsJsonDepth({}, 0)).toBe(true);
    expect(exceedsJsonDepth({}, 1)).toBe(false);
    expect(exceedsJsonDepth({ a: { b: [1] } }, 2)).toBe(true);
    expect(exceedsJsonDepth({ a: { b: [1] } }, 3)).toBe(false);
  });

  it('finds the one deep branch among shallow ones', () => {
    const value = { id: 'c1', tags: ['a', 'b'], meta: { x: 1 }, deep: nestedArrays(10) };
    expect(exceedsJsonDepth(value, 10)).toBe(true);
    expect(exceedsJsonDepth(value, 11)).toBe(false);
  });

  it('handles 100 000 levels without overflowing the stack (where JSON.stringify throws)', () => {
    const deep = nestedArrays(100_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(exceedsJsonDepth(deep, MAX_JSON_DEPTH)).toBe(true);
    expect(exceedsJsonDepth(nestedArrays(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
  });
});
