/**
 * `parallel-vision run LIST …`: import a list, run it on the chosen engines with the
 * orchestrator, record everything in the SQLite store, export the results. A second
 * `run` of the same list resumes the interrupted run: finished ads are not run again.
 */
import { basename, resolve } from 'node:path';
import type { EngineKind, LaneConfig, Policy, RunProgress } from '../../shared/domain.js';
import { POLICIES } from '../../shared/domain.js';
import { listEngineAvailability } from '../core/engines/availability.js';
import type { WorkersSetting } from '../core/engines/concurrency.js';
import { buildLanes, type BuiltLanes, type EngineFactory, type LaneRequest } from '../core/app/lanes.js';
import { exportResults } from '../core/export/index.js';
import { createImageFetcher, createImageLoader } from '../core/fetch/index.js';
import { importAdsFromFiles } from '../core/ingest/index.js';
import { startRun, type RunSummary } from '../core/orchestrator/index.js';
import { dataPaths } from '../core/paths.js';
import { openStore, type Store } from '../core/store/index.js';
import { parseEngineList, parseSplit, parseWorkers, UsageError } from '../core/app/run-settings.js';
import { exportFormatOf, parseRunArgs } from './options.js';
import { jsonLinesReporter, terminalReporter, type ProgressReporter } from './progress.js';
import { parseEmbeddedSettings } from '../core/engines/embedded.js';
import { DEFAULT_EMBEDDED_MODEL, EMBEDDED_MODEL_CHOICES, EMBEDDED_MODEL_IDS, languagesFor, OCR_LANGUAGE_CODES } from '../../shared/embedded-ocr.js';
import { couldNotWriteOut, outputTarget, reportSkipped, resolveDataDir, type CliIo } from './io.js';
import { runToApp } from './run-to-app.js';

export const RUN_USAGE = `Usage: parallel-vision run LIST [LIST…] [options]
  --engines a,b         engines to use (embedded, apple-vision, deepseek, ollama, openai);
                        default: the in-process engine plus DeepSeek/Ollama when they answer
  --policy P            auto (default) | ratio | single | compare
  --split S             ratio: first engine's share (0.5) or deepseek=0.7,ollama=0.3
  --workers e=N|auto,…  workers per engine: its ceiling (default auto: the engine's safe
                        maximum here; under --policy auto concurrency tunes itself up to it)
  --out FILE            write results (.csv, .json or .jsonl) when the run ends; - for standard output (with --format)
  --format F            csv | json | jsonl (default: from --out)
  --db PATH             database (default: <data dir>/parallel-vision.db)
  --data-dir DIR        data folder (default: PARALLEL_VISION_DATA_DIR or the OS convention)
  --deepseek-url URL    DeepSeek-OCR service (default http://127.0.0.1:8001)
  --ollama-url URL      Ollama server (default http://127.0.0.1:11434)
  --ollama-model NAME   Ollama vision model (default llava)
  --openai-url URL      OpenAI-compatible endpoint; --openai-model NAME
  --max-side N          shrink images to this longest side (default 2048)
  --embedded-model M    embedded OCR model: ${EMBEDDED_MODEL_IDS.map((id) => `${id} (${EMBEDDED_MODEL_CHOICES[id].name}${id === DEFAULT_EMBEDDED_MODEL ? ', default' : ''})`).join(' | ')}
  --embedded-language L embedded OCR language: auto (default), ${OCR_LANGUAGE_CODES.filter((code) => code !== 'auto').join(', ')}
                        (only ${languagesFor(EMBEDDED_MODEL_CHOICES.fast.generation).join(', ')} with the fast model)
  --new                 start a new run even if an interrupted one exists
  --retry-failed        when resuming, run the ads that failed again
  --json                JSON lines of progress even on a terminal
  --to-app              hand the list to the running app (its local API) instead of running here;
                        uses --engines, --policy, --split, --workers, --out, --format, --data-dir, --json`;

