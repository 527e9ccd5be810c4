/**
 * Runs one fault scenario through the real orchestrator and turns what happened into a
 * row of figures. By default the run records into a real SQLite store (the app's grouped
 * commits) and the row is counted from what was stored — the result rows and the export —
 * not from the orchestrator's own events: an ad with no final row is lost, an ad with two
 * was done twice. A scenario that passes its own in-memory `store` is counted from the
 * results it reported. The event loop's worst stall (blocked by this process's own work,
 * see loop-monitor.ts) is measured while the run goes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Ad, AdResult, EngineKind, LaneConfig, RecognizeResult } from '../../shared/domain.js';
import { EngineError, type Engine, type EngineImage } from '../../electron/core/engines/types.js';
import { createImageFetcher, prepareImage, type ImageFetcher, type FetchTimeouts } from '../../electron/core/fetch/index.js';
import { startRun, type Orchestrator, type RunStore, type RunSummary, type StartRunOptions } from '../../electron/core/orchestrator/index.js';
import { openStore, type GroupCommit, type Store } from '../../electron/core/store/index.js';
import { recordFigures, tallyOutcomes, type FigureRow, type Outcome } from './figures.js';
import { startLoopMonitor } from './loop-monitor.js';

/** Fast scheduler settings for tests: short backoffs and cooldowns, no long warm-up. */
const FAST_TUNING: StartRunOptions['tuning'] = {
  progressIntervalMs: 50,
  retryBaseMs: 50,
  retryMaxMs: 400,
  preferOtherLaneMs: 200,
  breaker: { threshold: 3, baseCooldownMs: 300, maxCooldownMs: 2_000 },
  warmupAloneSamples: 2,
  warmupMaxMs: 300,
};

export interface ScenarioOptions extends Omit<StartRunOptions, 'runId' | 'onResult' | 'store'> {
  name: string;
  runId?: string;
  /** An in-memory store: figures are then counted from the reported results. */
  store?: RunStore;
  /** A SQLite store of the caller's (its run `runId` created already); without `store` or `sqlite`, a temporary one. */
  sqlite?: Store;
  /** The temporary SQLite store's group commit (default: the app's). */
  groupCommit?: Partial<GroupCommit>;
  /** Called on every final result, with the orchestrator (to inject a fault mid-run). */
  onResult?: (result: AdResult, finished: number, orchestrator: Orchestrator) => void;
  /** Called once the orchestrator exists (to react to store events with it). */
  onStart?: (orchestrator: Orchestrator, sqlite: Store | null, runId: string) => void;
  /** Group failure reasons into kinds for the table. */
  reasonKind?: (error: string) => string;
}

export interface ScenarioOutcome {
  summary: RunSummary | null;
  /** What `done` rejected with (a store that failed, …). */
  error: unknown;
  results: AdResult[];
  figures: FigureRow;
  maxStallMs: number;
  /** SQLite runs: results reported (onResult) before their row was committed — must stay 0. */
  reportedBeforeSaved: number | null;
}

/** "ollama-bad: transient: 127.0.0.1:4567 failed (500): …" → "transient: … failed (500)" (digits, ports and URLs folded). */
export function defaultReasonKind(error: string): string {
  const last = error.split(' | ').pop() ?? error;
  return last
    .replace(/^[^:]*: /, '')
    .replace(/https?:\/\/\S+/g, 'URL')
    .replace(/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?/g, 'HOST')
    .replace(/\d+(\.\d+)?/g, 'N')
    .slice(0, 70);
}

/** Every final result row of a run, and every exported row that carries a result, as outcomes per ad. */
function storedOutcomes(store: Store, runId: string): { rows: Outcome[]; exported: Outcome[] } {
  store.runStore.flush();
  const rows = store.db
    .prepare<[string], { creative_id: string; status: 'done' | 'failed'; error: string | null }>('SELECT creative_id, status, error FROM results WHERE run_id = ?')
    .all(runId)
    .map((row) => ({ creativeId: row.creative_id, status: row.status, ...(row.error !== null ? { error: row.error } : {}) }));
  const exported: Outcome[] = [];
  for (const row of store.exportRows(runId, 'all')) {
    if (row.status !== 'pending') exported.push({ creativeId: row.ad.creativeId, status: row.status, ...(row.error !== null ? { error: row.error } : {}) });
  }
  return { rows, exported };
}

