/**
 * The scheduler: one queue of ads, many lanes (one endpoint of one engine, with its own
 * workers) that pull from it. The same code runs the app (real clock, real engines) and the
 * scheduling benchmark (virtual clock, simulated engines).
 *
 * `auto` admits an ad on a lane only if that lane is expected to finish it no later than the
 * faster lanes would (earliest-finish-time admission), backs up stragglers on idle fast
 * lanes at the end, learns latencies online and stops feeding an engine whose presence
 * slows the others down more than it contributes (GPU/memory interference on one Mac).
 */
import { getEventListeners } from 'node:events';
import type {
  Ad,
  AdResult,
  Attempt,
  EngineKind,
  LaneConfig,
  LaneProgress,
  LaneState,
  Policy,
  RecognizeResult,
  RunProgress,
  RunStatus,
  Split,
} from '../../../shared/domain.js';
import { EngineError, type Engine, type EngineErrorKind, type EngineImage } from '../engines/types.js';
import { CircuitBreaker, type CircuitBreakerOptions } from './breaker.js';
import { realClock, type Clock, type Timer } from './clock.js';
import { textAgreement } from './agreement.js';
import { InterferenceStats, LatencyEstimator } from './latency.js';
import { apportion, retryDelayMs } from './quotas.js';
import type { RunStore } from './store.js';

/** Seconds per ad assumed for a lane before it has measured anything. */
export const DEFAULT_PRIOR_S: Record<EngineKind, number> = {
  deepseek: 4,
  ollama: 60,
  embedded: 3,
  'apple-vision': 1,
  openai: 10,
};

/** Extra seconds assumed for a lane's first call (model load). */
export const DEFAULT_COLD_START_S: Record<EngineKind, number> = {
  deepseek: 10,
  ollama: 20,
  embedded: 2,
  'apple-vision': 1,
  openai: 0,
};

export interface OrchestratorLane {
  config: LaneConfig;
  engine: Engine;
  /** Overrides DEFAULT_PRIOR_S for this lane. */
  prior_s?: number;
  /** Overrides DEFAULT_COLD_START_S for this lane. */
  coldStart_s?: number;
  /** In-flight work to start with (≤ config.workers, the ceiling); set by the lane builder (app/lanes.ts). */
  startConcurrency?: number;
  /** Shared resource the lane's work runs on (e.g. 'cpu'); lanes on one resource share its budget. */
  resource?: string;
}

export interface SchedulerTuning {
  progressIntervalMs: number;
  /** Retry backoff (before jitter): base × 2^(failures−1), capped. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** A retried ad avoids the lane it failed on for this long after its backoff, if another lane can take it. */
  preferOtherLaneMs: number;
  breaker: CircuitBreakerOptions;
  /**
   * An outage, not a blip: when every enabled lane that could take an ad has failed every
   * call for this long, with at least `giveUpMinFailedProbes` failed half-open probes each,
   * the ads still queued for them fail ("no engine could process it") instead of waiting
   * hours for ever-longer cooldowns. Time, not a probe count alone, so that short test
   * cooldowns still ride through a service restart.
   */
  giveUpAfterMs: number;
  giveUpMinFailedProbes: number;
  /** auto: measure the fastest engine alone for this many calls before starting the others… */
  warmupAloneSamples: number;
  /** …or for at most this long. */
  warmupMaxMs: number;
  /** auto: z-score of "slower while another engine runs" needed to stop feeding that engine (and to keep it stopped). */
  interferencePauseZ: number;
  interferenceReleaseZ: number;
  interferenceMinSamples: number;
  /** A straggler is backed up when its expected end is later than the backup's by this factor of the backup's latency. */
  backupFactor: number;
  backupMarginMs: number;
}

export const DEFAULT_TUNING: SchedulerTuning = {
  progressIntervalMs: 100,
  retryBaseMs: 1_000,
  retryMaxMs: 30_000,
  preferOtherLaneMs: 5_000,
  breaker: { threshold: 3, baseCooldownMs: 5_000, maxCooldownMs: 300_000 },
  giveUpAfterMs: 300_000,
  giveUpMinFailedProbes: 3,
  warmupAloneSamples: 8,
  warmupMaxMs: 20_000,
  interferencePauseZ: 2.5,
  interferenceReleaseZ: 1.5,
  interferenceMinSamples: 2,
  backupFactor: 1.25,
  backupMarginMs: 500,
};

export interface StartRunOptions {
  runId: string;
  ads: readonly Ad[];
  lanes: readonly OrchestratorLane[];
  policy?: Policy;
  /** `ratio`: weight per engine kind or lane id (normalised). */
  split?: Split;
  /** `single`: the engine to use (default: the lane with the lowest expected latency). */
  singleEngine?: EngineKind;
  maxAttempts?: number;
  store: RunStore;
  /**
   * Fetches and prepares an ad's image. Throw EngineError 'permanent' for a bad image (the ad
   * fails at once), 'transient' for a hiccup (retried with backoff). Image failures are the
   * ad's problem: they never count against the lane's circuit breaker or its failed calls.
   */
  loadImage: (ad: Ad, signal: AbortSignal) => Promise<EngineImage>;
  clock?: Clock;
  /** Source of jitter (default Math.random); seeded in simulations. */
  random?: () => number;
  /** Aborting it cancels the run. */
  signal?: AbortSignal;
  onProgress?: (progress: RunProgress) => void;
  onResult?: (result: AdResult) => void;
  onComparison?: (comparison: Comparison) => void;
  tuning?: Partial<SchedulerTuning>;
  /** What each shared resource can run at once (e.g. { cpu: cores }); see OrchestratorLane.resource. */
  resourceBudgets?: Record<string, number>;
}

/** `compare`: one ad on every engine, side by side. */
export interface Comparison {
  runId: string;
  creativeId: string;
  results: Array<{ engine: EngineKind; laneId: string | null; status: 'done' | 'failed'; text: string; durationMs: number | null }>;
  /** Pairwise text agreement (0..1) between engines that both succeeded. */
  agreement: Array<{ a: EngineKind; b: EngineKind; score: number }>;
}

export interface LaneSummary {
  laneId: string;
  engine: EngineKind;
  /** Ads this lane finished. */
  done: number;
  /** Calls on this lane that failed (the ad may have succeeded elsewhere). */
  failedCalls: number;
}

export interface RunSummary {
  runId: string;
  status: Extract<RunStatus, 'finished' | 'cancelled'>;
  policy: Policy;
  /** Tasks in the run (ads, or ads × engines in `compare`), including ones finished before a resume. */
  total: number;
  done: number;
  failed: number;
  /** Already finished in an earlier session of this run, not run again. */
  skipped: number;
  /** Ads whose creativeId appeared earlier in the list (run once). */
  duplicates: number;
  elapsed_s: number;
  lanes: LaneSummary[];
  notes: string[];
}

