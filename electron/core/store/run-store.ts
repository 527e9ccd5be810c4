/**
 * The orchestrator's RunStore on SQLite: the run write path. Results and attempts are
 * queued and committed in groups (see GroupCommit); a result's rows (results, the ad's
 * state, the run's counters) commit together or not at all, and saveResult's promise
 * settles only once they are durable, so nothing is reported done before it is saved.
 * A commit that fails (a full disk) keeps its changes for a retry and tells its listeners.
 */
import type Database from 'better-sqlite3';
import { LIVE_RUN_STATUSES, type AdResult, type Attempt, type Policy, type RunStatus } from '../../../shared/domain.js';
import { pairwiseAgreement } from '../orchestrator/agreement.js';
import type { FailedCounts, RunStore } from '../orchestrator/run-store.js';

/**
 * Group commit: a state change that comes less than `minIntervalMs` after the last commit
 * waits (at most that long) and commits with the others, up to `maxBatch` per transaction.
 * A change's rows always commit together. At real engine speeds (≤ 100 ads/s) every change
 * commits at once; at thousands per second they share transactions, and a kill -9 can lose
 * at most the last few milliseconds — those ads are simply run again on resume.
 * `minIntervalMs: 0` commits every change on its own.
 */
export interface GroupCommit {
  minIntervalMs: number;
  maxBatch: number;
}
export const DEFAULT_GROUP_COMMIT: GroupCommit = { minIntervalMs: 5, maxBatch: 500 };

type QueuedChange = { kind: 'attempt'; runId: string; creativeId: string; attempt: Attempt } | { kind: 'result'; result: AdResult; durable: () => void };

/** A grouped commit that failed: its changes are kept in memory and retried (see SqliteRunStore.retry). */
export interface CommitFailure {
  /** The runs with changes waiting. */
  runIds: string[];
  /** Results (not attempts) waiting to be saved. */
  waiting: number;
  /** What to show the user: what happened, how many results wait, what to do. */
  message: string;
  error: unknown;
}

/** Thrown where a caller needs its changes durable and they are not (a run finishing, a retry that failed again). */
export class CommitFailedError extends Error {
  constructor(readonly failure: CommitFailure) {
    super(failure.message);
    this.name = 'CommitFailedError';
  }
}

function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || (error instanceof Error && /database or disk is full|ENOSPC/i.test(error.message));
}

