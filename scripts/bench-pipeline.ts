/**
 * The real job, end to end: DIR's images served over HTTP on 127.0.0.1 (from a child
 * process, so serving costs this process nothing) and run through `parallel-vision run`'s
 * own code (runCommand: ingest → fetch → prepare → SQLite store → orchestrator → engines)
 * on the engines available here — the embedded engine, and the OCR service with its CPU
 * backend when its venv exists — in one invocation: the default configuration, then a sweep
 * of fixed ones (each engine alone at 1…cores workers, the pair at each one's best workers
 * under ratio 0.5 and auto). Each configuration starts from an empty data folder, so every
 * run fetches every image and loads its models.
 *
 *   npm run bench:pipeline -- --dataset ../shared/testdata/ads --out bench-results/pipeline.json [--quick] [--limit N] [--rounds N] [--no-service]
 *
 * On a shared, noisy machine one run of each configuration after the other compares loads,
 * not configurations: `--rounds N` runs the whole list N times, interleaved (round r starts
 * r places further down the list), and the ratios are the median of each round's own ratio.
 * `--quick`: 24 ads, 2 rounds, no pair under auto.
 *
 * Each configuration runs in a child process of its own, as `parallel-vision run` would.
 * CPU per ad: the pipeline's own (that process's main thread — fetch, store, events,
 * scheduling — plus image preparation, measured once up front because its libvips threads
 * are shared with the embedded engine's) next to the engines' (the rest of this process:
 * the embedded worker threads; plus the OCR service's process).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { RunProgress, type EngineKind } from '../shared/domain.js';
import type { CliIo } from '../electron/cli/io.js';
import { runCommand } from '../electron/cli/run.js';
import { prepareImage } from '../electron/core/fetch/index.js';
import { cpuSnapshot, processCpuSeconds } from './lib/cpu-time.js';
import { DEEPSEEK_VENV_PYTHON, startDeepSeekService, type StartedService } from './lib/deepseek-service.js';

const USAGE = 'usage: bench-pipeline --dataset DIR [--out FILE.json] [--quick] [--limit N] [--rounds N] [--no-service]';
const IMAGE_FILE = /\.(png|jpe?g|gif|webp|bmp|tiff?)$/i;
const QUICK_IMAGES = 24;
const QUICK_ROUNDS = 2;
/** A configuration whose engine `run` left out (its check did not answer in time) is tried again this often. */
const ATTEMPTS = 2;
/**
 * How long an engine's availability check may take: the embedded engine's is its workers
 * loading their models, 6–7 s on this shared machine under load. `run` takes it as
 * `RunDeps.checkTimeoutMs` once its lane building lands; until then it keeps its own 3 s
 * and the engine may be left out (the configuration is then tried again).
 */
const CHECK_TIMEOUT_MS = 120_000;
const runWithDeps = runCommand as (args: string[], io: CliIo, deps?: { checkTimeoutMs?: number }) => Promise<number>;
/** `run`'s default --max-side, so the calibration prepares images exactly as the runs do. */
const MAX_SIDE = 2048;

const { values } = parseArgs({
  options: {
    dataset: { type: 'string' },
    out: { type: 'string' },
    quick: { type: 'boolean', default: false },
    limit: { type: 'string' },
    rounds: { type: 'string' },
    'no-service': { type: 'boolean', default: false },
    /** Internal: run one configuration (JSON) and print its report. */
    child: { type: 'string' },
  },
});

interface Configuration {
  name: string;
  /** `default` is what a user gets without choosing workers or a policy; `fixed` ones are the sweep. */
  kind: 'default' | 'fixed';
  engines: EngineKind[];
  policy: 'auto' | 'ratio' | 'single';
  workers?: Partial<Record<EngineKind, number>>;
  split?: string;
}

interface Measured {
  name: string;
  /** The round (1…--rounds) it ran in. */
  round: number;
  kind: Configuration['kind'];
  args: string[];
  exitCode: number;
  /** As `run` reported them: `embedded×1, deepseek×1`. */
  lanes: string;
  /** Tries needed: `run` leaves out an engine whose check does not answer in time. */
  attempts: number;
  /** Engines asked for that `run` left out in the end, with its reason. */
  leftOut: string[];
  done: number;
  failed: number;
  wall_s: number;
  adsPerSecond: number;
  /** Per lane: its ceiling and the highest concurrency the progress events showed. */
  concurrency: Record<string, { workers: number; maxConcurrency: number }>;
  cpuPerAd_s: { pipeline: number | null; inProcessEngines: number | null; service: number | null; engines: number | null };
  /** Pipeline CPU over engine CPU, per ad. */
  pipelineOverEngines: number | null;
  loadAverage: number[];
}

