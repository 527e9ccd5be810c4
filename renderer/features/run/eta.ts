/**
 * An ETA the user can trust: the backend's estimate, but never less than what the lanes
 * that can still take ads need at their current speed. (A lane held back by the split or
 * by the scheduler does not shorten the wait, however fast it was.)
 */
import type { RunProgress } from '../../../shared/domain.js';

const NOT_WORKING = new Set(['paused-by-scheduler', 'disabled', 'dead']);

export function honestEta(progress: RunProgress): number | null {
  const remaining = progress.total - progress.done - progress.failed;
  if (remaining <= 0) return 0;
  const perSecond = progress.lanes.filter((lane) => !NOT_WORKING.has(lane.state.type)).reduce((sum, lane) => sum + lane.adsPerMinute / 60, 0);
  const bound = perSecond > 0 ? remaining / perSecond : null;
  if (progress.eta_s == null) return bound;
  return bound == null ? progress.eta_s : Math.max(progress.eta_s, bound);
}
