/**
 * The embedded engine's two models, its language setting and its model files, on images
 * drawn here (no test data): accented Latin (French, German, Spanish), Greek, a missing
 * and a corrupt model file, and settings that cannot work.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { LaneConfig } from '../../../shared/domain.js';
import { createEmbeddedEngine, embeddedJobOptions, embeddedModelName, embeddedWorkerData, parseEmbeddedSettings, toRecognizeResult } from './embedded.js';
import { createOcrRunner } from './embedded-ocr-runner.mjs';
import type { Engine, EngineImage } from './types.js';

const MODELS_DIR = fileURLToPath(new URL('../../../models/', import.meta.url));
const never = () => new AbortController().signal;
// Loading PP-OCRv6 and reading on a loaded CI machine takes a while; no assertion is about time.
const SLOW = { timeout: 180_000 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

async function render(lines: string[], width = 520, lineHeight = 70): Promise<EngineImage> {
  const height = lineHeight * lines.length + 30;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/>${lines
    .map((text, i) => `<text x="20" y="${(i + 1) * lineHeight}" font-family="DejaVu Sans, sans-serif" font-size="36" fill="#111">${escapeXml(text)}</text>`)
    .join('')}</svg>`;
  return { bytes: await sharp(Buffer.from(svg)).png().toBuffer(), mime: 'image/png' };
}

const lane = (settings: LaneConfig['settings'] = {}): LaneConfig => ({ id: 'embedded', engine: 'embedded', workers: 1, enabled: true, settings });

describe('embedded OCR settings', () => {
  it('defaults to the accurate model (PP-OCRv6) and lets a lane pick the fast one or mix them', () => {
    expect(parseEmbeddedSettings({})).toMatchObject({ detector: 'v6', recognizer: 'v6', language: 'auto' });
    expect(parseEmbeddedSettings({ model: 'fast' })).toMatchObject({ detector: 'v4', recognizer: 'v4' });
    const mixed = parseEmbeddedSettings({ model: 'fast', recognizer: 'v6' });
    expect(mixed).toMatchObject({ detector: 'v4', recognizer: 'v6', recUnitRange: false });
    expect(embeddedModelName(mixed)).toBe('PP-OCRv4 mobile det + PP-OCRv6 small rec (ONNX)');
  });

  it('rejects an unknown model or language, and a language the recogniser cannot read, naming the setting', () => {
    expect(() => parseEmbeddedSettings({ model: 'huge' })).toThrow(/model/);
    expect(() => parseEmbeddedSettings({ language: 'xx' })).toThrow(/language/);
    expect(() => parseEmbeddedSettings({ model: 'fast', language: 'fr' })).toThrow(/^lane "embedded": setting "language": "fr" \(French\) needs the PP-OCRv6 recogniser \(model: accurate\)/);
    expect(() => createEmbeddedEngine(lane({ model: 'fast', language: 'de' }))).toThrow(expect.objectContaining({ kind: 'config' }));
    expect(parseEmbeddedSettings({ model: 'fast', language: 'en' })).toMatchObject({ language: 'en' });
  });
});

describe('embedded OCR decoding of raw lines', () => {
  const dictionary = ['a', 'b', ' '];
  const rawLine = (classes: number[], prob: number, y: number) => ({
    box: [0, y, 40, y + 10] as [number, number, number, number],
    indices: Int32Array.from(classes),
    probs: Float32Array.from(classes, () => prob),
    ink: new Uint8Array(0),
  });
  const decode = (lines: ReturnType<typeof rawLine>[], settings: LaneConfig['settings'] = {}) => toRecognizeResult({ width: 40, height: 100, lines, timings: {} }, dictionary, parseEmbeddedSettings(settings)).text;

  it('keeps a lone character only when the recogniser is surer of it than of a longer line', () => {
    const lines = [rawLine([1, 0, 2], 0.8, 0), rawLine([1], 0.8, 20), rawLine([2], 0.95, 40)];
    expect(decode(lines)).toBe('ab\nb');
    expect(parseEmbeddedSettings({}).decode.minLoneCharConfidence).toBeGreaterThan(parseEmbeddedSettings({}).minConfidence);
    // The fast model's floor is lower (0.8).
    expect(decode(lines, { model: 'fast' })).toBe('ab\na\nb');
  });
});

describe('embedded OCR, accurate model, languages', SLOW, () => {
  const engines = new Map<string, Engine>();
  const engineFor = (language: string): Engine => {
    let engine = engines.get(language);
    if (!engine) engines.set(language, (engine = createEmbeddedEngine(lane({ language }))));
    return engine;
  };
  afterAll(async () => {
    await Promise.all([...engines.values()].map((engine) => engine.close?.()));
  }, SLOW.timeout);

  it.each([
    ['fr', ['Crème brûlée', 'Façade été à 3€']],
    ['de', ['Größe Übergröße', 'Schöne Grüße']],
    ['es', ['Mañana señor', 'Año nuevo: oferta']],
    // Greek capitals read as the Latin letters they look like unless the language says Greek.
    ['el', ['ΚΑΛΗ ΧΡΟΝΙΑ', 'ΦΙΛΟΣΟΦΙΑ ΨΥΧΗ', 'καλημερα φιλε']],
  ])('reads %s', async (language, lines) => {
    const result = await engineFor(language).recognize(await render(lines), never());
    expect(result.text).toBe(lines.join('\n'));
    expect(result.model).toBe('PP-OCRv6 small (ONNX)');
  });

  it('keeps a French "3e" as written (no currency rewrite)', async () => {
    const result = await engineFor('fr').recognize(await render(['Le 3e arrondissement']), never());
    expect(result.text).toBe('Le 3e arrondissement');
  });
});

describe('embedded OCR, accurate model, text boxes (DB post-processing)', SLOW, () => {
  let engine: Engine;
  beforeAll(() => {
    engine = createEmbeddedEngine(lane());
  });
  afterAll(async () => {
    await engine.close?.();
  }, SLOW.timeout);

  it('finds each line of an image wider than the detector sees, with boxes in the image\'s own pixels', async () => {
    // 2400 px wide: the detector sees it at 1600, the crops come from the full image.
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="2400" height="400"><rect width="100%" height="100%" fill="#fff"/>
      <text x="100" y="130" font-family="DejaVu Sans, sans-serif" font-size="80" fill="#111">Spring sale today</text>
      <text x="1300" y="320" font-family="DejaVu Sans, sans-serif" font-size="80" fill="#111">Free delivery</text></svg>`;
    const result = await engine.recognize({ bytes: await sharp(Buffer.from(svg)).png().toBuffer(), mime: 'image/png' }, never());
    expect(result.text).toBe('Spring sale today\nFree delivery');
    const first = result.blocks?.find((block) => block.text === 'Spring sale today');
    const second = result.blocks?.find((block) => block.text === 'Free delivery');
    // Each box holds its line's glyphs (baseline y, 80 px font) and not the other line.
    expect(first!.box[0]).toBeLessThan(110);
    expect(first!.box[1]).toBeLessThan(75);
    expect(first!.box[3]).toBeGreaterThan(130);
    expect(first!.box[3]).toBeLessThan(230);
    expect(second!.box[0]).toBeGreaterThan(1250);
    expect(second!.box[0]).toBeLessThan(1310);
    expect(second!.box[2]).toBeGreaterThan(1800);
    expect(second!.box[1]).toBeGreaterThan(230);
  });

  it('reads a line written top to bottom (turned 90° clockwise)', async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="700"><rect width="100%" height="100%" fill="#fff"/>
      <text transform="translate(60 40) rotate(90)" font-family="DejaVu Sans, sans-serif" font-size="48" fill="#111">Open daily</text></svg>`;
    const result = await engine.recognize({ bytes: await sharp(Buffer.from(svg)).png().toBuffer(), mime: 'image/png' }, never());
    expect(result.text).toBe('Open daily');
  });

  // Turned upright, a bottom-to-top line is upside down; the angle classifier turns it back
  // (without it: "SUMR SMMALE", "Lisn tow", or nothing).
  it.each(['SUMMER SALE', 'Ouvert le dimanche'])('reads a line written bottom to top (turned 90° counter-clockwise): %s', async (text) => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="700"><rect width="100%" height="100%" fill="#fff"/>
      <text transform="translate(100 660) rotate(-90)" font-family="DejaVu Sans, sans-serif" font-size="40" fill="#111">${text}</text></svg>`;
    const result = await engine.recognize({ bytes: await sharp(Buffer.from(svg)).png().toBuffer(), mime: 'image/png' }, never());
    expect(result.text).toBe(text);
  });
});

describe('embedded OCR model files', SLOW, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pv-models-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function availabilityWith(files: Record<string, Uint8Array | 'copy'>): Promise<unknown> {
    for (const [name, content] of Object.entries(files)) {
      if (content === 'copy') await copyFile(path.join(MODELS_DIR, name), path.join(dir, name));
      else await writeFile(path.join(dir, name), content);
    }
    const previous = process.env.PARALLEL_VISION_MODELS_DIR;
    process.env.PARALLEL_VISION_MODELS_DIR = dir; // worker threads copy the env when they start
    try {
      const engine = createEmbeddedEngine(lane());
      try {
        return await engine.availability?.();
      } finally {
        await engine.close?.();
      }
    } finally {
      if (previous === undefined) delete process.env.PARALLEL_VISION_MODELS_DIR;
      else process.env.PARALLEL_VISION_MODELS_DIR = previous;
    }
  }

  it('a missing model file makes the lane unavailable with the file and the fix named', async () => {
    const availability = await availabilityWith({ SHA256SUMS: 'copy' });
    expect(availability).toMatchObject({ type: 'unavailable', reason: expect.stringMatching(/PP-OCRv6_det_small\.onnx is missing.*git checkout -- models\//) });
  });

  it('a missing angle classifier file is an error naming it', async () => {
    const missing = path.join(dir, 'no-such-cls.onnx');
    await expect(createOcrRunner({ detector: 'v6', recognizer: 'v6', classifier: missing })).rejects.toThrow(/no-such-cls\.onnx is missing: reinstall/);
  });

  it('the accurate model loads the angle classifier with its worker, the fast one does not', () => {
    expect(embeddedWorkerData(parseEmbeddedSettings({}))).toMatchObject({ classifier: true });
    expect(embeddedJobOptions(parseEmbeddedSettings({}))).toMatchObject({ orientation: 'cls' });
    expect(embeddedWorkerData(parseEmbeddedSettings({ model: 'fast' }))).not.toHaveProperty('classifier');
    expect(embeddedJobOptions(parseEmbeddedSettings({ model: 'fast' }))).not.toHaveProperty('orientation');
  });

  it('a damaged model file (sha256 mismatch) makes the lane unavailable with the file named', async () => {
    const real = await readFile(path.join(MODELS_DIR, 'PP-OCRv6_det_small.onnx'));
    const damaged = new Uint8Array(real.subarray(0, 4096));
    const availability = await availabilityWith({ SHA256SUMS: 'copy', 'PP-OCRv6_det_small.onnx': damaged });
    expect(availability).toMatchObject({ type: 'unavailable', reason: expect.stringMatching(/PP-OCRv6_det_small\.onnx is corrupt.*git checkout/) });
  });
});