function fail(message: string): never {
  console.error(`bench-pipeline: ${message}\n${USAGE}`);
  process.exit(2);
}

function datasetImages(dir: string): string[] {
  if (!existsSync(dir)) fail(`--dataset ${dir} does not exist`);
  const names = readdirSync(dir)
    .filter((name) => IMAGE_FILE.test(name))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (names.length === 0) fail(`--dataset ${dir} holds no images (${IMAGE_FILE.source})`);
  const limit = values.limit !== undefined ? Number(values.limit) : values.quick ? QUICK_IMAGES : Infinity;
  if (!(limit >= 1)) fail(`--limit must be a whole number ≥ 1, not ${values.limit}`);
  return names.slice(0, limit);
}

/** A static file server for `names` in `dir`, in a child process; resolves with its base URL. */
async function serveImages(dir: string, names: readonly string[]): Promise<{ baseUrl: string; stop: () => void }> {
  const script = `
    import { createServer } from 'node:http';
    import { readFileSync } from 'node:fs';
    import { join } from 'node:path';
    const [dir, namesJson] = process.argv.slice(1);
    const files = new Map(JSON.parse(namesJson).map((name) => [name, readFileSync(join(dir, name))]));
    const server = createServer((req, res) => {
      const body = files.get(decodeURIComponent((req.url ?? '/').slice(1)));
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/octet-stream' });
      res.end(body ?? 'not found');
    });
    server.listen(0, '127.0.0.1', () => console.log('PORT ' + server.address().port));
    process.stdin.on('end', () => process.exit(0)).resume();`;
  const child: ChildProcessByStdio<Writable, Readable, null> = spawn(process.execPath, ['--input-type=module', '-e', script, dir, JSON.stringify(names)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolvePort, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^PORT (\d+)$/.exec(line);
      if (match) resolvePort(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the image server exited (code ${code}) before listening`)));
  });
  return { baseUrl: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

/** CPU seconds this process spends preparing one image as `run` does (decode, orient, resize, re-encode). */
async function prepareCpuPerImage(dir: string, names: readonly string[]): Promise<number> {
  const images = names.map((name) => readFileSync(join(dir, name)));
  const before = cpuSnapshot().process_s;
  for (const bytes of images) await prepareImage(bytes, { maxSide: MAX_SIDE }).catch(() => undefined);
  return (cpuSnapshot().process_s - before) / images.length;
}

async function measure(config: Configuration, listPath: string, ads: number, prepare_s: number, service: StartedService | null): Promise<Measured> {
  let result: Measured | null = null;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    result = { ...(await measureOnce(config, listPath, ads, prepare_s, service)), attempts: attempt };
    if (result.leftOut.length === 0) break;
    console.log(`    left out ${result.leftOut.join('; ')}${attempt < ATTEMPTS ? ': again' : ''}`);
  }
  return result!;
}

/** What one `run` in a child process reports back. */
interface ChildReport {
  exitCode: number;
  errText: string;
  concurrency: Measured['concurrency'];
  wall_s: number;
  process_s: number;
  mainThread_s: number | null;
}

/**
 * Child mode: one `run` in a process of its own, as the CLI would be (and a native crash in
 * one configuration cannot take the benchmark down); prints its report as one line.
 */
async function childMain(spec: { args: string[]; dataDir: string }): Promise<void> {
  const concurrency: Measured['concurrency'] = {};
  let errText = '';
  const io: CliIo = {
    out: (text) => {
      for (const line of text.split('\n')) {
        if (!line.startsWith('{')) continue;
        const progress = RunProgress.safeParse(JSON.parse(line));
        if (!progress.success) continue;
        for (const lane of progress.data.lanes) {
          const seen = concurrency[lane.laneId] ?? { workers: lane.workers, maxConcurrency: 0 };
          concurrency[lane.laneId] = { workers: lane.workers, maxConcurrency: Math.max(seen.maxConcurrency, lane.concurrency) };
        }
      }
    },
    err: (text) => {
      errText += text;
      // An engine asked for was left out: this configuration is not what it says; report now instead of running it.
      if (/^ {2}\S+: left out of this run — not available \(/m.test(text)) finish(-2);
    },
    env: process.env,
    isTerminal: false,
  };
  const finish = (exitCode: number): never => {
    const wall_s = (performance.now() - started) / 1000;
    const after = cpuSnapshot();
    const report: ChildReport = {
      exitCode,
      errText,
      concurrency,
      wall_s,
      process_s: after.process_s - before.process_s,
      mainThread_s: before.mainThread_s !== null && after.mainThread_s !== null ? after.mainThread_s - before.mainThread_s : null,
    };
    process.stdout.write(`${CHILD_REPORT}${JSON.stringify(report)}\n`);
    process.exit(0);
  };
  // `run` imports its engines lazily. Under tsx each import is compiled then and there, blocking the
  // main thread (deepseek.js: 5.6 s at load 18), and a service's 3 s /health check that started just
  // before timed out: the lane was left out. The built app has them bundled, so load them first.
  await Promise.all([import('../electron/core/engines/embedded.js'), import('../electron/core/engines/deepseek.js')]);
  const before = cpuSnapshot();
  const started = performance.now();
  finish(await runWithDeps([...spec.args, '--data-dir', spec.dataDir, '--db', join(spec.dataDir, 'pv.db'), '--new', '--json'], io, { checkTimeoutMs: CHECK_TIMEOUT_MS }));
}

const CHILD_REPORT = 'BENCH-PIPELINE-REPORT ';

async function runChild(args: string[]): Promise<ChildReport | string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pv-bench-pipeline-'));
  try {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify({ args, dataDir })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    const exit = await new Promise<string>((resolveExit) => child.once('exit', (code, signal) => resolveExit(signal ? `signal ${signal}` : `exit code ${code}`)));
    const line = stdout.split('\n').find((text) => text.startsWith(CHILD_REPORT));
    if (!line) return `the run crashed (${exit}): ${stderr.trim().split('\n').slice(-2).join(' ').slice(0, 300)}`;
    return JSON.parse(line.slice(CHILD_REPORT.length)) as ChildReport;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measureOnce(config: Configuration, listPath: string, ads: number, prepare_s: number, service: StartedService | null): Promise<Measured> {
  const args = [
    '--engines',
    config.engines.join(','),
    '--policy',
    config.policy,
    ...(config.split ? ['--split', config.split] : []),
    ...Object.entries(config.workers ?? {}).flatMap(([engine, workers]) => ['--workers', `${engine}=${workers}`]),
    ...(service ? ['--deepseek-url', service.baseUrl] : []),
  ];
  process.stdout.write(`  ${config.name.padEnd(34)} `);
  const serviceBefore = service ? processCpuSeconds(service.pid) : null;
  const child = await runChild([listPath, ...args]);
  const serviceAfter = service ? processCpuSeconds(service.pid) : null;
  const report: ChildReport = typeof child === 'string' ? { exitCode: -1, errText: '', concurrency: {}, wall_s: 0, process_s: 0, mainThread_s: null } : child;
  const errText = report.errText;

  const leftOut = typeof child === 'string' ? [child] : [...errText.matchAll(/^ {2}(\S+): not available \((.*)\)$/gm)].map((match) => `${match[1]} (${match[2]})`);
  const summary = /(\d+) done, (\d+) failed of (\d+)/.exec(errText.slice(errText.lastIndexOf('\nRun ')));
  if (!summary && leftOut.length === 0) throw new Error(`${config.name}: run printed no summary (exit ${report.exitCode}):\n${errText}`);
  const done = summary ? Number(summary[1]) : 0;
  const failed = summary ? Number(summary[2]) : 0;
  const lanes = /: \d+ ads on (.+) \(\w+\)\n/.exec(errText)?.[1] ?? 'none';
  const attempted = done + failed;
  const pipeline = report.mainThread_s !== null ? report.mainThread_s + prepare_s * attempted : null;
  const inProcess = pipeline !== null ? report.process_s - pipeline : null;
  const serviceCpu = serviceBefore !== null && serviceAfter !== null ? serviceAfter - serviceBefore : null;
  const engines = inProcess !== null ? inProcess + (serviceCpu ?? 0) : null;
  // A run that left an engine out did no ads: its CPU is start-up only, not per ad.
  const perAd = (value: number | null): number | null => (value === null || attempted === 0 ? null : round(value / attempted, 4));
  const result: Measured = {
    name: config.name,
    kind: config.kind,
    args,
    exitCode: report.exitCode,
    lanes,
    attempts: 1,
    round: 0,
    leftOut,
    done,
    failed,
    wall_s: round(report.wall_s, 2),
    adsPerSecond: report.wall_s > 0 ? round(done / report.wall_s, 3) : 0,
    concurrency: report.concurrency,
    cpuPerAd_s: { pipeline: perAd(pipeline), inProcessEngines: perAd(inProcess), service: perAd(serviceCpu), engines: perAd(engines) },
    pipelineOverEngines: pipeline !== null && engines && attempted > 0 ? round(pipeline / engines, 3) : null,
    loadAverage: loadavg().map((load) => round(load, 2)),
  };
  console.log(`${result.adsPerSecond.toFixed(3)} ads/s  (${done}/${ads} done in ${result.wall_s} s on ${lanes}; load ${result.loadAverage[0]})`);
  if (summary && done + failed !== ads) console.log(`    warning: ${ads - done - failed} ads neither done nor failed`);
  return result;
}

/** One configuration over every round it ran in. */
interface Summary {
  name: string;
  kind: Configuration['kind'];
  /** Ads/s per round (null where it did not run). */
  perRound: Array<number | null>;
  /** The median over the rounds it ran. */
  adsPerSecond: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function summarise(results: readonly Measured[], rounds: number): Summary[] {
  const byName = new Map<string, Summary>();
  for (const result of results) {
    let summary = byName.get(result.name);
    if (!summary) byName.set(result.name, (summary = { name: result.name, kind: result.kind, perRound: new Array<number | null>(rounds).fill(null), adsPerSecond: 0 }));
    summary.perRound[result.round - 1] = result.adsPerSecond;
  }
  for (const summary of byName.values()) summary.adsPerSecond = round(median(summary.perRound.filter((value): value is number => value !== null)));
  return [...byName.values()];
}

function bestOf(summaries: readonly Summary[], filter: (summary: Summary) => boolean): Summary | null {
  return summaries.filter(filter).reduce<Summary | null>((best, summary) => (!best || summary.adsPerSecond > best.adsPerSecond ? summary : best), null);
}

/** The median over rounds of a's ads/s over b's in the same round: a load that drifts between rounds cancels out. */
function pairedRatio(a: Summary | null, b: Summary | null): number | null {
  if (!a || !b) return null;
  const ratios = a.perRound.flatMap((value, index) => {
    const other = b.perRound[index];
    return value !== null && other !== null && other !== undefined && other > 0 ? [value / other] : [];
  });
  return ratios.length > 0 ? round(median(ratios)) : null;
}

function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function parseRounds(): number {
  if (values.rounds === undefined) return values.quick ? QUICK_ROUNDS : 1;
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds must be a whole number ≥ 1, not ${values.rounds}`);
  return rounds;
}

async function main(): Promise<void> {
  if (!values.dataset) fail('--dataset DIR is required');
  const dataset = resolve(values.dataset);
  const names = datasetImages(dataset);
  const rounds = parseRounds();
  const cores = availableParallelism();
  const loadBefore = loadavg().map((load) => round(load, 2));
  const work = mkdtempSync(join(tmpdir(), 'pv-bench-pipeline-list-'));
  const server = await serveImages(dataset, names);
  let service: StartedService | null = null;
  const results: Measured[] = [];
  try {
    const listPath = join(work, 'ads.csv');
    writeFileSync(listPath, `creative_id,image_url\n${names.map((name) => `ad-${name},${server.baseUrl}/${encodeURIComponent(name)}`).join('\n')}\n`);
    if (!values['no-service'] && existsSync(DEEPSEEK_VENV_PYTHON)) {
      service = await startDeepSeekService({ backend: 'rapidocr', timeoutMs: 180_000 });
      console.log(`OCR service: ${service.readyLine}`);
    } else {
      console.log(values['no-service'] ? 'OCR service: left out (--no-service)' : `OCR service: no venv at ${DEEPSEEK_VENV_PYTHON} (npm run setup:python), embedded only`);
    }
    const prepare_s = await prepareCpuPerImage(dataset, names);
    console.log(`${names.length} images from ${dataset}, ${cores} cores, ${rounds} round(s), load average ${loadBefore.join(' ')}; preparing an image costs ${(prepare_s * 1000).toFixed(1)} ms CPU`);

    const engines: EngineKind[] = service ? ['embedded', 'deepseek'] : ['embedded'];
    // The pair runs at each engine's best workers over the rounds so far (round 1 runs the singles first).
    const bestWorkers = (engine: EngineKind): number => {
      const best = bestOf(summarise(results, rounds), (summary) => summary.kind === 'fixed' && summary.name.startsWith(`${engine} ×`));
      return best ? Number(/×(\d+)$/.exec(best.name)![1]) : cores;
    };
    const pairWorkers = (): Partial<Record<EngineKind, number>> => Object.fromEntries(engines.map((engine) => [engine, bestWorkers(engine)]));
    const plan: Array<() => Configuration> = [() => ({ name: `default (${engines.join(' + ')}, auto)`, kind: 'default', engines, policy: 'auto' })];
    if (service) plan.push(() => ({ name: 'default (embedded alone)', kind: 'default', engines: ['embedded'], policy: 'auto' }));
    for (const engine of engines) {
      for (let workers = 1; workers <= cores; workers++) plan.push(() => ({ name: `${engine} ×${workers}`, kind: 'fixed', engines: [engine], policy: 'single', workers: { [engine]: workers } }));
    }
    if (engines.length === 2) {
      plan.push(() => ({ name: `${engines.join(' + ')} at best workers, ratio 0.5`, kind: 'fixed', engines, policy: 'ratio', split: '0.5', workers: pairWorkers() }));
      if (!values.quick) plan.push(() => ({ name: `${engines.join(' + ')} at best workers, auto`, kind: 'fixed', engines, policy: 'auto', workers: pairWorkers() }));
    }
    for (let r = 1; r <= rounds; r++) {
      console.log(`\nround ${r} of ${rounds}`);
      const shift = ((r - 1) * Math.max(1, Math.floor(plan.length / rounds))) % plan.length;
      for (let index = 0; index < plan.length; index++) results.push({ ...(await measure(plan[(index + shift) % plan.length]!(), listPath, names.length, prepare_s, service)), round: r });
    }
  } finally {
    await service?.stop();
    server.stop();
    rmSync(work, { recursive: true, force: true });
  }
  report(results, { dataset, images: names.length, cores, rounds, loadBefore, service: service?.readyLine ?? null });
}

function report(results: readonly Measured[], context: { dataset: string; images: number; cores: number; rounds: number; loadBefore: number[]; service: string | null }): void {
  const summaries = summarise(results, context.rounds);
  const bestFixed = bestOf(summaries, (summary) => summary.kind === 'fixed')!;
  const bestEmbedded = bestOf(summaries, (summary) => summary.kind === 'fixed' && summary.name.startsWith('embedded ×'))!;
  const defaultRun = summaries.find((summary) => summary.kind === 'default')!;
  const embeddedDefault = summaries.find((summary) => summary.kind === 'default' && summary.name === 'default (embedded alone)') ?? (context.service ? null : defaultRun);
  const defaultOverBest = pairedRatio(defaultRun, bestFixed);
  const embeddedDefaultOverBest = pairedRatio(embeddedDefault, bestEmbedded);
  const fmt = (value: number | null, digits = 3): string => (value === null ? '—' : value.toFixed(digits));
  const table = (header: string[], rows: string[][], left: number): void => {
    const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => row[index]!.length)));
    for (const row of [header, ...rows]) console.log(row.map((value, index) => (index < left ? value.padEnd(widths[index]!) : value.padStart(widths[index]!))).join('  '));
  };

  console.log('');
  table(
    ['round', 'configuration', 'lanes (max concurrency)', 'ads/s', 'done', 'failed', 'wall s', 'pipeline CPU s/ad', 'engines CPU s/ad', 'pipeline/engines', 'load'],
    results.map((result) => [
      String(result.round),
      result.name,
      Object.entries(result.concurrency).map(([lane, seen]) => `${lane} ${seen.maxConcurrency}/${seen.workers}`).join(', ') || result.lanes,
      fmt(result.adsPerSecond),
      String(result.done),
      String(result.failed),
      result.wall_s.toFixed(1),
      fmt(result.cpuPerAd_s.pipeline, 4),
      fmt(result.cpuPerAd_s.engines, 4),
      fmt(result.pipelineOverEngines),
      fmt(result.loadAverage[0] ?? null, 2),
    ]),
    3,
  );
  console.log(`\nmedian over ${context.rounds} round(s); × best: the median of each round's own ratio to ${bestFixed.name}`);
  table(
    ['configuration', 'ads/s', '× best', 'per round'],
    summaries.map((summary) => [summary.name, fmt(summary.adsPerSecond), fmt(pairedRatio(summary, bestFixed)), summary.perRound.map((value) => fmt(value)).join(' ')]),
    1,
  );

  const checks: Array<{ target: string; ok: boolean | null; actual: string }> = [
    context.service
      ? { target: 'defaultOverBest ≥ 0.95 (embedded + OCR service)', ok: defaultOverBest !== null && defaultOverBest >= 0.95, actual: `${fmt(defaultOverBest)} (default ${fmt(defaultRun.adsPerSecond)} vs ${bestFixed.name} ${fmt(bestFixed.adsPerSecond)} ads/s)` }
      : { target: 'defaultOverBest ≥ 0.95 (embedded + OCR service)', ok: null, actual: 'not measured: the OCR service was not started (--no-service, or no venv)' },
  ];
  const embeddedLanes = results.find((result) => result.name === embeddedDefault?.name)?.lanes ?? '?';
  checks.push({
    target: 'embedded alone: default ≥ 0.9 × its best fixed workers',
    ok: embeddedDefaultOverBest !== null && embeddedDefaultOverBest >= 0.9,
    actual: `${fmt(embeddedDefaultOverBest)} (default ${fmt(embeddedDefault?.adsPerSecond ?? null)} ads/s with ${embeddedLanes} vs ${bestEmbedded.name} ${fmt(bestEmbedded.adsPerSecond)} ads/s)`,
  });
  // The default runs' CPU split (median), or the best fixed one's when the default ran no ads.
  const split = (name: string): { ratio: number; pipeline: number; engines: number } | null => {
    const runs = results.filter((result) => result.name === name && result.pipelineOverEngines !== null && result.cpuPerAd_s.pipeline !== null && result.cpuPerAd_s.engines !== null);
    if (runs.length === 0) return null;
    return { ratio: round(median(runs.map((run) => run.pipelineOverEngines!))), pipeline: median(runs.map((run) => run.cpuPerAd_s.pipeline!)), engines: median(runs.map((run) => run.cpuPerAd_s.engines!)) };
  };
  const cpuName = split(defaultRun.name) ? defaultRun.name : bestFixed.name;
  const cpu = split(cpuName);
  checks.push({
    target: 'pipeline CPU ≤ 10 % of the engines’ CPU per ad',
    ok: cpu !== null && cpu.ratio <= 0.1,
    actual: cpu ? `${fmt(cpu.ratio)} (${cpuName}: ${fmt(cpu.pipeline, 4)} vs ${fmt(cpu.engines, 4)} s/ad)` : 'not measured',
  });
  console.log(`\nload average before ${context.loadBefore.join(' ')}, after ${loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  console.log('targets:');
  for (const check of checks) console.log(`  ${check.ok === null ? 'n/a ' : check.ok ? 'ok  ' : 'MISS'} ${check.target}: ${check.actual}`);
  if (values.out) {
    mkdirSync(dirname(resolve(values.out)), { recursive: true });
    const json = { ...context, configurations: results, summaries, default: defaultRun, bestFixed: { name: bestFixed.name, adsPerSecond: bestFixed.adsPerSecond }, defaultOverBest, embeddedDefaultOverBest, checks, loadAfter: loadavg() };
    writeFileSync(values.out, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`wrote ${values.out}`);
  }
}

try {
  if (values.child) await childMain(JSON.parse(values.child) as { args: string[]; dataDir: string });
  else await main();
} catch (error) {
  // A message, not a stack: some engine modules hook uncaughtException and print their whole source.
  console.error(`bench-pipeline: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
