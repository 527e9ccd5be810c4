/**
 * Tuning harness of the embedded OCR pipeline: scores variants of its options on ONE half
 * of a dataset (the tuning half unless told), side by side, so that every setting is
 * chosen without looking at the check half:
 *
 *   npm run tune:ocr -- --dataset ../shared/testdata/ads --variants variants.json [--half tuning|check|all] [--model accurate|fast] [--out FILE.json]
 *
 * variants.json is `[{ "name", "runner"?, "job"?, "options"? }]`: `runner` overrides the
 * worker's model options (createOcrRunner), `job` the per-image options of the runner
 * (RecognizeOptions), `options` the engine's EmbeddedOptions (decoding, confidence floor,
 * reading order) over the model's tuned ones. The models run in this process on one
 * thread; the raw output of each image is cached per runner+job options and runner code under the OS temp
 * folder, so variants that differ only in decoding cost nothing to rerun. Prints word F1 and
 * CER per variant (pooled, and the number of images each variant improves or worsens
 * against the first) and writes the per-image readings as JSON.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { z } from 'zod';
import { dictionaryFromText } from '../electron/core/engines/lib/ocr-decode.js';
import { EMBEDDED_MODELS, embeddedJobOptions, toRecognizeResult, type EmbeddedOptions } from '../electron/core/engines/embedded.js';
import type { EmbeddedModel } from '../shared/embedded-ocr.js';
import { createOcrRunner, type OcrRunner as Runner, type RawOcrResult as RawResult } from '../electron/core/engines/embedded-ocr-runner.mjs';
import { evaluationHalf, scoreDataset, scoreImage, type ImageScore } from './lib/ocr-metrics.js';

const Variant = z.object({
  name: z.string().min(1),
  runner: z.record(z.string(), z.unknown()).optional(),
  job: z.record(z.string(), z.unknown()).optional(),
  options: z.record(z.string(), z.unknown()).optional(),
});
type Variant = z.infer<typeof Variant>;
const GroundTruth = z.array(z.object({ file: z.string().min(1), text: z.string() }).passthrough());


/** A hash of the runner's code (the runner and its lib modules): a raw result cached before an edit to it is not reused. */
async function runnerCodeHash(): Promise<string> {
  const engines = path.join(path.dirname(fileURLToPath(import.meta.url)), '../electron/core/engines');
  const lib = (await readdir(path.join(engines, 'lib'))).filter((f) => f.endsWith('.mjs')).map((f) => path.join('lib', f));
  const hash = createHash('sha256');
  for (const file of ['embedded-ocr-runner.mjs', ...lib.sort()]) hash.update(file).update(await readFile(path.join(engines, file)));
  return hash.digest('hex').slice(0, 16);
}

