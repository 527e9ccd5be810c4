/**
 * A run's settings as people type them (`--engines`, `--workers`, `--split` on the command
 * line, the same strings in the local API): small pure parsers, one definition for both.
 */
import { ENGINE_KINDS, type EngineKind, type Split } from '../../../shared/domain.js';
import type { WorkersSetting } from '../engines/concurrency.js';

/** The caller's input is wrong; the message says which setting and why. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseEngineList(value: string): EngineKind[] {
  const engines = value
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (engines.length === 0) throw new UsageError('--engines needs at least one engine');
  for (const engine of engines) {
    if (!(ENGINE_KINDS as readonly string[]).includes(engine)) throw new UsageError(`unknown engine "${engine}" (known: ${ENGINE_KINDS.join(', ')})`);
  }
  return [...new Set(engines)] as EngineKind[];
}

/** `embedded=2,deepseek=auto` → workers per engine ("auto": the engine's safe maximum here). */
export function parseWorkers(values: readonly string[]): Map<string, WorkersSetting> {
  const workers = new Map<string, WorkersSetting>();
  for (const part of values.flatMap((value) => value.split(','))) {
    const match = /^\s*([\w.-]+)\s*=\s*(\d+|auto)\s*$/.exec(part);
    const count = match?.[2] === 'auto' ? 'auto' : Number(match?.[2]);
    if (!match || (count !== 'auto' && (!Number.isInteger(count) || count < 1 || count > 64))) throw new UsageError(`--workers expects engine=N with N from 1 to 64, or engine=auto, got "${part}"`);
    // A typo would drop the user's limit without a word.
    if (!(ENGINE_KINDS as readonly string[]).includes(match[1]!)) throw new UsageError(`--workers names unknown engine "${match[1]}" (known: ${ENGINE_KINDS.join(', ')})`);
    workers.set(match[1]!, count);
  }
  return workers;
}

/**
 * `--split 0.5` is the prototype's slider: the first engine's share, the rest split
 * evenly among the others. `--split deepseek=0.7,ollama=0.3` names each weight.
 */
export function parseSplit(value: string, engines: readonly EngineKind[], names: readonly string[] = engines): Split {
  const trimmed = value.trim();
  if (trimmed.includes('=')) {
    const split: Split = {};
    for (const part of trimmed.split(',')) {
      const [name, weight] = part.split('=').map((piece) => piece.trim());
      const number = Number(weight);
      if (!name || !Number.isFinite(number) || number < 0 || number > 1) throw new UsageError(`--split expects name=weight with weight from 0 to 1, got "${part}"`);
      split[name] = number;
    }
    return checkSplitNames(split, names);
  }
  const share = Number(trimmed);
  if (!Number.isFinite(share) || share < 0 || share > 1) throw new UsageError(`--split expects a number from 0 to 1, got "${value}"`);
  const [first, ...others] = engines;
  if (!first) throw new UsageError('--split needs engines');
  const split: Split = { [first]: share };
  for (const engine of others) split[engine] = others.length > 0 ? (1 - share) / others.length : 0;
  return split;
}

/**
 * A split may only name the run's engines (or its lanes' ids): the scheduler gives a name it
 * does not know weight 0, so a typo would send the whole list to the other engines.
 */
export function checkSplitNames(split: Split, names: readonly string[]): Split {
  const unknown = Object.keys(split).filter((name) => !names.includes(name));
  if (unknown.length > 0) throw new UsageError(`--split names ${unknown.map((name) => `"${name}"`).join(', ')}, not among this run's engines (${[...new Set(names)].join(', ')})`);
  return split;
}
