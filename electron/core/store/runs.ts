/**
 * Runs of a batch: creating one (with a row per ad in `run_ads`), reading and listing
 * them, finding the one to resume, and — when the database is opened — marking the runs
 * whose owner process died as interrupted. Status changes go through the write path
 * (SqliteRunStore.setRunStatus), which commits the results before them.
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { RunSummary } from '../../../shared/api.js';
import { LIVE_RUN_STATUSES, type Ad, type Policy, type RunStatus } from '../../../shared/domain.js';
import { getBatch } from './batches.js';
import type { StoreContext } from './context.js';
import { parseJson, toAd, type BatchAdRow } from './rows.js';

export interface RunInfo {
  id: string;
  batchId: string;
  status: RunStatus;
  policy: Policy;
  config: unknown;
  total: number;
  done: number;
  failed: number;
  createdAt: number;
  updatedAt: number;
  /** Working time so far (ms, paused time excluded); null for a run stored before it was kept. */
  workedMs: number | null;
}

const RESUMABLE_STATUSES: readonly RunStatus[] = ['interrupted', 'cancelled', 'paused', 'queued', 'failed'];

interface RunRow {
  id: string;
  batch_id: string;
  status: RunStatus;
  policy: Policy;
  config: string;
  total: number;
  done: number;
  failed: number;
  owner_pid: number | null;
  created_at: number;
  updated_at: number;
  worked_ms: number | null;
}

function toRunInfo(row: RunRow): RunInfo {
  return {
    id: row.id,
    batchId: row.batch_id,
    status: row.status,
    policy: row.policy,
    config: parseJson<unknown>(row.config, null),
    total: row.total,
    done: row.done,
    failed: row.failed,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    workedMs: row.worked_ms,
  };
}

/** Marks the live runs whose owner process is gone as interrupted (at open); answers their ids. */
export function markInterrupted(db: Database.Database, now: () => number, isAlive: (pid: number) => boolean): string[] {
  const placeholders = LIVE_RUN_STATUSES.map(() => '?').join(',');
  const live = db.prepare<unknown[], { id: string; owner_pid: number | null }>(`SELECT id, owner_pid FROM runs WHERE status IN (${placeholders})`).all(...LIVE_RUN_STATUSES);
  const orphans = live.filter((run) => run.owner_pid === null || (run.owner_pid !== process.pid && !isAlive(run.owner_pid)));
  const mark = db.prepare('UPDATE runs SET status = ?, owner_pid = NULL, updated_at = ? WHERE id = ?');
  db.transaction(() => orphans.forEach((run) => mark.run('interrupted', now(), run.id)))();
  return orphans.map((run) => run.id);
}

/** `tasksPerAd`: results each ad gets (the number of engines in `compare`, else 1), so done + failed reach total. */
export function createRun(ctx: StoreContext, input: { batchId: string; policy: Policy; config?: unknown; runId?: string; tasksPerAd?: number }): RunInfo {
  const { db } = ctx;
  const batch = getBatch(ctx, input.batchId);
  if (!batch) throw new Error(`unknown batch ${input.batchId}`);
  const id = input.runId ?? `run_${ctx.now().toString(36)}_${randomUUID().slice(0, 8)}`;
  const now = ctx.now();
  db.transaction(() => {
    db
      .prepare('INSERT INTO runs (id, batch_id, status, policy, config, total, owner_pid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, batch.id, 'queued', input.policy, JSON.stringify(input.config ?? null), batch.adCount * (input.tasksPerAd ?? 1), process.pid, now, now);
    db.prepare('INSERT INTO run_ads (run_id, seq, creative_id) SELECT ?, seq, creative_id FROM batch_ads WHERE batch_id = ?').run(id, batch.id);
  })();
  return getRun(ctx, id)!;
}

export function getRun({ db, runStore }: StoreContext, runId: string): RunInfo | null {
  runStore.flush();
  return readRun(db, runId);
}

/** The run as committed, without a flush: for a caller that has just flushed (see getRun). */
export function readRun(db: Database.Database, runId: string): RunInfo | null {
  const row = db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?').get(runId);
  return row ? toRunInfo(row) : null;
}

/** Newest first, for `parallel-vision runs` and the runs list. */
export function listRuns({ db, runStore }: StoreContext, limit = 100): RunSummary[] {
  runStore.flush();
  return db
    .prepare<[number], RunRow & { source: string }>('SELECT r.*, b.source FROM runs r JOIN batches b ON b.id = r.batch_id ORDER BY r.created_at DESC, r.rowid DESC LIMIT ?')
    .all(limit)
    .map((row) => ({ runId: row.id, batchId: row.batch_id, source: row.source, status: row.status, policy: row.policy, total: row.total, done: row.done, failed: row.failed, createdAt: row.created_at }));
}

/** The newest run of this batch if it stopped before finishing (to resume); finished ones too when asked. */
export function findResumableRun({ db, runStore }: StoreContext, batchId: string, options: { includeFinished?: boolean } = {}): RunInfo | null {
  runStore.flush();
  const row = db.prepare<[string], RunRow>('SELECT * FROM runs WHERE batch_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(batchId);
  if (!row) return null;
  if (!RESUMABLE_STATUSES.includes(row.status) && !(options.includeFinished && row.status === 'finished')) return null;
  return toRunInfo(row);
}

/** Forget failed results so a resumed run tries those ads again. */
export function resetFailed({ db, runStore, now }: StoreContext, runId: string): number {
  runStore.flush();
  return db.transaction(() => {
    const removed = db.prepare("DELETE FROM results WHERE run_id = ? AND status = 'failed'").run(runId).changes;
    db.prepare("UPDATE run_ads SET status = 'pending', engine = NULL, duration_ms = NULL, finished_at = NULL, text = NULL, error = NULL WHERE run_id = ? AND status = 'failed'").run(runId);
    db.prepare("UPDATE runs SET failed = (SELECT count(*) FROM results WHERE run_id = ? AND status = 'failed'), updated_at = ? WHERE id = ?").run(runId, now(), runId);
    return removed;
  })();
}

/** Ads of the run without a final result yet, in input order. */
export function unfinishedAds({ db, runStore }: StoreContext, runId: string): Ad[] {
  runStore.flush();
  return db
    .prepare<[string], BatchAdRow>(
      "SELECT b.seq, b.creative_id, b.image_url, b.ad_text, b.extra FROM run_ads a JOIN runs r ON r.id = a.run_id JOIN batch_ads b ON b.batch_id = r.batch_id AND b.seq = a.seq WHERE a.run_id = ? AND a.status NOT IN ('done', 'failed') ORDER BY a.seq",
    )
    .all(runId)
    .map(toAd);
}