const USAGE = 'usage: tune-ocr --dataset DIR --variants FILE.json [--half tuning|check|all] [--model accurate|fast] [--out FILE.json]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { dataset: { type: 'string' }, variants: { type: 'string' }, half: { type: 'string' }, model: { type: 'string' }, out: { type: 'string' } },
    allowPositionals: false,
  });
  if (!values.dataset || !values.variants) throw new Error(USAGE);
  const half = values.half ?? 'tuning';
  if (!['tuning', 'check', 'all'].includes(half)) throw new Error(`--half must be tuning, check or all, got ${half}`);
  const model = (values.model ?? 'accurate') as EmbeddedModel;
  if (!(model in EMBEDDED_MODELS)) throw new Error(`--model must be one of ${Object.keys(EMBEDDED_MODELS).join(', ')}, got ${model}`);
  const dataset = path.resolve(values.dataset);
  const variants = z.array(Variant).min(1).parse(JSON.parse(await readFile(values.variants, 'utf8')));
  const truth = GroundTruth.parse(JSON.parse(await readFile(path.join(dataset, 'ground_truth.json'), 'utf8'))).filter((entry) => half === 'all' || evaluationHalf(entry.file) === half);
  const base: EmbeddedOptions = EMBEDDED_MODELS[model].options;
  const cacheDir = path.join(os.tmpdir(), 'parallel-vision-tune-ocr');
  await mkdir(cacheDir, { recursive: true });
  const code = await runnerCodeHash();

  const runners = new Map<string, Runner>();
  const runnerFor = async (options: Record<string, unknown>): Promise<Runner> => {
    const key = JSON.stringify(options);
    let runner = runners.get(key);
    if (!runner) {
      runner = await createOcrRunner({ threads: 1, ...options });
      runners.set(key, runner);
    }
    return runner;
  };

  const results: Array<{ variant: Variant; scores: ImageScore[]; texts: string[]; cpuMs: number }> = [];
  for (const variant of variants) {
    const options: EmbeddedOptions = { ...base, ...(variant.options as Partial<EmbeddedOptions>), decode: { ...base.decode, ...((variant.options?.decode as object | undefined) ?? {}) } };
    const runnerOptions = { detector: options.detector, recognizer: options.recognizer, ...variant.runner };
    const job = { ...embeddedJobOptions(options), ...variant.job };
    const scores: ImageScore[] = [];
    const texts: string[] = [];
    let cpuMs = 0;
    for (const [i, entry] of truth.entries()) {
      const key = createHash('sha256').update(JSON.stringify({ runnerOptions, job, file: entry.file, dataset, code })).digest('hex').slice(0, 24);
      const cached = path.join(cacheDir, `${key}.v8`);
      let raw: RawResult;
      try {
        raw = deserialize(await readFile(cached)) as RawResult;
      } catch {
        const runner = await runnerFor(runnerOptions);
        const cpu0 = process.cpuUsage();
        raw = await runner.recognize(new Uint8Array(await readFile(path.join(dataset, entry.file))), job);
        const cpu = process.cpuUsage(cpu0);
        raw.timings = { ...raw.timings, cpu_ms: (cpu.user + cpu.system) / 1000 };
        await writeFile(cached, serialize(raw));
      }
      cpuMs += raw.timings.cpu_ms ?? 0;
      const runner = await runnerFor(runnerOptions);
      const text = toRecognizeResult(raw, dictionaryFromText(runner.dictionaryText), options).text;
      texts.push(text);
      scores.push(scoreImage(entry.text, text));
      if (process.stdout.isTTY) process.stdout.write(`\r${variant.name}: ${i + 1}/${truth.length}`);
    }
    if (process.stdout.isTTY) process.stdout.write("\n");
    results.push({ variant, scores, texts, cpuMs });
  }
  for (const runner of runners.values()) await runner.close();

  const first = results[0]!;
  console.log(`\n${truth.length} images (${half} half), model ${model}`);
  console.log(`${'variant'.padEnd(40)}${'word F1'.padEnd(9)}${'CER'.padEnd(8)}${'mean F1'.padEnd(9)}${'better'.padEnd(8)}${'worse'.padEnd(8)}CPU s/image (cached runs: as first measured)`);
  for (const { variant, scores, cpuMs } of results) {
    const total = scoreDataset(scores);
    const edits = (s: ImageScore): number => s.cerCounts.edits;
    const better = scores.filter((s, i) => edits(s) < edits(first.scores[i]!)).length;
    const worse = scores.filter((s, i) => edits(s) > edits(first.scores[i]!)).length;
    console.log(`${variant.name.slice(0, 39).padEnd(40)}${total.wordF1.toFixed(3).padEnd(9)}${total.cer.toFixed(3).padEnd(8)}${total.meanWordF1.toFixed(3).padEnd(9)}${String(better).padEnd(8)}${String(worse).padEnd(8)}${(cpuMs / 1000 / truth.length).toFixed(3)}`);
  }
  if (values.out) {
    const perImage = truth.map((entry, i) => ({ file: entry.file, truth: entry.text, readings: results.map((r) => ({ variant: r.variant.name, text: r.texts[i], cer: r.scores[i]!.cer, wordF1: r.scores[i]!.wordF1, edits: r.scores[i]!.cerCounts.edits })) }));
    await writeFile(values.out, `${JSON.stringify({ half, model, loadAverage: os.loadavg(), variants: results.map((r) => ({ ...r.variant, ...scoreDataset(r.scores) })), perImage }, null, 2)}\n`);
    console.log(`wrote ${values.out}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
