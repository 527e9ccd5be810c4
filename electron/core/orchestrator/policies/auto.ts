/**
 * `auto`: every lane pulls from one queue, fastest expected first, under earliest-finish
 * admission with end-of-batch backups (earliest-finish.ts); the tuner moves each lane's
 * concurrency. With two or more engines, the engine expected fastest is first measured
 * alone (the interference baseline) — briefly: the warm-up ends after
 * `warmupAloneSamples` calls, `warmupMaxMs`, or as soon as that engine turns out more
 * than twice as slow as its prior said — measured, or its first call still running at
 * twice the prior (the guess it was picked on was wrong, so the others need not wait). Afterwards
 * each call's overlap with each other engine's work is recorded, and an engine whose presence
 * slows the others more than it adds is paused (its calls re-queued) until the evidence fades
 * (blamed per engine: with three engines, a slowdown that follows one must not pause another,
 * nor stay blamed on it while a third keeps the victim's calls overlapped). A pause is a
 * judgement on a few calls, and while it lasts no new evidence comes in: after a while
 * (RETEST_AFTER_CALLS of the paused engine's calls, doubling with each pause) the engine runs
 * again on fresh evidence, so a run of unlucky calls cannot keep an engine idle for the batch.
 */
import type { EngineKind, LaneState } from '../../../../shared/domain.js';
import { byEstimate, type Execution, type LaneRuntime } from '../lane.js';
import { InterferenceStats } from '../latency.js';
import { DEFAULT_COLD_START_S } from '../options.js';
import { admitsEarliestFinish, findBackup } from './earliest-finish.js';
import { BasePolicy, feeding, fluidEta_s, type PolicyContext } from './policy.js';

/**
 * A paused engine is tried again after this many of its own calls' time (at least RETEST_MIN_MS): a slow engine,
 * whose calls could barely finish before the batch does, is rarely retried, a fast one soon.
 */
const RETEST_AFTER_CALLS = 4;
const RETEST_MIN_MS = 30_000;

interface EngineStats {
  inFlight: number;
  /** Time (ms) during which some other engine had a call in flight. */
  otherBusyMs: number;
  /** Time (ms) during which this engine had a call in flight. */
  busyMs: number;
  /** Calls of this engine vs any other engine's work: the warm-up counts its alone calls. */
  interference: InterferenceStats;
  /** Calls of this engine vs each other engine's work: a slowdown is blamed on the engine whose work it follows. */
  interferenceBy: Map<EngineKind, InterferenceStats>;
}

export class AutoPolicy extends BasePolicy {
  readonly name = 'auto' as const;
  override readonly tunesConcurrency = true;
  private readonly engineStats = new Map<EngineKind, EngineStats>();
  private inFlightTotal = 0;
  private engines: EngineStats[] = [];
  private lastBusyUpdate = 0;
  /** The engine measured alone first, and until when the others wait for it. */
  private warmupEngine: EngineKind | null = null;
  private warmupUntil = 0;
  private warmupStart = 0;
  private batchAds = 0;
  private warmupPrior_s = Infinity;
  /** A first call still running at twice its prior (cold start included) says the prior was wrong. */
  private warmupPriorDeadline = Infinity;
  /** Paused engines: when each is tried again, and the pause's length (doubled at the next pause). */
  private readonly pauses = new Map<EngineKind, { retestAt: number; span: number }>();

  constructor(ctx: PolicyContext) {
    super(ctx);
    for (const lane of ctx.lanes) {
      if (!this.engineStats.has(lane.engineKind)) this.engineStats.set(lane.engineKind, { inFlight: 0, otherBusyMs: 0, busyMs: 0, interference: new InterferenceStats(), interferenceBy: new Map() });
    }
    for (const [engine, stats] of this.engineStats) {
      for (const other of this.engineStats.keys()) if (other !== engine) stats.interferenceBy.set(other, new InterferenceStats());
    }
    this.engines = [...this.engineStats.values()];
  }

