/**
 * Simulated engines for the scheduling benchmark and the tests: one `SimulatedMac` holds the
 * lanes of a scenario on a (virtual) clock, with seeded latencies, failures, cold starts,
 * deaths, speed changes, interference between engines, lanes that saturate beyond their
 * capacity and lanes sharing a resource (processor sharing: a call's speed changes while it
 * runs as others start and end), and records what the scheduler
 * did to it (concurrency per lane, calls, aborts). They are real `Engine`s: the scheduler
 * cannot tell them from the app's.
 */
import type { Ad, LaneConfig, RecognizeResult } from '../../../shared/domain.js';
import { EngineError, type Engine, type EngineImage } from '../../../electron/core/engines/types.js';
import type { OrchestratorLane } from '../../../electron/core/orchestrator/index.js';
import { sleep, type Clock, type Timer } from '../../../electron/core/orchestrator/clock.js';
import { laneId, overloadFactor, type LatencyDistribution, type Scenario, type ScenarioLane } from './scenario.js';

/** A small, fast, seedable PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sampleLatency_s(latency: LatencyDistribution, random: () => number): number {
  switch (latency.dist) {
    case 'uniform':
      return latency.min_s + random() * (latency.max_s - latency.min_s);
    case 'lognormal': {
      // Box–Muller; 1 − u keeps log() away from 0.
      const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      return latency.median_s * Math.exp(latency.sigma * normal);
    }
    case 'fixed':
      return latency.value_s;
  }
}

interface Work {
  lane: SimulatedLane;
  /** Seconds of work left at normal speed. */
  remaining_s: number;
  factor: number;
  since: number;
  timer: Timer | null;
  resolve: () => void;
  reject: (error: EngineError) => void;
}

/**
 * The lane fields a concurrency tuner reads (a starting concurrency below the ceiling, the
 * resource the lane draws on). Spread in untyped so the simulation works with orchestrators
 * that do not know them yet; those ignore them.
 */
function tunerHints(spec: ScenarioLane): object {
  return { ...(spec.startConcurrency !== undefined ? { startConcurrency: spec.startConcurrency } : {}), ...(spec.resource !== undefined ? { resource: spec.resource } : {}) };
}

class SimulatedLane {
  active = 0;
  maxActive = 0;
  calls = 0;
  aborted = 0;
  dead = false;
  loadedAt: number | null = null;
  readonly works = new Set<Work>();

  constructor(
    readonly spec: ScenarioLane,
    readonly config: LaneConfig,
    readonly random: () => number,
  ) {}
}

export interface SimulatedMacOptions {
  clock: Clock;
  seed: number;
}

export class SimulatedMac {
  readonly clock: Clock;
  readonly lanes: SimulatedLane[];
  /** Successful calls, the measure of "fraction of the batch done". */
  completed = 0;
  private readonly busyByEngine = new Map<string, number>();

  constructor(
    readonly scenario: Scenario,
    options: SimulatedMacOptions,
  ) {
    this.clock = options.clock;
    this.lanes = scenario.lanes.map((spec, index) => {
      const config: LaneConfig = { id: laneId(spec, index), engine: spec.engine, workers: spec.workers, enabled: true };
      return new SimulatedLane(spec, config, seededRandom(options.seed * 7919 + index * 104_729 + 1));
    });
  }

  /** Lanes for the orchestrator, optionally only those matching `filter`, with the scenario's priors. */
  orchestratorLanes(filter: (lane: ScenarioLane) => boolean = () => true): OrchestratorLane[] {
    return this.lanes
      .filter((lane) => filter(lane.spec))
      .map((lane) => ({ config: { ...lane.config }, engine: this.engineFor(lane), ...(lane.spec.prior_s !== undefined ? { prior_s: lane.spec.prior_s } : {}), ...tunerHints(lane.spec) }));
  }

  /** The sim's image "bytes" carry the creative id, so results can be traced back to ads. */
  readonly loadImage = (ad: Ad): Promise<EngineImage> => Promise.resolve({ bytes: new TextEncoder().encode(ad.creativeId), mime: 'image/png' });

  get doneFraction(): number {
    return this.completed / this.scenario.ads;
  }

  laneById(id: string): SimulatedLane | undefined {
    return this.lanes.find((lane) => lane.config.id === id);
  }

  private engineFor(lane: SimulatedLane): Engine {
    return {
      kind: lane.spec.engine,
      label: lane.config.id,
      recognize: (image, signal) => this.recognize(lane, image, signal),
    };
  }

