/**
 * The in-memory RunStore: what the tests and the benchmark use, and what the app uses until
 * the SQLite store is wired in. Same contract: results are idempotent per (run, ad, engine-or-null).
 * Kept lean (one map entry per ad) because a run may hold 100 000 ads.
 */
import type { AdResult, Attempt, RunStatus } from '../../../shared/domain.js';
import type { FailedCounts, RunStore } from './run-store.js';

interface RunRecords {
  /** One result per ad, or one per engine in `compare`. */
  results: Map<string, AdResult | AdResult[]>;
  /** Attempts in order, as two parallel arrays (cheap to append to, 100 000 ads a run). */
  attemptAds: string[];
  attempts: Attempt[];
  status: RunStatus | undefined;
  workedMs: number;
}

export class MemoryRunStore implements RunStore {
  private readonly runs = new Map<string, RunRecords>();
  /** How many times saveResult was called, duplicates included (tests check "exactly once"). */
  saveCalls = 0;

  private run(runId: string): RunRecords {
    let records = this.runs.get(runId);
    if (!records) {
      records = { results: new Map(), attemptAds: [], attempts: [], status: undefined, workedMs: 0 };
      this.runs.set(runId, records);
    }
    return records;
  }

  isFinished(runId: string, creativeId: string, engine: string | null): boolean {
    const entry = this.runs.get(runId)?.results.get(creativeId);
    if (entry === undefined) return false;
    if (engine === null) return true;
    return Array.isArray(entry) ? entry.some((result) => result.engine === engine) : entry.engine === engine;
  }

  finishedIds(runId: string, engine: string | null): Set<string> {
    const ids = new Set<string>();
    for (const [creativeId, entry] of this.runs.get(runId)?.results ?? []) {
      if (engine === null || (Array.isArray(entry) ? entry.some((result) => result.engine === engine) : entry.engine === engine)) ids.add(creativeId);
    }
    return ids;
  }

  failedCounts(runId: string): FailedCounts {
    const counts = { failed: 0, imageFailed: 0 };
    for (const result of this.resultsOf(runId)) {
      if (result.status !== 'failed') continue;
      counts.failed++;
      if (result.imageFailed) counts.imageFailed++;
    }
    return counts;
  }

  recordAttempt(runId: string, creativeId: string, attempt: Attempt): void {
    const records = this.run(runId);
    records.attemptAds.push(creativeId);
    records.attempts.push(attempt);
  }

  saveResult(result: AdResult): void {
    this.saveCalls++;
    const results = this.run(result.runId).results;
    const entry = results.get(result.creativeId);
    if (entry === undefined) {
      results.set(result.creativeId, result);
      return;
    }
    const list = Array.isArray(entry) ? entry : [entry];
    if (list.some((saved) => saved.engine === result.engine)) return;
    list.push(result);
    if (!Array.isArray(entry)) results.set(result.creativeId, list);
  }

  setRunStatus(runId: string, status: RunStatus): void {
    this.run(runId).status = status;
  }

  noteWorked(runId: string, workedMs: number): void {
    this.run(runId).workedMs = workedMs;
  }

  workedMs(runId: string): number {
    return this.runs.get(runId)?.workedMs ?? 0;
  }

  runStatus(runId: string): RunStatus | undefined {
    return this.runs.get(runId)?.status;
  }

  attemptsOf(runId: string, creativeId: string): readonly Attempt[] {
    const records = this.runs.get(runId);
    if (!records) return [];
    return records.attempts.filter((_, index) => records.attemptAds[index] === creativeId);
  }

  /** Every stored result of a run, one per (ad, engine). */
  resultsOf(runId: string): AdResult[] {
    const out: AdResult[] = [];
    for (const entry of this.runs.get(runId)?.results.values() ?? []) {
      if (Array.isArray(entry)) out.push(...entry);
      else out.push(entry);
    }
    return out;
  }
}
