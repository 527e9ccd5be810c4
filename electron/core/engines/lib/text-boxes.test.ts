/**
 * DB post-processing on probability maps and images drawn here: boxes where the map is
 * high (weak blobs dropped), the unclip offset, a rotated box's straightened crop and an
 * upright line turned to lie flat.
 */
import { describe, expect, it } from 'vitest';
import { boxScore, cropQuads, orderClockwise, rectPoints, rotate180, rotateCounterClockwise, textBoxes, textMask, unclipRect } from './text-boxes.mjs';

/** A probability map with filled axis-aligned rectangles [x1, y1, x2, y2, value]. */
function map(width: number, height: number, rects: Array<[number, number, number, number, number]>): Float32Array {
  const out = new Float32Array(width * height);
  for (const [x1, y1, x2, y2, value] of rects) for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) out[y * width + x] = value;
  return out;
}

/** A white RGBA image with filled rectangles of a colour. */
function image(width: number, height: number, rects: Array<[number, number, number, number, [number, number, number]]>) {
  const data = new Uint8Array(width * height * 4).fill(255);
  for (const [x1, y1, x2, y2, [r, g, b]] of rects) {
    for (let y = y1; y < y2; y++) {
      for (let x = x1; x < x2; x++) {
        const i = (y * width + x) * 4;
        data[i] = r;
        data[i + 1] = g;
        data[i + 2] = b;
      }
    }
  }
  return { data, width, height };
}

const pixel = (img: { data: Uint8Array; width: number }, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3));

describe('unclipRect', () => {
  it('grows every side by area × ratio / perimeter and keeps centre and angle', () => {
    // 40 × 10: area 400, perimeter 100, ratio 1.5 → 6 px each side.
    const grown = unclipRect({ center: { x: 50, y: 20 }, size: { width: 40, height: 10 }, angle: 30 }, 1.5);
    expect(grown.size.width).toBeCloseTo(52);
    expect(grown.size.height).toBeCloseTo(22);
    expect(grown).toMatchObject({ center: { x: 50, y: 20 }, angle: 30 });
  });
});

describe('rectPoints and orderClockwise', () => {
  it('gives an axis-aligned rectangle its corners top-left, top-right, bottom-right, bottom-left', () => {
    const corners = orderClockwise(rectPoints({ center: { x: 20, y: 10 }, size: { width: 30, height: 8 }, angle: 0 }));
    expect(corners.map((p) => p.map((v) => Math.round(v)))).toEqual([[5, 6], [35, 6], [35, 14], [5, 14]]);
  });
});

describe('boxScore', () => {
  it('is the mean probability inside the box, edges included', () => {
    const probability = map(20, 10, [[2, 2, 12, 6, 1]]);
    expect(boxScore(probability, 20, 10, [[2, 2], [11, 2], [11, 5], [2, 5]])).toBeCloseTo(1);
    // The right half of a 20-wide box is empty.
    expect(boxScore(probability, 20, 10, [[2, 2], [21, 2], [21, 5], [2, 5]])).toBeCloseTo(10 / 18);
  });
});

