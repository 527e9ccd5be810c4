/**
 * The SQLite store (better-sqlite3, WAL): imported batches, runs, the per-run state of
 * every ad, attempts and results. Every state change is one transaction, so a crash —
 * even kill -9 — loses nothing that was reported done, and the next open marks runs
 * that were running as interrupted so they can resume.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ResultsQuery, type ResultDetail, type ResultRow, type ResultsPage, type RunSummary } from '../../../shared/api.js';
import { LIVE_RUN_STATUSES, type Ad, type AdResult, type Attempt, type EngineKind, type Policy, type RunStatus, type TextBlock } from '../../../shared/domain.js';
import type { FieldColumns } from '../ingest/columns.js';
import { migrate, PAIR_AGREEMENT_STEP } from './migrations.js';
import { isOwnProcessAlive } from '../services/proc-info.js';
import { CommitFailedError, DEFAULT_GROUP_COMMIT, SqliteRunStore, type GroupCommit } from './run-store.js';

export { CommitFailedError, DEFAULT_GROUP_COMMIT, SqliteRunStore, type CommitFailure, type GroupCommit } from './run-store.js';

export type ExportRowFilter = 'all' | 'done' | 'failed';

export interface BatchInput {
  source: string;
  format: string;
  columns: string[];
  fieldColumns: FieldColumns;
  ads: readonly Ad[];
}

export interface BatchInfo {
  id: string;
  source: string;
  format: string;
  columns: string[];
  fieldColumns: FieldColumns;
  adCount: number;
  createdAt: number;
}

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
}

/** One row of an export: the input ad and one final result (or none yet). */
export interface ExportRow {
  seq: number;
  ad: Ad;
  status: 'pending' | 'done' | 'failed';
  engine: string | null;
  model: string | null;
  text: string;
  description: string | null;
  blocks: TextBlock[];
  durationMs: number | null;
  error: string | null;
  truncated: boolean;
}

/** One ad of a compare page (shared/api's CompareRow). */
export interface CompareRowData {
  creativeId: string;
  outputs: { engine: EngineKind; text: string; durationMs: number | null; status: 'done' | 'failed' }[];
  agreement: number | null;
}

export interface StoreOptions {
  /** Clock for timestamps (tests). */
  now?: () => number;
  /** How results and attempts are committed (see GroupCommit). */
  groupCommit?: Partial<GroupCommit>;
  /** Whether a run's owner process still lives (tests). */
  isProcessAlive?: (pid: number) => boolean;
}

const RESUMABLE_STATUSES: readonly RunStatus[] = ['interrupted', 'cancelled', 'paused', 'queued', 'failed'];
const SORT_COLUMNS = { creativeId: 'a.creative_id', status: 'a.status', engine: 'a.engine', duration: 'a.duration_ms', finishedAt: 'a.finished_at' } as const;
const EXCERPT_LENGTH = 200;
const EXPORT_CHUNK = 2000;

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

interface BatchRow {
  id: string;
  source: string;
  format: string;
  columns: string;
  field_columns: string;
  ad_count: number;
  created_at: number;
}
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
}
interface BatchAdRow {
  seq: number;
  creative_id: string;
  image_url: string;
  ad_text: string | null;
  extra: string | null;
}
interface ResultDbRow {
  creative_id: string;
  status: 'done' | 'failed';
  engine: string | null;
  lane_id: string | null;
  model: string | null;
  text: string;
  description: string | null;
  blocks: string;
  duration_ms: number | null;
  error: string | null;
  truncated: number;
}
interface AttemptRow {
  creative_id: string;
  lane_id: string;
  engine: string;
  started_at: number;
  duration_ms: number;
  outcome: Attempt['outcome'];
  error: string | null;
}

function toAd(row: BatchAdRow): Ad {
  const ad: Ad = { creativeId: row.creative_id, imageUrl: row.image_url };
  if (row.ad_text !== null) ad.adText = row.ad_text;
  const extra = parseJson<Record<string, string> | null>(row.extra, null);
  if (extra) ad.extra = extra;
  return ad;
}

