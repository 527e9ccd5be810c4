/**
 * The scheduler's core: one queue of ads, many lanes (one endpoint of one engine, with its
 * own workers) that pull from it. The core owns the queue (fresh ads, retries ordered by
 * due time), the lanes' slots and breakers, failures and outages, events and progress.
 * What a lane may take when is the policy's (policies/auto.ts, ratio.ts, single.ts,
 * compare.ts behind policies/policy.ts); how much it may run at once is the tuner's
 * (tuner.ts). The same code runs the app (real, monotonic clock, real engines) and the
 * scheduling benchmark (virtual clock, simulated engines).
 */
import { IMAGE_ATTEMPT_ERROR_PREFIX, type Ad, type AdResult, type Attempt, type EngineKind, type LaneProgress, type LaneState, type Policy, type RecognizeResult, type RunProgress, type RunStatus, type Split } from '../../../shared/domain.js';
import { EngineError, type EngineErrorKind, type EngineImage } from '../engines/types.js';
import { realClock, wallNow, type Clock, type Timer } from './clock.js';
import { byEstimate, LaneRuntime, type Execution, type Task } from './lane.js';
import { DEFAULT_TUNING, type Comparison, type RunSummary, type SchedulerTuning, type StartRunOptions } from './options.js';
import { AutoPolicy } from './policies/auto.js';
import { ComparePolicy } from './policies/compare.js';
import type { PolicyContext, SchedulingPolicy } from './policies/policy.js';
import { RatioPolicy } from './policies/ratio.js';
import { SinglePolicy } from './policies/single.js';
import { retryDelayMs } from './quotas.js';
import { TaskQueue } from './task-queue.js';
import { ConcurrencyTuner } from './tuner.js';

export { type OrchestratorLane, type SchedulerTuning, type StartRunOptions, type Comparison, type RunSummary } from './options.js';

interface OrchestratorEvents {
  progress: RunProgress;
  result: AdResult;
  comparison: Comparison;
}

type Listener<T> = (value: T) => void;

