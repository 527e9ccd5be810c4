import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LogRing, stripAnsi } from './log-lines.js';

describe('stripAnsi', () => {
  it('strips ANSI colours', () => {
    expect(stripAnsi('\u001b[32mINFO\u001b[0m: started')).toBe('INFO: started');
    expect(stripAnsi('\u001b[1;31merror\u001b[0m')).toBe('error');
  });
});

describe('LogRing', () => {
  it('keeps only the newest lines, oldest first', () => {
    const ring = new LogRing(3);
    ring.push('1', '2');
    expect(ring.tail()).toEqual(['1', '2']);
    ring.push('3', '4', '5');
    expect(ring.size).toBe(3);
    expect(ring.tail()).toEqual(['3', '4', '5']);
    expect(ring.tail(2)).toEqual(['4', '5']);
    expect(ring.tail(0)).toEqual([]);
    ring.clear();
    expect(ring.tail()).toEqual([]);
  });

  it('matches a plain array sliced to the capacity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.array(fc.string(), { maxLength: 40 }), fc.nat(15), (capacity, lines, limit) => {
        const ring = new LogRing(capacity);
        for (const line of lines) ring.push(line);
        const kept = lines.slice(-capacity);
        expect(ring.tail()).toEqual(kept);
        expect(ring.tail(limit)).toEqual(limit === 0 ? [] : kept.slice(-limit));
      }),
    );
  });

  it('rejects a capacity that cannot hold a line', () => {
    expect(() => new LogRing(0)).toThrow(RangeError);
  });
});
