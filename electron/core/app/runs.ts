/**
 * Runs inside the app: a batch from the store, lanes built from the run config, the
 * orchestrator recording into SQLite, and its progress and results turned into
 * VisionApi events (results batched, never one message per ad).
 */
import { z } from 'zod';
import { LaneConfig, RunConfig, isLiveRunStatus, type AdResult, type EngineKind, type LaneProgress, type RunConfigResolved, type RunProgress, type Split } from '../../../shared/domain.js';
import type { ComparePage } from '../../../shared/api.js';
import type { EngineDeps } from '../engines/types.js';
import type { ImageFetcher } from '../fetch/index.js';
import { createImageLoader } from '../fetch/index.js';
import { startRun, type Orchestrator, type OrchestratorLane } from '../orchestrator/index.js';
import type { Store } from '../store/index.js';
import type { EventBus } from './events.js';
import { buildLanes, type BuiltLanes, type EngineFactory } from './lanes.js';

const RESULT_FLUSH_MS = 200;
const MAX_RESULTS_PER_EVENT = 500;
export const DEFAULT_MAX_SIDE = 2048;
/** The lanes a stored run config names: the app writes `lanes` (RunConfig), the CLI `engines`. */
const StoredLanes = z.object({ lanes: z.array(LaneConfig).optional(), engines: z.array(LaneConfig).optional() });

interface ActiveRun {
  orchestrator: Orchestrator;
  lanes: LaneConfig[];
  pendingResults: AdResult[];
  flushTimer: NodeJS.Timeout | null;
  /** Set when the app quits: the run ends as `interrupted`, resumable later. */
  interrupting: boolean;
  /** Settles once the run has ended and its engines are closed. */
  ended: Promise<void>;
}

export interface RunManagerOptions {
  store: Store;
  fetcher: ImageFetcher;
  bus: EventBus;
  engineDeps: EngineDeps;
  /** Where a managed service answers now (it may have moved to another port). */
  serviceUrl(engine: EngineKind): string | null;
  /** A run's lanes ask this many parallel requests of an engine's server (OLLAMA_NUM_PARALLEL at its next start). */
  onEngineWorkers?(engine: EngineKind, workers: number): void;
  /** Makes each lane's engine (tests inject the test engine); default the real engines. */
  createEngine?: EngineFactory;
}

export class RunManager {
  private readonly active = new Map<string, ActiveRun>();
  /** Runs whose engines are being built (a second resume must not start them twice). */
  private readonly starting = new Set<string>();

  constructor(private readonly options: RunManagerOptions) {
    // A grouped commit failed (disk full, …): its results are kept, not reported; the runs
    // that wrote them pause with the reason, and Resume retries the commit first.
    options.store.runStore.onCommitFailure((failure) => {
      for (const runId of failure.runIds) {
        const active = this.active.get(runId);
        if (!active) continue;
        active.orchestrator.pause();
        this.options.bus.emit('app.error', { message: `Run ${runId} paused: ${failure.message}`, where: 'run' });
      }
    });
  }

  /** Builds the enabled lanes with the CLI's rules (app/lanes.ts); a lane left out is said in a notice. */
  private async buildLanes(configs: LaneConfig[], policy: RunConfigResolved['policy']): Promise<BuiltLanes> {
    const resolved = configs.map((config) => {
      const endpoint = config.endpoint ?? this.options.serviceUrl(config.engine) ?? undefined;
      return endpoint ? { ...config, endpoint } : config;
    });
    return buildLanes(
      resolved.map((config) => ({ config, requested: true })),
      {
        policy,
        deps: this.options.engineDeps,
        ...(this.options.createEngine ? { createEngine: this.options.createEngine } : {}),
        onNotice: (notice, text) => {
          // The run goes on without the lane (or says on its own why it cannot start): a notice in the lane's own words, not a failed action.
          if (notice.type === 'left-out') this.options.bus.emit('app.notice', { message: text });
          // "embedded: loading the OCR models… (6 s)" on the engine's service card while the start waits.
          if (notice.type === 'waiting') this.options.bus.emit('service.notice', { name: notice.engine === 'openai' ? `openai:${notice.laneId}` : notice.engine, message: text });
        },
      },
    );
  }

