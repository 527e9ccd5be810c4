import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LineSplitter, LogRing, stripAnsi } from './lines.js';

describe('LineSplitter', () => {
  it('keeps a half line until its end arrives', () => {
    const splitter = new LineSplitter();
    expect(splitter.push('READY po')).toEqual([]);
    expect(splitter.push('rt=8001\nnext')).toEqual(['READY port=8001']);
    expect(splitter.flush()).toEqual(['next']);
    expect(splitter.flush()).toEqual([]);
  });

  it('treats \\r\\n as one break and a bare \\r (progress bars) as a break', () => {
    const splitter = new LineSplitter();
    expect(splitter.push('a\r\nb\r')).toEqual(['a', 'b']);
    expect(splitter.push('\nc 10%\rc 20%\r')).toEqual(['c 10%', 'c 20%']);
  });

  it('strips ANSI colours', () => {
    expect(stripAnsi('\u001b[32mINFO\u001b[0m: started')).toBe('INFO: started');
    expect(new LineSplitter().push('\u001b[1;31merror\u001b[0m\n')).toEqual(['error']);
  });

  it('yields the same lines however the text is chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z \n]{0,12}$/), { maxLength: 8 }), fc.array(fc.nat(20), { maxLength: 8 }), (parts, cuts) => {
        const text = parts.join('');
        const whole = new LineSplitter();
        const expected = [...whole.push(text), ...whole.flush()];
        const chunked = new LineSplitter();
        const got: string[] = [];
        let at = 0;
        for (const cut of cuts) {
          const end = Math.min(text.length, at + cut);
          got.push(...chunked.push(text.slice(at, end)));
          at = end;
        }
        got.push(...chunked.push(text.slice(at)), ...chunked.flush());
        expect(got).toEqual(expected);
      }),
    );
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
