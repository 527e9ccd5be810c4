/**
 * The core's per-lane and per-ad state: a lane's runtime (workers = ceiling, limit = the
 * in-flight work allowed now, estimates, breaker), an ad's task and one call of it.
 */
import { getEventListeners } from 'node:events';
import type { Ad, Attempt, EngineKind } from '../../../shared/domain.js';
import type { Engine } from '../engines/types.js';
import { CircuitBreaker, type CircuitBreakerOptions } from './breaker.js';
import { LatencyEstimator } from './latency.js';
import { DEFAULT_COLD_START_S, DEFAULT_PRIOR_S, type OrchestratorLane } from './options.js';

export interface Task {
  adIndex: number;
  ad: Ad;
  /** The queue it came from ('' for the shared queue; an engine kind in `compare`). */
  key: string;
  /** `compare`: the engine this task is for. */
  target: EngineKind | null;
  attempts: Attempt[];
  /** Failed attempts that count against maxAttempts (an unavailable lane counts half). */
  failures: number;
  /** Due time of its retry (clock ms). */
  notBefore: number;
  avoidLaneId: string | null;
  running: Execution[];
  finished: boolean;
}

export interface Execution {
  task: Task;
  lane: LaneRuntime;
  controller: AbortController;
  startedAt: number;
  /** Wall-clock start, for the attempt record (startedAt is monotonic). */
  startedAtWall: number;
  settled: boolean;
  isBackup: boolean;
  /** Started before its lane had finished any call, or the engine said it waited for a model load (RecognizeResult.coldStart). */
  cold: boolean;
  /** The lane's ∫ in-flight dt when the call started: the call's mean concurrency is measured from it. */
  busyIntegralAtStart: number;
  /** auto: other engines' busy time when the call started (interference). */
  otherBusyAtStart: number;
  /** auto with 3+ engines: each engine's busy time when the call started (which engine's work it overlapped). */
  busyAtStart?: Float64Array;
}

export class LaneRuntime {
  readonly id: string;
  readonly engineKind: EngineKind;
  readonly label: string;
  /** The ceiling: user-set (or the engine's safe maximum); `setLaneWorkers` moves it. */
  workers: number;
  /** In-flight work allowed now (0..workers); the tuner moves it. */
  limit: number;
  readonly resource: string | null;
  enabled: boolean;
  inFlight = 0;
  readonly executions = new Set<Execution>();
  done = 0;
  failedCalls = 0;
  completedCalls = 0;
  /** The longest successful warm call so far (ms): what this lane has been seen to take. */
  longestCallMs = 0;
  readonly estimator: LatencyEstimator;
  readonly breaker: CircuitBreaker;
  dead: string | null = null;
  lastError = '';
  /** Why the scheduler does not feed this lane right now (interference), if it does not. */
  schedulerPause: string | null = null;
  /** Why the lane is idle although work is queued, for the UI. */
  hold: string | null = null;
  holdNoted = false;
  /** An 'overloaded' answer: no new call before this (clock ms). */
  backoffUntil = 0;
  /** ∫ inFlight dt (ms), advanced at every start and end of a call. */
  busyIntegral = 0;
  private busySince = 0;
  /** Controllers of calls that ended normally, reused: creating an AbortSignal costs more than a whole zero-latency call. */
  private readonly spareControllers: AbortController[] = [];

  constructor(readonly input: OrchestratorLane, breaker: CircuitBreakerOptions) {
    this.id = input.config.id;
    this.engineKind = input.config.engine;
    this.label = input.config.label ?? input.engine.label ?? input.config.id;
    this.workers = input.config.workers;
    const start = input.startConcurrency ?? this.workers;
    if (!Number.isInteger(start) || start < 1) throw new RangeError(`lane ${this.id}: startConcurrency must be an integer ≥ 1, got ${start}`);
    this.limit = Math.min(start, this.workers);
    this.resource = input.resource ?? null;
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

  /** Call before inFlight changes. */
  advanceBusy(now: number): void {
    this.busyIntegral += this.inFlight * (now - this.busySince);
    this.busySince = now;
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

export function byEstimate(a: LaneRuntime, b: LaneRuntime): number {
  return a.estimateMs() - b.estimateMs();
}
