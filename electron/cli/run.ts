/**
 * `parallel-vision run LIST …`: import a list, run it on the chosen engines with the
 * orchestrator, record everything in the SQLite store, export the results. A second
 * `run` of the same list resumes the interrupted run: finished ads are not run again.
 */
import { parseArgs } from 'node:util';
import { basename, resolve } from 'node:path';
import type { Ad, EngineKind, LaneConfig, Policy, RunProgress } from '../../shared/domain.js';
import { POLICIES } from '../../shared/domain.js';
import { createEngine } from '../core/engines/create.js';
import { defaultWorkersFor, listEngineAvailability } from '../core/engines/availability.js';
import type { Engine, EngineImage } from '../core/engines/types.js';
import { exportResults } from '../core/export/index.js';
import { createImageFetcher, prepareImage } from '../core/fetch/index.js';
import { importAdsFromFiles } from '../core/ingest/index.js';
import { startRun, type OrchestratorLane } from '../core/orchestrator/index.js';
import { dataPaths } from '../core/paths.js';
import { openStore, type Store } from '../core/store/index.js';
import { dedupeByImageHash } from '../core/engines/dedupe.js';
import { exportFormatOf, parseEngineList, parseSplit, parseWorkers, UsageError } from './options.js';
import { jsonLinesReporter, terminalReporter, type ProgressReporter } from './progress.js';
import { createTestEngine, testEngineSettings } from '../core/engines/test-engine.js';
import { parseEmbeddedSettings } from '../core/engines/embedded.js';
import { resolveDataDir, type CliIo } from './io.js';

export const RUN_USAGE = `Usage: parallel-vision run LIST [LIST…] [options]
  --engines a,b         engines to use (embedded, apple-vision, deepseek, ollama, openai);
                        default: the in-process engine plus DeepSeek/Ollama when they answer
  --policy P            auto (default) | ratio | single | compare
  --split S             ratio: first engine's share (0.5) or deepseek=0.7,ollama=0.3
  --workers e=N,…       workers per engine (default: per engine)
  --out FILE            write results (.csv, .json or .jsonl) when the run ends
  --format F            csv | json | jsonl (default: from --out)
  --db PATH             database (default: <data dir>/parallel-vision.db)
  --data-dir DIR        data folder (default: PARALLEL_VISION_DATA_DIR or the OS convention)
  --deepseek-url URL    DeepSeek-OCR service (default http://127.0.0.1:8001)
  --ollama-url URL      Ollama server (default http://127.0.0.1:11434)
  --ollama-model NAME   Ollama vision model (default llava)
  --openai-url URL      OpenAI-compatible endpoint; --openai-model NAME
  --max-side N          shrink images to this longest side (default 2048)
  --embedded-model M    embedded OCR model: accurate (PP-OCRv6 small, default) | fast (PP-OCRv4 mobile)
  --embedded-language L embedded OCR language: auto (default), en, fr, de, es, it, pt, nl, latin, el, zh, ja
                        (only auto, en, zh with the fast model)
  --new                 start a new run even if an interrupted one exists
  --retry-failed        when resuming, run the ads that failed again
  --json                JSON lines of progress even on a terminal`;

const AVAILABILITY_TIMEOUT_MS = 3_000;

