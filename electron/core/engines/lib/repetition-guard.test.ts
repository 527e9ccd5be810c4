import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RepetitionGuard, cutAtLoop } from './repetition-guard.js';

function feed(guard: RepetitionGuard, text: string, pieceSize: number): ReturnType<RepetitionGuard['push']> {
  for (let i = 0; i < text.length; i += pieceSize) {
    const found = guard.push(text.slice(i, i + pieceSize));
    if (found) return found;
  }
  return null;
}

describe('RepetitionGuard', () => {
  it('stops a grounding line written over and over, keeping the text before the loop and one copy', () => {
    const intro = '<|ref|>SUMMER SALE<|/ref|><|det|>[[10, 10, 900, 120]]<|/det|>\n';
    const line = '<|ref|>50% OFF<|/ref|><|det|>[[100, 200, 800, 300]]<|/det|>\n';
    const text = intro + line.repeat(500);
    const guard = new RepetitionGuard();
    const found = feed(guard, text, 7);
    expect(found).not.toBeNull();
    expect(found!.period).toBe(line.length);
    expect(cutAtLoop(text, found!)).toBe(intro + line);
    // It fired long before the end of the loop.
    expect(guard.length).toBeLessThan(intro.length + line.length * 12);
  });

  it('stops a single word or character repeated', () => {
    expect(feed(new RepetitionGuard(), `Price: ${'9'.repeat(1000)}`, 3)).toMatchObject({ period: 1, keepChars: 8 });
    const word = feed(new RepetitionGuard(), `Buy now ${'SALE '.repeat(400)}`, 5);
    expect(word).toMatchObject({ period: 5 });
    expect(cutAtLoop(`Buy now ${'SALE '.repeat(400)}`, word!)).toBe('Buy now SALE ');
  });

  it('lets the repetition real ads have pass (a word three times, a row of stars, a dashed rule)', () => {
    const ad = `SALE SALE SALE\n★★★★★ 4.9 out of 5\n${'-'.repeat(40)}\n| a | b | c |\n|---|---|---|\nFree delivery on orders over €50\n`;
    expect(feed(new RepetitionGuard(), ad.repeat(3), 11)).toBeNull();
  });

  it('finds the same loop however the stream is chunked', () => {
    const text = `Intro text. ${'abc def '.repeat(200)}`;
    const reference = feed(new RepetitionGuard(), text, text.length);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 97 }), (pieceSize) => {
        expect(feed(new RepetitionGuard(), text, pieceSize)).toEqual(reference);
      }),
      { numRuns: 50 },
    );
  });

  it('keeps answering the loop once found, and rejects bad options by name', () => {
    const guard = new RepetitionGuard({ minChars: 10, minCopies: 3 });
    expect(guard.push('xyxyxyxyxyxy')).not.toBeNull();
    expect(guard.push('new text')).toEqual(guard.found);
    expect(() => new RepetitionGuard({ minCopies: 1 })).toThrow(/minCopies/);
    expect(() => new RepetitionGuard({ maxPeriod: 0 })).toThrow(/maxPeriod/);
  });

  it('does not split a surrogate pair when cutting', () => {
    const text = `${'🎉'.repeat(300)}`;
    const found = feed(new RepetitionGuard(), text, 4)!;
    const kept = cutAtLoop(text, found);
    expect(kept).toBe('🎉');
  });
});
