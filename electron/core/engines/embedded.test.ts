import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { LaneConfig } from '../../../shared/domain.js';
import { createEmbeddedEngine } from './embedded.js';
import type { Engine, EngineImage } from './types.js';

async function renderAd(lines: Array<{ text: string; y: number; size: number }>, width = 420, height = 160): Promise<EngineImage> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/>${lines
    .map((l) => `<text x="20" y="${l.y}" font-family="DejaVu Sans, sans-serif" font-size="${l.size}" fill="#111">${l.text}</text>`)
    .join('')}</svg>`;
  const bytes = await sharp(Buffer.from(svg)).png().toBuffer();
  return { bytes, mime: 'image/png', width, height };
}

const lane: LaneConfig = { id: 'embedded', engine: 'embedded', workers: 2, enabled: true };
const never = () => new AbortController().signal;
// Loading PP-OCRv6 on a loaded CI machine takes a while; no assertion is about time.
const SLOW = { timeout: 180_000 };

describe('embedded OCR engine (PaddleOCR in worker threads)', SLOW, () => {
  let engine: Engine;
  let ad: EngineImage;
  beforeAll(async () => {
    engine = createEmbeddedEngine(lane);
    ad = await renderAd([
      { text: 'SUMMER SALE', y: 55, size: 34 },
      { text: '50% OFF today', y: 120, size: 30 },
    ]);
  }, SLOW.timeout);
  afterAll(async () => {
    await engine.close?.();
  }, SLOW.timeout);

  it('reads the lines of an ad in reading order with boxes in image pixels', async () => {
    const result = await engine.recognize(ad, never());
    // Word spaces come from the gaps in the image (the recognizer itself emits none here).
    expect(result.text).toBe('SUMMER SALE\n50% OFF today');
    expect(result.blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of result.blocks) {
      const [x1, y1, x2, y2] = block.box;
      expect(x1).toBeGreaterThanOrEqual(0);
      expect(y1).toBeGreaterThanOrEqual(0);
      expect(x2).toBeLessThanOrEqual(420);
      expect(y2).toBeLessThanOrEqual(160);
      expect(x2).toBeGreaterThan(x1);
      expect(block.confidence).toBeGreaterThan(0.5);
    }
    // The first line's text sits in the top half of the image, the second in the bottom half.
    const summer = result.blocks.find((b) => b.text.includes('SUMMER'));
    expect(summer && (summer.box[1] + summer.box[3]) / 2).toBeLessThan(80);
    expect(result.model).toContain('PP-OCR');
    expect(result.timings.total_ms).toBeGreaterThan(0);
  });

  it('serves several images at once across the pool, each with its own text', async () => {
    const words = ['APPLE', 'BANANA', 'CHERRY', 'LEMON'];
    const images = await Promise.all(words.map((w) => renderAd([{ text: w, y: 90, size: 40 }], 300, 140)));
    const results = await Promise.all(images.map((image) => engine.recognize(image, never())));
    expect(results.map((r) => r.text.trim())).toEqual(words);
  });

  it('reads a small image a second time at twice the size, and a large one once', async () => {
    const small = await renderAd([{ text: 'BIG SALE', y: 40, size: 18 }], 150, 60);
    const smallResult = await engine.recognize(small, never());
    expect(smallResult.text).toBe('BIG SALE');
    expect(smallResult.timings.second_pass_ms).toBeGreaterThan(0);
    const large = await renderAd([{ text: 'BIG SALE', y: 120, size: 30 }], 420, 240);
    const largeResult = await engine.recognize(large, never());
    expect(largeResult.text).toBe('BIG SALE');
    expect(largeResult.timings.second_pass_ms).toBeUndefined();
    const once = createEmbeddedEngine({ ...lane, workers: 1, settings: { secondPassBelow: 0 } });
    try {
      const onceResult = await once.recognize(small, never());
      expect(onceResult.timings.second_pass_ms).toBeUndefined();
    } finally {
      await once.close?.();
    }
  });

  it('returns empty text for an image without text', async () => {
    const blank = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#88aacc' } }).png().toBuffer();
    const result = await engine.recognize({ bytes: blank, mime: 'image/png' }, never());
    expect(result.text).toBe('');
    expect(result.blocks).toEqual([]);
  });

  it('reports bytes that are not an image as a permanent error and keeps working', async () => {
    await expect(engine.recognize({ bytes: new TextEncoder().encode('<html>not an image</html>'), mime: 'image/png' }, never())).rejects.toMatchObject({ kind: 'permanent' });
    await expect(engine.recognize(ad, never())).resolves.toMatchObject({ model: expect.any(String) });
  });

  it('rejects at once when aborted, leaving the pool usable', async () => {
    const controller = new AbortController();
    const pending = engine.recognize(ad, controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ kind: 'aborted' });
    expect((await engine.recognize(ad, never())).text.split('\n')).toHaveLength(2);
  });

  it('is available once its models load', async () => {
    expect(await engine.availability?.()).toEqual({ type: 'available' });
  });
});

describe('embedded OCR engine shutdown', SLOW, () => {
  it('close lets the image in progress finish, releases the workers, and rejects later calls', async () => {
    const engine = createEmbeddedEngine({ ...lane, workers: 1 });
    const ad = await renderAd([{ text: 'CLOSING TIME', y: 90, size: 40 }], 360, 140);
    await engine.recognize(ad, never());
    // Attach the expectation before closing: the call may settle while close() runs.
    const inFlight = expect(engine.recognize(ad, never())).rejects.toMatchObject({ kind: 'aborted' });
    await engine.close?.();
    await inFlight;
    await expect(engine.recognize(ad, never())).rejects.toMatchObject({ kind: 'unavailable' });
  });
});

describe('embedded OCR engine when its worker cannot start', () => {
  it('reports the lane unavailable instead of crashing or hanging', async () => {
    const previous = process.env.PARALLEL_VISION_EMBEDDED_WORKER;
    process.env.PARALLEL_VISION_EMBEDDED_WORKER = '/nonexistent/embedded-worker.mjs';
    try {
      const engine = createEmbeddedEngine({ ...lane, workers: 1 });
      const availability = await engine.availability?.();
      expect(availability).toMatchObject({ type: 'unavailable', reason: expect.stringMatching(/keep failing/) });
      await expect(engine.recognize({ bytes: new Uint8Array([1]), mime: 'image/png' }, never())).rejects.toMatchObject({ kind: 'unavailable' });
      await engine.close?.();
    } finally {
      if (previous === undefined) delete process.env.PARALLEL_VISION_EMBEDDED_WORKER;
      else process.env.PARALLEL_VISION_EMBEDDED_WORKER = previous;
    }
  });
});

describe('embedded OCR engine closed at any moment', () => {
  it('never aborts the process: closing while onnxruntime loads, while the models load, or mid-inference', async () => {
    const { execFile } = await import('node:child_process');
    const script = new URL('./__fixtures__/close-embedded-at.ts', import.meta.url).pathname;
    const delays = [0, 120, 2500];
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', script, ...delays.map(String)], { timeout: 240_000 }, (error, stdout, stderr) => resolve({ code: child.exitCode ?? (error ? 1 : 0), stdout, stderr }));
    });
    expect(result.stderr).not.toMatch(/terminate called|Napi::Error/);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(delays.map((delay) => expect.stringMatching(new RegExp(`^closed after ${delay} ms: (done|aborted)$`))));
  }, 240_000);
});