describe('textMask', () => {
  it('thresholds the map, and with dilate grows it one pixel right and down (a 2×2 kernel)', () => {
    // 4 × 3 map, one pixel above the threshold at (1, 1).
    const probability = map(4, 3, [[1, 1, 2, 2, 0.9]]);
    expect(Array.from(textMask(probability, 4, 3, 0.3))).toEqual([0, 0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(textMask(probability, 4, 3, 0.3, true))).toEqual([0, 0, 0, 0, 0, 255, 255, 0, 0, 255, 255, 0]);
    expect(Array.from(textMask(probability, 4, 3, 0.95))).toEqual(new Array(12).fill(0));
  });
});

describe('textBoxes', () => {
  it('finds one box per text region, grown by the unclip ratio and scaled to the destination size', async () => {
    // Two lines on a 100 × 40 map, the second twice as thick; destination twice the size.
    const probability = map(100, 40, [[10, 5, 60, 11, 0.9], [20, 20, 90, 32, 0.8]]);
    const boxes = await textBoxes(probability, 100, 40, 200, 80, { threshold: 0.3, boxThreshold: 0.5, unclipRatio: 1.5 });
    expect(boxes).toHaveLength(2);
    const sorted = [...boxes].sort((a, b) => a.points[0]![1] - b.points[0]![1]);
    const [first, second] = sorted.map((b) => b.points);
    // The first region spans x 10..59, y 5..10 (minAreaRect of the contour: 49 × 5), unclip
    // distance 49·5·1.5 / 108 ≈ 3.4 px, then ×2.
    expect(first![0]![0]).toBeGreaterThanOrEqual(2 * (10 - 4) - 1);
    expect(first![0]![0]).toBeLessThanOrEqual(2 * (10 - 3) + 1);
    expect(first![2]![1]).toBeGreaterThanOrEqual(2 * (10 + 3) - 1);
    expect(first![2]![1]).toBeLessThanOrEqual(2 * (10 + 4) + 1);
    expect(second![1]![0]).toBeGreaterThan(2 * 89);
    expect(sorted[0]!.score).toBeCloseTo(0.9);
    expect(sorted[1]!.score).toBeCloseTo(0.8);
  });

  it('drops a region whose mean probability is below the box threshold, and specks below the minimum size', async () => {
    const probability = map(100, 40, [[10, 5, 60, 12, 0.35], [20, 20, 90, 32, 0.9], [5, 30, 7, 32, 1]]);
    const boxes = await textBoxes(probability, 100, 40, 100, 40, { threshold: 0.3, boxThreshold: 0.5 });
    expect(boxes).toHaveLength(1);
    expect(boxes[0]!.score).toBeCloseTo(0.9);
    expect(await textBoxes(probability, 100, 40, 100, 40, { threshold: 0.3, boxThreshold: 0.3 })).toHaveLength(2);
  });

  it('with dilate, joins two regions one pixel apart', async () => {
    const probability = map(60, 20, [[5, 5, 25, 12, 0.9], [26, 5, 50, 12, 0.9]]);
    expect(await textBoxes(probability, 60, 20, 60, 20)).toHaveLength(2);
    expect(await textBoxes(probability, 60, 20, 60, 20, { dilate: true })).toHaveLength(1);
  });

  it('finds a slanted line as a rotated box', async () => {
    const width = 120;
    const height = 80;
    const probability = new Float32Array(width * height);
    // A band 8 px thick along y = 20 + 0.5 x (about 26.6°).
    for (let y = 0; y < height; y++) for (let x = 10; x < 100; x++) if (Math.abs(y - (20 + 0.5 * (x - 10))) < 4) probability[y * width + x] = 0.9;
    const [box] = await textBoxes(probability, width, height, width, height);
    const [tl, tr] = box!.points;
    expect(Math.atan2(tr![1] - tl![1], tr![0] - tl![0]) * (180 / Math.PI)).toBeCloseTo(26.6, 0);
  });
});

describe('cropQuads', () => {
  it('cuts an axis-aligned box as it is', async () => {
    const img = image(40, 20, [[10, 5, 30, 15, [200, 0, 0]]]);
    const [crop] = await cropQuads(img, [[[10, 5], [30, 5], [30, 15], [10, 15]]]);
    expect(crop).toMatchObject({ width: 20, height: 10, rotated: false });
    expect(pixel(crop!, 10, 5)).toEqual([200, 0, 0]);
  });

  it('straightens a rotated box: its left half stays left, its right half right', async () => {
    // A 60 × 20 rectangle turned 30° about (50, 50), red on its left half, blue on its right.
    const img = image(100, 100, []);
    const angle = (30 * Math.PI) / 180;
    const along = [Math.cos(angle), Math.sin(angle)];
    const across = [-Math.sin(angle), Math.cos(angle)];
    for (let y = 0; y < 100; y++) {
      for (let x = 0; x < 100; x++) {
        const u = (x - 50) * along[0]! + (y - 50) * along[1]!;
        const v = (x - 50) * across[0]! + (y - 50) * across[1]!;
        if (Math.abs(u) > 30 || Math.abs(v) > 10) continue;
        const i = (y * 100 + x) * 4;
        img.data.set(u < 0 ? [220, 0, 0] : [0, 0, 220], i);
      }
    }
    const corner = (u: number, v: number): [number, number] => [50 + u * along[0]! + v * across[0]!, 50 + u * along[1]! + v * across[1]!];
    const [crop] = await cropQuads(img, [[corner(-30, -10), corner(30, -10), corner(30, 10), corner(-30, 10)]]);
    expect(crop!.width).toBeGreaterThanOrEqual(59);
    expect(crop!.height).toBeGreaterThanOrEqual(19);
    expect(pixel(crop!, 15, 10)).toEqual([220, 0, 0]);
    expect(pixel(crop!, 45, 10)).toEqual([0, 0, 220]);
  });

  it('turns an upright box (at least 1.5 times as high as wide) to lie flat, its top to the left', async () => {
    // 10 wide, 40 high; red on top, blue below.
    const img = image(30, 50, [[10, 5, 20, 25, [220, 0, 0]], [10, 25, 20, 45, [0, 0, 220]]]);
    const [crop] = await cropQuads(img, [[[10, 5], [20, 5], [20, 45], [10, 45]]]);
    expect(crop).toMatchObject({ width: 40, height: 10, rotated: true });
    expect(pixel(crop!, 5, 5)).toEqual([220, 0, 0]);
    expect(pixel(crop!, 35, 5)).toEqual([0, 0, 220]);
  });
});

describe('rotateCounterClockwise', () => {
  it('moves the top-right pixel to the top-left', () => {
    const img = image(3, 2, [[2, 0, 3, 1, [1, 2, 3]]]);
    const turned = rotateCounterClockwise(img);
    expect(turned).toMatchObject({ width: 2, height: 3 });
    expect(pixel(turned, 0, 0)).toEqual([1, 2, 3]);
  });
});

describe('rotate180', () => {
  it('moves the top-left pixel to the bottom-right and keeps the size', () => {
    const img = image(3, 2, [[0, 0, 1, 1, [1, 2, 3]], [2, 0, 3, 1, [4, 5, 6]]]);
    const turned = rotate180(img);
    expect(turned).toMatchObject({ width: 3, height: 2 });
    expect(pixel(turned, 2, 1)).toEqual([1, 2, 3]);
    expect(pixel(turned, 0, 1)).toEqual([4, 5, 6]);
    expect(pixel(turned, 0, 0)).toEqual(pixel(img, 2, 1));
  });
});
