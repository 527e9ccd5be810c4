/**
 * Concurrency that tunes itself. A lane's `workers` is its ceiling; its `limit` is the
 * in-flight work allowed now. Each call that ends well tells the tuner its latency at the
 * lane's mean concurrency during the call, so for every level n the lane has run at it
 * knows X(n) = n / latency(n) (Little's law: throughput, whatever fed the lane). Under
 * `auto` it then, one step at a time and only after the last step was measured:
 *   - grows a lane that is held by its limit while work waits, as long as the extra slot is
 *     expected to add at least half a slot's worth (unknown levels: linear, optimistic);
 *   - backs off when the top slot added less than a quarter of one (latency inflated
 *     without a throughput gain) — like Netflix's gradient limiter, but judged on
 *     throughput, which is what a batch wants, not on latency alone;
 *   - keeps lanes that share a resource (e.g. the CPU) within its budget together, moving
 *     a slot from the lane where it buys least to the one where it buys most (a lane that has
 *     not answered yet is always measured first; one may end at 0 when the others use the
 *     budget better, and gets slots back when they die or lose their edge);
 *   - halves the limit on an 'overloaded' answer, waits out its Retry-After, and does not
 *     grow back to that level for a while (AIMD's multiplicative decrease);
 *   - gives a lane alone on a resource the budget's spare slots at the start (up to its ceiling).
 * A lane given no start begins at AUTO_START_CONCURRENCY and, outside a shared budget and until it shows
 * saturation, doubles once each level is measured (one round of calls); a back-off returns to the nearest
 * measured level below that did as well, and a lane that backed off probes lower while each step down costs nothing.
 * A lane whose level below is unknown (started at its ceiling) probes it while plenty
 * is queued, and goes on down while each probe shows the slot bought nothing. Measurements age out after `tunerForgetAfterCalls` calls,
 * so a level is probed again when things change. Under ratio/single/compare the limit stays at the ceiling, except
 * after an overload, from which it climbs back one slot per few good calls.
 * Priors play no part: unmeasured levels are extrapolated from measured ones, and only a
 * lane with no measurement at all is valued from its latency estimate.
 */
import type { Execution, LaneRuntime } from './lane.js';
import type { SchedulerTuning } from './options.js';

/**
 * Probing a level down costs a little throughput for a few calls (~2 of the lane's ads per probe, 1-1.3 % of a
 * 300-ad batch): only with at least this many ads queued per slot.
 */
const PROBE_DOWN_QUEUED_PER_SLOT = 200;
/**
 * Under auto, the most a lane starts with unless it is given a start: a lane's throughput may saturate at a
 * few calls in flight (a service on a few cores), and above that more calls only wait longer. Growing from 2
 * costs a lane that scales a few calls; starting at a ceiling of 6 over a capacity of 2 cost 2× the bound
 * (concurrency-sensitive), because only a probe could show that fewer slots do as well.
 */
const AUTO_START_CONCURRENCY = 2;
/** A slot moves from one lane to another only when it buys this much more there than it loses (measurement noise). */
const TRADE_MARGIN = 1.1;
/**
 * A lane at 0 is valued on measurements made before it lost its slot, and the lane that took it has its new level
 * measured: it trades back only for a clear gain. Never trading back kept the pair (embedded + the OCR service, whose
 * second slot buys little) on the worse engine for the whole run; trading back at 1.1 cost shared-cpu 3 % on noise.
 */
const TRADE_BACK_MARGIN = 1.5;
/**
 * A level counts as measured once its mean latency is known to this relative standard error: three calls of a lane
 * whose ads vary 2-4× in cost said nothing, and the real pair traded its slots on them. Lanes whose calls barely
 * vary still need only minSamples.
 */
const LEVEL_RELATIVE_ERROR = 0.15;
/** The window of the latency mean (calls): more samples than this do not shrink its error. */
const LEVEL_WINDOW = 20;

interface Level {
  samples: number;
  meanLatency_s: number;
  /** Variance of the latency, weighted as the mean is (ads differ: the same engine takes 0.3 s on one, 1.3 s on another). */
  varLatency_s2: number;
  /** Only cold calls so far. */
  cold: boolean;
  /** The group's call count at the last sample (for ageing). */
  lastCall: number;
}

