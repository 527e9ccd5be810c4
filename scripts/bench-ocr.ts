/**
 * OCR benchmark for any engine, on a folder of images with ground truth:
 *
 *   npm run bench:ocr -- --engine deepseek --dataset ../shared/testdata/ads --out bench-results/ocr-deepseek.json
 *     [--endpoint URL] [--model M] [--workers N] [--limit N] [--mode M] [--backend rapidocr|deepseek|mlx|torch]
 *   npm run bench:ocr -- --engine embedded --dataset ../shared/testdata/ads [--model accurate,fast] [--language L]
 *
 * Honest evaluation: the images are split once into a tuning half (odd number in the file
 * name) and a check half (even), see evaluationHalf in lib/ocr-metrics.ts. Settings are
 * chosen on the tuning half only; the table reports both halves and the whole, and the
 * check half's numbers are the ones that count (its five worst images are listed). A second set
 * is split the same way: the ICDAR 2013 images not in ../shared/testdata/ads (`npm run
 * make:ocr-dataset`). Its tuning half is tuning data too; its check half is held out as well.
 * `--engine embedded` runs each of `--model` (default: accurate and fast) one after the
 * other with one worker per core, and the table shows every model × half.
 *
 * DIR holds images and `ground_truth.json` (`[{ file, width, height, text, words }]`). The
 * engine comes from createEngine, so every engine runs through the same code. For
 * `--engine deepseek` without `--endpoint`, the script starts the Python service from its
 * venv (rapidocr backend unless --backend says otherwise) and stops it at the end; with
 * --backend mlx|torch, --model PATH is handed to the service as its model folder and
 * $PV_DEEPSEEK_PYTHON names another venv's python (torch and mlx need separate venvs).
 * Prints a table and writes `{ engine, backend, images, cer, wordF1, halves, secondsPerImage, cpuSecondsPerImage, peakRssMb, loadAverage, perImage }`
 * (several models: `{ runs: [that, …] }`); --out defaults to bench-results/ocr-<engine>.json.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { EngineKind, type LaneConfig } from '../shared/domain.js';
import { createEngine } from '../electron/core/engines/create.js';
import { deepseekHealth } from '../electron/core/engines/deepseek.js';
import { EngineError, type Engine, type EngineImage } from '../electron/core/engines/types.js';
import { sniffImageMime } from '../electron/core/fetch/image-type.js';
import { residentMemoryMb } from '../electron/core/services/proc-info.js';
import { DEEPSEEK_SERVICE_BACKENDS, isDeepSeekServiceBackend, startDeepSeekService, type DeepSeekServiceBackend, type StartedService } from './lib/deepseek-service.js';
import { evaluationHalf, scoreDataset, scoreImage, type DatasetScore, type EvaluationHalf, type ImageScore } from './lib/ocr-metrics.js';

const GroundTruth = z.array(
  z.object({
    file: z.string().min(1),
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
    text: z.string(),
    words: z.array(z.object({ text: z.string() }).passthrough()).optional(),
  }),
);
type GroundTruthEntry = z.infer<typeof GroundTruth>[number];

const USAGE = 'usage: bench-ocr --engine <deepseek|ollama|embedded|openai|apple-vision> --dataset DIR [--out FILE.json] [--endpoint URL] [--model M[,M…]] [--workers N] [--limit N] [--mode M] [--language L] [--backend rapidocr|deepseek|mlx|torch]';
const MAX_OVERLOAD_RETRIES = 20;

interface Options {
  engine: EngineKind;
  dataset: string;
  out: string;
  endpoint?: string;
  model?: string;
  workers: number;
  limit?: number;
  mode?: string;
  language?: string;
  backend: DeepSeekServiceBackend;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      engine: { type: 'string' },
      dataset: { type: 'string' },
      out: { type: 'string' },
      endpoint: { type: 'string' },
      model: { type: 'string' },
      workers: { type: 'string' },
      limit: { type: 'string' },
      mode: { type: 'string' },
      language: { type: 'string' },
      backend: { type: 'string' },
    },
    allowPositionals: false,
  });
  const engine = EngineKind.safeParse(values.engine);
  if (!engine.success || !values.dataset) throw new Error(USAGE);
  const positiveInt = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
    return parsed;
  };
  const backend = values.backend ?? 'rapidocr';
  if (!isDeepSeekServiceBackend(backend)) throw new Error(`--backend must be one of ${DEEPSEEK_SERVICE_BACKENDS.join(', ')}, got ${backend}`);
  return {
    engine: engine.data,
    dataset: path.resolve(values.dataset),
    out: path.resolve(values.out ?? `bench-results/ocr-${engine.data}.json`),
    endpoint: values.endpoint,
    // The embedded engine's models are compared side by side unless one is named.
    model: values.model ?? (engine.data === 'embedded' ? 'accurate,fast' : undefined),
    // One worker per core for the in-process engine, as the app runs it.
    workers: positiveInt('workers', values.workers) ?? (engine.data === 'embedded' ? os.availableParallelism() : 1),
    limit: positiveInt('limit', values.limit),
    mode: values.mode,
    language: values.language,
    backend,
  };
}

/** CPU seconds a process has used (Linux /proc; clock ticks are 100/s there), or null elsewhere. */
async function processCpuSeconds(pid: number): Promise<number | null> {
  if (process.platform !== 'linux') return null;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** CPU seconds of this process plus the service, so figures stay comparable on a busy machine. */
async function cpuSeconds(childPid: number | undefined): Promise<number | null> {
  const own = process.cpuUsage();
  const child = childPid === undefined ? 0 : await processCpuSeconds(childPid);
  return child === null ? null : (own.user + own.system) / 1e6 + child;
}

/** Peak resident memory of this process plus the service it started, sampled every 100 ms. */
class RssSampler {
  peakMb = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly childPid: number | undefined) {}
  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), 100);
  }
  async sample(): Promise<void> {
    const own = process.memoryUsage().rss / 1024 / 1024;
    const child = this.childPid === undefined ? 0 : ((await residentMemoryMb(this.childPid)) ?? 0);
    this.peakMb = Math.max(this.peakMb, own + child);
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

interface PerImage {
  file: string;
  half: EvaluationHalf;
  seconds: number;
  cer: number;
  wordF1: number;
  referenceChars: number;
  text: string;
  error?: string;
}

async function recognizeWithBackoff(engine: Engine, image: EngineImage): Promise<{ text: string; model: string }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await engine.recognize(image, AbortSignal.timeout(10 * 60_000));
    } catch (error) {
      if (error instanceof EngineError && error.kind === 'overloaded' && attempt < MAX_OVERLOAD_RETRIES) {
        await new Promise((resolve) => setTimeout(resolve, error.options.retryAfterMs ?? 1000));
        continue;
      }
      throw error;
    }
  }
}

