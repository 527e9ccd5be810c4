/**
 * The orchestrator as the product uses it: lanes, one pull queue, policies, failover —
 * Electron-free. Tests and benchmarks take their doubles (VirtualClock, MemoryRunStore) and
 * helpers from the modules that hold them, so this surface carries none of them.
 */
export {
  Orchestrator,
  startRun,
  type OrchestratorLane,
  type StartRunOptions,
  type SchedulerTuning,
  type RunSummary,
} from './orchestrator.js';
export type { RunStore } from './run-store.js';