interface LaneTuning {
  levels: Map<number, Level>;
  /** When the limit last changed, and good calls started since. */
  changedAt: number;
  samplesSinceChange: number;
  /** Held by its limit while work was queued, since the last change. */
  limited: boolean;
  /** An 'overloaded' answer at this level: do not grow back to it before the group's call count reaches `overloadUntilCall`. */
  overloadLevel: number;
  overloadUntilCall: number;
  /** When it last got a slot. */
  grewAt: number;
  /** The level it last probed down from (Infinity: never). */
  probedFrom: number;
  /** It backed off because its top slot bought nothing: it saturates, so the level below is worth a probe whatever is queued. */
  saturated: boolean;
}

interface Group {
  key: string;
  budget: number;
  lanes: LaneRuntime[];
  calls: number;
  /** No decision before the group's call count reaches this (after a look that changed nothing). */
  quietUntilCall: number;
}

export interface TunerHooks {
  /** A lane's limit changed: the engine is told, the scheduler runs another pass. */
  onLimitChange(lane: LaneRuntime, from: number): void;
  /** Ads still queued (a level is probed downwards only when a short slow-down cannot matter). */
  queued(): number;
  notes: Map<string, string>;
}

export class ConcurrencyTuner {
  private readonly state = new Map<LaneRuntime, LaneTuning>();
  private readonly groupOf = new Map<LaneRuntime, Group>();
  private readonly groups: Group[] = [];
  /** Limit changes so far (to tell whether a look changed anything). */
  private changes = 0;