async function loadImage(dataset: string, entry: GroundTruthEntry): Promise<EngineImage> {
  const bytes = new Uint8Array(await readFile(path.join(dataset, entry.file)));
  const mime = sniffImageMime(bytes);
  if (!mime) throw new EngineError('permanent', `${entry.file} is not an image`);
  return { bytes, mime, width: entry.width, height: entry.height };
}

function pad(value: string | number, width: number): string {
  return String(value).padEnd(width);
}

function printTable(report: Report, worst: PerImage[]): void {
  const rows: [string, string][] = [
    ['engine', report.engine],
    ['backend', report.backend],
    ['images', `${report.images} (${report.failed} failed)`],
    ['workers', String(report.workers)],
    ['CER (pooled)', report.cer.toFixed(3)],
    ['CER (mean per image)', report.meanCer.toFixed(3)],
    ['word F1 (pooled)', report.wordF1.toFixed(3)],
    ['word F1 (mean per image)', report.meanWordF1.toFixed(3)],
    ['s/image (wall / images)', report.secondsPerImage.toFixed(3)],
    ['s/image (mean latency)', report.meanLatencySeconds.toFixed(3)],
    ['CPU s/image', report.cpuSecondsPerImage === null ? 'n/a' : report.cpuSecondsPerImage.toFixed(3)],
    ['peak RSS (MB)', report.peakRssMb.toFixed(0)],
    ['load average (1/5/15 min)', report.loadAverage.map((l) => l.toFixed(2)).join(' / ')],
  ];
  console.log('');
  for (const [name, value] of rows) console.log(`${pad(name, 26)}${value}`);
  console.log('\nworst images by CER:');
  console.log(`${pad('file', 14)}${pad('half', 8)}${pad('CER', 8)}${pad('F1', 8)}${pad('s', 8)}text`);
  for (const image of worst) {
    const text = (image.error ? `ERROR ${image.error}` : image.text).replace(/\s+/g, ' ').slice(0, 60);
    console.log(`${pad(image.file, 14)}${pad(image.half, 8)}${pad(image.cer.toFixed(2), 8)}${pad(image.wordF1.toFixed(2), 8)}${pad(image.seconds.toFixed(2), 8)}${text}`);
  }
}

