/**
 * What the orchestrator needs from persistence, so a run can resume: finished ads
 * are never run again. `MemoryRunStore` (orchestrator) and `SqliteRunStore` (store/)
 * both implement it. Calls are synchronous on purpose: better-sqlite3 is synchronous
 * and each call is one transaction.
 */
import type { AdResult, Attempt, RunStatus } from '../../../shared/domain.js';

export interface FailedCounts {
  failed: number;
  imageFailed: number;
}

export interface RunStore {
  /**
   * Whether this ad already has a final result in this run. `engine` is null for
   * normal policies (any engine's result counts) and the engine kind in `compare`.
   */
  isFinished(runId: string, creativeId: string, engine: string | null): boolean;
  /**
   * Optional: the creative ids `isFinished` would answer true for, in one query. The
   * orchestrator uses it (when present) for the resume check at the start of a run, which
   * would otherwise make one call per ad and block the event loop on large runs.
   */
  finishedIds?(runId: string, engine: string | null): Set<string>;
  /**
   * Optional: of the results `finishedIds` counts, how many failed and how many of those its
   * image failed (AdResult.imageFailed), so a resumed run's counts carry its earlier sessions'.
   * Without it a resume counts every earlier result as done.
   */
  failedCounts?(runId: string): FailedCounts;
  /** An attempt started / ended (kept for the detail view and for resume accounting). */
  recordAttempt(runId: string, creativeId: string, attempt: Attempt): void;
  /**
   * The final result of one ad (per engine in `compare`). Idempotent per (run, ad, engine-or-null).
   * A store that commits later (grouped commits) answers a promise that settles once the result
   * is durable; the orchestrator reports the result only then.
   */
  saveResult(result: AdResult): void | Promise<void>;
  setRunStatus(runId: string, status: RunStatus): void;
  /**
   * Optional: the run's working time so far (ms, paused time excluded), noted before every status
   * change and with every result; a store may write it with its next commit. Kept so that a
   * resumed run's elapsed time continues instead of starting again or counting the time it lay stopped.
   */
  noteWorked?(runId: string, workedMs: number): void;
  /** Optional: the working time last noted for this run (0 for a new one). */
  workedMs?(runId: string): number;
}