  override begin(now: number): void {
    this.lastBusyUpdate = now;
    const alive = [...this.ctx.lanes].filter((lane) => lane.alive).sort(byEstimate);
    // A batch that its alone samples would be a quarter of cannot afford the warm-up.
    if (new Set(alive.map((lane) => lane.engineKind)).size >= 2 && this.ctx.queue.size >= 4 * this.ctx.tuning.warmupAloneSamples) {
      this.warmupEngine = alive[0]!.engineKind;
      this.warmupStart = now;
      this.batchAds = this.ctx.queue.size;
      this.warmupUntil = this.warmupEnd();
      this.warmupPrior_s = Math.min(...alive.filter((lane) => lane.engineKind === this.warmupEngine).map((lane) => lane.estimator.estimate()));
      // Twice the expected call, or the expected model load if longer — not both added up (the sum keeps the others waiting many times a short prior).
      const deadline_s = Math.min(
        ...alive
          .filter((lane) => lane.engineKind === this.warmupEngine)
          .map((lane) => {
            const cold_s = lane.input.coldStart_s ?? DEFAULT_COLD_START_S[lane.engineKind];
            return Math.max(2 * (lane.estimator.estimate() - cold_s), cold_s);
          }),
      );
      this.warmupPriorDeadline = now + deadline_s * 1000;
    }
  }

  override beforePass(now: number): void {
    if (this.warmupEngine !== null && this.warmupOver(now)) {
      this.warmupEngine = null;
      this.ctx.notes.delete('warmup');
    }
    for (const [candidate, pause] of this.pauses) {
      if (now < pause.retestAt) continue;
      pause.retestAt = Infinity;
      const lanes = this.ctx.lanes.filter((lane) => lane.engineKind === candidate);
      if (!lanes.some((lane) => lane.schedulerPause !== null)) continue;
      for (const [engine, stats] of this.engineStats) if (engine !== candidate) stats.interferenceBy.get(candidate)!.clearOverlapped();
      this.ctx.notes.delete(`interference:${candidate}`);
      for (const lane of lanes) lane.schedulerPause = null;
    }
  }

  override mayStart(lane: LaneRuntime): boolean {
    if (this.warmupEngine !== null && lane.engineKind !== this.warmupEngine && !this.sharesResourceWithWarmup(lane)) {
      lane.hold = `waits while ${this.warmupEngine} is measured alone (interference check)`;
      this.ctx.notes.set('warmup', `${this.warmupEngine} is measured alone first; other engines start in a moment`);
      return false;
    }
    return true;
  }

  override admit(lane: LaneRuntime, now: number): boolean {
    this.admitNow = now;
    return admitsEarliestFinish(this.ctx, lane, now, this.feedingNow);
  }

  private admitNow = 0;
  /** Bound once: admission runs before every call. */
  private readonly feedingNow = (lane: LaneRuntime): boolean => feeding(lane, this.admitNow);

  override backup(lane: LaneRuntime, now: number): Execution | null {
    return findBackup(this.ctx, lane, now, () => true);
  }

  override eta_s(now: number, remaining: number): number | null {
    return fluidEta_s(this.ctx.lanes, remaining, (lane) => feeding(lane, now) && (this.warmupEngine === null || lane.engineKind === this.warmupEngine), now);
  }

  override heldState(): LaneState | null {
    return null;
  }

  override nextWakeAt(now: number): number {
    let next = Infinity;
    for (const pause of this.pauses.values()) next = Math.min(next, pause.retestAt);
    if (this.warmupEngine === null) return next;
    return Math.min(next, this.warmupPriorDeadline > now ? Math.min(this.warmupUntil, this.warmupPriorDeadline) : this.warmupUntil);
  }

