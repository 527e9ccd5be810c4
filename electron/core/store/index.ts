/**
 * The SQLite store (better-sqlite3, WAL): imported batches, runs, the per-run state of
 * every ad, attempts and results. Every state change is one transaction, so a crash —
 * even kill -9 — loses nothing that was reported done, and the next open marks runs
 * that were running as interrupted so they can resume.
 *
 * This file opens the database and wires the parts, each in its own file: batches.ts,
 * runs.ts, run-store.ts (the write path with grouped commits), results-query.ts and
 * export-rows.ts.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ResultDetail, ResultsPage, ResultsQuery, RunSummary } from '../../../shared/api.js';
import type { Ad, EngineKind, Policy, RunStatus } from '../../../shared/domain.js';
import { isOwnProcessAlive } from '../services/proc-info.js';
import { batchAds, getBatch, saveBatch, type BatchInfo, type BatchInput } from './batches.js';
import type { StoreContext } from './context.js';
import { countExportRows, exportRows, filteredExportRows, type ExportRow, type ExportRowFilter } from './export-rows.js';
import { migrate, PAIR_AGREEMENT_STEP } from './migrations.js';
import { compareSummary, comparePage, getResult, laneSummary, pageResults, resultOutputs, type CompareRowData, type LaneSummary } from './results-query.js';
import { CommitFailedError, DEFAULT_GROUP_COMMIT, SqliteRunStore, type GroupCommit } from './run-store.js';
import { createRun, findResumableRun, getRun, listRuns, markInterrupted, resetFailed, unfinishedAds, type RunInfo } from './runs.js';

export type { BatchInfo, BatchInput } from './batches.js';
export type { ExportRow, ExportRowFilter } from './export-rows.js';
export type { CompareRowData, LaneSummary } from './results-query.js';
export { SqliteRunStore, type CommitFailure, type GroupCommit } from './run-store.js';
export type { RunInfo } from './runs.js';

export interface StoreOptions {
  /** Clock for timestamps (tests). */
  now?: () => number;
  /** How results and attempts are committed (see GroupCommit). */
  groupCommit?: Partial<GroupCommit>;
  /** Whether a run's owner process still lives (tests). */
  isProcessAlive?: (pid: number) => boolean;
}

export class Store {
  readonly db: Database.Database;
  readonly runStore: SqliteRunStore;
  /** Runs that were live when the database was last closed uncleanly, now `interrupted`. */
  readonly interruptedAtOpen: string[];
  private readonly context: StoreContext;

  constructor(dbPath: string, options: StoreOptions = {}) {
    if (dbPath !== ':memory:') mkdirSync(dirname(dbPath), { recursive: true });
    const now = options.now ?? Date.now;
    // `npm start` hands Electron a better-sqlite3 built for its ABI (node_modules has Node's).
    const nativeBinding = process.env.PARALLEL_VISION_SQLITE_BINDING;
    this.db = new Database(dbPath, nativeBinding ? { nativeBinding } : {});
    this.db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a process crash (kill -9); only an OS crash may lose the last ones.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    const { from } = migrate(this.db);
    this.interruptedAtOpen = markInterrupted(this.db, now, options.isProcessAlive ?? isOwnProcessAlive);
    this.runStore = new SqliteRunStore(this.db, now, { ...DEFAULT_GROUP_COMMIT, ...options.groupCommit });
    this.context = { db: this.db, now, runStore: this.runStore };
    // Compare runs stored before agreement was kept get theirs once, at the upgrade.
    if (from <= PAIR_AGREEMENT_STEP && from > 0) this.runStore.backfillAgreement();
  }

  close(): void {
    if (!this.db.open) return;
    const failure = this.runStore.flush() ? null : this.runStore.pendingFailure();
    this.db.close();
    if (failure) throw new CommitFailedError(failure);
  }

  // ---- batches (batches.ts) ----

  /** Store an imported list; idempotent: the same ads give the same batch id. */
  saveBatch(input: BatchInput): BatchInfo {
    return saveBatch(this.context, input);
  }

