import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LineSplitter, LineTooLongError } from './lines.js';

function splitWhole(options: ConstructorParameters<typeof LineSplitter>[0], text: string): string[] {
  const splitter = new LineSplitter(options);
  return [...splitter.push(text), ...splitter.flush()];
}

describe('LineSplitter', () => {
  it('keeps a half line until its newline arrives; flush gives the unterminated rest', () => {
    const splitter = new LineSplitter();
    expect(splitter.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
    expect(splitter.push(':2}\r\n')).toEqual(['{"b":2}']);
    expect(splitter.push('READY po')).toEqual([]);
    expect(splitter.push('rt=8001\nnext')).toEqual(['READY port=8001']);
    expect(splitter.flush()).toEqual(['next']);
    expect(splitter.flush()).toEqual([]);
  });

  it('by default only \\n ends a line: a \\r before it is dropped, a bare one kept', () => {
    expect(splitWhole({}, 'a\r\nb\rc\nd\r')).toEqual(['a', 'b\rc', 'd']);
  });

  it('with carriageReturnEndsLine, \\r\\n is one break and a bare \\r (progress bars) is a break, also across chunks', () => {
    const splitter = new LineSplitter({ carriageReturnEndsLine: true });
    expect(splitter.push('a\r\nb\r')).toEqual(['a', 'b']);
    expect(splitter.push('')).toEqual([]);
    expect(splitter.push('\nc 10%\rc 20%\r')).toEqual(['c 10%', 'c 20%']);
    expect(splitter.push('\r\n')).toEqual(['']);
    expect(splitter.flush()).toEqual([]);
  });

  for (const carriageReturnEndsLine of [false, true]) {
    it(`yields the same lines however the text is chunked (carriageReturnEndsLine: ${carriageReturnEndsLine})`, () => {
      fc.assert(
        fc.property(fc.array(fc.stringMatching(/^[a-z \r\n]{0,12}$/), { maxLength: 8 }), fc.array(fc.nat(20), { maxLength: 8 }), (parts, cuts) => {
          const text = parts.join('');
          const expected = splitWhole({ carriageReturnEndsLine }, text);
          const chunked = new LineSplitter({ carriageReturnEndsLine });
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
  }

  it('with carriageReturnEndsLine, splits like a character-by-character reading of \\r, \\n and \\r\\n', () => {
    const reference = (text: string): string[] => text.split(/\r\n|\r|\n/).filter((_, i, all) => i < all.length - 1 || all[i] !== '');
    fc.assert(
      fc.property(fc.stringMatching(/^[ab\r\n]{0,30}$/), (text) => {
        expect(splitWhole({ carriageReturnEndsLine: true }, text)).toEqual(reference(text));
      }),
    );
  });

  it('a line longer than the limit is an error, whether it arrives in one chunk or many', () => {
    expect(() => new LineSplitter({ maxLineChars: 10 }).push('01234567890\n')).toThrow(LineTooLongError);
    const splitter = new LineSplitter({ maxLineChars: 10 });
    expect(splitter.push('01234')).toEqual([]);
    expect(splitter.push('56789\nab')).toEqual(['0123456789']);
    expect(() => splitter.push('cdefghijk')).toThrow(/longer than 10 characters/);
  });

  it('a long line in many small chunks is joined once (the pending part is not re-split per chunk)', () => {
    const splitter = new LineSplitter();
    const pieces = 20_000;
    let early = 0;
    for (let i = 0; i < pieces; i++) early += splitter.push('x'.repeat(50)).length;
    expect(early).toBe(0);
    const [line] = splitter.push('\n');
    expect(line).toHaveLength(pieces * 50);
  });
});