  async start(config: RunConfigResolved, runId?: string): Promise<string> {
    const { store } = this.options;
    const batch = store.getBatch(config.batchId);
    if (!batch) throw new Error(`No imported ad list with id ${config.batchId}: import the list again.`);
    const enabled = config.lanes.filter((lane) => lane.enabled);
    if (enabled.length === 0) throw new Error('Turn on at least one engine lane to start a run.');
    if (config.policy === 'single' && config.singleEngine && !enabled.some((lane) => lane.engine === config.singleEngine)) {
      throw new Error(`The "single" policy needs a lane of ${config.singleEngine}, which is off.`);
    }
    if (runId && (this.active.has(runId) || this.starting.has(runId))) throw new Error(`Run ${runId} is already running.`);
    if (runId && !store.getRun(runId)) throw new Error(`No run ${runId}`);
    // Engines first: a lane that cannot start must not leave a run behind that nothing drives.
    if (runId) this.starting.add(runId);
    let built: BuiltLanes;
    try {
      built = await this.buildLanes(enabled, config.policy);
    } finally {
      if (runId) this.starting.delete(runId);
    }
    try {
      return this.startBuilt(config, built, runId);
    } catch (error) {
      // The run did not start: its engines (worker threads, sockets) must not stay behind.
      await built.close();
      throw error;
    }
  }

  private startBuilt(config: RunConfigResolved, built: BuiltLanes, runId: string | undefined): string {
    const { store } = this.options;
    const batch = store.getBatch(config.batchId);
    if (!batch) throw new Error(`No imported ad list with id ${config.batchId}: import the list again.`);
    const lanes: OrchestratorLane[] = built.lanes;
    const enabled = lanes.map((lane) => lane.config);
    const engineCount = new Set(enabled.map((lane) => lane.engine)).size;
    const run = runId ? store.getRun(runId)! : store.createRun({ batchId: batch.id, policy: config.policy, config, tasksPerAd: config.policy === 'compare' ? engineCount : 1 });
    for (const engine of new Set(enabled.map((lane) => lane.engine))) {
      this.options.onEngineWorkers?.(engine, enabled.filter((lane) => lane.engine === engine).reduce((sum, lane) => sum + lane.workers, 0));
    }
    const active: ActiveRun = { orchestrator: null as unknown as Orchestrator, lanes: lanes.map((lane) => lane.config), pendingResults: [], flushTimer: null, interrupting: false, ended: Promise.resolve() };
    // One image downloading ahead per worker (as many as the orchestrator announces): a slot that frees finds its next image there.
    const images = createImageLoader({ fetcher: this.options.fetcher, maxSide: DEFAULT_MAX_SIDE });
    active.orchestrator = startRun({
      runId: run.id,
      ads: store.batchAds(batch.id),
      lanes,
      policy: config.policy,
      ...(config.split ? { split: config.split } : {}),
      ...(config.singleEngine ? { singleEngine: config.singleEngine } : {}),
      maxAttempts: config.maxAttempts,
      store: store.runStore,
      loadImage: images.loadImage,
      onUpcoming: (ads) => images.prefetch(ads),
      resourceBudgets: built.resourceBudgets,
      onProgress: (progress) => this.options.bus.emit('run.progress', progress),
      onResult: (result) => this.queueResult(run.id, active, result),
    });
    this.active.set(run.id, active);
    active.ended = active.orchestrator.done
      .then(
        () => {
          // Quitting the app interrupts runs (resumable at the next start) rather than cancelling them.
          if (active.interrupting) store.setRunStatus(run.id, 'interrupted');
        },
        (error: unknown) => {
          this.options.bus.emit('app.error', { message: `Run ${run.id} stopped: ${error instanceof Error ? error.message : String(error)}`, where: 'run' });
          store.setRunStatus(run.id, 'failed');
        },
      )
      .finally(async () => {
        this.flush(run.id, active);
        this.options.bus.emit('run.progress', active.interrupting ? { ...active.orchestrator.progress(), status: 'interrupted' } : active.orchestrator.progress());
        this.active.delete(run.id);
        images.close();
        await built.close();
      });
    return run.id;
  }

