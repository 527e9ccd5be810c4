/**
 * The one lane builder of the CLI (`parallel-vision run`) and the app (RunManager): turns
 * lane configurations into the orchestrator's lanes with the same rules everywhere.
 *
 * - Workers: "auto" becomes the engine's safe maximum here, and each lane gets its starting
 *   concurrency and shared resource (engines/concurrency.ts) for the orchestrator. Under
 *   `auto` it tunes from the start value; other policies start at the ceiling.
 * - An engine that cannot be built, or whose check answers "unavailable", is broken: it is
 *   left out with its reason.
 * - A check that gives no answer within `checkTimeoutMs` is slow, not broken: an engine the
 *   user asked for by name is waited for, with progress ("loading the OCR models…"); one
 *   offered by default is left out, saying it was slow.
 * - When no lane is left, `fallback` (the in-process engine, which needs nothing installed)
 *   is tried; if nothing works the build fails with every lane's reason, and closes what it built.
 */
import type { EngineKind, LaneConfig, Policy } from '../../../shared/domain.js';
import { createEngine as createProductEngine } from '../engines/create.js';
import { CPU_RESOURCE, currentMachine, engineConcurrency, resourceBudgets, type Machine } from '../engines/concurrency.js';
import { dedupeByImageHash } from '../engines/dedupe.js';
import type { Engine, EngineAvailability, EngineDeps } from '../engines/types.js';
import type { OrchestratorLane } from '../orchestrator/index.js';

/** Makes a lane's engine; tests inject the test engine (engines/test-engine.ts) here. */
export type EngineFactory = (config: LaneConfig, deps: EngineDeps) => Promise<Engine>;

export interface LaneRequest {
  config: LaneConfig;
  /** The user asked for this engine by name (CLI --engines, a lane switched on in the app). */
  requested: boolean;
}

export type LaneNotice =
  | { type: 'waiting'; laneId: string; engine: EngineKind; waitedMs: number }
  | { type: 'left-out'; laneId: string; engine: EngineKind; cause: 'broken' | 'slow'; reason: string }
  | { type: 'fallback'; laneId: string; engine: EngineKind };

export interface LaneBuildOptions {
  policy: Policy;
  deps?: EngineDeps;
  createEngine?: EngineFactory;
  machine?: Machine;
  /** How long an availability check may take before the engine counts as slow. */
  checkTimeoutMs?: number;
  /** The longest a requested engine is waited for before it is left out as too slow. */
  maxWaitMs?: number;
  /** Tried when no requested or offered lane can run. */
  fallback?: LaneConfig;
  /** Each notice with its sentence for people, e.g. "embedded: loading the OCR models… (6 s)". */
  onNotice?(notice: LaneNotice, text: string): void;
  /** Resolves after `ms` (tests pass their own). */
  sleep?(ms: number): Promise<void>;
}

export interface BuiltLanes {
  lanes: OrchestratorLane[];
  leftOut: Array<{ config: LaneConfig; cause: 'broken' | 'slow'; reason: string }>;
  /** For StartRunOptions.resourceBudgets. */
  resourceBudgets: Record<string, number>;
  /** Closes every built engine (a run that fails to start must not leak worker threads). */
  close(): Promise<void>;
}

const AVAILABILITY_TIMEOUT_MS = 3_000;
const MAX_WAIT_MS = 10 * 60_000;

/** What a slow engine is doing, in words. */
function waitingFor(engine: EngineKind): string {
  switch (engine) {
    case 'embedded':
      return 'loading the OCR models…';
    case 'apple-vision':
      return 'loading Apple Vision…';
    case 'deepseek':
    case 'ollama':
    case 'openai':
      return 'waiting for its server to answer…';
  }
}

