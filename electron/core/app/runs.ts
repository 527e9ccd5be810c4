/**
 * Runs inside the app: a batch from the store, lanes built from the run config, the
 * orchestrator recording into SQLite, and its progress and results turned into
 * VisionApi events (results batched, never one message per ad).
 */
import type { AdResult, EngineKind, LaneConfig, RunConfigResolved, RunProgress, Split } from '../../../shared/domain.js';
import type { ComparePage } from '../../../shared/api.js';
import { createEngine, type EngineDeps } from '../engines/create.js';
import { dedupeByImageHash } from '../engines/dedupe.js';
import { createTestEngine, testEngineSettings } from '../engines/test-engine.js';
import type { Engine } from '../engines/types.js';
import type { ImageFetcher } from '../fetch/index.js';
import { prepareImage } from '../fetch/index.js';
import { startRun, textAgreement, type Orchestrator, type OrchestratorLane } from '../orchestrator/index.js';
import type { Store } from '../store/index.js';
import type { EventBus } from './events.js';

const RESULT_FLUSH_MS = 200;
const MAX_RESULTS_PER_EVENT = 500;
export const DEFAULT_MAX_SIDE = 2048;

interface ActiveRun {
  orchestrator: Orchestrator;
  lanes: LaneConfig[];
  engines: Engine[];
  pendingResults: AdResult[];
  flushTimer: NodeJS.Timeout | null;
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
}

export class RunManager {
  private readonly active = new Map<string, ActiveRun>();

  constructor(private readonly options: RunManagerOptions) {}

  /** Builds each enabled lane's engine; a lane whose engine cannot be created fails the start with its reason. */
  private async buildLanes(configs: LaneConfig[]): Promise<OrchestratorLane[]> {
    const testSettings = testEngineSettings();
    const lanes: OrchestratorLane[] = [];
    for (const config of configs) {
      const endpoint = config.endpoint ?? this.options.serviceUrl(config.engine) ?? undefined;
      const resolved: LaneConfig = endpoint ? { ...config, endpoint } : config;
      const engine = testSettings ? createTestEngine(resolved, testSettings) : dedupeByImageHash(await createEngine(resolved, this.options.engineDeps));
      lanes.push({ config: resolved, engine });
    }
    return lanes;
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
    const run = runId ? store.getRun(runId) : store.createRun({ batchId: batch.id, policy: config.policy, config });
    if (!run) throw new Error(`No run ${runId}`);
    const lanes = await this.buildLanes(enabled);
    for (const engine of new Set(enabled.map((lane) => lane.engine))) {
      this.options.onEngineWorkers?.(engine, enabled.filter((lane) => lane.engine === engine).reduce((sum, lane) => sum + lane.workers, 0));
    }
    const active: ActiveRun = { orchestrator: null as unknown as Orchestrator, lanes: lanes.map((lane) => lane.config), engines: lanes.map((lane) => lane.engine), pendingResults: [], flushTimer: null };
    const maxSide = DEFAULT_MAX_SIDE;
    active.orchestrator = startRun({
      runId: run.id,
      ads: store.batchAds(batch.id),
      lanes,
      policy: config.policy,
      ...(config.split ? { split: config.split } : {}),
      ...(config.singleEngine ? { singleEngine: config.singleEngine } : {}),
      maxAttempts: config.maxAttempts,
      store: store.runStore,
      loadImage: async (ad, signal) => prepareImage((await this.options.fetcher.fetchImage(ad.imageUrl, signal)).bytes, { maxSide }),
      onProgress: (progress) => this.options.bus.emit('run.progress', progress),
      onResult: (result) => this.queueResult(run.id, active, result),
    });
    this.active.set(run.id, active);
    void active.orchestrator.done
      .catch((error: unknown) => {
        this.options.bus.emit('app.error', { message: `Run ${run.id} stopped: ${error instanceof Error ? error.message : String(error)}`, where: 'run' });
        store.setRunStatus(run.id, 'failed');
      })
      .finally(async () => {
        this.flush(run.id, active);
        this.options.bus.emit('run.progress', active.orchestrator.progress());
        this.active.delete(run.id);
        await Promise.all(active.engines.map((engine) => engine.close?.().catch(() => undefined)));
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
    if (active) return active.orchestrator.resume();
    const run = this.options.store.getRun(runId);
    if (!run) throw new Error(`No run ${runId}`);
    if (run.status === 'finished') throw new Error(`Run ${runId} has finished; nothing to resume.`);
    await this.start(run.config as RunConfigResolved, runId);
  }

  cancel(runId: string): void {
    this.get(runId).cancel();
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
    return {
      runId,
      status: run.status,
      policy: run.policy,
      total: run.total,
      done: run.done,
      failed: run.failed,
      inFlight: 0,
      elapsed_s: (run.updatedAt - run.createdAt) / 1000,
      eta_s: null,
      lanes: [],
      notes: [],
    };
  }

  /** A compare run's ads side by side, with the agreement between engines and a summary per engine. */
  compare(runId: string, offset: number, limit: number): ComparePage {
    const { store } = this.options;
    const page = store.pageResults({ runId, offset, limit, sort: 'creativeId' });
    const perEngine = new Map<EngineKind, { totalMs: number; timed: number; agreement: number; pairs: number; done: number; failed: number }>();
    const statsOf = (engine: EngineKind) => {
      let stats = perEngine.get(engine);
      if (!stats) perEngine.set(engine, (stats = { totalMs: 0, timed: 0, agreement: 0, pairs: 0, done: 0, failed: 0 }));
      return stats;
    };
    const rows = page.rows.map((row) => {
      const detail = store.getResult(runId, row.creativeId);
      const outputs = (detail?.results ?? [])
        .filter((result) => result.engine !== null)
        .map((result) => ({ engine: result.engine!, text: result.text, durationMs: result.durationMs, status: result.status }));
      let sum = 0;
      let pairs = 0;
      for (const output of outputs) {
        const stats = statsOf(output.engine);
        if (output.status === 'done') stats.done++;
        else stats.failed++;
        if (output.durationMs !== null) {
          stats.totalMs += output.durationMs;
          stats.timed++;
        }
      }
      for (let i = 0; i < outputs.length; i++) {
        for (let j = i + 1; j < outputs.length; j++) {
          const a = outputs[i]!;
          const b = outputs[j]!;
          if (a.status !== 'done' || b.status !== 'done') continue;
          const score = textAgreement(a.text, b.text);
          sum += score;
          pairs++;
          for (const engine of [a.engine, b.engine]) {
            const stats = statsOf(engine);
            stats.agreement += score;
            stats.pairs++;
          }
        }
      }
      return { creativeId: row.creativeId, outputs, agreement: pairs ? sum / pairs : null };
    });
    return {
      total: page.total,
      rows,
      summary: [...perEngine].map(([engine, s]) => ({
        engine,
        meanMs: s.timed ? s.totalMs / s.timed : null,
        agreement: s.pairs ? s.agreement / s.pairs : null,
        done: s.done,
        failed: s.failed,
      })),
    };
  }

  /** Cancel every run (finished results are already stored) and wait for them to stop. */
  async stopAll(): Promise<void> {
    const runs = [...this.active.values()];
    for (const run of runs) run.orchestrator.cancel();
    await Promise.allSettled(runs.map((run) => run.orchestrator.done));
  }
}
