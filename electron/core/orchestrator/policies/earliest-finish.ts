/**
 * Earliest-finish-time admission and end-of-batch backups, shared by `auto` and `single`
 * (which is `auto` on one engine's lanes): a lane takes the next ad only if it would finish
 * it no later than the faster lanes would finish everything still queued, and when nothing
 * is queued an idle lane re-runs the straggler that would end last, if it ends clearly sooner.
 */
import type { Execution, LaneRuntime } from '../lane.js';
import type { PolicyContext } from './policy.js';

/** When a call is expected to end: its start plus the lane's estimate, but never sooner than a quarter of one from now. */
function expectedEnd(execution: Execution, now: number): number {
  const estimate = execution.lane.estimateMs();
  return Math.max(execution.startedAt + estimate, now + 0.25 * estimate);
}

/**
 * When an overdue call is expected to end, for backing it up: as long again as the lane's calls that ran this
 * long went on (a long tail keeps going), else as expectedEnd.
 */
function expectedEndOverdue(execution: Execution, now: number): number {
  const end = expectedEnd(execution, now);
  if (now < execution.startedAt + execution.lane.estimateMs()) return end;
  const residual_s = execution.lane.estimator.meanResidual_s((now - execution.startedAt) / 1000);
  return residual_s === null ? end : Math.max(end, now + residual_s * 1000);
}

/** When `lanes` would finish `count` more ads, greedily over their slots, after their calls in flight (expected). */
function listScheduleFinish(lanes: readonly LaneRuntime[], count: number, now: number): number {
  const freeAt: number[] = [];
  const latency: number[] = [];
  let finish = now;
  for (const lane of lanes) {
    const estimate = lane.estimateMs();
    const busyEnds = [...lane.executions].map((execution) => expectedEnd(execution, now));
    for (let slot = 0; slot < lane.limit; slot++) {
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

/** Whether `lane` takes the next ad now; `feeding` says which other lanes count as able to take work. */
export function admitsEarliestFinish(ctx: PolicyContext, lane: LaneRuntime, now: number, feeding: (lane: LaneRuntime) => boolean): boolean {
  const mine = lane.estimateMs();
  const faster: LaneRuntime[] = [];
  let rate = 0;
  let slots = 0;
  for (const other of ctx.lanes) {
    if (other === lane || !feeding(other) || other.estimateMs() >= mine * 0.98) continue;
    faster.push(other);
    rate += other.limit / other.estimateMs();
    slots += other.limit;
  }
  if (faster.length === 0) return true;
  const queued = ctx.queue.size;
  // The fluid time is a lower bound of the faster lanes' finish: if even that is later, take the ad.
  if (mine <= queued / rate) return true;
  if (queued > 8 * slots) {
    lane.hold = `the faster lanes finish the remaining ${queued} ads sooner`;
    return false;
  }
  const finish = listScheduleFinish(faster, queued, now);
  if (now + mine <= finish) return true;
  lane.hold = `the faster lanes finish the remaining ${queued} ads sooner`;
  lane.holdNoted = true;
  ctx.notes.set(`hold:${lane.id}`, `${lane.label} takes no more ads: the faster lanes finish the last ${queued} sooner`);
  return false;
}

/** Near the end: the in-flight call (of an ad running once) that would end latest, if `lane` would end it clearly sooner. */
export function findBackup(ctx: PolicyContext, lane: LaneRuntime, now: number, eligible: (execution: Execution) => boolean): Execution | null {
  if (ctx.queue.size > 0) return null;
  const mine = lane.estimateMs();
  let best: Execution | null = null;
  let bestEnd = now + mine * ctx.tuning.backupFactor + ctx.tuning.backupMarginMs;
  for (const other of ctx.lanes) {
    if (other === lane) continue;
    for (const execution of other.executions) {
      if (execution.task.running.length !== 1 || !eligible(execution)) continue;
      const end = expectedEndOverdue(execution, now);
      if (end > bestEnd) {
        best = execution;
        bestEnd = end;
      }
    }
  }
  if (best) ctx.notes.set('backup', `backing up slow ads on faster lanes (last: ${best.task.ad.creativeId} from ${best.lane.label} on ${lane.label})`);
  return best;
}
