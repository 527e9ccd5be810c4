/**
 * `compare`: every ad on every engine, one queue per engine; when all engines have
 * answered an ad, a comparison with each engine's text and the pairwise agreement is sent.
 * Concurrency stays at the ceiling.
 */
import type { AdResult, EngineKind } from '../../../../shared/domain.js';
import { pairwiseAgreement } from '../agreement.js';
import type { LaneRuntime, Task } from '../lane.js';
import type { Comparison } from '../options.js';
import { BasePolicy, type QueueSpec } from './policy.js';

interface PendingComparison {
  remaining: number;
  results: Comparison['results'];
}

export class ComparePolicy extends BasePolicy {
  readonly name = 'compare' as const;
  private engines: EngineKind[] = [];
  private readonly pending = new Map<number, PendingComparison>();

  override queues(): QueueSpec[] {
    this.engines = [...new Set(this.ctx.lanes.filter((lane) => lane.alive).map((lane) => lane.engineKind))];
    return this.engines.map((engine) => ({ key: engine, engine }));
  }

  override queueKeyOf(lane: LaneRuntime): string {
    return lane.engineKind;
  }

  override onResult(task: Task, result: AdResult): void {
    const { store } = this.ctx.options;
    let pending = this.pending.get(task.adIndex);
    if (!pending) {
      const finishedBefore = this.engines.filter((engine) => engine !== task.target && store.isFinished(this.ctx.runId, task.ad.creativeId, engine));
      pending = { remaining: this.engines.length - finishedBefore.length, results: [] };
      this.pending.set(task.adIndex, pending);
    }
    pending.results.push({ engine: task.target!, laneId: result.laneId, status: result.status, text: result.text, durationMs: result.durationMs });
    pending.remaining--;
    if (pending.remaining > 0) return;
    this.pending.delete(task.adIndex);
    const agreement = pairwiseAgreement(pending.results.filter((entry) => entry.status === 'done'));
    this.ctx.emitComparison({ runId: this.ctx.runId, creativeId: task.ad.creativeId, results: pending.results, agreement });
  }
}