function describe(notice: LaneNotice): string {
  switch (notice.type) {
    case 'waiting':
      return `${notice.laneId}: ${waitingFor(notice.engine)} (${Math.round(notice.waitedMs / 1000)} s)`;
    case 'fallback':
      return `None of the chosen engines is available; using ${notice.laneId}, which needs nothing installed.`;
    case 'left-out':
      return notice.cause === 'slow' ? `${notice.laneId}: left out of this run — ${notice.reason} (slow to answer, not known to be broken)` : `${notice.laneId}: left out of this run — not available (${notice.reason})`;
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

async function closeQuietly(engine: Engine): Promise<void> {
  await engine.close?.().catch(() => undefined);
}

type Built = { ok: true; lane: OrchestratorLane } | { ok: false; config: LaneConfig; cause: 'broken' | 'slow'; reason: string };

export async function buildLanes(requests: readonly LaneRequest[], options: LaneBuildOptions): Promise<BuiltLanes> {
  const machine = options.machine ?? currentMachine();
  const checkTimeoutMs = options.checkTimeoutMs ?? AVAILABILITY_TIMEOUT_MS;
  const maxWaitMs = options.maxWaitMs ?? MAX_WAIT_MS;
  const make = options.createEngine ?? createProductEngine;
  // Unref'd: a check that already answered must not keep the process alive for its timer.
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()));
  const notify = (notice: LaneNotice) => options.onNotice?.(notice, describe(notice));

  async function check(engine: Engine, request: LaneRequest): Promise<EngineAvailability | { type: 'slow'; reason: string }> {
    if (!engine.availability) return { type: 'available' };
    const answer = engine.availability().catch((error: unknown): EngineAvailability => ({ type: 'unavailable', reason: firstLine(error) }));
    let waitedMs = 0;
    for (;;) {
      const step = Math.min(checkTimeoutMs, maxWaitMs - waitedMs);
      const outcome = await Promise.race([answer, sleep(step).then(() => null)]);
      if (outcome) return outcome;
      waitedMs += step;
      if (!request.requested) return { type: 'slow', reason: `no answer within ${checkTimeoutMs >= 1000 ? `${Math.round(checkTimeoutMs / 1000)} s` : `${checkTimeoutMs} ms`}, and it was not asked for by name` };
      if (waitedMs >= maxWaitMs) return { type: 'slow', reason: `still not ready after ${Math.round(waitedMs / 60_000)} min` };
      notify({ type: 'waiting', laneId: request.config.id, engine: request.config.engine, waitedMs });
    }
  }

  async function build(request: LaneRequest): Promise<Built> {
    const { config } = request;
    let concurrency;
    try {
      concurrency = engineConcurrency(config, config.autoWorkers ? 'auto' : config.workers, machine);
    } catch (error) {
      return { ok: false, config, cause: 'broken', reason: firstLine(error) };
    }
    const resolved: LaneConfig = { ...config, workers: concurrency.ceiling };
    const start = options.policy === 'auto' ? concurrency.start : concurrency.ceiling;
    let engine: Engine;
    try {
      engine = await make(resolved, options.deps ?? {});
    } catch (error) {
      return { ok: false, config: resolved, cause: 'broken', reason: firstLine(error) };
    }
    // An engine with a pool (embedded) sizes it to where the lane starts, not to its ceiling:
    // under `auto` the workers beyond the start would load models the tuner may never use. The
    // orchestrator tells it (setConcurrency) each time the lane's limit changes.
    // A resize that fails leaves the pool at its ceiling, which still works.
    if (start < concurrency.ceiling) await Promise.resolve(engine.setConcurrency?.(start)).catch(() => undefined);
    let resource = concurrency.resource;
    try {
      const availability = await check(engine, request);
      if (availability.type !== 'available') {
        await closeQuietly(engine);
        return { ok: false, config: resolved, cause: availability.type === 'slow' ? 'slow' : 'broken', reason: availability.reason };
      }
      // A service on this machine that runs its model on the GPU (DeepSeek-OCR on MPS) does not compete for the CPU budget.
      if (resource === CPU_RESOURCE && availability.device !== undefined && availability.device !== 'cpu') resource = undefined;
    } catch (error) {
      await closeQuietly(engine);
      return { ok: false, config: resolved, cause: 'broken', reason: firstLine(error) };
    }
    return { ok: true, lane: { config: resolved, engine: dedupeByImageHash(engine), startConcurrency: start, ...(resource ? { resource } : {}) } };
  }

  const lanes: OrchestratorLane[] = [];
  const leftOut: BuiltLanes['leftOut'] = [];
  const take = (results: Built[]) => {
    for (const result of results) {
      if (result.ok) lanes.push(result.lane);
      else {
        leftOut.push({ config: result.config, cause: result.cause, reason: result.reason });
        notify({ type: 'left-out', laneId: result.config.id, engine: result.config.engine, cause: result.cause, reason: result.reason });
      }
    }
  };
  // Checked side by side: a slow model load does not delay the other engines' checks.
  take(await Promise.all(requests.map(build)));
  const fallback = options.fallback;
  if (lanes.length === 0 && fallback && !requests.some((request) => request.config.engine === fallback.engine)) {
    notify({ type: 'fallback', laneId: fallback.id, engine: fallback.engine });
    take([await build({ config: fallback, requested: true })]);
  }
  const close = async () => {
    await Promise.all(lanes.map((lane) => closeQuietly(lane.engine)));
  };
  if (lanes.length === 0) {
    const reasons = leftOut.map((lane) => `Lane ${lane.config.label ?? lane.config.id}: ${lane.reason}`);
    throw new NoLaneError(reasons.length === 1 ? reasons[0]! : `No engine lane can run. ${reasons.join('; ')}`, leftOut);
  }
  return { lanes, leftOut, resourceBudgets: resourceBudgets(machine), close };
}

export class NoLaneError extends Error {
  override readonly name = 'NoLaneError';
  constructor(
    message: string,
    readonly leftOut: BuiltLanes['leftOut'],
  ) {
    super(message);
  }
}
