/** Lane configuration the Run screen edits before a run starts. */
import type { EngineInfo } from '../../../shared/api.js';
import type { LaneConfig } from '../../../shared/domain.js';

/** One lane per engine the backend knows; available engines start switched on. */
export function lanesFromEngines(engines: readonly EngineInfo[]): LaneConfig[] {
  return engines.map((engine) => ({
    id: engine.engine,
    engine: engine.engine,
    label: engine.label,
    workers: engine.defaultWorkers,
    enabled: engine.availability.type === 'available',
  }));
}

/** Keep the user's edits when the engine list is refreshed. */
export function mergeLanes(current: readonly LaneConfig[], fresh: readonly LaneConfig[]): LaneConfig[] {
  return fresh.map((lane) => {
    const existing = current.find((c) => c.id === lane.id);
    return existing ? { ...lane, workers: existing.workers, enabled: existing.enabled && lane.enabled } : lane;
  });
}

export function enabledLanes(lanes: readonly LaneConfig[]): LaneConfig[] {
  return lanes.filter((lane) => lane.enabled !== false);
}
