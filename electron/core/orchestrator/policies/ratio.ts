/**
 * `ratio`: fresh ads are handed out by quota, each group (an engine kind, or a lane id
 * named in the split) getting its weight's share of what is left (largest remainder, so
 * ±1 ad). A group that cannot work now (all lanes disabled, dead or cooling down) gives
 * its share away. Retries go to whichever lane is free. Concurrency stays at the ceiling.
 */
import type { Split } from '../../../../shared/domain.js';
import type { LaneRuntime } from '../lane.js';
import { apportion } from '../quotas.js';
import { BasePolicy, type PolicyContext } from './policy.js';

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
  override eta_s(): number | null {
    let eta = 0;
    for (const group of this.groups.values()) {
      const working = group.lanes.filter((lane) => lane.alive);
      const left = group.quota - group.assigned + working.reduce((sum, lane) => sum + lane.inFlight, 0);
      if (left <= 0) continue;
      const rate = working.reduce((sum, lane) => sum + lane.limit / lane.estimator.estimate(), 0);
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

  /** A group that cannot take work for now (all lanes disabled, dead or cooling down) gives its share away. */
  private stuck(group: RatioGroup, now: number): boolean {
    return !group.lanes.some((lane) => lane.alive && lane.breaker.state(now).type !== 'open');
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
