import { describe, expect, it } from 'vitest';
import { characterProbabilities, lineConfidence } from './line-confidence.mjs';
import { decodeCtcLine } from './ocr-decode.js';

describe('line confidence', () => {
  it('a character is a run of one class; its probability is the highest over the run', () => {
    // "a a" read as classes 1 1 0 1 2 2 2: three characters (a, a, b).
    const indices = Int32Array.from([1, 1, 0, 1, 2, 2, 2]);
    const probs = Float32Array.from([0.5, 0.9, 0.99, 0.6, 0.4, 1, 0.7]);
    expect(characterProbabilities(indices, probs).map((p) => Number(p.toFixed(3)))).toEqual([0.9, 0.6, 1]);
    expect(lineConfidence(indices, probs)).toBeCloseTo((0.9 + 0.6 + 1) / 3, 6);
  });

  it('is 0 for a line of blanks or no steps', () => {
    expect(lineConfidence(Int32Array.from([0, 0]), Float32Array.from([0.9, 0.9]))).toBe(0);
    expect(lineConfidence(new Int32Array(0), new Float32Array(0))).toBe(0);
  });

  it('is the confidence the decoder gives the line', () => {
    const line = { box: [0, 0, 10, 10] as [number, number, number, number], indices: Int32Array.from([1, 1, 0, 2, 0, 2]), probs: Float32Array.from([0.3, 0.8, 0.9, 0.75, 0.9, 0.95]), ink: new Uint8Array(0) };
    expect(decodeCtcLine(line, ['a', 'b']).confidence).toBe(lineConfidence(line.indices, line.probs));
  });
});