  getBatch(batchId: string): BatchInfo | null {
    return getBatch(this.context, batchId);
  }

  /** A page of a batch's ads in input order. */
  batchAds(batchId: string, offset?: number, limit?: number): Ad[] {
    return batchAds(this.context, batchId, offset, limit);
  }

  // ---- runs (runs.ts) ----

  /** `tasksPerAd`: results each ad gets (the number of engines in `compare`, else 1), so done + failed reach total. */
  createRun(input: { batchId: string; policy: Policy; config?: unknown; runId?: string; tasksPerAd?: number }): RunInfo {
    return createRun(this.context, input);
  }

  getRun(runId: string): RunInfo | null {
    return getRun(this.context, runId);
  }

  /** Newest first, for `parallel-vision runs` and the runs list. */
  listRuns(limit?: number): RunSummary[] {
    return listRuns(this.context, limit);
  }

  /** The newest run of this batch if it stopped before finishing (to resume); finished ones too when asked. */
  findResumableRun(batchId: string, options?: { includeFinished?: boolean }): RunInfo | null {
    return findResumableRun(this.context, batchId, options);
  }

  setRunStatus(runId: string, status: RunStatus): void {
    this.runStore.setRunStatus(runId, status);
  }

  /** Forget failed results so a resumed run tries those ads again. */
  resetFailed(runId: string): number {
    return resetFailed(this.context, runId);
  }

  /** Ads of the run without a final result yet, in input order. */
  unfinishedAds(runId: string): Ad[] {
    return unfinishedAds(this.context, runId);
  }

  // ---- results (results-query.ts) ----

  /** A page of the results table: sort, filter by engine/status, search id, URL and text. */
  pageResults(query: ResultsQuery): ResultsPage {
    return pageResults(this.context, query);
  }

  /** Every final result of a run, ad by ad, streamed in chunks (the compare summary). */
  resultOutputs(runId: string, chunk?: number): Generator<{ creativeId: string; engine: EngineKind; status: 'done' | 'failed'; text: string; durationMs: number | null }> {
    return resultOutputs(this.context, runId, chunk);
  }

  /** A page of a compare run, ad by ad: every engine's output and the ad's stored mean agreement. */
  comparePage(runId: string, offset: number, limit: number): { total: number; rows: CompareRowData[] } {
    return comparePage(this.context, runId, offset, limit);
  }

  /** Per engine over the whole run: results done and failed, mean duration, mean agreement with the others. */
  compareSummary(runId: string): { engine: EngineKind; meanMs: number | null; agreement: number | null; done: number; failed: number }[] {
    return compareSummary(this.context, runId);
  }

  /** Per lane over the whole run, from the stored results and attempts: done ads, failed calls, median and p95 seconds. */
  laneSummary(runId: string): LaneSummary[] {
    return laneSummary(this.context, runId);
  }

  /** One ad with every result (one per engine in compare) and every attempt. */
  getResult(runId: string, creativeId: string): ResultDetail | null {
    return getResult(this.context, runId, creativeId);
  }

  // ---- exports (export-rows.ts) ----

  /** A page of the done (or failed) rows in input order and how many match, counted in matching rows (the local API's filtered results). */
  filteredExportRows(runId: string, rows: 'done' | 'failed', offset: number, limit: number): { total: number; rows: ExportRow[] } {
    return filteredExportRows(this.context, runId, rows, offset, limit);
  }

  /** How many rows an export will write. */
  countExportRows(runId: string, rows: ExportRowFilter): number {
    return countExportRows(this.context, runId, rows);
  }

  /** Export rows in input order, read in chunks by key range (see export-rows.ts). */
  exportRows(runId: string, rows: ExportRowFilter, chunk?: number, range?: { from?: number; to?: number }): Generator<ExportRow> {
    return exportRows(this.context, runId, rows, chunk, range);
  }
}

export function openStore(dbPath: string, options: StoreOptions = {}): Store {
  return new Store(dbPath, options);
}