function toAttempt(row: AttemptRow): Attempt {
  const attempt: Attempt = { laneId: row.lane_id, engine: row.engine as EngineKind, startedAt: row.started_at, durationMs: row.duration_ms, outcome: row.outcome };
  if (row.error !== null) attempt.error = row.error;
  return attempt;
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
  };
}

/** The content hash that names a batch: the same list imported twice is the same batch. */
export function batchIdOf(input: Pick<BatchInput, 'ads' | 'columns'>): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(input.columns));
  for (const ad of input.ads) hash.update(`\n${JSON.stringify([ad.creativeId, ad.imageUrl, ad.adText ?? null, ad.extra ?? null])}`);
  return `b_${hash.digest('hex').slice(0, 20)}`;
}

export class Store {
  readonly db: Database.Database;
  readonly runStore: SqliteRunStore;
  /** Runs that were live when the database was last closed uncleanly, now `interrupted`. */
  readonly interruptedAtOpen: string[];
  private readonly now: () => number;

  constructor(dbPath: string, options: StoreOptions = {}) {
    if (dbPath !== ':memory:') mkdirSync(dirname(dbPath), { recursive: true });
    this.now = options.now ?? Date.now;
    // `npm start` hands Electron a better-sqlite3 built for its ABI (node_modules has Node's).
    const nativeBinding = process.env.PARALLEL_VISION_SQLITE_BINDING;
    this.db = new Database(dbPath, nativeBinding ? { nativeBinding } : {});
    this.db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a process crash (kill -9); only an OS crash may lose the last ones.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    const { from } = migrate(this.db);
    this.interruptedAtOpen = this.markInterrupted(options.isProcessAlive ?? isOwnProcessAlive);
    this.runStore = new SqliteRunStore(this.db, this.now, { ...DEFAULT_GROUP_COMMIT, ...options.groupCommit });
    // Compare runs stored before agreement was kept get theirs once, at the upgrade.
    if (from <= PAIR_AGREEMENT_STEP && from > 0) this.runStore.backfillAgreement();
  }

  close(): void {
    if (!this.db.open) return;
    const failure = this.runStore.flush() ? null : this.runStore.pendingFailure();
    this.db.close();
    if (failure) throw new CommitFailedError(failure);
  }

  private markInterrupted(isAlive: (pid: number) => boolean): string[] {
    const placeholders = LIVE_RUN_STATUSES.map(() => '?').join(',');
    const live = this.db.prepare<unknown[], { id: string; owner_pid: number | null }>(`SELECT id, owner_pid FROM runs WHERE status IN (${placeholders})`).all(...LIVE_RUN_STATUSES);
    const orphans = live.filter((run) => run.owner_pid === null || (run.owner_pid !== process.pid && !isAlive(run.owner_pid)));
    const mark = this.db.prepare('UPDATE runs SET status = ?, owner_pid = NULL, updated_at = ? WHERE id = ?');
    this.db.transaction(() => orphans.forEach((run) => mark.run('interrupted', this.now(), run.id)))();
    return orphans.map((run) => run.id);
  }

  // ---- batches ----