  private async recognize(lane: SimulatedLane, image: EngineImage, signal: AbortSignal): Promise<RecognizeResult> {
    if (signal.aborted) throw new EngineError('aborted', 'aborted before start');
    lane.calls++;
    this.changeActive(lane, +1);
    try {
      if (lane.dead) throw new EngineError('unavailable', 'connection refused');
      const spec = lane.spec;
      if (spec.coldStart_s > 0) {
        lane.loadedAt ??= this.clock.now() + spec.coldStart_s * 1000;
        if (lane.loadedAt > this.clock.now()) await sleep(this.clock, lane.loadedAt - this.clock.now(), signal);
      }
      let seconds = sampleLatency_s(spec.latency, lane.random);
      if (spec.speedChange && this.doneFraction >= spec.speedChange.atFraction) seconds *= spec.speedChange.factor;
      const fails = lane.random() < spec.failureRate;
      if (fails) seconds *= 0.2 + 0.8 * lane.random();
      await this.work(lane, seconds, signal);
      if (fails) throw new EngineError('transient', 'simulated 503');
      this.completed++;
      this.checkDeaths();
      const creativeId = new TextDecoder().decode(image.bytes);
      return { text: `text of ${creativeId}`, blocks: [], model: `sim-${spec.engine}`, timings: { total: seconds * 1000 } };
    } catch (error) {
      if (error instanceof EngineError && error.kind === 'aborted') lane.aborted++;
      throw error;
    } finally {
      this.changeActive(lane, -1);
    }
  }

  /** Runs `seconds` of work, slowed while an interfering engine is busy, ended early by abort or death. */
  private work(lane: SimulatedLane, seconds: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.dropWork(work);
        reject(new EngineError('aborted', 'aborted'));
      };
      const work: Work = {
        lane,
        remaining_s: seconds,
        factor: 1,
        since: this.clock.now(),
        timer: null,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      lane.works.add(work);
      work.factor = this.speedFactor(lane);
      this.armWork(work);
      this.rescaleWorks(this.sharing(lane));
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private armWork(work: Work): void {
    work.timer?.cancel();
    work.timer = this.clock.setTimer(work.remaining_s * work.factor * 1000, () => {
      this.dropWork(work);
      work.resolve();
    });
  }

  private dropWork(work: Work): void {
    work.timer?.cancel();
    if (work.lane.works.delete(work)) this.rescaleWorks(this.sharing(work.lane));
  }

  /** How much slower than its sampled latency a call on `lane` runs right now. */
  private speedFactor(lane: SimulatedLane): number {
    const spec = lane.spec;
    const slow = spec.slowdownWhileBusy;
    const slowdown = slow && (this.busyByEngine.get(slow.engine) ?? 0) > 0 ? slow.factor : 1;
    const own = spec.capacity !== undefined ? overloadFactor(lane.works.size, spec.capacity, spec.overloadCost) : 1;
    const resource = spec.resource !== undefined ? this.scenario.resources[spec.resource]! : undefined;
    const shared = resource ? overloadFactor(this.resourceInFlight(spec.resource!), resource.capacity, resource.overloadCost) : 1;
    return slowdown * Math.max(own, shared);
  }

  private resourceInFlight(resource: string): number {
    let inFlight = 0;
    for (const lane of this.lanes) if (lane.spec.resource === resource) inFlight += lane.works.size;
    return inFlight;
  }

  /** Lanes whose speed depends on how many calls `lane` has in flight. */
  private sharing(lane: SimulatedLane): SimulatedLane[] {
    const resource = lane.spec.resource;
    if (resource !== undefined) return this.lanes.filter((other) => other.spec.resource === resource);
    return lane.spec.capacity !== undefined ? [lane] : [];
  }

  private changeActive(lane: SimulatedLane, delta: number): void {
    lane.active += delta;
    lane.maxActive = Math.max(lane.maxActive, lane.active);
    const engine = lane.spec.engine;
    const before = this.busyByEngine.get(engine) ?? 0;
    const after = before + delta;
    this.busyByEngine.set(engine, after);
    if ((before === 0) !== (after === 0)) this.rescaleWorks(this.lanes.filter((other) => other.spec.slowdownWhileBusy));
  }

  /** Something the speed of these lanes depends on changed: their in-flight work runs at the new speed from now on. */
  private rescaleWorks(lanes: readonly SimulatedLane[]): void {
    if (lanes.length === 0) return;
    const now = this.clock.now();
    for (const lane of lanes) {
      const factor = this.speedFactor(lane);
      for (const work of lane.works) {
        if (work.factor === factor) continue;
        work.remaining_s = Math.max(0, work.remaining_s - (now - work.since) / 1000 / work.factor);
        work.since = now;
        work.factor = factor;
        this.armWork(work);
      }
    }
  }

  private checkDeaths(): void {
    for (const lane of this.lanes) {
      const dieAt = lane.spec.dieAtFraction;
      if (lane.dead || dieAt === undefined || this.doneFraction < dieAt) continue;
      lane.dead = true;
      for (const work of [...lane.works]) {
        this.dropWork(work);
        work.reject(new EngineError('unavailable', 'server died (connection reset)'));
      }
    }
  }
}
