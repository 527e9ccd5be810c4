/**
 * The one place that decides how much parallel work a lane may have: its ceiling (what the
 * user set, or under "auto" the engine's safe maximum on this machine), where it starts,
 * and which shared resource it draws on (lanes on the same resource compete: in-process
 * engines and a service on this machine all use the CPU).
 */
import { availableParallelism, freemem } from 'node:os';
import type { EngineKind, LaneConfig } from '../../../shared/domain.js';
import { defaultAppleVisionWorkers } from './apple-vision.js';
import { z } from 'zod';
import { parseLaneSettings, setting } from './lib/lane-settings.js';

/** A lane's workers as the user gives them: a number, or "auto" (the engine's safe maximum). */
export type WorkersSetting = number | 'auto';

export interface Machine {
  cores: number;
  freeBytes: number;
}

export interface EngineConcurrency {
  /** The most in-flight work the lane may have (its `workers`). */
  ceiling: number;
  /** Where the lane starts; under `auto` the orchestrator tunes it from there, up to the ceiling. */
  start: number;
  /** The shared resource the lane's work runs on ('cpu'), or undefined when it runs elsewhere. */
  resource: string | undefined;
}

export const CPU_RESOURCE = 'cpu';
/** The contract's bounds for a lane's workers (LaneConfig.workers). */
const MAX_WORKERS = 64;

/** Resident memory one embedded OCR worker needs: models, onnxruntime arenas, image buffers (measured ~250 MB). */
const EMBEDDED_BYTES_PER_WORKER = 350 * 1024 * 1024;
/** Memory left for the app itself and the OS. */
const RESERVED_BYTES = 1024 * 1024 * 1024;
const MAX_EMBEDDED_WORKERS = 8;
/** In-flight requests an HTTP endpoint gets under "auto" unless its lane sets `maxConcurrency`. */
const DEFAULT_REMOTE_CAP = 8;

export function currentMachine(): Machine {
  return { cores: availableParallelism(), freeBytes: freemem() };
}

/** Whether one more embedded worker fits in free memory now (beside what the app and the OS keep). */
export function embeddedWorkerFits(freeBytes: number = freemem()): boolean {
  return freeBytes - RESERVED_BYTES >= EMBEDDED_BYTES_PER_WORKER;
}

function isLocalEndpoint(endpoint: string | undefined): boolean {
  // DeepSeek and Ollama default to this machine; a lane without an endpoint talks to the managed service.
  if (!endpoint) return true;
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '127.0.0.1' || host === '::1' || host === '[::1]';
  } catch {
    return false;
  }
}

type LaneShape = Pick<LaneConfig, 'engine' | 'endpoint' | 'settings'> & { id?: string };

/** The setting read here: the most requests a remote lane's server takes at once. */
const ConcurrencySettings = z.object({ maxConcurrency: setting.positiveNumber().optional() });

/** The shared resource a lane's work runs on: in-process engines and services on this machine use the CPU. */
export function laneResource(lane: LaneShape): string | undefined {
  switch (lane.engine) {
    case 'embedded':
    case 'apple-vision':
      return CPU_RESOURCE;
    case 'deepseek':
    case 'ollama':
      return isLocalEndpoint(lane.endpoint) ? CPU_RESOURCE : undefined;
    case 'openai':
      return lane.endpoint && isLocalEndpoint(lane.endpoint) ? CPU_RESOURCE : undefined;
  }
}

/**
 * The engine's safe maximum here: in-process engines by cores and free memory (one
 * single-threaded onnxruntime per worker, so more workers than cores only adds memory); a
 * service on this machine by its cores; an endpoint elsewhere by its lane's
 * `maxConcurrency` setting or a fixed cap.
 */
export function safeMaximum(lane: LaneShape, machine: Machine = currentMachine()): number {
  const cores = Math.max(1, machine.cores);
  let max: number;
  switch (lane.engine) {
    case 'embedded':
      max = Math.min(cores, Math.floor((machine.freeBytes - RESERVED_BYTES) / EMBEDDED_BYTES_PER_WORKER), MAX_EMBEDDED_WORKERS);
      break;
    case 'apple-vision':
      max = defaultAppleVisionWorkers();
      break;
    case 'deepseek':
    case 'ollama':
    case 'openai':
      max = parseLaneSettings(lane.id ?? lane.engine, lane.settings, ConcurrencySettings).maxConcurrency ?? (laneResource(lane) === CPU_RESOURCE ? cores : DEFAULT_REMOTE_CAP);
      break;
  }
  return Math.max(1, Math.min(MAX_WORKERS, Math.floor(max)));
}

/** Where an "auto" lane starts: half of an in-process ceiling, one request for a service, two for a remote endpoint. */
function autoStart(engine: EngineKind, resource: string | undefined, ceiling: number): number {
  if (engine === 'embedded' || engine === 'apple-vision') return Math.max(1, Math.floor(ceiling / 2));
  return Math.min(ceiling, resource === CPU_RESOURCE ? 1 : 2);
}

/** A lane's ceiling, starting concurrency and resource; a number the user set is both its ceiling and its start. */
export function engineConcurrency(lane: LaneShape, workers: WorkersSetting, machine: Machine = currentMachine()): EngineConcurrency {
  const resource = laneResource(lane);
  if (workers !== 'auto') {
    if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new RangeError(`workers must be "auto" or a whole number from 1 to ${MAX_WORKERS}, got ${workers}`);
    return { ceiling: workers, start: workers, resource };
  }
  const ceiling = safeMaximum(lane, machine);
  return { ceiling, start: autoStart(lane.engine, resource, ceiling), resource };
}

/** What each shared resource can run at once here (the orchestrator keeps the lanes on it within this). */
export function resourceBudgets(machine: Machine = currentMachine()): Record<string, number> {
  return { [CPU_RESOURCE]: Math.max(1, machine.cores) };
}
