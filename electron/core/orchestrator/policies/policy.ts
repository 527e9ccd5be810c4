/**
 * The one interface every scheduling policy implements, and what the core lets a policy
 * see. The core owns the queue, the lanes' slots, retries, outages and progress; a policy
 * only answers "may this lane take the next ad now", "which call to back up", "when does
 * the batch end" and reacts to calls starting and ending. Each policy's whole logic is in
 * its own file: auto.ts, ratio.ts, single.ts, compare.ts.
 */
import type { AdResult, EngineKind, LaneState, Policy, Split } from '../../../../shared/domain.js';
import type { Execution, LaneRuntime, Task } from '../lane.js';
import type { Comparison, SchedulerTuning, StartRunOptions } from '../options.js';
import type { TaskQueue } from '../task-queue.js';

export interface PolicyContext {
  readonly runId: string;
  readonly options: StartRunOptions;
  readonly lanes: readonly LaneRuntime[];
  readonly tuning: SchedulerTuning;
  /** Why the scheduler does what it does, by topic (shown in progress and the summary). */
  readonly notes: Map<string, string>;
  readonly queue: TaskQueue;
  /** Aborts a call for scheduling reasons: its ad goes back to the front of the queue, no attempt counted against it. */
  requeue(execution: Execution, reason: string): void;
  emitComparison(comparison: Comparison): void;
}

/** A queue of fresh work: its key, and the engine a resume checks finished results for (null: any engine). */
export interface QueueSpec {
  key: string;
  engine: EngineKind | null;
}

export interface SchedulingPolicy {
  readonly name: Policy;
  /** auto: the tuner moves each lane's concurrency; the others keep it at the ceiling (unless a lane is overloaded). */
  readonly tunesConcurrency: boolean;
  /** The fresh-work queues, asked once at the start. */
  queues(): QueueSpec[];
  /** Once the queues are filled, before the first pass (may throw a configuration error). */
  begin(now: number): void;
  /** Whether this policy ever gives work to the lane. */
  uses(lane: LaneRuntime): boolean;
  /** The queue the lane pulls from. */
  queueKeyOf(lane: LaneRuntime): string;
  /** At the start of every scheduling pass. */
  beforePass(now: number): void;
  /** Whether the lane may start anything now (beyond the core's checks); sets `lane.hold` when not. */
  mayStart(lane: LaneRuntime, now: number): boolean;
  /** Whether the lane takes the next queued ad now (`fresh`: a new ad rather than a retry). Called right before it is taken. */
  admit(lane: LaneRuntime, now: number, fresh: boolean): boolean;
  /** With nothing queued: a call on another lane to run again on this idle one, or null. */
  backup(lane: LaneRuntime, now: number): Execution | null;
  /** Seconds until the batch ends, or null when it cannot be told. */
  eta_s(now: number, remaining: number): number | null;
  /** The lane's state when the policy keeps it idle on purpose, or null. */
  heldState(lane: LaneRuntime, now: number): LaneState | null;
  /** `ratio`: new weights for the ads not handed out yet (the others ignore it). */
  setSplit(split: Split): void;
  /** `ratio`: the weights it splits by now, for the progress (a window attaching mid-run shows them); the others null. */
  currentSplit(): Split | null;
  /** The next moment the policy's own decisions change (e.g. a warm-up ends), or Infinity. */
  nextWakeAt(now: number): number;
  /** A call starts (before the core counts it) / its slot is freed (before the core uncounts it). */
  onStart(execution: Execution, now: number): void;
  onSettle(execution: Execution, now: number): void;
  /** A call ended: `durationMs` when it succeeded, null when it failed. After the ad was finished or re-queued. */
  onCallEnd(execution: Execution, durationMs: number | null, now: number): void;
  /** A task's final result was saved. */
  onResult(task: Task, result: AdResult): void;
}

/** A lane that may take work now or soon: for admission and ETA. */
export function feeding(lane: LaneRuntime, now: number): boolean {
  return lane.alive && lane.schedulerPause === null && lane.limit > 0 && lane.breaker.state(now).type !== 'open';
}

/**
 * A lane's ads per second for an ETA, slot by slot. With `now`, a slot whose call has run longer
 * than the lane's estimate counts at that call's age: a server gone slow or silent is slower than
 * its past calls say, and the ETA grows while it is, without one slow image slowing the lane's other slots.
 */
export function etaRate(lane: LaneRuntime, now?: number): number {
  const estimate_s = lane.estimator.estimate();
  let rate = 0;
  let slots = lane.limit;
  if (now !== undefined) {
    for (const execution of lane.executions) {
      const age_s = (now - execution.startedAt) / 1000;
      if (age_s <= estimate_s || slots === 0) continue;
      rate += 1 / age_s;
      slots--;
    }
  }
  return rate + slots / estimate_s;
}

/** Fluid ETA: what is left over the summed throughput of the lanes `counts` accepts. */
export function fluidEta_s(lanes: readonly LaneRuntime[], remaining: number, counts: (lane: LaneRuntime) => boolean, now?: number): number | null {
  let rate = 0;
  for (const lane of lanes) if (counts(lane)) rate += etaRate(lane, now);
  return rate > 0 ? remaining / rate : null;
}

/** Shared defaults for the hooks a policy does not need. */
export abstract class BasePolicy implements SchedulingPolicy {
  abstract readonly name: Policy;
  readonly tunesConcurrency: boolean = false;

  constructor(protected readonly ctx: PolicyContext) {}

  queues(): QueueSpec[] {
    return [{ key: '', engine: null }];
  }
  begin(_now: number): void {}
  uses(_lane: LaneRuntime): boolean {
    return true;
  }
  queueKeyOf(_lane: LaneRuntime): string {
    return '';
  }
  beforePass(_now: number): void {}
  mayStart(_lane: LaneRuntime, _now: number): boolean {
    return true;
  }
  admit(_lane: LaneRuntime, _now: number, _fresh: boolean): boolean {
    return true;
  }
  backup(_lane: LaneRuntime, _now: number): Execution | null {
    return null;
  }
  eta_s(now: number, remaining: number): number | null {
    return fluidEta_s(this.ctx.lanes, remaining, (lane) => this.uses(lane) && feeding(lane, now), now);
  }
  heldState(_lane: LaneRuntime, _now: number): LaneState | null {
    return null;
  }
  setSplit(_split: Split): void {}
  currentSplit(): Split | null {
    return null;
  }
  nextWakeAt(_now: number): number {
    return Infinity;
  }
  onStart(_execution: Execution, _now: number): void {}
  onSettle(_execution: Execution, _now: number): void {}
  onCallEnd(_execution: Execution, _durationMs: number | null, _now: number): void {}
  onResult(_task: Task, _result: AdResult): void {}
}