/** What `runAds` needs besides its options; tests and benchmarks inject engines here. */
export interface RunDeps {
  /** Makes each lane's engine (default: the real engines, engines/create.ts). */
  createEngine?: EngineFactory;
  /** The in-process engine offered by default (default: what this machine can run). */
  inProcessEngine?: () => Promise<EngineKind>;
  /** How long an engine's availability check may take before it counts as slow. */
  checkTimeoutMs?: number;
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
  try {
    const entries = await listEngineAvailability();
    return entries.find((entry) => entry.isDefault)?.engine ?? 'embedded';
  } catch {
    return 'embedded';
  }
}

/** Everything `parallel-vision run` does, as options: the CLI parses its flags into these, and scripts (bench:pipeline) call it directly. */
export interface RunAdsOptions {
  /** Ad lists or image files to import. */
  lists: string[];
  /** Engines asked for by name; absent: the in-process engine plus DeepSeek/Ollama when they answer. */
  engines?: EngineKind[];
  /** Workers per engine kind (absent: auto). */
  workers?: ReadonlyMap<string, WorkersSetting>;
  policy?: Policy;
  split?: string;
  maxSide?: number;
  /** Export file when the run ends, and its format. */
  out?: string;
  outFormat?: 'csv' | 'json' | 'jsonl';
  dataDir: string;
  /** Default: the data dir's database. */
  dbPath?: string;
  endpoints?: Partial<Record<'deepseek' | 'ollama' | 'openai', string>>;
  models?: Partial<Record<'ollama' | 'openai', string>>;
  /** Lane settings of the embedded engine (`model`, `language`). */
  embeddedSettings?: Record<string, string>;
  /** Start a new run even if an interrupted one exists. */
  newRun?: boolean;
  retryFailed?: boolean;
  /** JSON lines of progress even on a terminal. */
  json?: boolean;
  io: CliIo;
  /** Aborting it stops the run (as Ctrl-C does). */
  signal?: AbortSignal;
  /** Listen for SIGINT/SIGTERM (the CLI does; a script may not want to). Default true. */
  handleSignals?: boolean;
  /** Every progress snapshot (beside the reporter). */
  onProgress?: (progress: RunProgress) => void;
}

export interface RunAdsOutcome {
  /** The CLI's exit code: 0 all done, 1 some failed or nothing could run, 130 interrupted. */
  code: number;
  runId: string | null;
  summary: RunSummary | null;
}

/** How to pick a stopped run up again: the same command finds it, unless it asked for a new run (--new would start another). */
function resumeHint(options: Pick<RunAdsOptions, 'newRun'>): string {
  return options.newRun ? 'run the same command without --new' : 'run the same command again';
}

