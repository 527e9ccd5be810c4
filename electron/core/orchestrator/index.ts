/**
 * The orchestrator: lanes, one pull queue, policies, failover — Electron-free.
 */
export {
  Orchestrator,
  startRun,
  DEFAULT_PRIOR_S,
  DEFAULT_COLD_START_S,
  DEFAULT_TUNING,
  type OrchestratorLane,
  type StartRunOptions,
  type SchedulerTuning,
  type RunSummary,
  type LaneSummary,
  type Comparison,
} from './orchestrator.js';
export { realClock, createRealClock, wallNow, VirtualClock, sleep, type Clock, type Timer } from './clock.js';
export { MemoryRunStore } from './memory-store.js';
export type { RunStore } from './run-store.js';
export { textAgreement, editDistance, normalizeWhitespace } from './agreement.js';
export { LatencyEstimator, LogStats, InterferenceStats, type LatencyEstimatorOptions, type Slowdown } from './latency.js';
export { CircuitBreaker, type CircuitBreakerOptions, type BreakerState } from './breaker.js';
export { apportion, retryDelayMs } from './quotas.js';
