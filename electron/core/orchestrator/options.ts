/**
 * What a run is started with and what it reports at the end: the orchestrator's public
 * types and defaults, in one place for the core, the policies and the tuner.
 */
import type { Ad, AdResult, EngineKind, LaneConfig, Policy, RunProgress, RunStatus, Split } from '../../../shared/domain.js';
import type { Engine, EngineImage } from '../engines/types.js';
import type { CircuitBreakerOptions } from './breaker.js';
import type { Clock } from './clock.js';
import type { RunStore } from './run-store.js';

/** Seconds per ad assumed for a lane before it has measured anything: a starting guess, corrected by the first results. */
export const DEFAULT_PRIOR_S: Record<EngineKind, number> = {
  deepseek: 4,
  ollama: 60,
  embedded: 3,
  'apple-vision': 1,
  openai: 10,
};

/** Extra seconds assumed for a lane's first call (model load). */
export const DEFAULT_COLD_START_S: Record<EngineKind, number> = {
  deepseek: 10,
  ollama: 20,
  embedded: 2,
  'apple-vision': 1,
  openai: 0,
};

export interface OrchestratorLane {
  config: LaneConfig;
  engine: Engine;
  /** Overrides DEFAULT_PRIOR_S for this lane. */
  prior_s?: number;
  /** Overrides DEFAULT_COLD_START_S for this lane. */
  coldStart_s?: number;
  /** In-flight limit to start with (default: `config.workers`, the ceiling); under `auto` the tuner moves it. */
  startConcurrency?: number;
  /** Lanes naming the same resource (e.g. 'cpu') share `StartRunOptions.resourceBudgets[resource]`. */
  resource?: string;
}

export interface SchedulerTuning {
  progressIntervalMs: number;
  /** While a run works and nothing changes (every call waiting on a slow or hung server), progress is still sent this often: its elapsed time and ETA move. */
  progressHeartbeatMs: number;
  /** Retry backoff (before jitter): base × 2^(failures−1), capped. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** A retried ad avoids the lane it failed on for this long after its backoff, if another lane can take it. */
  preferOtherLaneMs: number;
  breaker: CircuitBreakerOptions;
  /**
   * An outage, not a blip: when every enabled lane that could take an ad has failed every
   * call for this long, with at least `giveUpMinFailedProbes` failed half-open probes each,
   * the ads still queued for them fail ("no engine could process it") instead of waiting
   * hours for ever-longer cooldowns. Time, not a probe count alone, so that short test
   * cooldowns still ride through a service restart.
   */
  giveUpAfterMs: number;
  giveUpMinFailedProbes: number;
  /** auto: measure the fastest engine alone for this many calls before starting the others… */
  warmupAloneSamples: number;
  /** …or for at most this long… */
  warmupMaxMs: number;
  /** …and at most this share of the batch's expected time (on every lane): a short batch cannot afford to idle lanes. */
  warmupMaxBatchShare: number;
  /** auto: z-score of "slower while another engine runs" needed to stop feeding that engine (and to keep it stopped). */
  interferencePauseZ: number;
  interferenceReleaseZ: number;
  interferenceMinSamples: number;
  /** A straggler is backed up when its expected end is later than the backup's by this factor of the backup's latency. */
  backupFactor: number;
  backupMarginMs: number;
  /** ratio: a lane that has answered stallMinCalls times and whose every slot holds a call running this many times its longest call (and its estimate), and at least stallMinMs, is hung: it cannot work now. */
  stallFactor: number;
  stallMinMs: number;
  stallMinCalls: number;
  /** Tuner: calls measured at a concurrency level before it is judged (at least this, and the level: one round; 3 at level 1). */
  tunerMinSamples: number;
  /** Tuner: a level's measurement is forgotten (and may be probed again) after this many later calls on the lane. */
  tunerForgetAfterCalls: number;
  /** Tuner: back-off after an 'overloaded' answer without a Retry-After. */
  overloadBackoffMs: number;
}

export const DEFAULT_TUNING: SchedulerTuning = {
  progressIntervalMs: 100,
  progressHeartbeatMs: 1_000,
  retryBaseMs: 1_000,
  retryMaxMs: 30_000,
  preferOtherLaneMs: 5_000,
  breaker: { threshold: 3, baseCooldownMs: 5_000, maxCooldownMs: 300_000 },
  giveUpAfterMs: 300_000,
  giveUpMinFailedProbes: 3,
  warmupAloneSamples: 6,
  warmupMaxMs: 20_000,
  warmupMaxBatchShare: 0.1,
  interferencePauseZ: 2.5,
  interferenceReleaseZ: 1.5,
  interferenceMinSamples: 2,
  backupFactor: 1.25,
  backupMarginMs: 500,
  stallFactor: 10,
  stallMinMs: 120_000,
  stallMinCalls: 5,
  tunerMinSamples: 2,
  tunerForgetAfterCalls: 200,
  overloadBackoffMs: 1_000,
};

export interface StartRunOptions {
  runId: string;
  ads: readonly Ad[];
  lanes: readonly OrchestratorLane[];
  policy?: Policy;
  /** `ratio`: weight per engine kind or lane id (normalised). */
  split?: Split;
  /** `single`: the engine to use (default: the lane with the lowest expected latency). */
  singleEngine?: EngineKind;
  maxAttempts?: number;
  store: RunStore;
  /**
   * Fetches and prepares an ad's image. Throw EngineError 'permanent' for a bad image (the ad
   * fails at once), 'transient' for a hiccup (retried with backoff). Image failures are the
   * ad's problem: they never count against the lane's circuit breaker or its failed calls.
   */
  loadImage: (ad: Ad, signal: AbortSignal) => Promise<EngineImage>;
  /**
   * After each scheduling pass: the ads next in line (fresh ones, in the order they will start; as
   * many as the lanes' ceilings together), so their images can be downloaded before a slot frees.
   */
  onUpcoming?: (ads: readonly Ad[]) => void;
  /** In-flight work a shared resource can take, e.g. `{ cpu: cores }`: the lanes naming it never exceed it together. */
  resourceBudgets?: Record<string, number>;
  clock?: Clock;
  /** Source of jitter (default Math.random); seeded in simulations. */
  random?: () => number;
  /** Aborting it cancels the run. */
  signal?: AbortSignal;
  onProgress?: (progress: RunProgress) => void;
  onResult?: (result: AdResult) => void;
  onComparison?: (comparison: Comparison) => void;
  tuning?: Partial<SchedulerTuning>;
}

/** `compare`: one ad on every engine, side by side. */
export interface Comparison {
  runId: string;
  creativeId: string;
  results: Array<{ engine: EngineKind; laneId: string | null; status: 'done' | 'failed'; text: string; durationMs: number | null }>;
  /** Pairwise text agreement (0..1) between engines that both succeeded. */
  agreement: Array<{ a: EngineKind; b: EngineKind; score: number }>;
}

interface LaneSummary {
  laneId: string;
  engine: EngineKind;
  /** Ads this lane finished. */
  done: number;
  /** Calls on this lane that failed (the ad may have succeeded elsewhere). */
  failedCalls: number;
}

export interface RunSummary {
  runId: string;
  status: Extract<RunStatus, 'finished' | 'cancelled'>;
  policy: Policy;
  /** Tasks in the run (ads, or ads × engines in `compare`), including ones finished before a resume. */
  total: number;
  done: number;
  failed: number;
  /** Already finished in an earlier session of this run, not run again. */
  skipped: number;
  /** Ads whose creativeId appeared earlier in the list (run once). */
  duplicates: number;
  elapsed_s: number;
  lanes: LaneSummary[];
  notes: string[];
}