  override onStart(execution: Execution, now: number): void {
    this.advanceBusy(now);
    const stats = this.engineStats.get(execution.lane.engineKind)!;
    execution.otherBusyAtStart = stats.otherBusyMs;
    if (this.engines.length > 2) execution.busyAtStart = Float64Array.from(this.engines, (engine) => engine.busyMs);
    stats.inFlight++;
    this.inFlightTotal++;
  }

  override onSettle(execution: Execution, now: number): void {
    this.advanceBusy(now);
    this.engineStats.get(execution.lane.engineKind)!.inFlight--;
    this.inFlightTotal--;
  }

  override onCallEnd(execution: Execution, durationMs: number | null, now: number): void {
    if (durationMs === null) {
      // A victim that dies or cools down no longer needs protecting from the engine paused for its sake.
      this.evaluateInterference(now);
      return;
    }
    const busyAtStart = execution.busyAtStart;
    if (execution.cold || durationMs <= 0 || this.engineStats.size < 2) return;
    const stats = this.engineStats.get(execution.lane.engineKind)!;
    // Share of the call during which another engine was busy: ~0 alone, ~1 sharing the Mac.
    const overlap = (stats.otherBusyMs - execution.otherBusyAtStart) / durationMs;
    stats.interference.add(durationMs / 1000, overlap);
    if (busyAtStart === undefined) {
      // Two engines: the other one is all the others.
      for (const pair of stats.interferenceBy.values()) pair.add(durationMs / 1000, overlap);
    } else {
      this.engines.forEach((other, index) => {
        if (other !== stats) stats.interferenceBy.get(this.kindOf(other))!.add(durationMs / 1000, (other.busyMs - busyAtStart[index]!) / durationMs);
      });
    }
    this.evaluateInterference(now);
  }

  /**
   * The warm-up's end: `warmupMaxMs` after the start, or sooner on a short batch — a share of
   * the batch's fluid time on every lane, re-judged as estimates turn into measurements (a
   * prior 10× too fast would otherwise cut it short, one 10× too slow stretch it).
   */
  private warmupEnd(): number {
    const eta_s = fluidEta_s(this.ctx.lanes, this.batchAds, (lane) => lane.alive) ?? 0;
    return this.warmupStart + Math.min(this.ctx.tuning.warmupMaxMs, this.ctx.tuning.warmupMaxBatchShare * eta_s * 1000);
  }

  /**
   * Lanes on the warm-up engine's resource (e.g. the CPU) are not held: the tuner already
   * shares that resource's budget between them by measured throughput, and a held lane would
   * idle its slot of the budget.
   */
  private sharesResourceWithWarmup(lane: LaneRuntime): boolean {
    if (lane.resource === null || this.ctx.options.resourceBudgets?.[lane.resource] === undefined) return false;
    return this.ctx.lanes.some((other) => other.engineKind === this.warmupEngine && other.resource === lane.resource);
  }

  private warmupOver(now: number): boolean {
    const engine = this.warmupEngine!;
    this.warmupUntil = this.warmupEnd();
    if (now >= this.warmupUntil) return true;
    if (this.engineStats.get(engine)!.interference.alone.n >= this.ctx.tuning.warmupAloneSamples) return true;
    const lanes = this.ctx.lanes.filter((lane) => lane.engineKind === engine);
    // Picked as the fastest on a prior that its own results contradict: measuring it alone buys nothing.
    const answered = lanes.some((lane) => lane.completedCalls > 0);
    if (answered ? Math.min(...lanes.map((lane) => lane.estimator.estimate())) > 2 * this.warmupPrior_s : now >= this.warmupPriorDeadline) return true;
    // Nothing to measure with: do not hold the others back.
    return !lanes.some((lane) => lane.alive && lane.breaker.allows(now));
  }

  private kindOf(stats: EngineStats): EngineKind {
    for (const [engine, value] of this.engineStats) if (value === stats) return engine;
    throw new Error('unknown engine stats');
  }