interface LaneCandidate {
  config: LaneConfig;
  engine: Engine;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolveTimeout) => (timer = setTimeout(() => resolveTimeout(fallback), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Create each engine and keep the ones that answer; say why the others were left out. */
async function prepareLanes(configs: LaneConfig[], dataDir: string, err: (text: string) => void): Promise<LaneCandidate[]> {
  const testSettings = testEngineSettings();
  const lanes: LaneCandidate[] = [];
  for (const config of configs) {
    if (testSettings) {
      lanes.push({ config, engine: dedupeByImageHash(createTestEngine(config, testSettings)) });
      continue;
    }
    let engine: Engine;
    try {
      engine = await createEngine(config, { dataDir });
    } catch (error) {
      err(`  ${config.engine}: not available (${(error as Error).message.split('\n')[0]})\n`);
      continue;
    }
    const availability = engine.availability
      ? await withTimeout(engine.availability().catch((error: unknown) => ({ type: 'unavailable' as const, reason: (error as Error).message })), AVAILABILITY_TIMEOUT_MS, { type: 'unavailable' as const, reason: 'no answer' })
      : { type: 'available' as const };
    if (availability.type === 'unavailable') {
      err(`  ${config.engine}: not available (${availability.reason})\n`);
      await engine.close?.().catch(() => undefined);
      continue;
    }
    lanes.push({ config, engine: dedupeByImageHash(engine) });
  }
  return lanes;
}

/** `--embedded-model` / `--embedded-language` as lane settings, checked now so a typo is a usage error. */
function embeddedLaneSettings(model: string | undefined, language: string | undefined): Record<string, string> | undefined {
  if (model === undefined && language === undefined) return undefined;
  const settings = { ...(model !== undefined ? { model } : {}), ...(language !== undefined ? { language } : {}) };
  try {
    parseEmbeddedSettings(settings);
  } catch (error) {
    throw new UsageError(`--embedded-model/--embedded-language: ${(error as Error).message}`);
  }
  return settings;
}

async function defaultInProcessEngine(): Promise<EngineKind> {
  if (testEngineSettings()) return 'embedded';
  try {
    const entries = await listEngineAvailability();
    return entries.find((entry) => entry.isDefault)?.engine ?? 'embedded';
  } catch {
    return 'embedded';
  }
}

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      engines: { type: 'string' },
      policy: { type: 'string', default: 'auto' },
      split: { type: 'string' },
      workers: { type: 'string', multiple: true },
      out: { type: 'string' },
      format: { type: 'string' },
      db: { type: 'string' },
      'data-dir': { type: 'string' },
      'deepseek-url': { type: 'string' },
      'ollama-url': { type: 'string' },
      'ollama-model': { type: 'string' },
      'openai-url': { type: 'string' },
      'openai-model': { type: 'string' },
      'max-side': { type: 'string', default: '2048' },
      'embedded-model': { type: 'string' },
      'embedded-language': { type: 'string' },
      new: { type: 'boolean', default: false },
      'retry-failed': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(`${RUN_USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('run needs an ad list (CSV, TSV, JSON, JSONL, TXT) or image files');
  const policy = values.policy as Policy;
  if (!(POLICIES as readonly string[]).includes(policy)) throw new UsageError(`--policy must be one of ${POLICIES.join(', ')}`);
  const maxSide = Number(values['max-side']);
  if (!Number.isInteger(maxSide) || maxSide < 64) throw new UsageError('--max-side must be a whole number of pixels ≥ 64');
  const workers = parseWorkers(values.workers ?? []);
  const embeddedSettings = embeddedLaneSettings(values['embedded-model'], values['embedded-language']);
  const outFormat = values.out ? exportFormatOf(values.out, values.format) : null;

  const dataDir = resolveDataDir(values['data-dir'], io.env);
  const paths = dataPaths(dataDir);
  const dbPath = values.db ? resolve(values.db) : paths.database;

  // 1. Import.
  const imported = await importAdsFromFiles(positionals);
  for (const row of imported.rejected.slice(0, 20)) io.err(`skipped line ${row.line}: ${row.reason}\n`);
  if (imported.rejected.length > 20) io.err(`… and ${imported.rejected.length - 20} more skipped rows\n`);
  if (imported.ads.length === 0) {
    io.err('no ads to run\n');
    return 1;
  }

  // 2. Engines → lanes.
  const requested = values.engines ? parseEngineList(values.engines) : null;
  const inProcess = await defaultInProcessEngine();
  const candidates: EngineKind[] = requested ?? [inProcess, 'deepseek', 'ollama'];
  const laneConfig = (engine: EngineKind): LaneConfig => {
    const config: LaneConfig = { id: engine, engine, workers: workers.get(engine) ?? defaultWorkersFor(engine), enabled: true };
    const endpoint = engine === 'deepseek' ? values['deepseek-url'] : engine === 'ollama' ? values['ollama-url'] : engine === 'openai' ? values['openai-url'] : undefined;
    const model = engine === 'ollama' ? values['ollama-model'] : engine === 'openai' ? values['openai-model'] : undefined;
    if (endpoint) config.endpoint = endpoint;
    if (model) config.model = model;
    if (engine === 'embedded' && embeddedSettings) config.settings = embeddedSettings;
    return config;
  };
  io.err(`Checking engines: ${candidates.join(', ')}\n`);
  let lanes = await prepareLanes(candidates.map(laneConfig), dataDir, requested ? io.err : () => undefined);
  if (lanes.length === 0 && !candidates.includes(inProcess)) {
    io.err(`None of the requested engines is available; using ${inProcess}, which needs nothing installed.\n`);
    lanes = await prepareLanes([laneConfig(inProcess)], dataDir, io.err);
  }
  if (lanes.length === 0) {
    io.err('No engine is available.\n');
    return 1;
  }
  const engines = lanes.map((lane) => lane.config.engine);
  const split = values.split ? parseSplit(values.split, engines) : undefined;

  const store = openStore(dbPath);
  const fetcher = createImageFetcher({ cacheDir: paths.imageCache, allowFileUrls: true });
  try {
    return await execute(store, { imported, lanes, policy, split, maxSide, values, outFormat, io, fetcher, source: positionals.map((path) => basename(path)).join(', ') });
  } finally {
    await fetcher.close();
    await Promise.all(lanes.map((lane) => lane.engine.close?.().catch(() => undefined)));
    store.close();
  }
}

interface ExecuteContext {
  imported: Awaited<ReturnType<typeof importAdsFromFiles>>;
  lanes: LaneCandidate[];
  policy: Policy;
  split: ReturnType<typeof parseSplit> | undefined;
  maxSide: number;
  values: { out?: string; new?: boolean; 'retry-failed'?: boolean; json?: boolean };
  outFormat: 'csv' | 'json' | 'jsonl' | null;
  io: CliIo;
  fetcher: ReturnType<typeof createImageFetcher>;
  source: string;
}

async function execute(store: Store, context: ExecuteContext): Promise<number> {
  const { imported, lanes, policy, split, maxSide, values, outFormat, io, fetcher } = context;
  const batch = store.saveBatch({ source: context.source, format: imported.format, columns: imported.columns, fieldColumns: imported.fieldColumns, ads: imported.ads });
  // --retry-failed also reopens a finished run, to run just its failed ads again.
  let run = values.new ? null : store.findResumableRun(batch.id, { includeFinished: values['retry-failed'] === true });
  // Compare runs keep one result per engine: they resume only as compare runs, and vice versa.
  if (run && (run.policy === 'compare') !== (policy === 'compare')) run = null;
  if (run) {
    if (values['retry-failed']) store.resetFailed(run.id);
    run = store.getRun(run.id)!;
    io.err(`Resuming run ${run.id} (${run.status}): ${run.done} done, ${run.failed} failed of ${run.total}\n`);
  } else {
    const tasksPerAd = policy === 'compare' ? new Set(lanes.map((lane) => lane.config.engine)).size : 1;
    run = store.createRun({ batchId: batch.id, policy, config: { engines: lanes.map((lane) => lane.config), policy, split: split ?? null }, tasksPerAd });
    io.err(`Run ${run.id}: ${run.total} ads on ${lanes.map((lane) => `${lane.config.engine}×${lane.config.workers}`).join(', ')} (${policy})\n`);
  }

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      io.err('\nStopping… finished ads are saved; run the same command again to resume. (Ctrl-C again to quit now.)\n');
      controller.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const reporter: ProgressReporter = io.isTerminal && !values.json ? terminalReporter(process.stderr) : jsonLinesReporter(io.out);
  let lastProgress: RunProgress | null = null;
  const loadImage = async (ad: Ad, signal: AbortSignal): Promise<EngineImage> => {
    const fetched = await fetcher.fetchImage(ad.imageUrl, signal);
    return prepareImage(fetched.bytes, { maxSide });
  };
  const orchestratorLanes: OrchestratorLane[] = lanes.map((lane) => ({ config: lane.config, engine: lane.engine }));
  const orchestrator = startRun({
    runId: run.id,
    ads: imported.ads,
    lanes: orchestratorLanes,
    policy,
    ...(split ? { split } : {}),
    store: store.runStore,
    loadImage,
    signal: controller.signal,
    onProgress: (progress) => {
      lastProgress = progress;
      reporter.update(progress);
    },
  });

  let summary;
  try {
    summary = await orchestrator.done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    reporter.finish(lastProgress);
  }

  const finalRun = store.getRun(run.id)!;
  const elapsed = summary.elapsed_s.toFixed(1);
  io.err(
    `\nRun ${run.id} ${summary.status}: ${finalRun.done} done, ${finalRun.failed} failed of ${finalRun.total}` +
      `${summary.skipped > 0 ? ` (${summary.skipped} already done before, not run again)` : ''} in ${elapsed} s\n`,
  );
  if (finalRun.failed > 0) {
    const failures = store.pageResults({ runId: run.id, status: 'failed', sort: 'creativeId', limit: 10 });
    for (const row of failures.rows) io.err(`  failed ${row.creativeId}: ${row.error ?? 'unknown error'}\n`);
    if (failures.total > failures.rows.length) io.err(`  … ${failures.total - failures.rows.length} more\n`);
  }
  if (values.out && outFormat) {
    const written = await exportResults(store, run.id, { format: outFormat, rows: 'all' }, resolve(values.out));
    io.err(`Wrote ${written.rows} rows to ${written.path}\n`);
  }
  if (summary.status === 'cancelled') {
    io.err(`Interrupted. Resume with the same command; export later with: parallel-vision export ${run.id} --out FILE\n`);
    return 130;
  }
  return finalRun.failed > 0 ? 1 : 0;
}