  private queueResult(runId: string, active: ActiveRun, result: AdResult): void {
    active.pendingResults.push(result);
    if (active.pendingResults.length >= MAX_RESULTS_PER_EVENT) return this.flush(runId, active);
    active.flushTimer ??= setTimeout(() => this.flush(runId, active), RESULT_FLUSH_MS);
  }

  private flush(runId: string, active: ActiveRun): void {
    if (active.flushTimer) clearTimeout(active.flushTimer);
    active.flushTimer = null;
    if (active.pendingResults.length === 0) return;
    const results = active.pendingResults;
    active.pendingResults = [];
    this.options.bus.emit('run.results', { runId, results });
  }

  private get(runId: string): Orchestrator {
    const active = this.active.get(runId);
    if (!active) throw new Error(`Run ${runId} is not running.`);
    return active.orchestrator;
  }

  pause(runId: string): void {
    this.get(runId).pause();
  }

  /** Resumes a paused run, or restarts an interrupted/cancelled one: finished ads are not run again. */
  async resume(runId: string): Promise<void> {
    const active = this.active.get(runId);
    if (active) {
      // Results a failed commit kept are saved first; if they still cannot be, the run stays paused and says why.
      this.options.store.runStore.retry();
      return active.orchestrator.resume();
    }
    const run = this.options.store.getRun(runId);
    if (!run) throw new Error(`No run ${runId}`);
    if (run.status === 'finished') throw new Error(`Run ${runId} has finished; nothing to resume.`);
    const config = RunConfig.safeParse(run.config);
    if (!config.success) throw new Error(`Run ${runId} was started from the command line: resume it with the same \`parallel-vision run\` command.`);
    await this.start(config.data, runId);
  }

  /** Cancels a running run; a run the database still calls live but nothing drives (a stale owner) is marked cancelled. */
  cancel(runId: string): void {
    const active = this.active.get(runId);
    if (active) return active.orchestrator.cancel();
    const run = this.options.store.getRun(runId);
    if (!run || !isLiveRunStatus(run.status)) throw new Error(`Run ${runId} is not running.`);
    this.options.store.setRunStatus(runId, 'cancelled');
    this.options.bus.emit('run.progress', this.progress(runId));
  }

  setSplit(runId: string, split: Split): void {
    this.get(runId).setSplit(split);
  }

  setLaneWorkers(runId: string, laneId: string, workers: number): void {
    this.get(runId).setLaneWorkers(laneId, workers);
    const lane = this.active.get(runId)!.lanes.find((candidate) => candidate.id === laneId);
    if (lane) lane.workers = workers;
  }

  /**
   * A service had to lower its workers (it ran out of memory): the lanes on it follow,
   * shared out so their sum matches. Answers the lanes changed, for the notice.
   */
  lowerEngineWorkers(engine: EngineKind, workers: number): string[] {
    const changed: string[] = [];
    for (const active of this.active.values()) {
      const lanes = active.lanes.filter((lane) => lane.engine === engine);
      lanes.forEach((lane, index) => {
        const share = Math.max(1, Math.floor(workers / lanes.length) + (index < workers % lanes.length ? 1 : 0));
        if (share < lane.workers) {
          lane.workers = share;
          active.orchestrator.setLaneWorkers(lane.id, share);
          changed.push(lane.id);
        }
      });
    }
    return changed;
  }