export async function runAds(options: RunAdsOptions, deps: RunDeps = {}): Promise<RunAdsOutcome> {
  const { io } = options;
  const policy = options.policy ?? 'auto';
  const maxSide = options.maxSide ?? 2048;
  const paths = dataPaths(options.dataDir);
  const dbPath = options.dbPath ?? paths.database;

  // 1. Import.
  const imported = await importAdsFromFiles(options.lists);
  // Line 0 is a whole file (missing, unreadable, a workbook), not a row of one.
  reportSkipped(imported.rejected, io);
  if (imported.ads.length === 0) {
    io.err(imported.rejected.length > 0 ? 'no ads to run: nothing above could be imported\n' : 'no ads to run: the list has no rows with an image URL\n');
    return { code: 1, runId: null, summary: null };
  }

  // 2. Engines → lanes (app/lanes.ts: the same rules as the app).
  const requested = options.engines ?? null;
  const inProcess = await (deps.inProcessEngine ?? defaultInProcessEngine)();
  const candidates: EngineKind[] = requested ?? [inProcess, 'deepseek', 'ollama'];
  const laneConfig = (engine: EngineKind): LaneConfig => {
    const workers = options.workers?.get(engine) ?? 'auto';
    const config: LaneConfig = { id: engine, engine, workers: workers === 'auto' ? 1 : workers, enabled: true, ...(workers === 'auto' ? { autoWorkers: true } : {}) };
    const endpoint = engine === 'deepseek' || engine === 'ollama' || engine === 'openai' ? options.endpoints?.[engine] : undefined;
    const model = engine === 'ollama' || engine === 'openai' ? options.models?.[engine] : undefined;
    if (endpoint) config.endpoint = endpoint;
    if (model) config.model = model;
    if (engine === 'embedded' && options.embeddedSettings) config.settings = options.embeddedSettings;
    return config;
  };
  io.err(`Checking engines: ${candidates.join(', ')}\n`);
  const requests: LaneRequest[] = candidates.map((engine) => ({ config: laneConfig(engine), requested: requested !== null || engine === inProcess }));
  let built: BuiltLanes;
  try {
    built = await buildLanes(requests, {
      policy,
      ...(deps.createEngine ? { createEngine: deps.createEngine } : {}),
      ...(deps.checkTimeoutMs !== undefined ? { checkTimeoutMs: deps.checkTimeoutMs } : {}),
      ...(candidates.includes(inProcess) ? {} : { fallback: laneConfig(inProcess) }),
      onNotice: (_notice, text) => io.err(`  ${text}\n`),
    });
  } catch (error) {
    io.err(`No engine is available. ${(error as Error).message}\n`);
    return { code: 1, runId: null, summary: null };
  }

  const store = openStore(dbPath);
  const fetcher = createImageFetcher({ cacheDir: paths.imageCache, allowFileUrls: true });
  try {
    const engines = built.lanes.map((lane) => lane.config.engine);
    // Named weights may name any engine asked for (one left out just gets nothing); a bare share is over the lanes that run.
    const split = options.split ? parseSplit(options.split, engines, candidates) : undefined;
    return await execute(store, { imported, built, policy, split, maxSide, options, fetcher, source: options.lists.map((path) => basename(path)).join(', ') });
  } finally {
    await fetcher.close();
    await built.close();
    store.close();
  }
}

export async function runCommand(args: string[], io: CliIo, deps: RunDeps = {}): Promise<number> {
  const parsed = parseRunArgs(args);
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(`${RUN_USAGE}\n`);
    return 0;
  }
  if (values['to-app']) return runToApp(parsed, io);
  if (positionals.length === 0) throw new UsageError('run needs an ad list (CSV, TSV, JSON, JSONL, TXT) or image files');
  const policy = values.policy as Policy;
  if (!(POLICIES as readonly string[]).includes(policy)) throw new UsageError(`--policy must be one of ${POLICIES.join(', ')}`);
  const maxSide = Number(values['max-side']);
  if (!Number.isInteger(maxSide) || maxSide < 64) throw new UsageError('--max-side must be a whole number of pixels ≥ 64');
  const workers = parseWorkers(values.workers ?? []);
  const embeddedSettings = embeddedLaneSettings(values['embedded-model'], values['embedded-language']);
  const outFormat = values.out ? exportFormatOf(values.out, values.format) : undefined;
  const outcome = await runAds(
    {
      lists: positionals,
      ...(values.engines ? { engines: parseEngineList(values.engines) } : {}),
      workers,
      policy,
      ...(values.split ? { split: values.split } : {}),
      maxSide,
      ...(values.out && outFormat ? { out: values.out, outFormat } : {}),
      dataDir: resolveDataDir(values['data-dir'], io.env),
      ...(values.db ? { dbPath: resolve(values.db) } : {}),
      endpoints: { ...(values['deepseek-url'] ? { deepseek: values['deepseek-url'] } : {}), ...(values['ollama-url'] ? { ollama: values['ollama-url'] } : {}), ...(values['openai-url'] ? { openai: values['openai-url'] } : {}) },
      ...(embeddedSettings ? { embeddedSettings } : {}),
      models: { ...(values['ollama-model'] ? { ollama: values['ollama-model'] } : {}), ...(values['openai-model'] ? { openai: values['openai-model'] } : {}) },
      newRun: values.new === true,
      retryFailed: values['retry-failed'] === true,
      json: values.json === true,
      io,
    },
    deps,
  );
  return outcome.code;
}

