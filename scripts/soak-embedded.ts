/**
 * Memory soak of the embedded OCR engine on its real models: N ads read by one lane (one
 * worker per core, as the app runs it), cycling the images of a dataset, with the process's
 * resident memory (which holds the worker threads) sampled as it goes. Flat RSS after the
 * first cycle means the pool's workers do not grow.
 *
 *   npm run bench:soak-embedded -- --dataset ../shared/testdata/ads --ads 5000 [--model accurate|fast] [--samples 20] [--out FILE.json]
 *
 * Prints RSS over time and the growth from the end of the first cycle through the dataset
 * to the end; the numbers are reported, not asserted.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { LaneConfig } from '../shared/domain.js';
import { createEmbeddedEngine } from '../electron/core/engines/embedded.js';
import { sniffImageMime } from '../electron/core/fetch/image-type.js';
import type { EngineImage } from '../electron/core/engines/types.js';

const USAGE = 'usage: soak-embedded --dataset DIR --ads N [--model accurate|fast] [--samples N] [--out FILE.json]';

interface Sample {
  ads: number;
  seconds: number;
  rssMb: number;
  heapMb: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dataset: { type: 'string' }, ads: { type: 'string' }, model: { type: 'string' }, samples: { type: 'string' }, out: { type: 'string' } }, allowPositionals: false });
  if (!values.dataset || !values.ads) throw new Error(USAGE);
  const ads = Number(values.ads);
  const samples = Number(values.samples ?? 20);
  if (!Number.isInteger(ads) || ads < 1) throw new Error(`--ads must be a positive integer, got ${values.ads}`);
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`--samples must be a positive integer, got ${values.samples}`);
  const model = values.model ?? 'accurate';
  const dataset = path.resolve(values.dataset);
  const images: EngineImage[] = [];
  for (const file of (await readdir(dataset)).sort()) {
    const bytes = new Uint8Array(await readFile(path.join(dataset, file)));
    const mime = sniffImageMime(bytes);
    if (mime) images.push({ bytes, mime });
  }
  if (images.length === 0) throw new Error(`${dataset} holds no images`);

  const workers = os.availableParallelism();
  const lane: LaneConfig = { id: 'soak-embedded', engine: 'embedded', workers, enabled: true, settings: { model } };
  const engine = createEmbeddedEngine(lane);
  await engine.availability?.();
  const every = Math.max(1, Math.floor(ads / samples));
  const series: Sample[] = [];
  const started = performance.now();
  const sample = (done: number): void => {
    const memory = process.memoryUsage();
    series.push({ ads: done, seconds: (performance.now() - started) / 1000, rssMb: memory.rss / 2 ** 20, heapMb: memory.heapUsed / 2 ** 20 });
    const last = series.at(-1)!;
    console.log(`${String(done).padStart(8)} ads  ${last.seconds.toFixed(0).padStart(6)} s  RSS ${last.rssMb.toFixed(0).padStart(5)} MB  heap ${last.heapMb.toFixed(0).padStart(4)} MB`);
  };
  sample(0);
  let next = 0;
  let done = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < ads; index = next++) {
      try {
        await engine.recognize(images[index % images.length]!, AbortSignal.timeout(10 * 60_000));
      } catch {
        failed++;
      }
      done++;
      if (done % every === 0 || done === ads) sample(done);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  await engine.close?.();

  // Growth from the end of the first cycle (every image seen once, buffers at their largest).
  const afterFirstCycle = series.find((s) => s.ads >= images.length) ?? series[0]!;
  const end = series.at(-1)!;
  const peak = Math.max(...series.map((s) => s.rssMb));
  const report = {
    model,
    ads,
    images: images.length,
    workers,
    failed,
    seconds: end.seconds,
    imagesPerSecond: ads / end.seconds,
    rssAfterFirstCycleMb: afterFirstCycle.rssMb,
    rssEndMb: end.rssMb,
    peakRssMb: peak,
    growthMb: end.rssMb - afterFirstCycle.rssMb,
    loadAverage: os.loadavg(),
    series,
  };
  console.log(`\n${ads} ads (${images.length} images cycled), model ${model}, ${workers} workers, ${failed} failed, ${report.imagesPerSecond.toFixed(2)} images/s`);
  console.log(`RSS after the first cycle ${afterFirstCycle.rssMb.toFixed(0)} MB, at the end ${end.rssMb.toFixed(0)} MB (growth ${report.growthMb.toFixed(0)} MB), peak ${peak.toFixed(0)} MB`);
  console.log(`load average ${report.loadAverage.map((l) => l.toFixed(2)).join(' / ')}`);
  if (values.out) await writeFile(values.out, `${JSON.stringify(report, null, 2)}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