/**
 * Lost and twice from the store: an ad lost or doubled in either the result rows or the
 * export counts (the two must agree with each other and with the ads that went in).
 */
export function tallyStored(store: Store, runId: string, adIds: readonly string[], reasonKind: (error: string) => string = defaultReasonKind): Omit<FigureRow, 'scenario' | 'maxStallMs' | 'seconds'> {
  const { rows, exported } = storedOutcomes(store, runId);
  const fromRows = tallyOutcomes(adIds, rows, reasonKind);
  const fromExport = tallyOutcomes(adIds, exported, reasonKind);
  return { ...fromRows, lost: Math.max(fromRows.lost, fromExport.lost), twice: Math.max(fromRows.twice, fromExport.twice) };
}

export async function runScenario(options: ScenarioOptions): Promise<ScenarioOutcome> {
  const { name, onResult, onStart, reasonKind = defaultReasonKind, store: memory, sqlite: given, groupCommit, ...start } = options;
  const results: AdResult[] = [];
  let runId = options.runId ?? `run-${name.replace(/\W+/g, '-')}`;
  let tempDir: string | null = null;
  let sqlite: Store | null = given ?? null;
  if (!memory && !sqlite) {
    tempDir = mkdtempSync(join(tmpdir(), 'pv-scenario-'));
    sqlite = openStore(join(tempDir, 'pv.db'), groupCommit ? { groupCommit } : {});
    const batch = sqlite.saveBatch({ source: `${name}.csv`, format: 'csv', columns: [], fieldColumns: { id: null, url: null, text: null }, ads: options.ads });
    runId = sqlite.createRun({ batchId: batch.id, policy: start.policy ?? 'auto', ...(options.runId ? { runId: options.runId } : {}) }).id;
  }
  const isStored = sqlite?.db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM results WHERE run_id = ? AND creative_id = ? LIMIT 1');
  let reportedBeforeSaved = 0;
  const monitor = startLoopMonitor();
  const started = performance.now();
  const orchestrator: Orchestrator = startRun({
    ...start,
    runId,
    store: memory ?? sqlite!.runStore,
    tuning: { ...FAST_TUNING, ...start.tuning },
    onResult: (result) => {
      if (isStored && isStored.get(runId, result.creativeId) === undefined) reportedBeforeSaved++;
      results.push(result);
      onResult?.(result, results.length, orchestrator);
    },
  });
  onStart?.(orchestrator, sqlite, runId);
  let summary: RunSummary | null = null;
  let error: unknown = null;
  try {
    summary = await orchestrator.done;
  } catch (caught) {
    error = caught;
  }
  const { maxStallMs } = monitor.stop();
  const seconds = (performance.now() - started) / 1000;
  const adIds = options.ads.map((ad) => ad.creativeId);
  const tally =
    sqlite && !given
      ? tallyStored(sqlite, runId, adIds, reasonKind)
      : tallyOutcomes(
          adIds,
          results.map((result) => ({ creativeId: result.creativeId, status: result.status, ...(result.error !== undefined ? { error: result.error } : {}) })),
          reasonKind,
        );
  if (tempDir) {
    sqlite!.close();
    rmSync(tempDir, { recursive: true, force: true });
  }
  const figures: FigureRow = { scenario: name, ...tally, maxStallMs, seconds };
  return { summary, error, results, figures, maxStallMs, reportedBeforeSaved: sqlite ? reportedBeforeSaved : null };
}

/**
 * Records a scenario's row (several sessions of one run, e.g. before and after a resume, are
 * summed). With `from`, lost and twice are counted from that store's result rows and export
 * (`finals` is then not used); otherwise from `finals`.
 */
export function recordScenario(
  name: string,
  parts: readonly FigureRow[],
  adIds: readonly string[],
  finals: readonly AdResult[],
  note?: string,
  from?: { store: Store; runId: string; answeredTwice?: number },
): FigureRow {
  const tally = from
    ? tallyStored(from.store, from.runId, adIds)
    : tallyOutcomes(
        adIds,
        finals.map((result) => ({ creativeId: result.creativeId, status: result.status, ...(result.error !== undefined ? { error: result.error } : {}) })),
        defaultReasonKind,
      );
  const stalls = parts.map((part) => part.maxStallMs).filter((value): value is number => value !== null);
  const row: FigureRow = {
    scenario: name,
    ...tally,
    maxStallMs: stalls.length ? Math.max(...stalls) : null,
    seconds: parts.reduce((sum, part) => sum + part.seconds, 0),
    ...(from?.answeredTwice !== undefined ? { answeredTwice: from.answeredTwice } : {}),
    ...(note ? { note } : {}),
  };
  recordFigures(row);
  return row;
}

