import { describe, expect, it } from 'vitest';
import { recognitionBatches } from './recognition-batches.mjs';

describe('recognitionBatches', () => {
  it('groups crops narrowest first, at most `batch` per call', () => {
    expect(recognitionBatches([300, 100, 200, 50, 400], { batch: 2 })).toEqual([[3, 1], [2, 0], [4]]);
  });

  it('with a column bound, wide lines go in smaller batches and a line wider than the bound alone', () => {
    // Five crops padded to 700 would be 3500 columns, so the 700 starts a new call; 2500 is over the bound alone.
    const widths = [100, 100, 100, 100, 700, 800, 2500];
    expect(recognitionBatches(widths, { batch: 8, columns: 2000 })).toEqual([[0, 1, 2, 3], [4, 5], [6]]);
    // Six crops padded to 800 would be 4800 columns: the bound splits them.
    expect(recognitionBatches([800, 800, 800, 800, 800, 800], { batch: 8, columns: 2000 })).toEqual([[0, 1], [2, 3], [4, 5]]);
    expect(recognitionBatches([800, 800, 800, 800, 800, 800], { batch: 8 })).toEqual([[0, 1, 2, 3, 4, 5]]);
  });

  it('counts the padded width, at least minWidth', () => {
    expect(recognitionBatches([10, 10, 10, 10], { batch: 8, columns: 700, minWidth: 320 })).toEqual([[0, 1], [2, 3]]);
  });

  it('gives every crop exactly once', () => {
    const widths = Array.from({ length: 57 }, (_, i) => (i * 37) % 1601);
    const flat = recognitionBatches(widths, { batch: 8, columns: 2000 }).flat();
    expect(flat.sort((a, b) => a - b)).toEqual(widths.map((_, i) => i));
  });
});