/** Every run × half in one table; the check rows are the ones that count. */
function printComparison(reports: Report[]): void {
  console.log('\nmodel × half (check = held out; speed and memory are per run):');
  const header = ['model', 'half', 'images', 'word F1', 'CER', 'mean F1', 's/image', 'CPU s/image', 'images/s', 'peak RSS MB'];
  const widths = [34, 8, 8, 9, 8, 9, 9, 13, 10, 12];
  console.log(header.map((h, i) => pad(h, widths[i] ?? 10)).join(''));
  for (const report of reports) {
    for (const half of ['tuning', 'check', 'all'] as const) {
      const score = half === 'all' ? report : report.halves[half];
      const images = half === 'all' ? report.images : report.perImage.filter((image) => image.half === half).length;
      const cells = [
        report.backend,
        half,
        String(images),
        score.wordF1.toFixed(3),
        score.cer.toFixed(3),
        score.meanWordF1.toFixed(3),
        half === 'all' ? report.secondsPerImage.toFixed(3) : '',
        half === 'all' && report.cpuSecondsPerImage !== null ? report.cpuSecondsPerImage.toFixed(3) : '',
        half === 'all' ? (1 / report.secondsPerImage).toFixed(2) : '',
        half === 'all' ? report.peakRssMb.toFixed(0) : '',
      ];
      console.log(cells.map((c, i) => pad(c.slice(0, (widths[i] ?? 10) - 1), widths[i] ?? 10)).join(''));
    }
  }
  const load = os.loadavg();
  console.log(`load average ${load.map((l) => l.toFixed(2)).join(' / ')} on ${os.availableParallelism()} cores`);
}

/** The check half's worst images (most character edits), with reference and reading. */
function printWorstCheck(report: Report, truth: ReadonlyMap<string, string>): void {
  const worst = report.perImage
    .filter((image) => image.half === 'check')
    .sort((a, b) => b.cer * b.referenceChars - a.cer * a.referenceChars)
    .slice(0, 5);
  console.log(`\n${report.backend}: the 5 worst check-half images (most edits)`);
  for (const image of worst) {
    const flat = (text: string) => JSON.stringify(text.replace(/\s+/g, ' ').slice(0, 90));
    console.log(`  ${image.file}  CER ${image.cer.toFixed(2)}  F1 ${image.wordF1.toFixed(2)}\n    truth ${flat(truth.get(image.file) ?? '')}\n    read  ${image.error ? `ERROR ${image.error}` : flat(image.text)}`);
  }
}

interface Report {
  engine: EngineKind;
  backend: string;
  model: string | null;
  endpoint: string | null;
  dataset: string;
  images: number;
  failed: number;
  workers: number;
  cer: number;
  wordF1: number;
  meanCer: number;
  meanWordF1: number;
  /** Scores of the tuning half (odd image numbers) and the held-out check half (even). */
  halves: Record<EvaluationHalf, DatasetScore>;
  secondsPerImage: number;
  /** CPU time (this process + the service it started) per image; null where not measurable. */
  cpuSecondsPerImage: number | null;
  meanLatencySeconds: number;
  wallSeconds: number;
  peakRssMb: number;
  /** os.loadavg() at the end of the run: the machine is shared, so wall times vary with it. */
  loadAverage: number[];
  machine: { cpus: number; platform: string; arch: string; node: string };
  date: string;
  perImage: PerImage[];
}

