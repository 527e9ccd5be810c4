/**
 * The in-memory RunStore: what the tests and the benchmark use, and what the app uses until
 * the SQLite store is wired in. Same contract: results are idempotent per (run, ad, engine-or-null).
 */
import type { AdResult, Attempt, RunStatus } from '../../../shared/domain.js';
import type { RunStore } from './store.js';

/** The key under which a result counts as "finished" for normal policies and for `compare`. */
function resultKey(runId: string, creativeId: string, engine: string | null): string {
  return `${runId}\u0000${creativeId}\u0000${engine ?? ''}`;
}

export class MemoryRunStore implements RunStore {
  private readonly results = new Map<string, AdResult>();
  private readonly attempts = new Map<string, Attempt[]>();
  private readonly statuses = new Map<string, RunStatus>();
  /** How many times saveResult was called, duplicates included (tests check "exactly once"). */
  saveCalls = 0;

  isFinished(runId: string, creativeId: string, engine: string | null): boolean {
    return this.results.has(resultKey(runId, creativeId, engine));
  }

  recordAttempt(runId: string, creativeId: string, attempt: Attempt): void {
    const key = resultKey(runId, creativeId, null);
    const list = this.attempts.get(key);
    if (list) list.push(attempt);
    else this.attempts.set(key, [attempt]);
  }

  saveResult(result: AdResult): void {
    this.saveCalls++;
    const specific = resultKey(result.runId, result.creativeId, result.engine);
    const any = resultKey(result.runId, result.creativeId, null);
    if (this.results.has(specific) && this.results.has(any)) return;
    // A result counts both for "this engine" (compare) and for "any engine" (other policies).
    if (!this.results.has(specific)) this.results.set(specific, result);
    if (!this.results.has(any)) this.results.set(any, result);
  }

  setRunStatus(runId: string, status: RunStatus): void {
    this.statuses.set(runId, status);
  }

  runStatus(runId: string): RunStatus | undefined {
    return this.statuses.get(runId);
  }

  attemptsOf(runId: string, creativeId: string): readonly Attempt[] {
    return this.attempts.get(resultKey(runId, creativeId, null)) ?? [];
  }

  /** Every stored result of a run, one per (ad, engine) — the "any engine" aliases left out. */
  resultsOf(runId: string): AdResult[] {
    const out: AdResult[] = [];
    for (const [key, result] of this.results) {
      if (result.runId !== runId) continue;
      if (key === resultKey(runId, result.creativeId, result.engine)) out.push(result);
    }
    return out;
  }
}