/** The orchestrator's RunStore on SQLite, with grouped commits (see the header above). */
export class SqliteRunStore implements RunStore {
  private readonly policies = new Map<string, Policy>();
  /** Engines per ad of a compare run (its total ÷ its ads). */
  private readonly engineCounts = new Map<string, number>();
  private readonly statements;
  private readonly commitInTransaction: (changes: QueuedChange[], worked: ReadonlyMap<string, number>) => void;
  private queue: QueuedChange[] = [];
  /** Results queued but not committed yet (key → when it is durable), so isFinished and idempotency see them. */
  private readonly queuedAny = new Map<string, Promise<void>>();
  private readonly queuedByEngine = new Map<string, Promise<void>>();
  private lastCommitAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  /** The last commit failed: its changes are still queued, and no commit is tried again until a flush/retry. */
  private failure: unknown = null;
  private readonly failureListeners = new Set<(failure: CommitFailure) => void>();
  /** Working time noted per run since the last commit: written with the next one (see noteWorked). */
  private readonly worked = new Map<string, number>();

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number = Date.now,
    private readonly groupCommit: GroupCommit = DEFAULT_GROUP_COMMIT,
  ) {
    this.statements = {
      finishedAny: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM results WHERE run_id = ? AND creative_id = ? LIMIT 1'),
      finishedEngine: db.prepare<[string, string, string], { one: number }>('SELECT 1 AS one FROM results WHERE run_id = ? AND creative_id = ? AND engine = ? LIMIT 1'),
      finishedAnyIds: db.prepare<[string], string>('SELECT creative_id FROM results WHERE run_id = ?').pluck(),
      finishedEngineIds: db.prepare<[string, string], string>('SELECT creative_id FROM results WHERE run_id = ? AND engine = ?').pluck(),
      failedCounts: db.prepare<[string], FailedCounts>("SELECT count(*) AS failed, coalesce(sum(image_failed), 0) AS imageFailed FROM results WHERE run_id = ? AND status = 'failed'"),
      insertAttempt: db.prepare('INSERT INTO attempts (run_id, creative_id, lane_id, engine, started_at, duration_ms, outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      countAttempts: db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM attempts WHERE run_id = ? AND creative_id = ?'),
      insertResult: db.prepare(
        'INSERT OR IGNORE INTO results (run_id, creative_id, engine_key, status, engine, lane_id, model, text, description, blocks, duration_ms, error, finished_at, truncated, image_failed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      // In compare runs an ad counts as done once any engine succeeded.
      updateAd: db.prepare(
        "UPDATE run_ads SET status = CASE WHEN status = 'done' THEN 'done' ELSE @status END, engine = CASE WHEN status = 'done' THEN engine ELSE @engine END, duration_ms = CASE WHEN status = 'done' THEN duration_ms ELSE @durationMs END, finished_at = @now, text = CASE WHEN status = 'done' THEN text ELSE @text END, error = CASE WHEN status = 'done' THEN error ELSE @error END WHERE run_id = @runId AND creative_id = @creativeId",
      ),
      countResult: db.prepare('UPDATE runs SET done = done + @done, failed = failed + @failed, updated_at = @now WHERE id = @runId'),
      policy: db.prepare<[string], { policy: Policy }>('SELECT policy FROM runs WHERE id = ?'),
      setStatus: db.prepare('UPDATE runs SET status = @status, owner_pid = @ownerPid, updated_at = @now WHERE id = @runId'),
      setWorked: db.prepare<[number, string]>('UPDATE runs SET worked_ms = ? WHERE id = ?'),
      worked: db.prepare<[string], number | null>('SELECT worked_ms FROM runs WHERE id = ?').pluck(),
      enginesPerAd: db.prepare<[string], { n: number }>('SELECT CASE WHEN b.ad_count > 0 THEN r.total / b.ad_count ELSE 0 END AS n FROM runs r JOIN batches b ON b.id = r.batch_id WHERE r.id = ?'),
      adResults: db.prepare<[string, string], { engine: string; status: 'done' | 'failed'; text: string }>('SELECT engine_key AS engine, status, text FROM results WHERE run_id = ? AND creative_id = ? ORDER BY engine_key'),
      insertPair: db.prepare('INSERT OR REPLACE INTO pair_agreement (run_id, creative_id, engine_a, engine_b, score) VALUES (?, ?, ?, ?, ?)'),
      compareRuns: db.prepare<[], string>("SELECT id FROM runs WHERE policy = 'compare'").pluck(),
      completeAds: db.prepare<[string, number], string>('SELECT creative_id FROM results WHERE run_id = ? GROUP BY creative_id HAVING count(*) >= ?').pluck(),
    };
    this.commitInTransaction = db.transaction((changes: QueuedChange[], worked: ReadonlyMap<string, number>) => {
      for (const change of changes) {
        if (change.kind === 'attempt') this.insertAttempt(change.runId, change.creativeId, change.attempt);
        else this.writeResult(change.result);
      }
      for (const [runId, workedMs] of worked) this.statements.setWorked.run(workedMs, runId);
    });
  }

  /**
   * Commit every queued change now (called before reads, status changes and close). Answers
   * whether everything is durable; a failed commit keeps the changes for the next try and
   * tells the failure listeners (it does not throw: reads go on with what is committed).
   */
  flush(): boolean {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queue.length === 0 && this.worked.size === 0) return true;
    const changes = this.queue;
    this.queue = [];
    const worked = new Map(this.worked);
    try {
      this.commitInTransaction(changes, worked);
    } catch (error) {
      // Kept, in order, ahead of anything queued meanwhile.
      this.queue = changes.concat(this.queue);
      this.lastCommitAt = performance.now();
      const first = this.failure === null;
      this.failure = error;
      if (first && this.failureListeners.size > 0) {
        const failure = this.describeFailure();
        // Listeners pause runs, which calls back into the store: not from inside a commit.
        queueMicrotask(() => this.failureListeners.forEach((listener) => listener(failure)));
      }
      return false;
    }
    this.failure = null;
    this.lastCommitAt = performance.now();
    for (const [runId, workedMs] of worked) if (this.worked.get(runId) === workedMs) this.worked.delete(runId);
    for (const change of changes) {
      if (change.kind !== 'result') continue;
      this.queuedAny.delete(`${change.result.runId}\u0000${change.result.creativeId}`);
      this.queuedByEngine.delete(`${change.result.runId}\u0000${change.result.creativeId}\u0000${change.result.engine ?? ''}`);
      change.durable();
    }
    return true;
  }

  /** Retries the kept changes of a failed commit (resume); throws CommitFailedError if they still cannot be saved. */
  retry(): void {
    if (!this.flush()) throw new CommitFailedError(this.describeFailure());
  }

  /** The failed commit now waiting to be retried, if any. */
  pendingFailure(): CommitFailure | null {
    return this.failure === null ? null : this.describeFailure();
  }

  /** Called (once per failure, until a commit succeeds again) when a commit fails; answers an unsubscribe. */
  onCommitFailure(listener: (failure: CommitFailure) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  private describeFailure(): CommitFailure {
    const runIds = new Set<string>();
    let waiting = 0;
    for (const change of this.queue) {
      if (change.kind === 'result') {
        waiting++;
        runIds.add(change.result.runId);
      } else runIds.add(change.runId);
    }
    const cause = this.failure instanceof Error ? this.failure.message : String(this.failure);
    const results = `${waiting} result${waiting === 1 ? ' is' : 's are'} waiting to be saved`;
    const message = isDiskFull(this.failure)
      ? `the disk is full: ${results}; free some disk space, then resume the run to save them (${cause})`
      : `saving results failed: ${results}; resume the run to try again (${cause})`;
    return { runIds: [...runIds], waiting, message, error: this.failure };
  }

  private enqueue(change: QueuedChange): void {
    this.queue.push(change);
    if (this.failure !== null) {
      // Kept with the others; a run nobody pauses stops here with the reason.
      if (this.failureListeners.size === 0) throw new CommitFailedError(this.describeFailure());
      return;
    }
    const sinceCommit = performance.now() - this.lastCommitAt;
    if (this.groupCommit.minIntervalMs <= 0 || sinceCommit >= this.groupCommit.minIntervalMs || this.queue.length >= this.groupCommit.maxBatch) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flush();
    }, Math.max(0, this.groupCommit.minIntervalMs - sinceCommit));
  }

  private policyOf(runId: string): Policy {
    let policy = this.policies.get(runId);
    if (!policy) {
      const row = this.statements.policy.get(runId);
      if (!row) throw new Error(`unknown run ${runId}: create it with Store.createRun first`);
      policy = row.policy;
      this.policies.set(runId, policy);
    }
    return policy;
  }

  isFinished(runId: string, creativeId: string, engine: string | null): boolean {
    if (engine === null ? this.queuedAny.has(`${runId}\u0000${creativeId}`) : this.queuedByEngine.has(`${runId}\u0000${creativeId}\u0000${engine}`)) return true;
    const row = engine === null ? this.statements.finishedAny.get(runId, creativeId) : this.statements.finishedEngine.get(runId, creativeId, engine);
    return row !== undefined;
  }

  /** What isFinished answers true for, in one query (the orchestrator's resume check on large runs). */
  finishedIds(runId: string, engine: string | null): Set<string> {
    const ids = new Set(engine === null ? this.statements.finishedAnyIds.all(runId) : this.statements.finishedEngineIds.all(runId, engine));
    // Results queued but not committed yet count, as they do for isFinished.
    for (const change of this.queue) {
      if (change.kind === 'result' && change.result.runId === runId && (engine === null || change.result.engine === engine)) ids.add(change.result.creativeId);
    }
    return ids;
  }

  /** See RunStore.failedCounts: the committed results and those still queued, as finishedIds. */
  failedCounts(runId: string): FailedCounts {
    const counts = { ...this.statements.failedCounts.get(runId)! };
    for (const change of this.queue) {
      if (change.kind !== 'result' || change.result.runId !== runId || change.result.status !== 'failed') continue;
      counts.failed++;
      if (change.result.imageFailed) counts.imageFailed++;
    }
    return counts;
  }

  recordAttempt(runId: string, creativeId: string, attempt: Attempt): void {
    this.enqueue({ kind: 'attempt', runId, creativeId, attempt });
  }

  private insertAttempt(runId: string, creativeId: string, attempt: Attempt): void {
    this.statements.insertAttempt.run(runId, creativeId, attempt.laneId, attempt.engine, attempt.startedAt, attempt.durationMs, attempt.outcome, attempt.error ?? null);
  }

  private writeResult(result: AdResult): void {
    const compare = this.policyOf(result.runId) === 'compare';
    const engineKey = compare ? (result.engine ?? '') : '';
    const now = this.now();
    const inserted = this.statements.insertResult.run(
      result.runId,
      result.creativeId,
      engineKey,
      result.status,
      result.engine,
      result.laneId,
      result.model,
      result.text,
      result.description ?? null,
      JSON.stringify(result.blocks ?? []),
      result.durationMs,
      result.error ?? null,
      now,
      result.truncated ? 1 : 0,
      result.imageFailed ? 1 : 0,
    );
    if (inserted.changes === 0) return;
    this.statements.updateAd.run({ runId: result.runId, creativeId: result.creativeId, status: result.status, engine: result.engine, durationMs: result.durationMs, now, text: result.text, error: result.error ?? null });
    this.statements.countResult.run({ runId: result.runId, done: result.status === 'done' ? 1 : 0, failed: result.status === 'failed' ? 1 : 0, now });
    // Attempts usually arrive through recordAttempt; keep the result's own list when they did not.
    const attempts = result.attempts ?? [];
    if (attempts.length > 0 && this.statements.countAttempts.get(result.runId, result.creativeId)!.n === 0) {
      for (const attempt of attempts) this.insertAttempt(result.runId, result.creativeId, attempt);
    }
    if (compare) this.recordAgreement(result.runId, result.creativeId, false);
  }

  private enginesPerAd(runId: string): number {
    let engines = this.engineCounts.get(runId);
    if (engines === undefined) {
      engines = this.statements.enginesPerAd.get(runId)?.n ?? 0;
      this.engineCounts.set(runId, engines);
    }
    return engines;
  }

  /** Once every engine has its result for the ad (or at once with `force`), its pairwise agreement is stored (pairwiseAgreement, engine order). */
  private recordAgreement(runId: string, creativeId: string, force: boolean): void {
    const results = this.statements.adResults.all(runId, creativeId);
    if (!force && results.length < this.enginesPerAd(runId)) return;
    for (const pair of pairwiseAgreement(results.filter((row) => row.status === 'done'))) this.statements.insertPair.run(runId, creativeId, pair.a, pair.b, pair.score);
  }

  /** Agreement for the finished ads of compare runs stored before it was kept (the schema upgrade). */
  backfillAgreement(): void {
    this.db.transaction(() => {
      for (const runId of this.statements.compareRuns.all()) {
        for (const creativeId of this.statements.completeAds.all(runId, Math.max(1, this.enginesPerAd(runId)))) this.recordAgreement(runId, creativeId, true);
      }
    })();
  }

  /**
   * Queues the result; the promise settles once it is committed (at once at real engine
   * speeds, within `minIntervalMs` in a burst, or after a failed commit only when a retry
   * succeeds). The orchestrator reports a result done only then.
   */
  saveResult(result: AdResult): Promise<void> {
    const compare = this.policyOf(result.runId) === 'compare';
    const anyKey = `${result.runId}\u0000${result.creativeId}`;
    const engineKey = `${anyKey}\u0000${result.engine ?? ''}`;
    // Idempotent per (run, ad) — per (run, ad, engine) in compare — also before the commit.
    const queued = compare ? this.queuedByEngine.get(engineKey) : this.queuedAny.get(anyKey);
    if (queued) return queued;
    let durable!: () => void;
    const promise = new Promise<void>((resolve) => (durable = resolve));
    this.queuedAny.set(anyKey, promise);
    this.queuedByEngine.set(engineKey, promise);
    this.enqueue({ kind: 'result', result, durable });
    return promise;
  }

  /** Kept in memory and written with the next commit (the results' or the status change's): no write of its own. */
  noteWorked(runId: string, workedMs: number): void {
    this.worked.set(runId, workedMs);
  }

  workedMs(runId: string): number {
    return this.worked.get(runId) ?? this.statements.worked.get(runId) ?? 0;
  }

  setRunStatus(runId: string, status: RunStatus): void {
    // A status change comes after every result before it; a run is never marked finished with results unsaved.
    const durable = this.flush();
    if (!durable && (status === 'finished' || status === 'running')) throw new CommitFailedError(this.describeFailure());
    const live = LIVE_RUN_STATUSES.includes(status);
    try {
      this.statements.setStatus.run({ runId, status, ownerPid: live ? process.pid : null, now: this.now() });
    } catch (error) {
      // With the disk full the status may not be writable either; the kept results are what matters.
      if (durable) throw error;
    }
  }
}
