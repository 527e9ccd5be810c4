/**
 * `ratio`: fresh ads are handed out by quota, each group (an engine kind, or a lane id
 * named in the split) getting its weight's share of what is left (largest remainder, so
 * ±1 ad). A group that cannot work now (all lanes disabled, dead, cooling down or hung)
 * gives its share away, and once the queue is empty a free lane backs up a hung lane's
 * calls. Retries go to whichever lane is free. Concurrency stays at the ceiling.
 */
import type { Split } from '../../../../shared/domain.js';
import type { Execution, LaneRuntime } from '../lane.js';
import { apportion } from '../quotas.js';
import { BasePolicy, etaRate, type PolicyContext } from './policy.js';

interface RatioGroup {
  key: string;
  weight: number;
  assigned: number;
  quota: number;
  lanes: LaneRuntime[];
}

export class RatioPolicy extends BasePolicy {
  readonly name = 'ratio' as const;
  private split: Split;
  private readonly groups = new Map<string, RatioGroup>();
  private readonly groupOf = new Map<LaneRuntime, string>();

  constructor(ctx: PolicyContext) {
    super(ctx);
    this.split = { ...(ctx.options.split ?? {}) };
  }

  override begin(): void {
    this.recomputeQuotas();
  }

  override setSplit(split: Split): void {
    this.split = { ...split };
    this.recomputeQuotas();
  }

  override currentSplit(): Split {
    return { ...this.split };
  }

  override admit(lane: LaneRuntime, now: number, fresh: boolean): boolean {
    return !fresh || this.takeSlot(lane, now);
  }

  /** Every engine must work through its own share, so the run ends when the slowest share does. */
  override eta_s(now: number): number | null {
    let eta = 0;
    for (const group of this.groups.values()) {
      const working = group.lanes.filter((lane) => lane.alive);
      const left = group.quota - group.assigned + working.reduce((sum, lane) => sum + lane.inFlight, 0);
      if (left <= 0) continue;
      const rate = working.reduce((sum, lane) => sum + etaRate(lane, now), 0);
      if (rate <= 0) return null;
      eta = Math.max(eta, left / rate);
    }
    return eta;
  }

  private keyOf(lane: LaneRuntime): string {
    return Object.hasOwn(this.split, lane.id) ? lane.id : lane.engineKind;
  }

  private recomputeQuotas(): void {
    for (const lane of this.ctx.lanes) {
      const key = this.keyOf(lane);
      this.groupOf.set(lane, key);
      let group = this.groups.get(key);
      if (!group) {
        group = { key, weight: 0, assigned: 0, quota: 0, lanes: [] };
        this.groups.set(key, group);
      }
      if (!group.lanes.includes(lane)) group.lanes.push(lane);
    }
    for (const group of this.groups.values()) group.lanes = group.lanes.filter((lane) => this.groupOf.get(lane) === group.key);
    const groups = [...this.groups.values()].filter((group) => group.lanes.length > 0);
    for (const group of groups) group.weight = this.split[group.key] ?? 0;
    const parts = apportion(this.ctx.queue.freshLeft(''), groups.map((group) => group.weight));
    groups.forEach((group, index) => {
      group.quota = group.assigned + parts[index]!;
    });
  }

  /** A group that cannot take work for now (all lanes disabled, dead, cooling down or hung) gives its share away. */
  private stuck(group: RatioGroup, now: number): boolean {
    return !group.lanes.some((lane) => lane.alive && lane.breaker.state(now).type !== 'open' && this.hungAt(lane) > now);
  }

  /**
   * When the lane counts as hung: every slot holds an overdue call (a server that stopped
   * answering; its calls end only at their timeout). Infinity while a slot is free.
   */
  private hungAt(lane: LaneRuntime): number {
    if (lane.limit === 0 || lane.inFlight < lane.limit) return Infinity;
    let at = -Infinity;
    for (const execution of lane.executions) at = Math.max(at, this.overdueAt(execution));
    return at;
  }

  /**
   * When a call has run so far past anything its lane has been seen to take that it looks stuck.
   * Never before the lane has answered a few times: one quick answer says little of a lane's
   * spread, a prior nothing, and a first call may load a model.
   */
  private overdueAt(execution: Execution): number {
    const { lane } = execution;
    const { stallFactor, stallMinMs, stallMinCalls } = this.ctx.tuning;
    if (lane.completedCalls < stallMinCalls) return Infinity;
    return execution.startedAt + Math.max(stallFactor * Math.max(lane.longestCallMs, lane.estimateMs()), stallMinMs);
  }

  /** Once nothing else is queued, a free lane backs up calls that look stuck (oldest first); no other call is. */
  override backup(lane: LaneRuntime, now: number): Execution | null {
    if (this.ctx.queue.size > 0) return null;
    let oldest: Execution | null = null;
    for (const other of this.ctx.lanes) {
      if (other === lane) continue;
      for (const execution of other.executions) if (execution.task.running.length === 1 && this.overdueAt(execution) <= now && (!oldest || execution.startedAt < oldest.startedAt)) oldest = execution;
    }
    if (oldest) this.ctx.notes.set('backup', `${oldest.lane.label} does not answer: its ads go to ${lane.label} as well (last: ${oldest.task.ad.creativeId})`);
    return oldest;
  }

  /** Wake when a call turns overdue, so a lane held by its share sees a hung lane without waiting for a call to end. */
  override nextWakeAt(now: number): number {
    let next = Infinity;
    for (const lane of this.ctx.lanes) {
      for (const execution of lane.executions) {
        const at = this.overdueAt(execution);
        if (at > now) next = Math.min(next, at);
      }
    }
    return next;
  }

  private takeSlot(lane: LaneRuntime, now: number): boolean {
    const group = this.groups.get(this.groupOf.get(lane) ?? '');
    if (!group) return false;
    if (group.assigned < group.quota) {
      group.assigned++;
      return true;
    }
    for (const other of this.groups.values()) {
      if (other !== group && other.assigned < other.quota && this.stuck(other, now)) {
        other.quota--;
        group.quota++;
        group.assigned++;
        this.ctx.notes.set(`ratio:${other.key}`, `${other.key} cannot work now; its share goes to ${group.key}`);
        return true;
      }
    }
    lane.hold = 'its share of the split is done';
    return false;
  }
}