  /** Store an imported list; idempotent: the same ads give the same batch id. */
  saveBatch(input: BatchInput): BatchInfo {
    const id = batchIdOf(input);
    const existing = this.getBatch(id);
    if (existing) return existing;
    const createdAt = this.now();
    const insertAd = this.db.prepare('INSERT INTO batch_ads (batch_id, seq, creative_id, image_url, ad_text, extra) VALUES (?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO batches (id, source, format, columns, field_columns, ad_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, input.source, input.format, JSON.stringify(input.columns), JSON.stringify(input.fieldColumns), input.ads.length, createdAt);
      input.ads.forEach((ad, seq) => insertAd.run(id, seq, ad.creativeId, ad.imageUrl, ad.adText ?? null, ad.extra ? JSON.stringify(ad.extra) : null));
    })();
    return { id, source: input.source, format: input.format, columns: input.columns, fieldColumns: input.fieldColumns, adCount: input.ads.length, createdAt };
  }

  getBatch(batchId: string): BatchInfo | null {
    const row = this.db.prepare<[string], BatchRow>('SELECT * FROM batches WHERE id = ?').get(batchId);
    if (!row) return null;
    return {
      id: row.id,
      source: row.source,
      format: row.format,
      columns: parseJson<string[]>(row.columns, []),
      fieldColumns: parseJson<FieldColumns>(row.field_columns, { id: null, url: null, text: null }),
      adCount: row.ad_count,
      createdAt: row.created_at,
    };
  }

  /** A page of a batch's ads in input order. */
  batchAds(batchId: string, offset = 0, limit = Number.MAX_SAFE_INTEGER): Ad[] {
    return this.db
      .prepare<[string, number, number], BatchAdRow>('SELECT seq, creative_id, image_url, ad_text, extra FROM batch_ads WHERE batch_id = ? AND seq >= ? ORDER BY seq LIMIT ?')
      .all(batchId, offset, limit)
      .map(toAd);
  }

  // ---- runs ----

  /** `tasksPerAd`: results each ad gets (the number of engines in `compare`, else 1), so done + failed reach total. */
  createRun(input: { batchId: string; policy: Policy; config?: unknown; runId?: string; tasksPerAd?: number }): RunInfo {
    const batch = this.getBatch(input.batchId);
    if (!batch) throw new Error(`unknown batch ${input.batchId}`);
    const id = input.runId ?? `run_${this.now().toString(36)}_${randomUUID().slice(0, 8)}`;
    const now = this.now();
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO runs (id, batch_id, status, policy, config, total, owner_pid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(id, batch.id, 'queued', input.policy, JSON.stringify(input.config ?? null), batch.adCount * (input.tasksPerAd ?? 1), process.pid, now, now);
      this.db.prepare('INSERT INTO run_ads (run_id, seq, creative_id) SELECT ?, seq, creative_id FROM batch_ads WHERE batch_id = ?').run(id, batch.id);
    })();
    return this.getRun(id)!;
  }

  getRun(runId: string): RunInfo | null {
    this.runStore.flush();
    const row = this.db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?').get(runId);
    return row ? toRunInfo(row) : null;
  }

  /** Newest first, for `parallel-vision runs` and the runs list. */
  listRuns(limit = 100): RunSummary[] {
    this.runStore.flush();
    return this.db
      .prepare<[number], RunRow & { source: string }>('SELECT r.*, b.source FROM runs r JOIN batches b ON b.id = r.batch_id ORDER BY r.created_at DESC, r.rowid DESC LIMIT ?')
      .all(limit)
      .map((row) => ({ runId: row.id, batchId: row.batch_id, source: row.source, status: row.status, policy: row.policy, total: row.total, done: row.done, failed: row.failed, createdAt: row.created_at }));
  }

  /** The newest run of this batch if it stopped before finishing (to resume); finished ones too when asked. */
  findResumableRun(batchId: string, options: { includeFinished?: boolean } = {}): RunInfo | null {
    this.runStore.flush();
    const row = this.db.prepare<[string], RunRow>('SELECT * FROM runs WHERE batch_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(batchId);
    if (!row) return null;
    if (!RESUMABLE_STATUSES.includes(row.status) && !(options.includeFinished && row.status === 'finished')) return null;
    return toRunInfo(row);
  }

  setRunStatus(runId: string, status: RunStatus): void {
    this.runStore.setRunStatus(runId, status);
  }

  /** Forget failed results so a resumed run tries those ads again. */
  resetFailed(runId: string): number {
    this.runStore.flush();
    return this.db.transaction(() => {
      const removed = this.db.prepare("DELETE FROM results WHERE run_id = ? AND status = 'failed'").run(runId).changes;
      this.db.prepare("UPDATE run_ads SET status = 'pending', engine = NULL, duration_ms = NULL, finished_at = NULL, text = NULL, error = NULL WHERE run_id = ? AND status = 'failed'").run(runId);
      this.db.prepare("UPDATE runs SET failed = (SELECT count(*) FROM results WHERE run_id = ? AND status = 'failed'), updated_at = ? WHERE id = ?").run(runId, this.now(), runId);
      return removed;
    })();
  }

  /** Ads of the run without a final result yet, in input order. */
  unfinishedAds(runId: string): Ad[] {
    this.runStore.flush();
    return this.db
      .prepare<[string], BatchAdRow>(
        "SELECT b.seq, b.creative_id, b.image_url, b.ad_text, b.extra FROM run_ads a JOIN runs r ON r.id = a.run_id JOIN batch_ads b ON b.batch_id = r.batch_id AND b.seq = a.seq WHERE a.run_id = ? AND a.status NOT IN ('done', 'failed') ORDER BY a.seq",
      )
      .all(runId)
      .map(toAd);
  }

  // ---- results ----

  /** A page of the results table: sort, filter by engine/status, search id, URL and text. */
  pageResults(query: ResultsQuery): ResultsPage {
    this.runStore.flush();
    const q = ResultsQuery.parse(query);
    const where = ['a.run_id = @runId'];
    const params: Record<string, string | number> = { runId: q.runId, limit: q.limit, offset: q.offset };
    if (q.engine) {
      where.push('a.engine = @engine');
      params.engine = q.engine;
    }
    if (q.status) {
      where.push('a.status = @status');
      params.status = q.status;
    }
    const search = q.search?.trim();
    if (search) {
      where.push("(a.creative_id LIKE @search ESCAPE '\\' OR a.text LIKE @search ESCAPE '\\')");
      params.search = `%${escapeLike(search)}%`;
    }
    const direction = q.descending ? 'DESC' : 'ASC';
    const filter = where.join(' AND ');
    // With a filter, sort through the filter's index (status/engine + finish time) rather than
    // walking the whole sort index and testing every row: `+column` keeps SQLite off the latter.
    const sortColumn = (q.engine || q.status) && q.sort !== 'finishedAt' ? `+${SORT_COLUMNS[q.sort]}` : SORT_COLUMNS[q.sort];
    const order = `${sortColumn} ${direction}, a.seq ${direction}`;
    const total = this.db.prepare<Record<string, string | number>, { n: number }>(`SELECT count(*) AS n FROM run_ads a WHERE ${filter}`).get(params)!.n;
    const batchId = this.db.prepare<[string], { batch_id: string }>('SELECT batch_id FROM runs WHERE id = ?').get(q.runId)?.batch_id;
    if (batchId === undefined) return { total: 0, rows: [] };
    // Skip `offset` rows on run_ads' own indexes first, then join only the page (CROSS JOIN
    // fixes that order): joining before the OFFSET would read every skipped row.
    const rows = this.db
      .prepare<Record<string, string | number>, { creative_id: string; image_url: string; status: ResultRow['status']; engine: EngineKind | null; duration_ms: number | null; excerpt: string | null; error: string | null }>(
        `WITH page AS (SELECT a.seq FROM run_ads a WHERE ${filter} ORDER BY ${order} LIMIT @limit OFFSET @offset)
         SELECT a.creative_id, b.image_url, a.status, a.engine, a.duration_ms, substr(a.text, 1, ${EXCERPT_LENGTH}) AS excerpt, a.error
         FROM page CROSS JOIN run_ads a ON a.run_id = @runId AND a.seq = page.seq CROSS JOIN batch_ads b ON b.batch_id = @batchId AND b.seq = a.seq
         ORDER BY ${SORT_COLUMNS[q.sort]} ${direction}, a.seq ${direction}`,
      )
      .all({ ...params, batchId });
    return {
      total,
      rows: rows.map((row) => {
        const out: ResultRow = { creativeId: row.creative_id, imageUrl: row.image_url, status: row.status, engine: row.engine, durationMs: row.duration_ms, excerpt: row.excerpt ?? '' };
        if (row.error !== null) out.error = row.error;
        return out;
      }),
    };
  }

  /**
   * Every final result of a run as (ad, engine, status, text, time), ad by ad — what the
   * compare summary needs — streamed in chunks so a large run is never held in memory.
   */
  *resultOutputs(runId: string, chunk = 2000): Generator<{ creativeId: string; engine: EngineKind; status: 'done' | 'failed'; text: string; durationMs: number | null }> {
    this.runStore.flush();
    const statement = this.db.prepare<[string, string, string, number], { creative_id: string; engine_key: string; engine: EngineKind | null; status: 'done' | 'failed'; text: string; duration_ms: number | null }>(
      'SELECT creative_id, engine_key, engine, status, text, duration_ms FROM results WHERE run_id = ? AND (creative_id, engine_key) > (?, ?) ORDER BY creative_id, engine_key LIMIT ?',
    );
    let after: [string, string] = ['', ''];
    for (;;) {
      const rows = statement.all(runId, after[0], after[1], chunk);
      for (const row of rows) {
        const engine = row.engine ?? (row.engine_key as EngineKind);
        yield { creativeId: row.creative_id, engine, status: row.status, text: row.text, durationMs: row.duration_ms };
      }
      if (rows.length < chunk) return;
      const last = rows[rows.length - 1]!;
      after = [last.creative_id, last.engine_key];
    }
  }

  /**
   * A page of a compare run, ad by ad in creative-id order: every engine's output and the
   * ad's mean pairwise agreement as stored with its last engine result (null until then, or
   * with fewer than two successes). Three queries per page, whatever the run's size.
   */
  comparePage(runId: string, offset: number, limit: number): { total: number; rows: CompareRowData[] } {
    const page = this.pageResults({ runId, offset, limit, sort: 'creativeId' });
    const ids = page.rows.map((row) => row.creativeId);
    if (ids.length === 0) return { total: page.total, rows: [] };
    const marks = ids.map(() => '?').join(',');
    const outputs = this.db
      .prepare<unknown[], { creative_id: string; engine: EngineKind; text: string; duration_ms: number | null; status: 'done' | 'failed' }>(
        `SELECT creative_id, engine, text, duration_ms, status FROM results WHERE run_id = ? AND engine IS NOT NULL AND creative_id IN (${marks}) ORDER BY creative_id, engine_key`,
      )
      .all(runId, ...ids);
    const means = new Map(
      this.db
        .prepare<unknown[], { creative_id: string; mean: number }>(`SELECT creative_id, avg(score) AS mean FROM pair_agreement WHERE run_id = ? AND creative_id IN (${marks}) GROUP BY creative_id`)
        .all(runId, ...ids)
        .map((row) => [row.creative_id, row.mean]),
    );
    const byAd = new Map<string, CompareRowData['outputs']>(ids.map((id) => [id, []]));
    for (const row of outputs) byAd.get(row.creative_id)?.push({ engine: row.engine, text: row.text, durationMs: row.duration_ms, status: row.status });
    return { total: page.total, rows: ids.map((id) => ({ creativeId: id, outputs: byAd.get(id)!, agreement: means.get(id) ?? null })) };
  }

  /** Per engine over the whole run, in SQL: results done and failed, mean duration, mean agreement with the others. */
  compareSummary(runId: string): { engine: EngineKind; meanMs: number | null; agreement: number | null; done: number; failed: number }[] {
    this.runStore.flush();
    const totals = this.db
      .prepare<[string], { engine: EngineKind; done: number; failed: number; mean_ms: number | null }>(
        "SELECT engine, sum(status = 'done') AS done, sum(status = 'failed') AS failed, avg(duration_ms) AS mean_ms FROM results WHERE run_id = ? AND engine IS NOT NULL GROUP BY engine ORDER BY engine",
      )
      .all(runId);
    const agreement = new Map(
      this.db
        .prepare<[string, string], { engine: EngineKind; mean: number }>(
          'SELECT engine, avg(score) AS mean FROM (SELECT engine_a AS engine, score FROM pair_agreement WHERE run_id = ? UNION ALL SELECT engine_b AS engine, score FROM pair_agreement WHERE run_id = ?) GROUP BY engine',
        )
        .all(runId, runId)
        .map((row) => [row.engine, row.mean]),
    );
    return totals.map((row) => ({ engine: row.engine, meanMs: row.mean_ms, agreement: agreement.get(row.engine) ?? null, done: row.done, failed: row.failed }));
  }

  /** One ad with every result (one per engine in compare) and every attempt. */
  getResult(runId: string, creativeId: string): ResultDetail | null {
    this.runStore.flush();
    const ad = this.db
      .prepare<[string, string], BatchAdRow>('SELECT b.seq, b.creative_id, b.image_url, b.ad_text, b.extra FROM runs r JOIN batch_ads b ON b.batch_id = r.batch_id WHERE r.id = ? AND b.creative_id = ?')
      .get(runId, creativeId);
    if (!ad) return null;
    const attempts = this.db
      .prepare<[string, string], AttemptRow>('SELECT creative_id, lane_id, engine, started_at, duration_ms, outcome, error FROM attempts WHERE run_id = ? AND creative_id = ? ORDER BY id')
      .all(runId, creativeId)
      .map(toAttempt);
    const results = this.db
      .prepare<[string, string], ResultDbRow>('SELECT * FROM results WHERE run_id = ? AND creative_id = ? ORDER BY engine_key')
      .all(runId, creativeId)
      .map((row) => toAdResult(runId, row, attempts));
    const detail: ResultDetail = { runId, creativeId, imageUrl: ad.image_url, results, attempts };
    if (ad.ad_text !== null) detail.adText = ad.ad_text;
    return detail;
  }

  /** How many rows an export will write. */
  countExportRows(runId: string, rows: ExportRowFilter): number {
    this.runStore.flush();
    if (rows === 'all') {
      return this.db.prepare<{ runId: string }, { n: number }>('SELECT count(*) + (SELECT count(*) FROM results WHERE run_id = @runId) - (SELECT count(DISTINCT creative_id) FROM results WHERE run_id = @runId) AS n FROM run_ads WHERE run_id = @runId').get({ runId })!.n;
    }
    return this.db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM results WHERE run_id = ? AND status = ?').get(runId, rows)!.n;
  }

  /**
   * Export rows in input order, read in chunks by key range: memory stays flat at
   * 100 000 rows and no statement stays open between chunks, so a running run can
   * keep writing while an export is in progress.
   */
  *exportRows(runId: string, rows: ExportRowFilter, chunk = EXPORT_CHUNK, range: { from?: number; to?: number } = {}): Generator<ExportRow> {
    const run = this.getRun(runId);
    if (!run) throw new Error(`unknown run ${runId}`);
    const statusFilter = rows === 'all' ? '' : `AND r.status = '${rows === 'done' ? 'done' : 'failed'}'`;
    const statement = this.db.prepare<{ runId: string; batchId: string; from: number; to: number }, BatchAdRow & { result_status: 'done' | 'failed' | null } & Omit<ResultDbRow, 'creative_id' | 'status'>>(
      `SELECT b.seq, b.creative_id, b.image_url, b.ad_text, b.extra, r.status AS result_status, r.engine, r.model, r.text, r.description, r.blocks, r.duration_ms, r.error, r.truncated
       FROM run_ads a
       JOIN batch_ads b ON b.batch_id = @batchId AND b.seq = a.seq
       LEFT JOIN results r ON r.run_id = a.run_id AND r.creative_id = a.creative_id
       WHERE a.run_id = @runId AND a.seq >= @from AND a.seq < @to ${statusFilter}
       ORDER BY a.seq, r.engine_key`,
    );
    // `range`: ads [from, to) in input order (a page of the local API's results).
    const end = Math.min(run.total, range.to ?? run.total);
    for (let start = range.from ?? 0; start < end; start += chunk) {
      const page = statement.all({ runId, batchId: run.batchId, from: start, to: Math.min(start + chunk, end) });
      for (const row of page) {
        yield {
          seq: row.seq,
          ad: toAd(row),
          status: row.result_status ?? 'pending',
          engine: row.engine,
          model: row.model,
          text: row.text ?? '',
          description: row.description,
          blocks: parseJson<TextBlock[]>(row.blocks, []),
          durationMs: row.duration_ms,
          error: row.error,
          truncated: row.truncated === 1,
        };
      }
    }
  }
}

function toAdResult(runId: string, row: ResultDbRow, attempts: Attempt[]): AdResult {
  const result: AdResult = {
    runId,
    creativeId: row.creative_id,
    status: row.status,
    engine: row.engine as EngineKind | null,
    laneId: row.lane_id,
    model: row.model,
    text: row.text,
    blocks: parseJson<TextBlock[]>(row.blocks, []),
    durationMs: row.duration_ms,
    attempts: row.engine === null ? attempts : attempts.filter((attempt) => attempt.engine === row.engine),
  };
  if (row.description !== null) result.description = row.description;
  if (row.error !== null) result.error = row.error;
  if (row.truncated === 1) result.truncated = true;
  return result;
}


export function openStore(dbPath: string, options: StoreOptions = {}): Store {
  return new Store(dbPath, options);
}