  /** Live progress of a running run; for others, what the store knows. */
  progress(runId: string): RunProgress {
    const active = this.active.get(runId);
    if (active) return active.orchestrator.progress();
    const run = this.options.store.getRun(runId);
    if (!run) throw new Error(`No run ${runId}`);
    // The working time the orchestrator noted; a run stored before it was kept has only its timestamps.
    const elapsed_s = (run.workedMs ?? run.updatedAt - run.createdAt) / 1000;
    return {
      runId,
      status: run.status,
      policy: run.policy,
      total: run.total,
      done: run.done,
      failed: run.failed,
      imageFailed: this.options.store.runStore.failedCounts(runId).imageFailed,
      inFlight: 0,
      elapsed_s,
      eta_s: null,
      lanes: this.storedLanes(runId, run.config, elapsed_s),
      notes: [],
    };
  }

  /**
   * A run nothing drives: each lane's figures from its stored results, in the order of the
   * run's own lanes (the app's config has `lanes`, the CLI's `engines`), so a finished,
   * cancelled or earlier session's run still shows what every lane did.
   */
  private storedLanes(runId: string, config: unknown, elapsed_s: number): LaneProgress[] {
    const parsed = StoredLanes.safeParse(config);
    const configured = parsed.success ? (parsed.data.lanes ?? parsed.data.engines ?? []) : [];
    const summaries = new Map(this.options.store.laneSummary(runId).map((lane) => [lane.laneId, lane]));
    const finished = Math.max(1, [...summaries.values()].reduce((sum, lane) => sum + lane.done, 0));
    const ids = [...configured.filter((lane) => lane.enabled !== false || summaries.has(lane.id)).map((lane) => lane.id), ...summaries.keys()];
    return [...new Set(ids)].flatMap((laneId): LaneProgress[] => {
      const lane = configured.find((candidate) => candidate.id === laneId);
      const summary = summaries.get(laneId);
      const engine = summary?.engine ?? lane?.engine;
      if (!engine) return [];
      const done = summary?.done ?? 0;
      return [
        {
          laneId,
          engine,
          label: lane?.label ?? laneId,
          state: { type: 'idle' },
          workers: lane?.workers ?? 0,
          concurrency: 0,
          done,
          failed: summary?.failed ?? 0,
          inFlight: 0,
          share: done / finished,
          adsPerMinute: elapsed_s > 0 ? done / (elapsed_s / 60) : 0,
          p50_s: summary?.p50_s ?? null,
          p95_s: summary?.p95_s ?? null,
          estimate_s: null,
        },
      ];
    });
  }

  /**
   * A compare run's ads side by side (one page), with the agreement between engines and a
   * summary per engine over the whole run — all read from SQL (agreement is stored with each
   * ad's last engine result), so a request costs the same at 100 ads or 100 000.
   */
  compare(runId: string, offset: number, limit: number): ComparePage {
    const { store } = this.options;
    const page = store.comparePage(runId, offset, limit);
    const stored = new Map(store.compareSummary(runId).map((entry) => [entry.engine, entry]));
    // Engines in the order of the run's own lanes, so an engine with no result yet still has its column.
    const config = RunConfig.safeParse(store.getRun(runId)?.config);
    const engines = new Set<EngineKind>(config.success ? config.data.lanes.filter((lane) => lane.enabled).map((lane) => lane.engine) : []);
    for (const engine of stored.keys()) engines.add(engine);
    const summary = [...engines].map((engine) => stored.get(engine) ?? { engine, meanMs: null, agreement: null, done: 0, failed: 0 });
    return { total: page.total, rows: page.rows, summary };
  }

  /** App quit: stop every run as `interrupted` (finished results are already stored) and wait until their engines are closed. */
  async stopAll(): Promise<void> {
    const runs = [...this.active.values()];
    for (const run of runs) {
      run.interrupting = true;
      run.orchestrator.cancel();
    }
    await Promise.allSettled(runs.map((run) => run.ended));
  }
}