async function runOne(options: Options, entries: GroundTruthEntry[], model: string | undefined): Promise<Report> {
  let service: StartedService | undefined;
  let endpoint = options.endpoint;
  if (options.engine === 'deepseek' && !endpoint) {
    console.log(`starting the OCR service (${options.backend} backend)…`);
    const modelArgs = options.model && (options.backend === 'mlx' || options.backend === 'torch') ? ['--model', options.model] : [];
    service = await startDeepSeekService({ backend: options.backend, extraArgs: ['--queue-size', String(Math.max(8, options.workers * 2)), ...modelArgs] });
    endpoint = service.baseUrl;
    console.log(service.readyLine);
  }
  const sampler = new RssSampler(service?.pid);
  sampler.start();
  // The embedded engine takes its model and language as lane settings, the others a model name.
  const embedded = options.engine === 'embedded';
  const settings = {
    ...(options.mode ? { mode: options.mode } : {}),
    ...(embedded && model ? { model } : {}),
    ...(options.language ? { language: options.language } : {}),
  };
  const lane: LaneConfig = {
    id: `bench-${options.engine}`,
    engine: options.engine,
    workers: options.workers,
    enabled: true,
    ...(endpoint ? { endpoint } : {}),
    ...(model && !embedded ? { model } : {}),
    ...(Object.keys(settings).length > 0 ? { settings } : {}),
  };
  let engine: Engine | undefined;
  try {
    engine = await createEngine(lane);
    let backend = engine.label;
    if (options.engine === 'deepseek' && endpoint) {
      const health = await deepseekHealth(endpoint);
      backend = `${health.backend} (${health.model}, ${health.device})`;
    }
    // Models load before the clock starts: the table is about steady-state reading.
    await engine.availability?.();
    const results: (PerImage & { score: ImageScore })[] = new Array(entries.length);
    let next = 0;
    let finished = 0;
    const started = performance.now();
    const cpuAtStart = await cpuSeconds(service?.pid);
    let reported = '';
    const worker = async (): Promise<void> => {
      for (let index = next++; index < entries.length; index = next++) {
        const entry = entries[index]!;
        const t0 = performance.now();
        let text = '';
        let error: string | undefined;
        try {
          const result = await recognizeWithBackoff(engine!, await loadImage(options.dataset, entry));
          text = result.text;
          reported ||= result.model;
        } catch (caught) {
          error = caught instanceof EngineError ? `${caught.kind}: ${caught.message}` : String(caught);
        }
        const score = scoreImage(entry.text, text);
        results[index] = {
          file: entry.file,
          half: evaluationHalf(entry.file),
          seconds: (performance.now() - t0) / 1000,
          cer: score.cer,
          wordF1: score.wordF1,
          referenceChars: score.cerCounts.referenceChars,
          text,
          ...(error ? { error } : {}),
          score,
        };
        finished++;
        if (finished % 10 === 0 || finished === entries.length) process.stdout.write(`\r${finished}/${entries.length} images`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.workers, entries.length) }, worker));
    const wallSeconds = (performance.now() - started) / 1000;
    const cpuAtEnd = await cpuSeconds(service?.pid);
    const cpuSecondsPerImage = cpuAtStart === null || cpuAtEnd === null ? null : (cpuAtEnd - cpuAtStart) / Math.max(1, entries.length);
    await sampler.sample();
    const totals = scoreDataset(results.map((r) => r.score));
    const scoreOf = (half: EvaluationHalf): DatasetScore => scoreDataset(results.filter((r) => r.half === half).map((r) => r.score));
    const perImage: PerImage[] = results.map(({ score: _score, ...rest }) => rest);
    return {
      engine: options.engine,
      backend: embedded && reported ? reported : backend,
      model: model ?? null,
      endpoint: endpoint ?? null,
      dataset: options.dataset,
      images: entries.length,
      failed: perImage.filter((r) => r.error).length,
      workers: options.workers,
      ...totals,
      halves: { tuning: scoreOf('tuning'), check: scoreOf('check') },
      secondsPerImage: wallSeconds / Math.max(1, entries.length),
      cpuSecondsPerImage,
      meanLatencySeconds: perImage.reduce((sum, r) => sum + r.seconds, 0) / Math.max(1, perImage.length),
      wallSeconds,
      peakRssMb: sampler.peakMb,
      loadAverage: os.loadavg(),
      machine: { cpus: os.cpus().length, platform: process.platform, arch: process.arch, node: process.version },
      date: new Date().toISOString(),
      perImage,
    };
  } finally {
    sampler.stop();
    await engine?.close?.();
    if (service) await service.stop();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const truth = GroundTruth.parse(JSON.parse(await readFile(path.join(options.dataset, 'ground_truth.json'), 'utf8')));
  const entries = truth.slice(0, options.limit ?? truth.length);
  const models = options.model === undefined ? [undefined] : options.model.split(',').map((m) => m.trim()).filter((m) => m !== '');
  const reports: Report[] = [];
  for (const model of models) {
    const report = await runOne(options, entries, model);
    reports.push(report);
    printTable(report, [...report.perImage].sort((a, b) => b.cer - a.cer).slice(0, 10));
  }
  const truthByFile = new Map(entries.map((entry) => [entry.file, entry.text]));
  printComparison(reports);
  for (const report of reports) printWorstCheck(report, truthByFile);
  await mkdir(path.dirname(options.out), { recursive: true });
  await writeFile(options.out, `${JSON.stringify(reports.length === 1 ? reports[0] : { runs: reports }, null, 2)}\n`);
  console.log(`\nwrote ${options.out}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