function errorKind(error: unknown): EngineErrorKind {
  if (error instanceof EngineError) return error.kind === 'aborted' ? 'transient' : error.kind;
  return 'transient';
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

function createPolicy(policy: Policy, ctx: PolicyContext): SchedulingPolicy {
  switch (policy) {
    case 'auto':
      return new AutoPolicy(ctx);
    case 'ratio':
      return new RatioPolicy(ctx);
    case 'single':
      return new SinglePolicy(ctx);
    case 'compare':
      return new ComparePolicy(ctx);
  }
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
  private readonly queue = new TaskQueue();
  private readonly rules: SchedulingPolicy;
  private readonly tuner: ConcurrencyTuner;
  private readonly listeners: { [K in keyof OrchestratorEvents]: Set<Listener<OrchestratorEvents[K]>> } = {
    progress: new Set(),
    result: new Set(),
    comparison: new Set(),
  };

  private status: RunStatus = 'queued';
  private startedAt = 0;
  private endedAt: number | null = null;
  /**
   * Working time: only time spent running counts (elapsed, throughput), so a pause neither
   * stretches the elapsed time nor drags the rates down. `workedBeforeMs` is what earlier
   * sessions of this run noted in the store (a resume continues it); `workedMs` this session's
   * closed stretches, `runningSince` the open one.
   */
  private workedBeforeMs = 0;
  private workedMs = 0;
  private runningSince: number | null = null;
  private resolveDone!: (summary: RunSummary) => void;
  private rejectDone!: (error: unknown) => void;

  /** Each queue's engine: the target of its tasks (compare) and what a resume checks (null: any). */
  private readonly queueEngine = new Map<string, EngineKind | null>();
  private totalTasks = 0;
  private finishedTasks = 0;
  private doneCount = 0;
  private failedCount = 0;
  /** Of failedCount, the ads their image failed (RunProgress.imageFailed). */
  private imageFailedCount = 0;
  /** Finished here but not yet durable (a grouped commit pending): not shown as done in progress yet. */
  private unsavedDone = 0;
  private unsavedFailed = 0;
  private unsavedImageFailed = 0;
  private skipped = 0;
  private duplicates = 0;
  private inFlightTotal = 0;

  private readonly notes = new Map<string, string>();
  private scheduling = false;
  private scheduleAgain = false;
  private wakeTimer: Timer | null = null;
  private wakeAt = Infinity;
  private progressTimer: Timer | null = null;
  private heartbeatTimer: Timer | null = null;
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
    if (options.lanes.length === 0) throw new Error('a run needs at least one lane');
    this.lanes = options.lanes.map((lane) => new LaneRuntime(lane, this.tuning.breaker));
    this.laneOrder = [...this.lanes];
    for (const lane of this.lanes) {
      if (this.lanesById.has(lane.id)) throw new Error(`duplicate lane id ${lane.id}`);
      this.lanesById.set(lane.id, lane);
    }
    const ctx: PolicyContext = {
      runId: this.runId,
      options,
      lanes: this.lanes,
      tuning: this.tuning,
      notes: this.notes,
      queue: this.queue,
      requeue: (execution, reason) => this.requeueAborted(execution, reason),
      emitComparison: (comparison) => this.emit('comparison', comparison),
    };
    this.rules = createPolicy(this.policy, ctx);
    this.tuner = new ConcurrencyTuner(this.lanes, options.resourceBudgets ?? {}, this.rules.tunesConcurrency, this.tuning, {
      notes: this.notes,
      queued: () => this.queue.size,
      onLimitChange: (lane) => this.onLimitChange(lane),
    });
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
    // Nothing is next while paused: a loader lets go of the images it holds (a pause may last hours).
    this.announce([]);
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
    this.rules.setSplit(split);
    this.schedule();
    this.markDirty();
  }

  /** A new ceiling (the user's, or an out-of-memory cut); the lane's concurrency follows a cut at once. */
  setLaneWorkers(laneId: string, workers: number): void {
    const lane = this.requireLane(laneId);
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new RangeError(`workers must be an integer 1..64, got ${workers}`);
    lane.workers = workers;
    this.tuner.onCeiling(lane, this.clock.now());
    this.schedule();
    this.markDirty();
  }

  /** A disabled lane takes no new work; its calls in flight finish. */
  setLaneEnabled(laneId: string, enabled: boolean): void {
    const lane = this.requireLane(laneId);
    lane.enabled = enabled;
    const now = this.clock.now();
    this.tuner.onLaneChange(lane, now);
    if (!enabled) this.failStrandedTasks(now);
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
    this.workedBeforeMs = this.options.store.workedMs?.(this.runId) ?? 0;
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
    for (const { key, engine } of this.rules.queues()) {
      // One query instead of one per ad: a 1M-ad resume would otherwise block the event loop for seconds.
      const finished = store.finishedIds?.(this.runId, engine);
      const pending = finished
        ? finished.size === 0
          ? unique
          : unique.filter((i) => !finished.has(ads[i]!.creativeId))
        : unique.filter((i) => !store.isFinished(this.runId, ads[i]!.creativeId, engine));
      this.skipped += unique.length - pending.length;
      this.queue.addFresh(key, Int32Array.from(pending));
      this.queueEngine.set(key, engine);
      this.totalTasks += unique.length;
    }
    this.finishedTasks = this.skipped;
    // Earlier sessions' failed ads stay failed (a store that cannot say counts them done).
    const earlier = store.failedCounts?.(this.runId) ?? { failed: 0, imageFailed: 0 };
    this.failedCount = Math.min(earlier.failed, this.skipped);
    this.imageFailedCount = Math.min(earlier.imageFailed, this.failedCount);
    this.doneCount = this.skipped - this.failedCount;
    this.rules.begin(this.startedAt);
    this.tuner.begin(this.startedAt);
    this.setStatus('running');
    if (this.finishedTasks >= this.totalTasks) {
      this.complete('finished');
      return;
    }
    this.failStrandedTasks(this.startedAt);
    this.schedule();
    this.emitProgressNow();
  }

  private requireLane(laneId: string): LaneRuntime {
    const lane = this.lanesById.get(laneId);
    if (!lane) throw new Error(`unknown lane ${laneId}`);
    return lane;
  }

  /** The tuner moved a lane's limit: tell the engine (a pool sizes itself to it) and look for work. */
  private onLimitChange(lane: LaneRuntime): void {
    if (lane.limit >= 1 && lane.engine.setConcurrency) {
      try {
        Promise.resolve(lane.engine.setConcurrency(lane.limit)).catch((error: unknown) => this.notes.set(`set-concurrency:${lane.id}`, `${lane.label} could not resize: ${errorMessage(error)}`));
      } catch (error) {
        this.notes.set(`set-concurrency:${lane.id}`, `${lane.label} could not resize: ${errorMessage(error)}`);
      }
    }
    this.markDirty();
    this.schedule();
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
    this.rules.beforePass(now);
    // In place: no allocation per pass (a pass runs after every call).
    const order = this.laneOrder.sort(byEstimate);
    for (const lane of order) {
      lane.hold = null;
      while (this.status === 'running' && this.canStart(lane, now)) {
        if (lane.inFlight >= lane.limit) {
          if (this.queue.size > 0) {
            if (lane.limit === 0) lane.hold = this.notes.get(`concurrency:${lane.id}`) ?? 'its concurrency is 0';
            this.tuner.noteLimited(lane, now);
          }
          break;
        }
        if (!this.tuner.resourceFree(lane)) {
          lane.hold = `its ${lane.resource} budget is in use`;
          break;
        }
        const task = this.pickTask(lane, now);
        if (task) {
          this.startExecution(task, lane, false, now);
          continue;
        }
        const straggler = this.queue.size === 0 ? this.rules.backup(lane, now) : null;
        if (!straggler) break;
        this.startExecution(straggler.task, lane, true, now);
      }
    }
    this.armWakeup(now);
    if (this.options.onUpcoming) this.announceUpcoming();
  }

  /**
   * The next fresh ads, as many as the working lanes' ceilings together: from the queues that a
   * working lane takes from, in turn (in compare one queue per engine; a slow engine's must not
   * crowd out a fast one's), an ad in several queues once.
   */
  private announceUpcoming(): void {
    let count = 0;
    const keys = new Set<string>();
    for (const lane of this.lanes) {
      if (!lane.alive || !this.rules.uses(lane)) continue;
      count += lane.workers;
      keys.add(this.rules.queueKeyOf(lane));
    }
    const heads = [...keys].map((key) => {
      const indices: number[] = [];
      this.queue.peekFresh(key, count, (index) => void indices.push(index));
      return indices;
    });
    const upcoming = new Set<Ad>();
    for (let i = 0; upcoming.size < count && heads.some((head) => i < head.length); i++) {
      for (const head of heads) if (i < head.length && upcoming.size < count) upcoming.add(this.options.ads[head[i]!]!);
    }
    this.announce([...upcoming]);
  }

  private announce(upcoming: readonly Ad[]): void {
    try {
      this.options.onUpcoming?.(upcoming);
    } catch (error) {
      // Downloading ahead only saves time: a loader that throws must not stop the run.
      console.error('orchestrator: onUpcoming threw', error);
    }
  }

  private canStart(lane: LaneRuntime, now: number): boolean {
    if (!lane.alive || lane.schedulerPause !== null) return false;
    if (now < lane.backoffUntil) {
      lane.hold = 'backing off: the engine said it is overloaded';
      return false;
    }
    if (!lane.breaker.allows(now)) return false;
    return this.rules.mayStart(lane, now);
  }

  /** The lane and time of the pick in progress, for the two callbacks below (bound once: a pick runs after every call). */
  private picking: { lane: LaneRuntime; now: number } | null = null;
  private readonly avoidsPicker = (task: Task): boolean => {
    const { lane, now } = this.picking!;
    return task.avoidLaneId === lane.id && now < task.notBefore + this.tuning.preferOtherLaneMs && this.otherLaneCouldTake(task, lane);
  };
  private readonly admitsRetry = (): boolean => this.rules.admit(this.picking!.lane, this.picking!.now, false);

  private pickTask(lane: LaneRuntime, now: number): Task | null {
    const key = this.rules.queueKeyOf(lane);
    this.picking = { lane, now };
    const retry = this.queue.takeDue(key, now, this.avoidsPicker, this.admitsRetry);
    if (retry) return retry;
    if (retry === false || this.queue.freshLeft(key) === 0) return null;
    if (!this.rules.admit(lane, now, true)) return null;
    const adIndex = this.queue.takeFresh(key)!;
    return {
      adIndex,
      ad: this.options.ads[adIndex]!,
      key,
      target: this.queueEngine.get(key) ?? null,
      attempts: [],
      failures: 0,
      notBefore: now,
      avoidLaneId: null,
      running: [],
      finished: false,
    };
  }

  private otherLaneCouldTake(task: Task, lane: LaneRuntime): boolean {
    return this.lanes.some((other) => other !== lane && other.alive && other.schedulerPause === null && this.rules.uses(other) && this.rules.queueKeyOf(other) === task.key);
  }

  // ---------------------------------------------------------------- executions

  private startExecution(task: Task, lane: LaneRuntime, isBackup: boolean, now: number): void {
    lane.advanceBusy(now);
    const execution: Execution = {
      task,
      lane,
      controller: lane.takeController(),
      startedAt: now,
      startedAtWall: wallNow(this.clock),
      settled: false,
      isBackup,
      cold: lane.completedCalls === 0,
      busyIntegralAtStart: lane.busyIntegral,
      otherBusyAtStart: 0,
    };
    this.rules.onStart(execution, now);
    lane.breaker.onStart(now);
    if (lane.holdNoted) {
      this.notes.delete(`hold:${lane.id}`);
      lane.holdNoted = false;
    }
    lane.inFlight++;
    lane.executions.add(execution);
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

  /** Marks the execution over and frees its slot; returns the call's mean concurrency on its lane. */
  private settle(execution: Execution, now: number): number {
    const lane = execution.lane;
    lane.advanceBusy(now);
    this.rules.onSettle(execution, now);
    execution.settled = true;
    lane.inFlight--;
    lane.executions.delete(execution);
    this.inFlightTotal--;
    const running = execution.task.running;
    const index = running.indexOf(execution);
    if (index >= 0) running.splice(index, 1);
    const duration = now - execution.startedAt;
    return duration > 0 ? (lane.busyIntegral - execution.busyIntegralAtStart) / duration : lane.inFlight + 1;
  }

  private recordAttempt(execution: Execution, now: number, outcome: Attempt['outcome'], error?: string): void {
    const attempt: Attempt = {
      laneId: execution.lane.id,
      engine: execution.lane.engineKind,
      startedAt: execution.startedAtWall,
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

  /** Aborts a call for scheduling reasons: the ad goes back to the front of the queue, no attempt counted against it. */
  private requeueAborted(execution: Execution, reason: string): void {
    const task = execution.task;
    this.abortExecution(execution, reason);
    if (task.running.length === 0 && !task.finished) {
      task.notBefore = this.clock.now();
      task.avoidLaneId = null;
      this.queue.requeueFront(task);
    }
    this.tuner.onLaneChange(execution.lane, this.clock.now());
  }

  private onSuccess(execution: Execution, result: RecognizeResult): void {
    if (execution.settled || this.endedAt !== null) return;
    const now = this.clock.now();
    const lane = execution.lane;
    const concurrency = this.settle(execution, now);
    lane.returnController(execution.controller);
    const durationMs = now - execution.startedAt;
    lane.completedCalls++;
    // The engine says this call waited for a model load (a worker or engine it added): not a measure of its speed.
    if (result.coldStart) execution.cold = true;
    lane.estimator.observe(durationMs / 1000, execution.cold);
    if (!execution.cold) lane.longestCallMs = Math.max(lane.longestCallMs, durationMs);
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
      truncated: result.truncated === true,
    });
    this.rules.onCallEnd(execution, durationMs, now);
    this.tuner.observe(execution, durationMs, concurrency, now);
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
    let opened = false;
    if (kind === 'config') {
      lane.dead = errorMessage(error);
      this.notes.set(`dead:${lane.id}`, `${lane.label} stopped: ${lane.dead}`);
      this.tuner.onLaneChange(lane, now);
    } else if (kind !== 'permanent') {
      opened = lane.breaker.onFailure(now);
      if (opened) this.notes.set(`breaker:${lane.id}`, `${lane.label} cools down after repeated failures (${kind})`);
      if (kind === 'overloaded') this.tuner.onOverloaded(lane, error instanceof EngineError ? error.options.retryAfterMs : undefined, now);
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
    // Only a lane dying or a breaker (re)opening — every failed probe does — can turn a wait into an outage.
    if (kind === 'config' || opened) this.failStrandedTasks(now);
    this.rules.onCallEnd(execution, null, now);
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
    this.recordAttempt(execution, now, 'error', `${IMAGE_ATTEMPT_ERROR_PREFIX}${kind}: ${errorMessage(error)}`);
    const task = execution.task;
    if (task.running.length === 0 && !task.finished) {
      task.failures++;
      this.retryOrFail(task, lane, kind === 'permanent' || kind === 'config', null, error, now, true);
    }
    this.schedule();
    this.markDirty();
  }

  /** After a failed attempt: fail the ad, or queue it again after a backoff (`delayMs` null: computed). `image`: the attempt's image failed. */
  private retryOrFail(task: Task, lane: LaneRuntime, permanent: boolean, delayMs: number | null, error: unknown, now: number, image = false): void {
    if (permanent || task.failures >= this.maxAttempts) {
      this.finishFailed(task, undefined, image);
      return;
    }
    const retryAfter = error instanceof EngineError ? error.options.retryAfterMs : undefined;
    const delay = delayMs ?? retryAfter ?? retryDelayMs(Math.ceil(task.failures), this.random, this.tuning.retryBaseMs, this.tuning.retryMaxMs);
    task.notBefore = now + delay;
    task.avoidLaneId = lane.id;
    this.queue.retry(task);
  }

  /** `reason` replaces the attempts' errors (used when the run gives up on the ad); `image`: its image failed it. */
  private finishFailed(task: Task, reason?: string, image = false): void {
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
      imageFailed: image,
    });
  }

  private finishTask(
    task: Task,
    outcome: Pick<AdResult, 'status' | 'engine' | 'laneId' | 'model' | 'text' | 'blocks' | 'durationMs'> & { description: string | undefined; error?: string; truncated?: boolean; imageFailed?: boolean },
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
    if (outcome.truncated) result.truncated = true;
    if (outcome.imageFailed) result.imageFailed = true;
    const durable = this.options.store.saveResult(result);
    // Kept with the results, so a run that dies without a status change still resumes its elapsed time.
    this.options.store.noteWorked?.(this.runId, this.totalWorkedMs(this.clock.now()));
    this.finishedTasks++;
    const done = outcome.status === 'done';
    const image = outcome.imageFailed === true;
    if (done) this.doneCount++;
    else this.failedCount++;
    if (image) this.imageFailedCount++;
    // Reported done only once durable (a grouped commit may come later, or fail and be retried):
    // the result event and the progress counts wait for it.
    if (durable) {
      if (done) this.unsavedDone++;
      else this.unsavedFailed++;
      if (image) this.unsavedImageFailed++;
      void durable.then(() => {
        if (done) this.unsavedDone--;
        else this.unsavedFailed--;
        if (image) this.unsavedImageFailed--;
        this.emit('result', result);
        // After the run ended no timer coalesces; one event when the last commit lands carries the final counts.
        if (this.endedAt === null) this.markDirty();
        else if (this.unsavedDone + this.unsavedFailed === 0) this.emitProgressNow();
      });
    } else this.emit('result', result);
    this.rules.onResult(task, result);
    this.markDirty();
    if (this.finishedTasks >= this.totalTasks && this.status !== 'cancelled') this.complete('finished');
  }

  // ---------------------------------------------------------------- outages

  /**
   * Tasks no lane can ever run (every eligible lane dead) fail now instead of waiting forever;
   * so do tasks whose every enabled eligible lane has been failing for long (an outage: see
   * `giveUpAfterMs`). Runs only when that can have changed (a lane died or was disabled, a
   * breaker opened), not on every failure, and walks a queue only when it is stranded.
   */
  private failStrandedTasks(now: number): void {
    if (this.status !== 'running' && this.status !== 'paused') return;
    for (const key of [...this.queue.keys()]) {
      if (this.queue.sizeOf(key) === 0) continue;
      const verdict = this.strandedVerdict(key, now);
      if (!verdict.stranded) continue;
      const target = this.queueEngine.get(key) ?? null;
      this.queue.drain(
        key,
        (adIndex) => {
          if (this.status === 'finished') return;
          const task: Task = { adIndex, ad: this.options.ads[adIndex]!, key, target, attempts: [], failures: 0, notBefore: 0, avoidLaneId: null, running: [], finished: false };
          this.finishFailed(task, verdict.reason);
        },
        (task) => this.finishFailed(task, verdict.reason),
      );
    }
  }

  /** The lanes that could ever run `key`'s tasks. */
  private candidatesFor(key: string): LaneRuntime[] {
    return this.lanes.filter((lane) => lane.dead === null && this.rules.uses(lane) && this.rules.queueKeyOf(lane) === key);
  }

  /** Whether the tasks queued under `key` can never run, and the reason to give. */
  private strandedVerdict(key: string, now: number): { stranded: boolean; reason?: string } {
    const candidates = this.candidatesFor(key);
    // No lane at all: the attempts' own errors say why (or "no lane could run it").
    if (candidates.length === 0) return { stranded: true };
    // Disabled lanes are the user's call; only lanes that are trying count towards an outage.
    const trying = candidates.filter((lane) => lane.enabled);
    if (trying.length === 0 || !trying.every((lane) => this.givenUp(lane, now))) return { stranded: false };
    const errors = [...new Set(trying.map((lane) => lane.lastError))].join('; ');
    const span = this.tuning.giveUpAfterMs >= 60_000 ? `${Math.round(this.tuning.giveUpAfterMs / 60_000)} min` : `${Math.round(this.tuning.giveUpAfterMs / 1000)} s`;
    const engine = this.queueEngine.get(key) ?? '';
    this.notes.set(`gave-up:${engine}`, `the remaining ads failed: ${trying.length === 1 ? 'the only lane' : 'every lane'} that could run them failed every call for over ${span} (${errors})`);
    return { stranded: true, reason: `no engine could process it: ${errors}` };
  }

  /** A lane in an outage: failing every call for `giveUpAfterMs`, with enough failed probes that a clock jump alone cannot trigger it. */
  private givenUp(lane: LaneRuntime, now: number): boolean {
    const since = lane.breaker.failingSince;
    return since !== null && lane.breaker.failedProbes >= this.tuning.giveUpMinFailedProbes && now - since >= this.tuning.giveUpAfterMs;
  }

  // ---------------------------------------------------------------- timers, status, events

  /** One timer for the next moment something becomes possible (a retry is due, a lane cools down, a back-off or warm-up ends). */
  private armWakeup(now: number): void {
    let next = this.queue.nextChange(now, this.tuning.preferOtherLaneMs);
    if (this.queue.size > 0) {
      for (const lane of this.lanes) {
        const state = lane.breaker.state(now);
        if (state.type === 'open') next = Math.min(next, state.until);
        if (lane.backoffUntil > now) next = Math.min(next, lane.backoffUntil);
      }
    }
    // A moment already past would leave no timer at all (and a run waiting on nothing).
    const policyNext = this.rules.nextWakeAt(now);
    if (policyNext > now) next = Math.min(next, policyNext);
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
    const now = this.clock.now();
    this.closeWorkingStretch(now);
    if (status === 'running') this.runningSince = now;
    this.status = status;
    this.options.store.noteWorked?.(this.runId, this.totalWorkedMs(now));
    this.options.store.setRunStatus(this.runId, status);
  }

  private closeWorkingStretch(now: number): void {
    if (this.runningSince === null) return;
    this.workedMs += now - this.runningSince;
    this.runningSince = null;
  }

  /** This session's working time up to `now`. */
  private sessionWorkedMs(now: number): number {
    return this.workedMs + (this.runningSince === null ? 0 : now - this.runningSince);
  }

  /** The run's working time over all its sessions: its elapsed time. */
  private totalWorkedMs(now: number): number {
    return this.workedBeforeMs + this.sessionWorkedMs(now);
  }

  private complete(status: 'finished' | 'cancelled'): void {
    if (this.endedAt !== null) return;
    this.endedAt = this.clock.now();
    this.setStatus(status);
    this.wakeTimer?.cancel();
    this.wakeTimer = null;
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = null;
    this.externalSignal?.removeEventListener('abort', this.onExternalAbort);
    // The status change flushed the pending commits, but their promises settle only after this returns: the
    // last one sends the final event (see saveResult), so the end is not first reported short of results.
    // One still pending on the next turn did not commit (a full disk): the end is reported now, without it.
    if (this.unsavedDone + this.unsavedFailed === 0) this.emitProgressNow();
    else setImmediate(() => this.unsavedDone + this.unsavedFailed > 0 && this.emitProgressNow());
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
    this.closeWorkingStretch(this.endedAt);
    this.status = 'failed';
    this.externalSignal?.removeEventListener('abort', this.onExternalAbort);
    this.wakeTimer?.cancel();
    this.progressTimer?.cancel();
    this.heartbeatTimer?.cancel();
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
      elapsed_s: this.totalWorkedMs(this.endedAt ?? this.clock.now()) / 1000,
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
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = null;
    this.lastProgressAt = this.clock.now();
    this.emit('progress', this.snapshot());
    if (this.endedAt === null && this.status === 'running') this.heartbeatTimer = this.clock.setTimer(this.tuning.progressHeartbeatMs, () => this.emitProgressNow(), { background: true });
  }

  private laneState(lane: LaneRuntime, now: number): LaneState {
    if (!lane.enabled) return { type: 'disabled' };
    if (lane.dead !== null) return { type: 'dead', reason: lane.dead };
    const breaker = lane.breaker.state(now);
    // `until` is wall-clock time for the UI; the breaker counts on the monotonic clock.
    if (breaker.type === 'open') return { type: 'cooling-down', until: wallNow(this.clock) + (breaker.until - now), reason: lane.lastError };
    const held = this.rules.heldState(lane, now);
    if (held) return held;
    if (lane.schedulerPause !== null) return { type: 'paused-by-scheduler', reason: lane.schedulerPause };
    if (lane.inFlight > 0) return { type: 'busy' };
    if (lane.hold !== null && this.queue.size > 0) return { type: 'paused-by-scheduler', reason: lane.hold };
    return { type: 'idle' };
  }

  private snapshot(): RunProgress {
    const now = this.endedAt ?? this.clock.now();
    // Rates divide this session's counts by this session's working time.
    const workedMs = this.sessionWorkedMs(now);
    const finishedHere = Math.max(1, this.lanes.reduce((sum, lane) => sum + lane.done, 0));
    const lanes: LaneProgress[] = this.lanes.map((lane) => ({
      laneId: lane.id,
      engine: lane.engineKind,
      label: lane.label,
      state: this.laneState(lane, now),
      workers: lane.workers,
      concurrency: lane.limit,
      done: lane.done,
      failed: lane.failedCalls,
      inFlight: lane.inFlight,
      share: lane.done / finishedHere,
      adsPerMinute: workedMs > 0 ? lane.done / (workedMs / 60_000) : 0,
      p50_s: lane.estimator.percentile(0.5),
      p95_s: lane.estimator.percentile(0.95),
      estimate_s: lane.estimator.estimate(),
    }));
    const remaining = this.totalTasks - this.finishedTasks;
    const running = this.status === 'running' || this.status === 'paused';
    const split = this.rules.currentSplit();
    return {
      runId: this.runId,
      status: this.status,
      policy: this.policy,
      total: this.totalTasks,
      done: this.doneCount - this.unsavedDone,
      failed: this.failedCount - this.unsavedFailed,
      imageFailed: this.imageFailedCount - this.unsavedImageFailed,
      inFlight: this.inFlightTotal,
      elapsed_s: this.totalWorkedMs(now) / 1000,
      eta_s: !running ? (remaining === 0 ? 0 : null) : this.rules.eta_s(now, remaining),
      lanes,
      ...(split ? { split } : {}),
      notes: [...this.notes.values()],
    };
  }
}

/** Starts a run; the returned orchestrator is the handle (controls, events, `done`). */
export function startRun(options: StartRunOptions): Orchestrator {
  return new Orchestrator(options);
}