interface ExecuteContext {
  imported: Awaited<ReturnType<typeof importAdsFromFiles>>;
  built: BuiltLanes;
  policy: Policy;
  split: ReturnType<typeof parseSplit> | undefined;
  maxSide: number;
  options: RunAdsOptions;
  fetcher: ReturnType<typeof createImageFetcher>;
  source: string;
}

async function execute(store: Store, context: ExecuteContext): Promise<RunAdsOutcome> {
  const { imported, built, policy, split, maxSide, options, fetcher } = context;
  const { io } = options;
  const lanes = built.lanes;
  const batch = store.saveBatch({ source: context.source, format: imported.format, columns: imported.columns, fieldColumns: imported.fieldColumns, ads: imported.ads });
  // --retry-failed also reopens a finished run, to run just its failed ads again.
  let run = options.newRun ? null : store.findResumableRun(batch.id, { includeFinished: options.retryFailed === true });
  // Compare runs keep one result per engine: they resume only as compare runs, and vice versa.
  if (run && (run.policy === 'compare') !== (policy === 'compare')) run = null;
  if (run) {
    if (options.retryFailed) store.resetFailed(run.id);
    run = store.getRun(run.id)!;
    io.err(`Resuming run ${run.id} (${run.status}): ${run.done} done, ${run.failed} failed of ${run.total}\n`);
  } else {
    const tasksPerAd = policy === 'compare' ? new Set(lanes.map((lane) => lane.config.engine)).size : 1;
    run = store.createRun({ batchId: batch.id, policy, config: { engines: lanes.map((lane) => lane.config), policy, split: split ?? null }, tasksPerAd });
    io.err(`Run ${run.id}: ${run.total} ads on ${lanes.map((lane) => `${lane.config.engine}×${lane.config.workers}`).join(', ')} (${policy})\n`);
  }

  const controller = new AbortController();
  const stop = () => controller.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) stop();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      io.err(`\nStopping… finished ads are saved; to resume, ${resumeHint(options)}. (Ctrl-C again to quit now.)\n`);
      controller.abort();
    } else {
      process.exit(130);
    }
  };
  const handleSignals = options.handleSignals !== false;
  if (handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const reporter: ProgressReporter = io.isTerminal && !options.json ? terminalReporter(process.stderr) : jsonLinesReporter(io.out);
  let lastProgress: RunProgress | null = null;
  // One image downloading ahead per worker, as in the app.
  const images = createImageLoader({ fetcher, maxSide });
  const orchestrator = startRun({
    runId: run.id,
    ads: imported.ads,
    lanes,
    policy,
    ...(split ? { split } : {}),
    store: store.runStore,
    loadImage: images.loadImage,
    onUpcoming: (ads) => images.prefetch(ads),
    signal: controller.signal,
    resourceBudgets: built.resourceBudgets,
    onProgress: (progress) => {
      lastProgress = progress;
      reporter.update(progress);
      options.onProgress?.(progress);
    },
  });

  let summary: RunSummary;
  try {
    summary = await orchestrator.done;
  } finally {
    options.signal?.removeEventListener('abort', stop);
    images.close();
    if (handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
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
  if (options.out && options.outFormat) {
    try {
      const written = await exportResults(store, run.id, { format: options.outFormat, rows: 'all' }, outputTarget(options.out, io));
      io.err(`Wrote ${written.rows} rows to ${written.path ?? 'standard output'}\n`);
    } catch (error) {
      io.err(couldNotWriteOut(options.out, error, run.id));
      return { code: 1, runId: run.id, summary };
    }
  }
  if (summary.status === 'cancelled') {
    io.err(`Interrupted. To resume, ${resumeHint(options)}; export later with: parallel-vision export ${run.id} --out FILE\n`);
    return { code: 130, runId: run.id, summary };
  }
  return { code: finalRun.failed > 0 ? 1 : 0, runId: run.id, summary };
}
