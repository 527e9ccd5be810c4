/** Typed reads of a lane's free-form `settings`: a value of the wrong type counts as absent. */
import type { LaneConfig } from '../../../../shared/domain.js';

export function stringSetting(lane: LaneConfig, key: string): string | undefined {
  const value = lane.settings?.[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A positive finite number. */
export function numberSetting(lane: LaneConfig, key: string): number | undefined {
  const value = lane.settings?.[key];
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

export function booleanSetting(lane: LaneConfig, key: string): boolean | undefined {
  const value = lane.settings?.[key];
  return typeof value === 'boolean' ? value : undefined;
}