interface OrchestratorEvents {
  progress: RunProgress;
  result: AdResult;
  comparison: Comparison;
}

type Listener<T> = (value: T) => void;

interface Task {
  adIndex: number;
  ad: Ad;
  /** `compare`: the engine this task is for. */
  target: EngineKind | null;
  attempts: Attempt[];
  /** Failed attempts that count against maxAttempts (an unavailable lane counts half). */
  failures: number;
  notBefore: number;
  avoidLaneId: string | null;
  running: Execution[];
  finished: boolean;
}

interface Execution {
  task: Task;
  lane: LaneRuntime;
  controller: AbortController;
  startedAt: number;
  settled: boolean;
  isBackup: boolean;
  /** Started before its lane had finished any call: includes a model load. */
  cold: boolean;
  otherBusyAtStart: number;
}

class LaneRuntime {
  readonly id: string;
  readonly engineKind: EngineKind;
  readonly label: string;
  workers: number;
  enabled: boolean;
  inFlight = 0;
  readonly executions = new Set<Execution>();
  done = 0;
  failedCalls = 0;
  completedCalls = 0;
  readonly estimator: LatencyEstimator;
  readonly breaker: CircuitBreaker;
  dead: string | null = null;
  lastError = '';
  /** Why the scheduler does not feed this lane right now (interference), if it does not. */
  schedulerPause: string | null = null;
  /** Why the lane is idle although work is queued, for the UI. */
  hold: string | null = null;
  holdNoted = false;
  /** Ratio group (engine kind or lane id). */
  group = '';
  /** Controllers of calls that ended normally, reused: creating an AbortSignal costs more than a whole zero-latency call. */
  private readonly spareControllers: AbortController[] = [];

  constructor(readonly input: OrchestratorLane, breaker: CircuitBreakerOptions) {
    this.id = input.config.id;
    this.engineKind = input.config.engine;
    this.label = input.config.label ?? input.engine.label ?? input.config.id;
    this.workers = input.config.workers;
    this.enabled = input.config.enabled ?? true;
    this.estimator = new LatencyEstimator({
      prior_s: input.prior_s ?? DEFAULT_PRIOR_S[this.engineKind],
      coldStart_s: input.coldStart_s ?? DEFAULT_COLD_START_S[this.engineKind],
    });
    this.breaker = new CircuitBreaker(breaker);
  }

  get engine(): Engine {
    return this.input.engine;
  }

  estimateMs(): number {
    return this.estimator.estimate() * 1000;
  }

  takeController(): AbortController {
    return this.spareControllers.pop() ?? new AbortController();
  }

  /** Only a controller nobody listens to any more is reused (an engine that left a listener keeps its own). */
  returnController(controller: AbortController): void {
    if (controller.signal.aborted || this.spareControllers.length >= this.workers * 2) return;
    if (getEventListeners(controller.signal, 'abort').length > 0) return;
    this.spareControllers.push(controller);
  }

  /** Enabled, not dead: may take work now or later. */
  get alive(): boolean {
    return this.enabled && this.dead === null;
  }
}

interface RatioGroup {
  key: string;
  weight: number;
  assigned: number;
  quota: number;
  lanes: LaneRuntime[];
}

interface EngineStats {
  inFlight: number;
  otherBusyMs: number;
  interference: InterferenceStats;
}

interface PendingComparison {
  remaining: number;
  results: Comparison['results'];
}

function byEstimate(a: LaneRuntime, b: LaneRuntime): number {
  return a.estimateMs() - b.estimateMs();
}

