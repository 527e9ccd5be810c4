/**
 * The one way an engine reads its lane's free-form `settings`: each engine declares a zod
 * schema built from the setting kinds below, and `parseLaneSettings` checks the lane's
 * values against it. Every invalid value is then the same `config` error, naming the lane,
 * the setting and the problem:
 *   lane "embedded": setting "maxSide": expected a positive number, got "abc"
 * Keys a schema does not name are left alone (a lane's settings also carry keys read
 * elsewhere, e.g. `maxConcurrency` by engines/concurrency.ts).
 */
import { z } from 'zod';
import type { LaneConfig } from '../../../../shared/domain.js';
import { EngineError } from '../types.js';

export type LaneSettings = LaneConfig['settings'];

/** Builds each kind of setting with its "expected …" message, the one the error repeats. */
export const setting = {
  /** Above 0 (and at most `max` when given). */
  positiveNumber: (max = Infinity) => {
    const error = max === Infinity ? 'expected a positive number' : `expected a number above 0, at most ${max}`;
    return z.number({ error }).positive({ error }).max(max, { error });
  },
  nonNegativeNumber: () => z.number({ error: 'expected a number ≥ 0' }).nonnegative({ error: 'expected a number ≥ 0' }),
  numberIn: (min: number, max: number) => {
    const error = `expected a number from ${min} to ${max}`;
    return z.number({ error }).min(min, { error }).max(max, { error });
  },
  integerIn: (min: number, max: number) => {
    const error = `expected a whole number from ${min} to ${max}`;
    return z.int({ error }).min(min, { error }).max(max, { error });
  },
  /** A string; the empty string counts as not set (an emptied text field). */
  text: () => z.string({ error: 'expected a string' }).transform((value) => (value === '' ? undefined : value)),
  flag: () => z.boolean({ error: 'expected true or false' }),
  oneOf: <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `expected one of ${values.map((value) => JSON.stringify(value)).join(', ')}` }),
};

/** How a value is shown after "got": as it would be written in the settings. */
function shown(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'nothing';
  return JSON.stringify(value) ?? String(value);
}

/** `maxSide`, `languages[1]`: where in the settings a problem is. */
function settingName(path: readonly PropertyKey[]): string {
  return path.map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`)).join('');
}

function settingsError(laneId: string, problems: readonly string[]): EngineError {
  return new EngineError('config', `lane "${laneId}": ${problems.join('; ')}`);
}

/** The one error format, for a problem a schema cannot see (e.g. a combination of settings). */
export function laneSettingError(laneId: string, key: string, problem: string): EngineError {
  return settingsError(laneId, [`setting "${key}": ${problem}`]);
}

/**
 * The lane's settings checked against `schema`; an invalid value is a `config` EngineError
 * naming the lane, each bad setting, what it expects and what it got.
 */
export function parseLaneSettings<S extends z.ZodType>(laneId: string, settings: LaneSettings, schema: S): z.output<S> {
  const parsed = schema.safeParse(settings ?? {}, { reportInput: true });
  if (parsed.success) return parsed.data;
  throw settingsError(
    laneId,
    parsed.error.issues.map((issue) => `${issue.path.length > 0 ? `setting "${settingName(issue.path)}"` : 'settings'}: ${issue.message}, got ${shown(issue.input)}`),
  );
}