  private advanceBusy(now: number): void {
    const dt = now - this.lastBusyUpdate;
    if (dt <= 0) return;
    this.lastBusyUpdate = now;
    if (this.inFlightTotal === 0) return;
    for (const stats of this.engines) {
      if (this.inFlightTotal - stats.inFlight > 0) stats.otherBusyMs += dt;
      if (stats.inFlight > 0) stats.busyMs += dt;
    }
  }

  /**
   * Stops feeding an engine when the others are measurably slower while it runs and the
   * throughput they lose exceeds what it adds; feeds it again when the evidence fades.
   */
  private evaluateInterference(now: number): void {
    if (this.engineStats.size < 2) return;
    const { lanes, tuning, notes } = this.ctx;
    // The common case, after every call: no evidence of a slowdown and nothing paused.
    let evidence = false;
    for (const stats of this.engines) {
      for (const pair of stats.interferenceBy.values()) {
        const slowdown = pair.estimate(tuning.interferenceMinSamples, tuning.interferenceMinSamples);
        if (slowdown && slowdown.z >= Math.min(tuning.interferenceReleaseZ, tuning.interferencePauseZ)) evidence = true;
      }
    }
    if (!evidence && !lanes.some((lane) => lane.schedulerPause !== null)) return;
    const fastest = lanes.filter((lane) => lane.alive).sort(byEstimate)[0];
    if (!fastest) return;
    for (const candidate of this.engineStats.keys()) {
      if (candidate === fastest.engineKind) continue;
      const candidateLanes = lanes.filter((lane) => lane.engineKind === candidate && lane.alive);
      if (candidateLanes.length === 0) continue;
      const paused = candidateLanes.some((lane) => lane.schedulerPause !== null);
      let loss = 0;
      let strongest = 0;
      let victim: EngineKind | null = null;
      let percent = 0;
      for (const [engine, stats] of this.engineStats) {
        if (engine === candidate) continue;
        const slowdown = stats.interferenceBy.get(candidate)!.estimate(tuning.interferenceMinSamples, tuning.interferenceMinSamples);
        if (!slowdown || slowdown.z < (paused ? tuning.interferenceReleaseZ : tuning.interferencePauseZ)) continue;
        const victims = lanes.filter((lane) => lane.engineKind === engine && feeding(lane, now));
        const slots = victims.reduce((sum, lane) => sum + lane.limit, 0);
        // At its low end: an engine is paused for what it surely costs, not for what a few unlucky calls suggest.
        loss += slots * (1 / slowdown.alone_s - 1 / slowdown.sharedLow_s);
        if (slowdown.z > strongest) {
          strongest = slowdown.z;
          victim = engine;
          percent = Math.round(slowdown.excess * 100);
        }
      }
      // Warm: a model load the engine is paying now is no reason to be without it for the rest of the batch.
      const gain = candidateLanes.reduce((sum, lane) => sum + Math.max(1, lane.limit) / lane.estimator.warmEstimate(), 0);
      const shouldPause = victim !== null && loss > (paused ? 0.8 : 1) * gain;
      if (shouldPause && !paused) {
        const reason = `${candidate} slows ${victim} by ${percent}%: the batch is faster without it`;
        notes.set(`interference:${candidate}`, `${candidate} paused: it slows ${victim} by ${percent}% and the batch is faster without it`);
        const callMs = Math.max(...candidateLanes.map((lane) => lane.estimateMs()));
        const span = Math.max(RETEST_MIN_MS, RETEST_AFTER_CALLS * callMs, 2 * (this.pauses.get(candidate)?.span ?? 0));
        this.pauses.set(candidate, { retestAt: now + span, span });
        for (const lane of candidateLanes) {
          lane.schedulerPause = reason;
          for (const execution of [...lane.executions]) this.ctx.requeue(execution, reason);
        }
      } else if (!shouldPause && paused) {
        notes.delete(`interference:${candidate}`);
        for (const lane of candidateLanes) lane.schedulerPause = null;
      }
    }
  }
}