export function makeAds(count: number, urlOf: (index: number) => string, prefix = 'ad'): Ad[] {
  return Array.from({ length: count }, (_, index) => ({ creativeId: `${prefix}-${String(index).padStart(6, '0')}`, imageUrl: urlOf(index) }));
}

export function lane(id: string, engine: EngineKind, workers: number, extra: Partial<LaneConfig> = {}): LaneConfig {
  return { id, engine, workers, enabled: true, ...extra };
}

/** The app's real image path: undici fetch with limits, then sharp. */
export function realImageLoader(timeouts: Partial<FetchTimeouts> = {}, retries = 0): { fetcher: ImageFetcher; loadImage: StartRunOptions['loadImage'] } {
  const fetcher = createImageFetcher({ timeouts: { connectMs: 1000, headersMs: 500, bodyMs: 500, totalMs: 1500, ...timeouts }, retries, retryDelayMs: 20 });
  return {
    fetcher,
    loadImage: async (ad, signal) => {
      const fetched = await fetcher.fetchImage(ad.imageUrl, signal);
      return prepareImage(fetched.bytes, { maxSide: 1024 });
    },
  };
}

/** One small ad-like PNG with a text line, for engines that need a real image. */
export async function adPng(text = 'SUMMER SALE 50%'): Promise<Uint8Array> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="360" height="100"><rect width="100%" height="100%" fill="white"/><text x="14" y="64" font-family="DejaVu Sans, sans-serif" font-size="36" fill="black">${text}</text></svg>`;
  return new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer());
}

export interface FakeEngineControls {
  /** Milliseconds per call; change it mid-run to slow the engine down. */
  latencyMs: number;
  /** Share of calls that fail with a transient error (uses `random`). */
  failureRate: number;
  calls: number;
  /** Successful answers per creative id (tests count "processed twice" from it). */
  answered: Map<string, number>;
}

/**
 * An in-process engine with a latency knob and random transient failures. The image's
 * bytes carry no id, so the ad id comes from `idOf(image)` (the loader puts it in `mime`'s
 * parameters in these tests).
 */
export function fakeEngine(kind: EngineKind, controls: FakeEngineControls, random: () => number = Math.random): Engine {
  return {
    kind,
    label: `fake ${kind}`,
    async recognize(image: EngineImage, signal: AbortSignal): Promise<RecognizeResult> {
      controls.calls++;
      if (controls.latencyMs > 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          }, controls.latencyMs);
          const onAbort = () => {
            clearTimeout(timer);
            reject(new EngineError('aborted', 'aborted'));
          };
          signal.addEventListener('abort', onAbort, { once: true });
        });
      } else if (signal.aborted) {
        throw new EngineError('aborted', 'aborted');
      }
      if (controls.failureRate > 0 && random() < controls.failureRate) throw new EngineError('transient', 'injected failure (HTTP 500)');
      const id = adIdOf(image);
      controls.answered.set(id, (controls.answered.get(id) ?? 0) + 1);
      return { text: `text of ${id}`, blocks: [], model: `fake-${kind}`, timings: { total_ms: controls.latencyMs } };
    },
  };
}

export function newControls(latencyMs: number, failureRate = 0): FakeEngineControls {
  return { latencyMs, failureRate, calls: 0, answered: new Map() };
}

/** Fake images carry their ad id in the MIME parameters: `image/png; ad=<id>`. */
export function fakeImageFor(ad: Ad): EngineImage {
  return { bytes: FAKE_PIXEL, mime: `image/png; ad=${ad.creativeId}`, width: 1, height: 1 };
}
export function adIdOf(image: EngineImage): string {
  return /; ad=(.+)$/.exec(image.mime)?.[1] ?? '?';
}
const FAKE_PIXEL = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Ads answered successfully by the engines more than once (a backup that also finished is aborted, so this stays 0). */
export function answeredTwice(...controls: FakeEngineControls[]): number {
  const total = new Map<string, number>();
  for (const control of controls) for (const [id, count] of control.answered) total.set(id, (total.get(id) ?? 0) + count);
  return [...total.values()].filter((count) => count > 1).length;
}