  constructor(
    lanes: readonly LaneRuntime[],
    private readonly budgets: Readonly<Record<string, number>>,
    private readonly adjusts: boolean,
    private readonly tuning: SchedulerTuning,
    private readonly hooks: TunerHooks,
  ) {
    for (const [resource, budget] of Object.entries(budgets)) {
      if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`resourceBudgets.${resource} must be an integer ≥ 1, got ${budget}`);
    }
    const shared = new Map<string, Group>();
    for (const lane of lanes) {
      this.state.set(lane, { levels: new Map(), changedAt: 0, samplesSinceChange: 0, limited: false, overloadLevel: Infinity, overloadUntilCall: 0, grewAt: -Infinity, probedFrom: Infinity, saturated: false });
      const resource = lane.resource !== null && Object.hasOwn(budgets, lane.resource) ? lane.resource : null;
      let group = resource === null ? undefined : shared.get(resource);
      if (!group) {
        group = { key: resource ?? `lane:${lane.id}`, budget: resource === null ? Infinity : budgets[resource]!, lanes: [], calls: 0, quietUntilCall: 0 };
        if (resource !== null) shared.set(resource, group);
        this.groups.push(group);
      }
      group.lanes.push(lane);
      this.groupOf.set(lane, group);
      // Outside auto the limit is the ceiling; a shared budget is then enforced on calls in flight only.
      if (!adjusts) lane.limit = lane.workers;
      else if (lane.input.startConcurrency === undefined) lane.limit = Math.min(lane.limit, AUTO_START_CONCURRENCY);
    }
  }

  /** At the start: fit every shared group into its budget and tell each engine its limit. */
  begin(now: number): void {
    for (const group of this.groups) {
      for (const lane of group.lanes) this.state.get(lane)!.changedAt = now;
      if (this.adjusts) this.fit(group, now, true);
      // A lane alone on a resource takes the budget's spare slots at once: nothing else can use them, and waiting
      // to measure each level first (cold starts included) cost a short batch a fifth of its time. The back-off
      // rule returns it if the extra slots do not pay.
      if (this.adjusts && group.budget !== Infinity && group.lanes.length === 1) {
        const lane = group.lanes[0]!;
        lane.limit = Math.max(lane.limit, Math.min(lane.workers, group.budget));
      }
    }
    for (const lane of this.state.keys()) this.hooks.onLimitChange(lane, lane.workers);
  }

  /** Whether the lane's resource has room for one more call now (shared budgets are hard, in every policy). */
  resourceFree(lane: LaneRuntime): boolean {
    const group = this.groupOf.get(lane)!;
    if (group.budget === Infinity) return true;
    let inFlight = 0;
    for (const other of group.lanes) inFlight += other.inFlight;
    return inFlight < group.budget;
  }

  /** The pass stopped at this lane's limit while work was queued. */
  noteLimited(lane: LaneRuntime, now: number): void {
    const state = this.state.get(lane)!;
    if (state.limited) return;
    state.limited = true;
    if (this.adjusts && lane.limit === 0) this.decide(this.groupOf.get(lane)!, now);
  }

  /** A call ended well after `durationMs`. */
  observe(execution: Execution, durationMs: number, meanConcurrency: number, now: number): void {
    const lane = execution.lane;
    const group = this.groupOf.get(lane)!;
    const state = this.state.get(lane)!;
    group.calls++;
    if (durationMs > 0) {
      const level = Math.max(1, Math.min(64, Math.round(meanConcurrency)));
      let stats = state.levels.get(level);
      // A cold call (it may have waited for a model load) measures its level only until a warm one does: it can only
      // make the level look slower than it is, so a lane may grow a round sooner, never shrink for it.
      if (!stats || group.calls - stats.lastCall > this.tuning.tunerForgetAfterCalls || (stats.cold && !execution.cold)) {
        stats = { samples: 0, meanLatency_s: 0, varLatency_s2: 0, lastCall: group.calls, cold: execution.cold };
        state.levels.set(level, stats);
      }
      if (!execution.cold || stats.cold) {
        stats.samples++;
        stats.lastCall = group.calls;
        const weight = 1 / Math.min(stats.samples, LEVEL_WINDOW);
        const delta = durationMs / 1000 - stats.meanLatency_s;
        stats.meanLatency_s += delta * weight;
        stats.varLatency_s2 = (1 - weight) * (stats.varLatency_s2 + weight * delta * delta);
      }
    }
    // A cold call says little about the level, but it does end the wait for the lane's first answer.
    if (execution.startedAt >= state.changedAt) state.samplesSinceChange++;
    if (this.adjusts) {
      // Nothing changed at the last look: look again after a few more calls, not after every one (100 000 zero-latency calls).
      if (group.calls >= group.quietUntilCall) this.decide(group, now);
    } else if (lane.limit < lane.workers && state.samplesSinceChange >= (lane.limit <= 1 ? 2 : Math.max(4, 2 * lane.limit)) && now >= lane.backoffUntil) {
      // Fixed policies climb back from an overload one slot at a time.
      this.change(lane, lane.limit + 1, now);
    }
  }

  /** 'overloaded' (429/503): halve the limit and wait out the Retry-After. */
  onOverloaded(lane: LaneRuntime, retryAfterMs: number | undefined, now: number): void {
    const state = this.state.get(lane)!;
    const group = this.groupOf.get(lane)!;
    lane.backoffUntil = Math.max(lane.backoffUntil, now + (retryAfterMs ?? this.tuning.overloadBackoffMs));
    state.overloadLevel = Math.min(state.overloadLevel === Infinity ? lane.limit : state.overloadLevel, Math.max(lane.limit, 2));
    state.overloadUntilCall = group.calls + this.tuning.tunerForgetAfterCalls;
    const next = Math.max(1, Math.floor(lane.limit / 2));
    if (next < lane.limit) {
      this.hooks.notes.set(`concurrency:${lane.id}`, `${lane.label}: concurrency cut to ${next} (the engine said it is overloaded)`);
      this.change(lane, next, now);
    }
  }

  /** The ceiling moved (the user, or an out-of-memory cut): the limit follows a cut; outside auto it is the ceiling. */
  onCeiling(lane: LaneRuntime, now: number): void {
    this.state.get(lane)!.probedFrom = Infinity;
    if (!this.adjusts) this.change(lane, lane.workers, now);
    else if (lane.limit > lane.workers) this.change(lane, lane.workers, now);
    else this.decide(this.groupOf.get(lane)!, now);
  }

  /** A lane stopped or started taking work (died, disabled, paused for interference, enabled again). */
  onLaneChange(lane: LaneRuntime, now: number): void {
    if (!this.adjusts) return;
    const group = this.groupOf.get(lane)!;
    this.fit(group, now, false);
    this.decide(group, now);
  }

  private usable(lane: LaneRuntime): boolean {
    return lane.alive && lane.schedulerPause === null;
  }

  private minSamples(level: number): number {
    // Three at level 1, not two: two draws of a lognormal lane (σ 0.2-0.3) moved shared slots by noise (auto only:
    // the fixed policies' climb back from an overload keeps its two).
    // One round of calls from level 2 up (was two): a lane started low reaches a ceiling of 4 a round sooner, and a
    // back-off compares levels that differ by a quarter slot or more.
    return level <= 1 ? 3 : Math.max(this.tuning.tunerMinSamples, level);
  }

  /** Samples a level needs: minSamples, or as many as its spread asks for (LEVEL_RELATIVE_ERROR), up to the window. */
  private samplesNeeded(level: number, stats: Level | undefined): number {
    const least = this.minSamples(level);
    if (!stats || stats.samples < 2 || stats.meanLatency_s <= 0) return least;
    const cv2 = stats.varLatency_s2 / (stats.meanLatency_s * stats.meanLatency_s);
    return Math.max(least, Math.min(LEVEL_WINDOW, Math.ceil(cv2 / (LEVEL_RELATIVE_ERROR * LEVEL_RELATIVE_ERROR))));
  }

  /** Relative standard error of a level's mean latency (and so of its throughput); 0 while it has fewer than two samples. */
  private relativeError(lane: LaneRuntime, level: number): number {
    const stats = this.state.get(lane)!.levels.get(level);
    if (!stats || stats.samples < 2 || stats.meanLatency_s <= 0) return 0;
    return Math.sqrt(stats.varLatency_s2 / Math.min(stats.samples, LEVEL_WINDOW)) / stats.meanLatency_s;
  }

  /** Throughput at `level`, if measured recently enough. */
  private measured(lane: LaneRuntime, group: Group, level: number): number | null {
    const stats = this.state.get(lane)!.levels.get(level);
    if (!stats || stats.samples < this.samplesNeeded(level, stats) || group.calls - stats.lastCall > this.tuning.tunerForgetAfterCalls) return null;
    return level / stats.meanLatency_s;
  }

  /** Throughput expected at `level`: measured, else linear from the nearest measured level below (optimistic) or above. */
  private value(lane: LaneRuntime, group: Group, level: number): number {
    if (level <= 0) return 0;
    const known = this.measured(lane, group, level);
    if (known !== null) return known;
    for (let below = level - 1; below >= 1; below--) {
      const x = this.measured(lane, group, below);
      if (x === null) continue;
      // Between two measured levels: on the line between them (a level 3 between a good 2 and a poor 4 is not worth a visit).
      for (let above = level + 1; above <= lane.workers; above++) {
        const y = this.measured(lane, group, above);
        if (y !== null) return x + ((y - x) * (level - below)) / (above - below);
      }
      return (x * level) / below;
    }
    for (let above = level + 1; above <= lane.workers; above++) {
      const x = this.measured(lane, group, above);
      if (x !== null) return (x * level) / above;
    }
    return level / lane.estimator.estimate();
  }

  /** Whether the last change on this lane has been measured (or cannot be, soon). */
  private settled(lane: LaneRuntime, now: number): boolean {
    if (lane.limit === 0 || !this.usable(lane)) return true;
    const state = this.state.get(lane)!;
    // Not fed at all (e.g. held while another engine is measured alone): nothing to wait for.
    if (lane.inFlight === 0 && !state.limited) return true;
    if (state.samplesSinceChange >= this.samplesNeeded(lane.limit, state.levels.get(lane.limit))) return true;
    // A lane the scheduler barely feeds would otherwise freeze its group.
    return now - state.changedAt > 4 * lane.estimateMs() * Math.max(1, this.minSamples(lane.limit) / Math.max(1, lane.limit));
  }

  private decide(group: Group, now: number): void {
    const changesBefore = this.changes;
    const looked = this.decideOnce(group, now);
    // Waiting for the last change to be measured is a cheap check, made at every call: a look made every few calls
    // kept a lane a round at its start after its level was measured.
    if (this.changes === changesBefore && looked) group.quietUntilCall = group.calls + 2 + group.lanes.length;
  }

  /** False when a lane's last change is not measured yet (nothing was weighed). */
  private decideOnce(group: Group, now: number): boolean {
    const lanes = group.lanes.filter((lane) => this.usable(lane));
    if (!lanes.every((lane) => this.settled(lane, now))) return false;
    // Back off: the slots above the nearest level measured below added less than a quarter of a slot's throughput each.
    for (const lane of lanes) {
      const l = lane.limit;
      if (l < 2) continue;
      const top = this.measured(lane, group, l);
      if (top === null) continue;
      for (let k = l - 1; k >= 1; k--) {
        const below = this.measured(lane, group, k);
        if (below === null) continue;
        // Measured lately: a lane whose speed changed since would otherwise blame the change on its top slots.
        const belowAge = group.calls - (this.state.get(lane)!.levels.get(k)?.lastCall ?? -Infinity);
        if (belowAge <= this.tuning.tunerForgetAfterCalls / 4 && top < below * (1 + (0.25 * (l - k)) / k)) {
          this.hooks.notes.set(`concurrency:${lane.id}`, `${lane.label}: concurrency ${k} of ${lane.workers} (more made calls slower without more ads per second)`);
          this.state.get(lane)!.saturated = true;
          this.change(lane, k, now);
          return true;
        }
        break;
      }
    }
    // Probe one level down when it is unknown (e.g. a lane started at its ceiling): the only way to learn that fewer slots do as well.
    // Not in a shared group: the slot freed would go to another lane (the budget's own allocation decides there).
    for (const lane of group.budget === Infinity ? lanes : []) {
      const l = lane.limit;
      const state = this.state.get(lane)!;
      // A lane that saturates is probed lower whatever is queued while each step down cost nothing (this level does as
      // well as one slot more): the probe is then a likely gain, not a likely cost.
      const here = this.measured(lane, group, l);
      const above = this.measured(lane, group, l + 1);
      const likelyGain = state.saturated && here !== null && above !== null && here >= above;
      if (l < 2 || !state.limited || (!likelyGain && this.hooks.queued() < PROBE_DOWN_QUEUED_PER_SLOT * l)) continue;
      if (l < state.probedFrom && this.measured(lane, group, l) !== null && this.measured(lane, group, l - 1) === null) {
        // Down again only from a level the last probe stayed below (it showed the slot bought nothing); repeating a probe
        // every time its measurement aged out cost a long batch 1.6 %.
        state.probedFrom = l;
        this.change(lane, l - 1, now);
        return true;
      }
    }
    const growers: Array<{ lane: LaneRuntime; gain: number; margin: number }> = [];
    for (const lane of lanes) {
      const state = this.state.get(lane)!;
      const l = lane.limit;
      if (!state.limited || l >= lane.workers || now < lane.backoffUntil) continue;
      if (l + 1 >= state.overloadLevel && group.calls < state.overloadUntilCall) continue;
      // A lane that has not answered yet is measured first, whatever its prior says.
      let gain = lane.completedCalls === 0 ? Infinity : this.value(lane, group, l + 1) - this.value(lane, group, l);
      // Unknown above but known below: expect the next slot to add what the last one did, if that was less than the
      // average (throughput flattening out), not the average (linear, which grew a saturating lane past its best).
      const here = this.measured(lane, group, l);
      const below = this.measured(lane, group, l - 1);
      if (this.measured(lane, group, l + 1) === null && here !== null && below !== null) gain = Math.min(gain, here - below);
      if (l >= 1 && gain < (this.value(lane, group, l) * 0.5) / l) continue;
      // Grown from a level only once that level is measured (a cold call ends the wait but measures nothing), else the
      // next level has nothing to be judged against; a lane barely fed goes on after twice the samples. A lane at 0
      // (its slot went to another lane) has nothing left to measure.
      if (l >= 1 && lane.completedCalls > 0 && here === null && state.samplesSinceChange < 2 * this.minSamples(l)) continue;
      if (gain > 0) growers.push({ lane, gain, margin: l === 0 ? TRADE_BACK_MARGIN : TRADE_MARGIN });
    }
    if (growers.length === 0) return true;
    growers.sort((a, b) => b.gain - a.gain);
    const used = lanes.reduce((sum, lane) => sum + lane.limit, 0);
    if (used < group.budget) {
      // Without a shared budget, a lane that has not shown saturation (nor an overload) doubles: reaching a ceiling of 4
      // from 2 one slot at a time cost a lane that scales 1-2 % of a batch; the back-off above returns from a double
      // that did not pay.
      const lane = growers[0]!.lane;
      const state = this.state.get(lane)!;
      const step = group.budget === Infinity && !state.saturated && state.overloadLevel === Infinity ? Math.max(1, lane.limit) : 1;
      this.change(lane, Math.min(lane.limit + step, group.budget - used + lane.limit), now);
      return true;
    }
    // The budget is full: the move (one slot from a donor to a grower) that buys most relative to what it costs. Every
    // grower is tried, not only the one that gains most: that one may be the only lane worth taking a slot from.
    let grower: LaneRuntime | null = null;
    let donor: LaneRuntime | null = null;
    let bestGain = 0;
    let leastLoss = Infinity;
    let bestMargin = TRADE_MARGIN;
    for (const candidate of growers) {
      for (const lane of lanes) {
        // An unmeasured lane keeps its slot for its first answer, unless the scheduler is not feeding it anyway.
        // A slot given at this instant is not taken back at once (two idle lanes would pass it to and fro for ever).
        const state = this.state.get(lane)!;
        if (lane === candidate.lane || lane.limit < 1 || state.grewAt === now || (lane.completedCalls === 0 && (lane.inFlight > 0 || state.limited))) continue;
        const loss = this.value(lane, group, lane.limit) - this.value(lane, group, lane.limit - 1);
        // Compared net of each pair's margin: gain / margin against loss. The margin is at least the noise of the two
        // measurements compared (one standard error of their ratio): lanes whose calls vary a lot need a clearer edge.
        const margin = Math.max(candidate.margin, 1 + Math.hypot(this.relativeError(candidate.lane, Math.max(1, candidate.lane.limit)), this.relativeError(lane, lane.limit)));
        if (candidate.gain * bestMargin * leastLoss > bestGain * margin * loss || (grower === null && donor === null)) {
          grower = candidate.lane;
          donor = lane;
          bestGain = candidate.gain;
          leastLoss = loss;
          bestMargin = margin;
        }
      }
    }
    if (!grower || !donor || !(bestGain > bestMargin * leastLoss)) return true;
    this.noteShare(donor, grower, group, donor.limit - 1);
    this.change(donor, donor.limit - 1, now);
    this.change(grower, grower.limit + 1, now);
    return true;
  }

  /** Brings the group's limits within its budget: lanes get one slot each in turn, up to their current limit. */
  private fit(group: Group, now: number, atStart: boolean): void {
    if (group.budget === Infinity) return;
    const lanes = group.lanes.filter((lane) => this.usable(lane));
    const used = lanes.reduce((sum, lane) => sum + lane.limit, 0);
    if (used <= group.budget) return;
    const wanted = new Map(lanes.map((lane) => [lane, lane.limit]));
    const given = new Map(lanes.map((lane) => [lane, 0]));
    let left = group.budget;
    // At the start every lane gets a first slot (in lane order) so that each is measured; later the fastest first.
    const order = atStart ? lanes : [...lanes].sort((a, b) => this.value(b, group, 1) - this.value(a, group, 1));
    while (left > 0) {
      let progressed = false;
      for (const lane of order) {
        if (left > 0 && given.get(lane)! < wanted.get(lane)!) {
          given.set(lane, given.get(lane)! + 1);
          left--;
          progressed = true;
        }
      }
      if (!progressed) break;
    }
    for (const lane of lanes) {
      const next = given.get(lane)!;
      if (next !== lane.limit) {
        if (next === 0) this.hooks.notes.set(`concurrency:${lane.id}`, `${lane.label} waits: the ${group.key} budget (${group.budget}) is used by the other lanes`);
        if (atStart) lane.limit = next;
        else this.change(lane, next, now);
      }
    }
  }

  private noteShare(donor: LaneRuntime, grower: LaneRuntime, group: Group, next: number): void {
    this.hooks.notes.set(
      `concurrency:${donor.id}`,
      next === 0
        ? `${donor.label} waits: the ${group.key} budget (${group.budget}) buys more ads per second on ${grower.label}`
        : `${donor.label}: concurrency ${next} of ${donor.workers} (the ${group.key} budget buys more on ${grower.label})`,
    );
  }

  private change(lane: LaneRuntime, next: number, now: number): void {
    const bounded = Math.max(0, Math.min(lane.workers, next));
    if (bounded === lane.limit) return;
    const from = lane.limit;
    lane.limit = bounded;
    this.changes++;
    this.groupOf.get(lane)!.quietUntilCall = 0;
    const state = this.state.get(lane)!;
    state.changedAt = now;
    if (bounded > from) state.grewAt = now;
    state.samplesSinceChange = 0;
    state.limited = false;
    if (bounded === lane.workers) this.hooks.notes.delete(`concurrency:${lane.id}`);
    this.hooks.onLimitChange(lane, from);
  }
}
