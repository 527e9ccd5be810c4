/**
 * Builds an OCR evaluation folder (images + ground_truth.json, the format bench:ocr and
 * tune:ocr read) from ICDAR 2013 Challenge 1 ("Born-Digital Images") training data, leaving
 * out images another dataset already holds, so that it gives a set no setting was chosen on:
 *
 *   npm run make:ocr-dataset -- --images DIR --gt DIR --exclude ../shared/testdata/ads --out /tmp/icdar-fresh
 *
 * --images holds `img_N.{png,jpg,gif}`, --gt their `gt_img_N.txt` word files (e.g. the
 * Challenge1_Training_Task12_Images and Challenge1_Training_Task1_GT folders of the public
 * antimatter15/icdar-2013 repository). Images are copied byte for byte; keep the output
 * outside the repository (the data has no licence for shipping).
 */
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { z } from 'zod';
import { icdarEntry, type GroundTruthEntry } from './lib/icdar-ground-truth.js';

const USAGE = 'usage: make-ocr-dataset --images DIR --gt DIR --out DIR [--exclude DATASET_DIR]';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { images: { type: 'string' }, gt: { type: 'string' }, out: { type: 'string' }, exclude: { type: 'string' } } });
  if (!values.images || !values.gt || !values.out) throw new Error(USAGE);
  const excluded = new Set<string>();
  if (values.exclude) {
    const file = path.join(values.exclude, 'ground_truth.json');
    const entries = z.array(z.object({ file: z.string() }).passthrough()).parse(JSON.parse(await readFile(file, 'utf8')));
    for (const entry of entries) excluded.add(entry.file);
  }
  const images = (await readdir(values.images)).filter((f) => /^img_\d+\.(png|jpe?g|gif)$/i.test(f)).sort((a, b) => Number(/\d+/.exec(a)?.[0]) - Number(/\d+/.exec(b)?.[0]));
  await mkdir(values.out, { recursive: true });
  const entries: GroundTruthEntry[] = [];
  let skipped = 0;
  for (const file of images) {
    if (excluded.has(file)) {
      skipped++;
      continue;
    }
    const gtFile = path.join(values.gt, `gt_${file.replace(/\.[^.]+$/, '')}.txt`);
    let groundTruth: string;
    try {
      groundTruth = await readFile(gtFile, 'utf8');
    } catch {
      throw new Error(`${file}: no ground truth file ${gtFile}`);
    }
    const meta = await sharp(path.join(values.images, file), { pages: 1 }).metadata();
    const size = meta.width && meta.height ? { width: meta.width, height: meta.height } : undefined;
    entries.push(icdarEntry(file, groundTruth, size));
    await copyFile(path.join(values.images, file), path.join(values.out, file));
  }
  await writeFile(path.join(values.out, 'ground_truth.json'), `${JSON.stringify(entries, null, 1)}\n`);
  const words = entries.reduce((n, e) => n + e.words.length, 0);
  console.log(`wrote ${entries.length} images (${words} words) to ${values.out}; left out ${skipped} already in ${values.exclude ?? '-'}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
