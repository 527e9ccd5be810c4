/**
 * `single`: one engine's lanes only (the user's pick, or the lane expected fastest), with
 * the same earliest-finish admission and backups as `auto` among those lanes; concurrency
 * stays at each lane's ceiling.
 */
import type { EngineKind, LaneState } from '../../../../shared/domain.js';
import { byEstimate, type Execution, type LaneRuntime } from '../lane.js';
import { admitsEarliestFinish, findBackup } from './earliest-finish.js';
import { BasePolicy, feeding, type PolicyContext } from './policy.js';

export class SinglePolicy extends BasePolicy {
  readonly name = 'single' as const;
  private engine: EngineKind | null;

  constructor(ctx: PolicyContext) {
    super(ctx);
    this.engine = ctx.options.singleEngine ?? null;
  }

  override begin(): void {
    if (this.engine === null) {
      const byPrior = [...this.ctx.lanes].sort(byEstimate);
      this.engine = byPrior.find((lane) => lane.alive)?.engineKind ?? byPrior[0]!.engineKind;
    }
    if (!this.ctx.lanes.some((lane) => lane.engineKind === this.engine)) throw new Error(`single: no lane of engine ${this.engine}`);
  }

  override uses(lane: LaneRuntime): boolean {
    // Before begin() every lane may still be the one: the engine is chosen by then.
    return this.engine === null || lane.engineKind === this.engine;
  }

  override mayStart(lane: LaneRuntime): boolean {
    return this.uses(lane);
  }

  override admit(lane: LaneRuntime, now: number): boolean {
    return admitsEarliestFinish(this.ctx, lane, now, (other) => this.uses(other) && feeding(other, now));
  }

  override backup(lane: LaneRuntime, now: number): Execution | null {
    return findBackup(this.ctx, lane, now, () => this.uses(lane));
  }

  override heldState(lane: LaneRuntime): LaneState | null {
    return this.uses(lane) ? null : { type: 'paused-by-scheduler', reason: `the single policy uses ${this.engine} only` };
  }
}