function errorKind(error: unknown): EngineErrorKind {
  if (error instanceof EngineError) return error.kind === 'aborted' ? 'transient' : error.kind;
  return 'transient';
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export class Orchestrator {
  readonly runId: string;
  readonly policy: Policy;
  /** Resolves with the summary when the run finishes or is cancelled. */
  readonly done: Promise<RunSummary>;

  private readonly options: StartRunOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly tuning: SchedulerTuning;
  private readonly maxAttempts: number;
  private readonly lanes: LaneRuntime[];
  /** The lanes, fastest expected first (re-sorted every pass). */
  private readonly laneOrder: LaneRuntime[];
  private readonly lanesById = new Map<string, LaneRuntime>();
  private readonly engineStats = new Map<EngineKind, EngineStats>();
  private readonly listeners: { [K in keyof OrchestratorEvents]: Set<Listener<OrchestratorEvents[K]>> } = {
    progress: new Set(),
    result: new Set(),
    comparison: new Set(),
  };

  private status: RunStatus = 'queued';
  private startedAt = 0;
  private endedAt: number | null = null;
  private resolveDone!: (summary: RunSummary) => void;
  private rejectDone!: (error: unknown) => void;

  /** Fresh work: indices of ads not finished yet, per queue ('' for the shared queue; an engine kind in compare). */
  private readonly fresh = new Map<string, { indices: Int32Array; head: number }>();
  private readonly retries: Task[] = [];
  private totalTasks = 0;
  private finishedTasks = 0;
  private doneCount = 0;
  private failedCount = 0;
  private skipped = 0;
  private duplicates = 0;
  private inFlightTotal = 0;
  private lastBusyUpdate = 0;

  private singleEngine: EngineKind | null = null;
  private compareEngines: EngineKind[] = [];
  private readonly comparisons = new Map<number, PendingComparison>();
  private readonly ratioGroups = new Map<string, RatioGroup>();
  private split: Split;

  /** auto: the engine measured alone first, and until when the others wait for it. */
  private warmupEngine: EngineKind | null = null;
  private warmupUntil = 0;

  private readonly notes = new Map<string, string>();
  private scheduling = false;
  private scheduleAgain = false;
  private wakeTimer: Timer | null = null;
  private wakeAt = Infinity;
  private progressTimer: Timer | null = null;
  private lastProgressAt = -Infinity;
  private readonly externalSignal: AbortSignal | undefined;
  private readonly onExternalAbort = (): void => this.cancel();
  private readonly failBound = (error: unknown): void => this.fail(error);

  constructor(options: StartRunOptions) {
    this.options = options;
    this.runId = options.runId;
    this.policy = options.policy ?? 'auto';
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? Math.random;
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning, breaker: { ...DEFAULT_TUNING.breaker, ...options.tuning?.breaker } };
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.split = options.split ?? {};
    if (options.lanes.length === 0) throw new Error('a run needs at least one lane');
    this.lanes = options.lanes.map((lane) => new LaneRuntime(lane, this.tuning.breaker));
    this.laneOrder = [...this.lanes];
    for (const lane of this.lanes) {
      if (this.lanesById.has(lane.id)) throw new Error(`duplicate lane id ${lane.id}`);
      this.lanesById.set(lane.id, lane);
      if (!this.engineStats.has(lane.engineKind)) {
        this.engineStats.set(lane.engineKind, { inFlight: 0, otherBusyMs: 0, interference: new InterferenceStats() });
      }
    }
    if (options.onProgress) this.listeners.progress.add(options.onProgress);
    if (options.onResult) this.listeners.result.add(options.onResult);
    if (options.onComparison) this.listeners.comparison.add(options.onComparison);
    this.done = new Promise<RunSummary>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Awaiting `done` is the caller's business; an unobserved failure must not crash the process.
    this.done.catch(() => undefined);
    this.externalSignal = options.signal;
    this.externalSignal?.addEventListener('abort', this.onExternalAbort, { once: true });
    // Start on a microtask so that listeners added right after construction see everything.
    queueMicrotask(() => this.guard(() => this.begin()));
  }

  // ---------------------------------------------------------------- public controls

  on<K extends keyof OrchestratorEvents>(event: K, listener: Listener<OrchestratorEvents[K]>): () => void {
    const set = this.listeners[event] as Set<Listener<OrchestratorEvents[K]>>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Stops starting new work; calls in flight finish and are kept. */
  pause(): void {
    if (this.status !== 'running') return;
    this.setStatus('paused');
    this.emitProgressNow();
  }

  resume(): void {
    if (this.status !== 'paused') return;
    this.setStatus('running');
    this.schedule();
    this.emitProgressNow();
  }

  /** Aborts every call in flight at once; finished results stay in the store. */
  cancel(): void {
    if (this.status === 'cancelled' || this.status === 'finished' || this.status === 'cancelling' || this.status === 'failed') return;
    if (this.status === 'queued') {
      this.complete('cancelled');
      return;
    }
    this.setStatus('cancelling');
    for (const lane of this.lanes) {
      for (const execution of [...lane.executions]) this.abortExecution(execution, 'run cancelled');
    }
    this.complete('cancelled');
  }

  /** `ratio`: new weights; the ads not yet handed out are split by them. */
  setSplit(split: Split): void {
    this.split = { ...split };
    if (this.policy === 'ratio') this.recomputeQuotas();
    this.schedule();
    this.markDirty();
  }

  setLaneWorkers(laneId: string, workers: number): void {
    const lane = this.requireLane(laneId);
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new RangeError(`workers must be an integer 1..64, got ${workers}`);
    lane.workers = workers;
    this.schedule();
    this.markDirty();
  }

  /** A disabled lane takes no new work; its calls in flight finish. */
  setLaneEnabled(laneId: string, enabled: boolean): void {
    const lane = this.requireLane(laneId);
    lane.enabled = enabled;
    if (!enabled) this.failStrandedTasks();
    this.schedule();
    this.markDirty();
  }

  /** The current progress, computed now (events deliver the same, coalesced). */
  progress(): RunProgress {
    return this.snapshot();
  }

  // ---------------------------------------------------------------- setup

  private begin(): void {
    if (this.status !== 'queued') return;
    this.startedAt = this.clock.now();
    this.lastBusyUpdate = this.startedAt;
    const ads = this.options.ads;
    const seen = new Set<string>();
    const unique: number[] = [];
    for (let i = 0; i < ads.length; i++) {
      const id = ads[i]!.creativeId;
      if (seen.has(id)) {
        this.duplicates++;
        continue;
      }
      seen.add(id);
      unique.push(i);
    }
    const store = this.options.store;
    const pendingFor = (engine: EngineKind | null): Int32Array => {
      // One query instead of one per ad: a 1M-ad resume would otherwise block the event loop for seconds.
      const finished = store.finishedIds?.(this.runId, engine);
      const pending = finished
        ? finished.size === 0
          ? unique
          : unique.filter((i) => !finished.has(ads[i]!.creativeId))
        : unique.filter((i) => !store.isFinished(this.runId, ads[i]!.creativeId, engine));
      this.skipped += unique.length - pending.length;
      return Int32Array.from(pending);
    };
    const byPrior = [...this.lanes].sort((a, b) => a.estimateMs() - b.estimateMs());
    if (this.policy === 'compare') {
      this.compareEngines = [...new Set(this.lanes.filter((lane) => lane.alive).map((lane) => lane.engineKind))];
      for (const engine of this.compareEngines) {
        const indices = pendingFor(engine);
        this.fresh.set(engine, { indices, head: 0 });
      }
      this.totalTasks = unique.length * this.compareEngines.length;
    } else {
      this.fresh.set('', { indices: pendingFor(null), head: 0 });
      this.totalTasks = unique.length;
    }
    this.finishedTasks = this.skipped;
    this.doneCount = this.skipped;
    if (this.policy === 'single') {
      this.singleEngine = this.options.singleEngine ?? byPrior.find((lane) => lane.alive)?.engineKind ?? byPrior[0]!.engineKind;
      if (!this.lanes.some((lane) => lane.engineKind === this.singleEngine)) throw new Error(`single: no lane of engine ${this.singleEngine}`);
    }
    if (this.policy === 'ratio') this.recomputeQuotas();
    if (this.policy === 'auto') {
      const aliveEngines = new Set(this.lanes.filter((lane) => lane.alive).map((lane) => lane.engineKind));
      if (aliveEngines.size >= 2) {
        this.warmupEngine = byPrior.find((lane) => lane.alive)!.engineKind;
        this.warmupUntil = this.startedAt + this.tuning.warmupMaxMs;
      }
    }
    this.setStatus('running');
    if (this.finishedTasks >= this.totalTasks) {
      this.complete('finished');
      return;
    }
    this.failStrandedTasks();
    this.schedule();
    this.emitProgressNow();
  }

  private requireLane(laneId: string): LaneRuntime {
    const lane = this.lanesById.get(laneId);
    if (!lane) throw new Error(`unknown lane ${laneId}`);
    return lane;
  }

  // ---------------------------------------------------------------- scheduling

  /** Starts whatever work can start now. Re-entrant calls fold into one more pass. */
  private schedule(): void {
    if (this.status !== 'running') return;
    if (this.scheduling) {
      this.scheduleAgain = true;
      return;
    }
    this.scheduling = true;
    try {
      do {
        this.scheduleAgain = false;
        this.schedulePass();
      } while (this.scheduleAgain && this.status === 'running');
    } finally {
      this.scheduling = false;
    }
  }

  private schedulePass(): void {
    const now = this.clock.now();
    if (this.warmupEngine !== null && this.warmupOver(now)) {
      this.warmupEngine = null;
      this.notes.delete('warmup');
    }
    // In place: no allocation per pass (a pass runs after every call).
    const order = this.laneOrder.sort(byEstimate);
    for (const lane of order) {
      lane.hold = null;
      while (this.status === 'running' && lane.inFlight < lane.workers && this.canStart(lane, now)) {
        const task = this.pickTask(lane, now);
        if (task) {
          this.startExecution(task, lane, false, now);
          continue;
        }
        if (!this.tryBackup(lane, now)) break;
      }
    }
    this.armWakeup(now);
  }

  private canStart(lane: LaneRuntime, now: number): boolean {
    if (!lane.alive || lane.schedulerPause !== null) return false;
    if (!lane.breaker.allows(now)) return false;
    if (this.policy === 'single' && lane.engineKind !== this.singleEngine) return false;
    if (this.warmupEngine !== null && lane.engineKind !== this.warmupEngine) {
      lane.hold = `waits while ${this.warmupEngine} is measured alone (interference check)`;
      this.notes.set('warmup', `${this.warmupEngine} is measured alone first; other engines start in a moment`);
      return false;
    }
    return true;
  }

  private warmupOver(now: number): boolean {
    const engine = this.warmupEngine!;
    if (now >= this.warmupUntil) return true;
    if (this.engineStats.get(engine)!.interference.alone.n >= this.tuning.warmupAloneSamples) return true;
    // Nothing to measure with: do not hold the others back.
    return !this.lanes.some((lane) => lane.engineKind === engine && lane.alive && lane.breaker.allows(now));
  }

  /** Whether `lane` may run `task` at all under the policy. */
  private eligible(task: Task, lane: LaneRuntime): boolean {
    if (task.target !== null) return lane.engineKind === task.target;
    if (this.policy === 'single') return lane.engineKind === this.singleEngine;
    return true;
  }

  private queuedCount(): number {
    let count = this.retries.length;
    for (const queue of this.fresh.values()) count += queue.indices.length - queue.head;
    return count;
  }

  private pickTask(lane: LaneRuntime, now: number): Task | null {
    const usesAdmission = this.policy === 'auto' || this.policy === 'single';
    for (let i = 0; i < this.retries.length; i++) {
      const task = this.retries[i]!;
      if (task.notBefore > now || !this.eligible(task, lane)) continue;
      if (task.avoidLaneId === lane.id && now < task.notBefore + this.tuning.preferOtherLaneMs && this.otherLaneCouldTake(task, lane)) continue;
      if (usesAdmission && !this.admits(lane, now)) return null;
      this.retries.splice(i, 1);
      return task;
    }
    const queueKey = this.policy === 'compare' ? lane.engineKind : '';
    const queue = this.fresh.get(queueKey);
    if (!queue || queue.head >= queue.indices.length) return null;
    if (this.policy === 'ratio' && !this.takeRatioSlot(lane)) return null;
    if (usesAdmission && !this.admits(lane, now)) return null;
    const adIndex = queue.indices[queue.head++]!;
    const task: Task = {
      adIndex,
      ad: this.options.ads[adIndex]!,
      target: this.policy === 'compare' ? lane.engineKind : null,
      attempts: [],
      failures: 0,
      notBefore: now,
      avoidLaneId: null,
      running: [],
      finished: false,
    };
    return task;
  }

  private otherLaneCouldTake(task: Task, lane: LaneRuntime): boolean {
    return this.lanes.some((other) => other !== lane && other.alive && other.schedulerPause === null && this.eligible(task, other));
  }

  /** Lanes that may take work now or soon, for admission and ETA. */
  private feeding(lane: LaneRuntime, now: number): boolean {
    return lane.alive && lane.schedulerPause === null && lane.breaker.state(now).type !== 'open' && (this.policy !== 'single' || lane.engineKind === this.singleEngine);
  }

  /**
   * Earliest-finish-time admission: a lane takes the next ad only if it would finish it no
   * later than the faster lanes would finish everything still queued (this ad included).
   */
  private admits(lane: LaneRuntime, now: number): boolean {
    const mine = lane.estimateMs();
    const faster: LaneRuntime[] = [];
    let rate = 0;
    let slots = 0;
    for (const other of this.lanes) {
      if (other === lane || !this.feeding(other, now) || other.estimateMs() >= mine * 0.98) continue;
      faster.push(other);
      rate += other.workers / other.estimateMs();
      slots += other.workers;
    }
    if (faster.length === 0) return true;
    const queued = this.queuedCount();
    // The fluid time is a lower bound of the faster lanes' finish: if even that is later, take the ad.
    if (mine <= queued / rate) return true;
    if (queued > 8 * slots) {
      lane.hold = `the faster lanes finish the remaining ${queued} ads sooner`;
      return false;
    }
    const finish = this.listScheduleFinish(faster, queued, now);
    if (now + mine <= finish) return true;
    lane.hold = `the faster lanes finish the remaining ${queued} ads sooner`;
    lane.holdNoted = true;
    this.notes.set(`hold:${lane.id}`, `${lane.label} takes no more ads: the faster lanes finish the last ${queued} sooner`);
    return false;
  }

  /** When `lanes` would finish `count` more ads, greedily, after their calls in flight (expected). */
  private listScheduleFinish(lanes: LaneRuntime[], count: number, now: number): number {
    const freeAt: number[] = [];
    const latency: number[] = [];
    let finish = now;
    for (const lane of lanes) {
      const estimate = lane.estimateMs();
      const busyEnds = [...lane.executions].map((execution) => this.expectedEnd(execution, now));
      for (let slot = 0; slot < lane.workers; slot++) {
        const end = busyEnds[slot] ?? now;
        freeAt.push(end);
        latency.push(estimate);
        finish = Math.max(finish, end);
      }
    }
    for (let k = 0; k < count; k++) {
      let best = 0;
      for (let s = 1; s < freeAt.length; s++) if (freeAt[s]! + latency[s]! < freeAt[best]! + latency[best]!) best = s;
      freeAt[best] = freeAt[best]! + latency[best]!;
      finish = Math.max(finish, freeAt[best]!);
    }
    return finish;
  }

  private expectedEnd(execution: Execution, now: number): number {
    const estimate = execution.lane.estimateMs();
    return Math.max(execution.startedAt + estimate, now + 0.25 * estimate);
  }

  /** Near the end: run a copy of the latest-finishing straggler on this idle, faster lane. */
  private tryBackup(lane: LaneRuntime, now: number): boolean {
    if (this.policy !== 'auto' && this.policy !== 'single') return false;
    if (this.queuedCount() > 0) return false;
    const mine = lane.estimateMs();
    let best: Execution | null = null;
    let bestEnd = now + mine * this.tuning.backupFactor + this.tuning.backupMarginMs;
    for (const other of this.lanes) {
      if (other === lane) continue;
      for (const execution of other.executions) {
        if (execution.task.running.length !== 1 || !this.eligible(execution.task, lane)) continue;
        const end = this.expectedEnd(execution, now);
        if (end > bestEnd) {
          best = execution;
          bestEnd = end;
        }
      }
    }
    if (!best) return false;
    this.notes.set('backup', `backing up slow ads on faster lanes (last: ${best.task.ad.creativeId} from ${best.lane.label} on ${lane.label})`);
    this.startExecution(best.task, lane, true, now);
    return true;
  }

  // ---------------------------------------------------------------- ratio

  private ratioKey(lane: LaneRuntime): string {
    return Object.hasOwn(this.split, lane.id) ? lane.id : lane.engineKind;
  }

  private recomputeQuotas(): void {
    for (const lane of this.lanes) {
      lane.group = this.ratioKey(lane);
      let group = this.ratioGroups.get(lane.group);
      if (!group) {
        group = { key: lane.group, weight: 0, assigned: 0, quota: 0, lanes: [] };
        this.ratioGroups.set(lane.group, group);
      }
      if (!group.lanes.includes(lane)) group.lanes.push(lane);
    }
    for (const group of this.ratioGroups.values()) group.lanes = group.lanes.filter((lane) => lane.group === group.key);
    const groups = [...this.ratioGroups.values()].filter((group) => group.lanes.length > 0);
    for (const group of groups) group.weight = this.split[group.key] ?? 0;
    const queue = this.fresh.get('');
    const remaining = queue ? queue.indices.length - queue.head : 0;
    const parts = apportion(remaining, groups.map((group) => group.weight));
    groups.forEach((group, index) => {
      group.quota = group.assigned + parts[index]!;
    });
  }

  /** A group that cannot take work for now (all lanes disabled, dead or cooling down) gives its share away. */
  private groupStuck(group: RatioGroup, now: number): boolean {
    return !group.lanes.some((lane) => lane.alive && lane.breaker.state(now).type !== 'open');
  }

  private takeRatioSlot(lane: LaneRuntime): boolean {
    const group = this.ratioGroups.get(lane.group);
    if (!group) return false;
    if (group.assigned < group.quota) {
      group.assigned++;
      return true;
    }
    const now = this.clock.now();
    for (const other of this.ratioGroups.values()) {
      if (other !== group && other.assigned < other.quota && this.groupStuck(other, now)) {
        other.quota--;
        group.quota++;
        group.assigned++;
        this.notes.set(`ratio:${other.key}`, `${other.key} cannot work now; its share goes to ${group.key}`);
        return true;
      }
    }
    lane.hold = 'its share of the split is done';
    return false;
  }

  // ---------------------------------------------------------------- executions

  private startExecution(task: Task, lane: LaneRuntime, isBackup: boolean, now: number): void {
    this.advanceBusy(now);
    const stats = this.engineStats.get(lane.engineKind)!;
    const execution: Execution = {
      task,
      lane,
      controller: lane.takeController(),
      startedAt: now,
      settled: false,
      isBackup,
      cold: lane.completedCalls === 0,
      otherBusyAtStart: stats.otherBusyMs,
    };
    lane.breaker.onStart(now);
    if (lane.holdNoted) {
      this.notes.delete(`hold:${lane.id}`);
      lane.holdNoted = false;
    }
    lane.inFlight++;
    lane.executions.add(execution);
    stats.inFlight++;
    this.inFlightTotal++;
    task.running.push(execution);
    this.execute(execution).catch(this.failBound);
    this.markDirty();
  }

  /**
   * One call. An execution that the scheduler aborts is settled at once (its slot is free
   * again), so a late answer from an engine that ignores its signal is simply dropped.
   */
  private async execute(execution: Execution): Promise<void> {
    const { signal } = execution.controller;
    let image: EngineImage;
    try {
      image = await this.options.loadImage(execution.task.ad, signal);
    } catch (error) {
      if (!execution.settled) this.onImageFailure(execution, error);
      return;
    }
    if (execution.settled) return;
    let outcome: RecognizeResult;
    try {
      outcome = await execution.lane.engine.recognize(image, signal);
    } catch (error) {
      if (!execution.settled) this.onFailure(execution, error);
      return;
    }
    if (execution.settled) return;
    // Engines validate their wire formats; this only guards the store against a broken engine.
    if (typeof outcome?.text !== 'string' || !Array.isArray(outcome.blocks)) {
      this.onFailure(execution, new EngineError('transient', `${execution.lane.label} returned a malformed result`));
      return;
    }
    this.onSuccess(execution, outcome);
  }

  /** Marks the execution over and frees its slot. */
  private settle(execution: Execution, now: number): void {
    this.advanceBusy(now);
    execution.settled = true;
    const lane = execution.lane;
    lane.inFlight--;
    lane.executions.delete(execution);
    this.engineStats.get(lane.engineKind)!.inFlight--;
    this.inFlightTotal--;
    const running = execution.task.running;
    const index = running.indexOf(execution);
    if (index >= 0) running.splice(index, 1);
  }

  private recordAttempt(execution: Execution, now: number, outcome: Attempt['outcome'], error?: string): void {
    const attempt: Attempt = {
      laneId: execution.lane.id,
      engine: execution.lane.engineKind,
      startedAt: execution.startedAt,
      durationMs: now - execution.startedAt,
      outcome,
    };
    if (error !== undefined) attempt.error = error;
    execution.task.attempts.push(attempt);
    this.options.store.recordAttempt(this.runId, execution.task.ad.creativeId, attempt);
  }

  private abortExecution(execution: Execution, reason: string): void {
    if (execution.settled) return;
    const now = this.clock.now();
    this.settle(execution, now);
    execution.lane.breaker.onAbandon(now);
    execution.controller.abort(new EngineError('aborted', reason));
    this.recordAttempt(execution, now, 'aborted', reason);
  }

  private onSuccess(execution: Execution, result: RecognizeResult): void {
    if (execution.settled || this.endedAt !== null) return;
    const now = this.clock.now();
    const lane = execution.lane;
    const stats = this.engineStats.get(lane.engineKind)!;
    this.settle(execution, now);
    lane.returnController(execution.controller);
    const durationMs = now - execution.startedAt;
    lane.completedCalls++;
    lane.estimator.observe(durationMs / 1000, execution.cold);
    let measuredInterference = false;
    if (!execution.cold && durationMs > 0 && this.engineStats.size > 1) {
      // Share of the call during which another engine was busy: ~0 alone, ~1 sharing the Mac.
      stats.interference.add(durationMs / 1000, (stats.otherBusyMs - execution.otherBusyAtStart) / durationMs);
      measuredInterference = true;
    }
    lane.breaker.onSuccess();
    lane.done++;
    this.recordAttempt(execution, now, 'ok');
    const task = execution.task;
    for (const other of [...task.running]) this.abortExecution(other, `superseded: ${lane.label} finished first`);
    this.finishTask(task, {
      status: 'done',
      engine: lane.engineKind,
      laneId: lane.id,
      model: result.model,
      text: result.text,
      description: result.description,
      blocks: result.blocks,
      durationMs,
    });
    if (this.policy === 'auto' && measuredInterference) this.evaluateInterference(now);
    this.schedule();
  }

  private onFailure(execution: Execution, error: unknown): void {
    if (execution.settled || this.endedAt !== null) return;
    const now = this.clock.now();
    const lane = execution.lane;
    this.settle(execution, now);
    lane.returnController(execution.controller);
    const kind = errorKind(error);
    const message = `${lane.label}: ${kind}: ${errorMessage(error)}`;
    lane.failedCalls++;
    lane.lastError = message;
    this.recordAttempt(execution, now, 'error', message);
    if (kind === 'config') {
      lane.dead = errorMessage(error);
      this.notes.set(`dead:${lane.id}`, `${lane.label} stopped: ${lane.dead}`);
    } else if (kind !== 'permanent') {
      if (lane.breaker.onFailure(now)) this.notes.set(`breaker:${lane.id}`, `${lane.label} cools down after repeated failures (${kind})`);
    } else {
      lane.breaker.onAbandon(now);
    }
    const task = execution.task;
    if (task.running.length === 0 && !task.finished) {
      // A lane that is down is not the ad's fault: it counts half, so the ad survives a dying server but not an outage.
      if (kind === 'unavailable') task.failures += 0.5;
      else if (kind !== 'config') task.failures++;
      this.retryOrFail(task, lane, kind === 'permanent', kind === 'config' ? 0 : null, error, now);
    }
    // A dead lane, or one that has been failing for long, may leave ads that nothing can run.
    if (kind === 'config' || lane.breaker.failingSince !== null) this.failStrandedTasks();
    // A victim that dies or cools down no longer needs protecting from the engine paused for its sake.
    if (this.policy === 'auto') this.evaluateInterference(now);
    this.schedule();
    this.markDirty();
  }

  /**
   * The image could not be fetched or prepared, so the engine was never called: that is the
   * ad's (or its image server's) problem, and the lane's breaker and failure count stay as
   * they were. A permanent error fails the ad at once; anything else retries it with backoff.
   */
  private onImageFailure(execution: Execution, error: unknown): void {
    if (execution.settled || this.endedAt !== null) return;
    const now = this.clock.now();
    const lane = execution.lane;
    this.settle(execution, now);
    lane.returnController(execution.controller);
    // Frees the half-open probe slot if this call held it: the probe never reached the engine.
    lane.breaker.onAbandon(now);
    const kind = errorKind(error);
    this.recordAttempt(execution, now, 'error', `image: ${kind}: ${errorMessage(error)}`);
    const task = execution.task;
    if (task.running.length === 0 && !task.finished) {
      task.failures++;
      this.retryOrFail(task, lane, kind === 'permanent' || kind === 'config', null, error, now);
    }
    this.schedule();
    this.markDirty();
  }

  /** After a failed attempt: fail the ad, or queue it again after a backoff (`delayMs` null: computed). */
  private retryOrFail(task: Task, lane: LaneRuntime, permanent: boolean, delayMs: number | null, error: unknown, now: number): void {
    if (permanent || task.failures >= this.maxAttempts) {
      this.finishFailed(task);
      return;
    }
    const retryAfter = error instanceof EngineError ? error.options.retryAfterMs : undefined;
    const delay = delayMs ?? retryAfter ?? retryDelayMs(Math.ceil(task.failures), this.random, this.tuning.retryBaseMs, this.tuning.retryMaxMs);
    task.notBefore = now + delay;
    task.avoidLaneId = lane.id;
    this.retries.push(task);
  }

  /** `reason` replaces the attempts' errors (used when the run gives up on the ad). */
  private finishFailed(task: Task, reason?: string): void {
    const reasons = task.attempts.filter((attempt) => attempt.outcome === 'error').map((attempt) => attempt.error ?? 'error');
    this.finishTask(task, {
      status: 'failed',
      engine: task.target,
      laneId: null,
      model: null,
      text: '',
      description: undefined,
      blocks: [],
      durationMs: null,
      error: reason ?? (reasons.length > 0 ? reasons.join(' | ') : 'no lane could run it'),
    });
  }

  private finishTask(
    task: Task,
    outcome: Pick<AdResult, 'status' | 'engine' | 'laneId' | 'model' | 'text' | 'blocks' | 'durationMs'> & { description: string | undefined; error?: string },
  ): void {
    if (task.finished) return;
    task.finished = true;
    const result: AdResult = {
      runId: this.runId,
      creativeId: task.ad.creativeId,
      status: outcome.status,
      engine: outcome.engine,
      laneId: outcome.laneId,
      model: outcome.model,
      text: outcome.text,
      blocks: outcome.blocks,
      durationMs: outcome.durationMs,
      attempts: task.attempts,
    };
    if (outcome.description !== undefined) result.description = outcome.description;
    if (outcome.error !== undefined) result.error = outcome.error;
    this.options.store.saveResult(result);
    this.finishedTasks++;
    if (outcome.status === 'done') this.doneCount++;
    else this.failedCount++;
    this.emit('result', result);
    if (task.target !== null) this.recordComparison(task, result);
    this.markDirty();
    if (this.finishedTasks >= this.totalTasks && this.status !== 'cancelled') this.complete('finished');
  }

  private recordComparison(task: Task, result: AdResult): void {
    let pending = this.comparisons.get(task.adIndex);
    if (!pending) {
      const finishedBefore = this.compareEngines.filter((engine) => this.options.store.isFinished(this.runId, task.ad.creativeId, engine) && engine !== task.target);
      pending = { remaining: this.compareEngines.length - finishedBefore.length, results: [] };
      this.comparisons.set(task.adIndex, pending);
    }
    pending.results.push({ engine: task.target!, laneId: result.laneId, status: result.status, text: result.text, durationMs: result.durationMs });
    pending.remaining--;
    if (pending.remaining > 0) return;
    this.comparisons.delete(task.adIndex);
    const succeeded = pending.results.filter((entry) => entry.status === 'done');
    const agreement: Comparison['agreement'] = [];
    for (let i = 0; i < succeeded.length; i++) {
      for (let j = i + 1; j < succeeded.length; j++) {
        agreement.push({ a: succeeded[i]!.engine, b: succeeded[j]!.engine, score: textAgreement(succeeded[i]!.text, succeeded[j]!.text) });
      }
    }
    this.emit('comparison', { runId: this.runId, creativeId: task.ad.creativeId, results: pending.results, agreement });
  }

  /**
   * Tasks no lane can ever run (every eligible lane dead) fail now instead of waiting forever;
   * so do tasks whose every enabled eligible lane has been failing for long (an outage: see
   * `giveUpAfterMs`). Calls in flight end on their own and land here again if they fail.
   */
  private failStrandedTasks(): void {
    if (this.status !== 'running' && this.status !== 'paused') return;
    const now = this.clock.now();
    const verdicts = new Map<EngineKind | null, { stranded: boolean; reason?: string }>();
    const verdictFor = (engine: EngineKind | null): { stranded: boolean; reason?: string } => {
      let verdict = verdicts.get(engine);
      if (!verdict) {
        verdict = this.strandedVerdict(engine, now);
        verdicts.set(engine, verdict);
      }
      return verdict;
    };
    const failQueue = (key: string, engine: EngineKind | null): void => {
      const verdict = verdictFor(engine);
      if (!verdict.stranded) return;
      const queue = this.fresh.get(key);
      if (!queue) return;
      while (queue.head < queue.indices.length && this.status !== 'finished') {
        const adIndex = queue.indices[queue.head++]!;
        const task: Task = { adIndex, ad: this.options.ads[adIndex]!, target: engine, attempts: [], failures: 0, notBefore: 0, avoidLaneId: null, running: [], finished: false };
        this.finishFailed(task, verdict.reason);
      }
    };
    if (this.policy === 'compare') {
      for (const engine of this.compareEngines) failQueue(engine, engine);
    } else {
      failQueue('', null);
    }
    for (let i = this.retries.length - 1; i >= 0; i--) {
      const task = this.retries[i]!;
      const verdict = verdictFor(task.target);
      if (verdict.stranded) {
        this.retries.splice(i, 1);
        this.finishFailed(task, verdict.reason);
      }
    }
  }

  /** Whether tasks for `engine` (null: any engine the policy uses) can never run, and the reason to give. */
  private strandedVerdict(engine: EngineKind | null, now: number): { stranded: boolean; reason?: string } {
    const candidates = this.lanes.filter(
      (lane) => lane.dead === null && (engine === null || lane.engineKind === engine) && (this.policy !== 'single' || lane.engineKind === this.singleEngine),
    );
    // No lane at all: the attempts' own errors say why (or "no lane could run it").
    if (candidates.length === 0) return { stranded: true };
    // Disabled lanes are the user's call; only lanes that are trying count towards an outage.
    const trying = candidates.filter((lane) => lane.enabled);
    if (trying.length === 0 || !trying.every((lane) => this.givenUp(lane, now))) return { stranded: false };
    const errors = [...new Set(trying.map((lane) => lane.lastError))].join('; ');
    const span = this.tuning.giveUpAfterMs >= 60_000 ? `${Math.round(this.tuning.giveUpAfterMs / 60_000)} min` : `${Math.round(this.tuning.giveUpAfterMs / 1000)} s`;
    this.notes.set(`gave-up:${engine ?? ''}`, `the remaining ads failed: ${trying.length === 1 ? 'the only lane' : 'every lane'} that could run them failed every call for over ${span} (${errors})`);
    return { stranded: true, reason: `no engine could process it: ${errors}` };
  }

  /** A lane in an outage: failing every call for `giveUpAfterMs`, with enough failed probes that a clock jump alone cannot trigger it. */
  private givenUp(lane: LaneRuntime, now: number): boolean {
    const since = lane.breaker.failingSince;
    return since !== null && lane.breaker.failedProbes >= this.tuning.giveUpMinFailedProbes && now - since >= this.tuning.giveUpAfterMs;
  }

  // ---------------------------------------------------------------- interference

  private advanceBusy(now: number): void {
    const dt = now - this.lastBusyUpdate;
    if (dt <= 0) return;
    this.lastBusyUpdate = now;
    if (this.inFlightTotal === 0) return;
    for (const stats of this.engineStats.values()) {
      if (this.inFlightTotal - stats.inFlight > 0) stats.otherBusyMs += dt;
    }
  }

  /**
   * Stops feeding an engine when the others are measurably slower while it runs and the
   * throughput they lose exceeds what it adds; feeds it again when the evidence fades.
   */
  private evaluateInterference(now: number): void {
    if (this.engineStats.size < 2) return;
    const fastest = [...this.lanes].filter((lane) => lane.alive).sort((a, b) => a.estimateMs() - b.estimateMs())[0];
    if (!fastest) return;
    for (const candidate of this.engineStats.keys()) {
      if (candidate === fastest.engineKind) continue;
      const candidateLanes = this.lanes.filter((lane) => lane.engineKind === candidate && lane.alive);
      if (candidateLanes.length === 0) continue;
      const paused = candidateLanes.some((lane) => lane.schedulerPause !== null);
      let loss = 0;
      let strongest = 0;
      let victim: EngineKind | null = null;
      let percent = 0;
      for (const [engine, stats] of this.engineStats) {
        if (engine === candidate) continue;
        const slowdown = stats.interference.estimate(this.tuning.interferenceMinSamples, this.tuning.interferenceMinSamples);
        if (!slowdown || slowdown.z < (paused ? this.tuning.interferenceReleaseZ : this.tuning.interferencePauseZ)) continue;
        const victims = this.lanes.filter((lane) => lane.engineKind === engine && this.feeding(lane, now));
        const workers = victims.reduce((sum, lane) => sum + lane.workers, 0);
        loss += workers * (1 / slowdown.alone_s - 1 / slowdown.shared_s);
        if (slowdown.z > strongest) {
          strongest = slowdown.z;
          victim = engine;
          percent = Math.round(slowdown.excess * 100);
        }
      }
      const gain = candidateLanes.reduce((sum, lane) => sum + lane.workers / lane.estimator.estimate(), 0);
      const shouldPause = victim !== null && loss > (paused ? 0.8 : 1) * gain;
      if (shouldPause && !paused) {
        const reason = `${candidate} slows ${victim} by ${percent}%: the batch is faster without it`;
        this.notes.set(`interference:${candidate}`, `${candidate} paused: it slows ${victim} by ${percent}% and the batch is faster without it`);
        for (const lane of candidateLanes) {
          lane.schedulerPause = reason;
          for (const execution of [...lane.executions]) this.requeueAborted(execution, reason);
        }
      } else if (!shouldPause && paused) {
        this.notes.delete(`interference:${candidate}`);
        for (const lane of candidateLanes) lane.schedulerPause = null;
      }
    }
  }

  /** Aborts a call for scheduling reasons: the ad goes back to the queue, no attempt counted against it. */
  private requeueAborted(execution: Execution, reason: string): void {
    const task = execution.task;
    this.abortExecution(execution, reason);
    if (task.running.length === 0 && !task.finished) {
      task.notBefore = this.clock.now();
      task.avoidLaneId = null;
      this.retries.unshift(task);
    }
  }

  // ---------------------------------------------------------------- timers, status, events

  /** One timer for the next moment something becomes possible (a retry's backoff ends, a lane cools down, warm-up ends). */
  private armWakeup(now: number): void {
    let next = Infinity;
    for (const task of this.retries) {
      if (task.notBefore > now) next = Math.min(next, task.notBefore);
      else if (task.avoidLaneId !== null && task.notBefore + this.tuning.preferOtherLaneMs > now) next = Math.min(next, task.notBefore + this.tuning.preferOtherLaneMs);
    }
    if (this.queuedCount() > 0) {
      for (const lane of this.lanes) {
        const state = lane.breaker.state(now);
        if (state.type === 'open') next = Math.min(next, state.until);
      }
    }
    if (this.warmupEngine !== null) next = Math.min(next, this.warmupUntil);
    if (next === Infinity || next <= now) return;
    if (this.wakeTimer && this.wakeAt <= next && this.wakeAt > now) return;
    this.wakeTimer?.cancel();
    this.wakeAt = next;
    this.wakeTimer = this.clock.setTimer(next - now, () => {
      this.wakeTimer = null;
      this.wakeAt = Infinity;
      this.guard(() => this.schedule());
    });
  }

  private setStatus(status: RunStatus): void {
    this.status = status;
    this.options.store.setRunStatus(this.runId, status);
  }

  private complete(status: 'finished' | 'cancelled'): void {
    if (this.endedAt !== null) return;
    this.endedAt = this.clock.now();
    this.setStatus(status);
    this.wakeTimer?.cancel();
    this.wakeTimer = null;
    this.externalSignal?.removeEventListener('abort', this.onExternalAbort);
    this.emitProgressNow();
    this.resolveDone(this.summary(status));
  }

  /** An internal error (a store that throws, a bug): stop everything and reject `done`. */
  private fail(error: unknown): void {
    if (this.endedAt !== null) return;
    for (const lane of this.lanes) {
      for (const execution of [...lane.executions]) {
        execution.settled = true;
        execution.controller.abort();
      }
    }
    this.endedAt = this.clock.now();
    this.status = 'failed';
    this.externalSignal?.removeEventListener('abort', this.onExternalAbort);
    this.wakeTimer?.cancel();
    this.progressTimer?.cancel();
    try {
      this.options.store.setRunStatus(this.runId, 'failed');
    } catch {
      // The store may be what failed; the original error is the one to report.
    }
    this.rejectDone(error);
  }

  private guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.fail(error);
    }
  }

  private summary(status: 'finished' | 'cancelled'): RunSummary {
    return {
      runId: this.runId,
      status,
      policy: this.policy,
      total: this.totalTasks,
      done: this.doneCount,
      failed: this.failedCount,
      skipped: this.skipped,
      duplicates: this.duplicates,
      elapsed_s: ((this.endedAt ?? this.clock.now()) - this.startedAt) / 1000,
      lanes: this.lanes.map((lane) => ({ laneId: lane.id, engine: lane.engineKind, done: lane.done, failedCalls: lane.failedCalls })),
      notes: [...this.notes.values()],
    };
  }

  private emit<K extends keyof OrchestratorEvents>(event: K, value: OrchestratorEvents[K]): void {
    for (const listener of this.listeners[event] as Set<Listener<OrchestratorEvents[K]>>) {
      try {
        listener(value);
      } catch (error) {
        console.error(`orchestrator: a ${event} listener threw`, error);
      }
    }
  }

  /** Progress is coalesced: at most one event per `progressIntervalMs`, whatever the batch size. */
  private markDirty(): void {
    if (this.listeners.progress.size === 0 || this.progressTimer !== null || this.endedAt !== null) return;
    const wait = Math.max(0, this.lastProgressAt + this.tuning.progressIntervalMs - this.clock.now());
    this.progressTimer = this.clock.setTimer(wait, () => {
      this.progressTimer = null;
      if (this.endedAt === null) this.emitProgressNow();
    });
  }

  private emitProgressNow(): void {
    if (this.listeners.progress.size === 0) return;
    this.progressTimer?.cancel();
    this.progressTimer = null;
    this.lastProgressAt = this.clock.now();
    this.emit('progress', this.snapshot());
  }

  /** `ratio`: every engine must work through its own share, so the run ends when the slowest share does. */
  private ratioEta_s(): number | null {
    let eta = 0;
    for (const group of this.ratioGroups.values()) {
      const working = group.lanes.filter((lane) => lane.enabled && lane.dead === null);
      const left = group.quota - group.assigned + working.reduce((sum, lane) => sum + lane.inFlight, 0);
      if (left <= 0) continue;
      const rate = working.reduce((sum, lane) => sum + lane.workers / lane.estimator.estimate(), 0);
      if (rate <= 0) return null;
      eta = Math.max(eta, left / rate);
    }
    return eta;
  }

  private laneState(lane: LaneRuntime, now: number): LaneState {
    if (!lane.enabled) return { type: 'disabled' };
    if (lane.dead !== null) return { type: 'dead', reason: lane.dead };
    const breaker = lane.breaker.state(now);
    if (breaker.type === 'open') return { type: 'cooling-down', until: breaker.until, reason: lane.lastError };
    if (this.policy === 'single' && lane.engineKind !== this.singleEngine) return { type: 'paused-by-scheduler', reason: `the single policy uses ${this.singleEngine} only` };
    if (lane.schedulerPause !== null) return { type: 'paused-by-scheduler', reason: lane.schedulerPause };
    if (lane.inFlight > 0) return { type: 'busy' };
    if (lane.hold !== null && this.queuedCount() > 0) return { type: 'paused-by-scheduler', reason: lane.hold };
    return { type: 'idle' };
  }

  private snapshot(): RunProgress {
    const now = this.endedAt ?? this.clock.now();
    const elapsedMs = this.status === 'queued' ? 0 : now - this.startedAt;
    const finishedHere = Math.max(1, this.lanes.reduce((sum, lane) => sum + lane.done, 0));
    const lanes: LaneProgress[] = this.lanes.map((lane) => {
      const p50 = lane.estimator.percentile(0.5);
      const p95 = lane.estimator.percentile(0.95);
      return {
        laneId: lane.id,
        engine: lane.engineKind,
        label: lane.label,
        state: this.laneState(lane, now),
        workers: lane.workers,
        concurrency: lane.workers,
        done: lane.done,
        failed: lane.failedCalls,
        inFlight: lane.inFlight,
        share: lane.done / finishedHere,
        adsPerMinute: elapsedMs > 0 ? lane.done / (elapsedMs / 60_000) : 0,
        p50_s: p50,
        p95_s: p95,
        estimate_s: lane.estimator.estimate(),
      };
    });
    let rate = 0;
    for (const lane of this.lanes) {
      if (this.feeding(lane, now) && (this.warmupEngine === null || lane.engineKind === this.warmupEngine)) rate += lane.workers / lane.estimator.estimate();
    }
    const remaining = this.totalTasks - this.finishedTasks;
    const running = this.status === 'running' || this.status === 'paused';
    return {
      runId: this.runId,
      status: this.status,
      policy: this.policy,
      total: this.totalTasks,
      done: this.doneCount,
      failed: this.failedCount,
      inFlight: this.inFlightTotal,
      elapsed_s: elapsedMs / 1000,
      eta_s: !running ? (remaining === 0 ? 0 : null) : this.policy === 'ratio' ? this.ratioEta_s() : rate > 0 ? remaining / rate : null,
      lanes,
      notes: [...this.notes.values()],
    };
  }
}

/** Starts a run; the returned orchestrator is the handle (controls, events, `done`). */
export function startRun(options: StartRunOptions): Orchestrator {
  return new Orchestrator(options);
}
