/**
 * Reading a run's results: the results table (sorted, filtered, searched, paged on the
 * indexes), one ad's detail with every attempt, and the compare views (per-ad outputs
 * with the agreement stored by the write path, and the per-engine summary).
 */
import { ResultsQuery, type ResultDetail, type ResultRow, type ResultsPage } from '../../../shared/api.js';
import { IMAGE_ATTEMPT_ERROR_PREFIX, type AdResult, type Attempt, type EngineKind, type TextBlock } from '../../../shared/domain.js';
import type { StoreContext } from './context.js';
import { parseJson, type BatchAdRow, type ResultDbRow } from './rows.js';

/** One ad of a compare page (shared/api's CompareRow). */
export interface CompareRowData {
  creativeId: string;
  outputs: { engine: EngineKind; text: string; durationMs: number | null; status: 'done' | 'failed' }[];
  agreement: number | null;
}

const SORT_COLUMNS = { creativeId: 'a.creative_id', status: 'a.status', engine: 'a.engine', duration: 'a.duration_ms', finishedAt: 'a.finished_at' } as const;
const EXCERPT_LENGTH = 200;

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
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

function toAttempt(row: AttemptRow): Attempt {
  const attempt: Attempt = { laneId: row.lane_id, engine: row.engine as EngineKind, startedAt: row.started_at, durationMs: row.duration_ms, outcome: row.outcome };
  if (row.error !== null) attempt.error = row.error;
  return attempt;
}

/** A page of the results table: sort, filter by engine/status, search id, URL and text. */
export function pageResults({ db, runStore }: StoreContext, query: ResultsQuery): ResultsPage {
  runStore.flush();
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
  const total = db.prepare<Record<string, string | number>, { n: number }>(`SELECT count(*) AS n FROM run_ads a WHERE ${filter}`).get(params)!.n;
  const batchId = db.prepare<[string], { batch_id: string }>('SELECT batch_id FROM runs WHERE id = ?').get(q.runId)?.batch_id;
  if (batchId === undefined) return { total: 0, rows: [] };
  // Skip `offset` rows on run_ads' own indexes first, then join only the page (CROSS JOIN
  // fixes that order): joining before the OFFSET would read every skipped row.
  const rows = db
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
export function* resultOutputs({ db, runStore }: StoreContext, runId: string, chunk = 2000): Generator<{ creativeId: string; engine: EngineKind; status: 'done' | 'failed'; text: string; durationMs: number | null }> {
  runStore.flush();
  const statement = db.prepare<[string, string, string, number], { creative_id: string; engine_key: string; engine: EngineKind | null; status: 'done' | 'failed'; text: string; duration_ms: number | null }>(
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
export function comparePage(ctx: StoreContext, runId: string, offset: number, limit: number): { total: number; rows: CompareRowData[] } {
  const { db } = ctx;
  const page = pageResults(ctx, { runId, offset, limit, sort: 'creativeId' });
  const ids = page.rows.map((row) => row.creativeId);
  if (ids.length === 0) return { total: page.total, rows: [] };
  const marks = ids.map(() => '?').join(',');
  const outputs = db
    .prepare<unknown[], { creative_id: string; engine: EngineKind; text: string; duration_ms: number | null; status: 'done' | 'failed' }>(
      `SELECT creative_id, engine, text, duration_ms, status FROM results WHERE run_id = ? AND engine IS NOT NULL AND creative_id IN (${marks}) ORDER BY creative_id, engine_key`,
    )
    .all(runId, ...ids);
  const means = new Map(
    db
      .prepare<unknown[], { creative_id: string; mean: number }>(`SELECT creative_id, avg(score) AS mean FROM pair_agreement WHERE run_id = ? AND creative_id IN (${marks}) GROUP BY creative_id`)
      .all(runId, ...ids)
      .map((row) => [row.creative_id, row.mean]),
  );
  const byAd = new Map<string, CompareRowData['outputs']>(ids.map((id) => [id, []]));
  for (const row of outputs) byAd.get(row.creative_id)?.push({ engine: row.engine, text: row.text, durationMs: row.duration_ms, status: row.status });
  return { total: page.total, rows: ids.map((id) => ({ creativeId: id, outputs: byAd.get(id)!, agreement: means.get(id) ?? null })) };
}

/** Per engine over the whole run, in SQL: results done and failed, mean duration, mean agreement with the others. */
export function compareSummary({ db, runStore }: StoreContext, runId: string): { engine: EngineKind; meanMs: number | null; agreement: number | null; done: number; failed: number }[] {
  runStore.flush();
  const totals = db
    .prepare<[string], { engine: EngineKind; done: number; failed: number; mean_ms: number | null }>(
      "SELECT engine, sum(status = 'done') AS done, sum(status = 'failed') AS failed, avg(duration_ms) AS mean_ms FROM results WHERE run_id = ? AND engine IS NOT NULL GROUP BY engine ORDER BY engine",
    )
    .all(runId);
  const agreement = new Map(
    db
      .prepare<[string, string], { engine: EngineKind; mean: number }>(
        'SELECT engine, avg(score) AS mean FROM (SELECT engine_a AS engine, score FROM pair_agreement WHERE run_id = ? UNION ALL SELECT engine_b AS engine, score FROM pair_agreement WHERE run_id = ?) GROUP BY engine',
      )
      .all(runId, runId)
      .map((row) => [row.engine, row.mean]),
  );
  return totals.map((row) => ({ engine: row.engine, meanMs: row.mean_ms, agreement: agreement.get(row.engine) ?? null, done: row.done, failed: row.failed }));
}

/** One lane's final figures over a run, read from its stored results (a run nothing drives any more). */
export interface LaneSummary {
  laneId: string;
  engine: EngineKind;
  done: number;
  /** Calls that failed on the lane's engine (as the live figure: an ad retried elsewhere counts here too; an image that did not download does not). */
  failed: number;
  p50_s: number | null;
  p95_s: number | null;
}

/**
 * Per lane over the whole run: ads done there, its failed calls, and the median and 95th
 * percentile of its done ads' durations (the orchestrator's rank rule: the ⌈p·n⌉-th smallest).
 */
export function laneSummary({ db, runStore }: StoreContext, runId: string): LaneSummary[] {
  runStore.flush();
  const lanes = db
    .prepare<[string], { lane_id: string; engine: EngineKind; done: number; timed: number }>(
      "SELECT lane_id, min(engine) AS engine, sum(status = 'done') AS done, sum(status = 'done' AND duration_ms IS NOT NULL) AS timed FROM results WHERE run_id = ? AND lane_id IS NOT NULL AND engine IS NOT NULL GROUP BY lane_id ORDER BY lane_id",
    )
    .all(runId);
  const failedCalls = new Map(
    db
      .prepare<[string, number, string], { lane_id: string; engine: EngineKind; failed: number }>(
        "SELECT lane_id, min(engine) AS engine, count(*) AS failed FROM attempts WHERE run_id = ? AND outcome = 'error' AND (error IS NULL OR substr(error, 1, ?) != ?) GROUP BY lane_id",
      )
      .all(runId, IMAGE_ATTEMPT_ERROR_PREFIX.length, IMAGE_ATTEMPT_ERROR_PREFIX)
      .map((row) => [row.lane_id, row]),
  );
  // A lane whose every call failed has no result of its own.
  for (const [laneId, row] of failedCalls) if (!lanes.some((lane) => lane.lane_id === laneId)) lanes.push({ lane_id: laneId, engine: row.engine, done: 0, timed: 0 });
  const nth = db.prepare<[string, string, number], { duration_ms: number }>(
    "SELECT duration_ms FROM results WHERE run_id = ? AND lane_id = ? AND status = 'done' AND duration_ms IS NOT NULL ORDER BY duration_ms LIMIT 1 OFFSET ?",
  );
  const percentile_s = (laneId: string, timed: number, p: number): number | null => {
    if (timed === 0) return null;
    const row = nth.get(runId, laneId, Math.min(timed - 1, Math.max(0, Math.ceil(p * timed) - 1)));
    return row ? row.duration_ms / 1000 : null;
  };
  return lanes.map((lane) => ({
    laneId: lane.lane_id,
    engine: lane.engine,
    done: lane.done,
    failed: failedCalls.get(lane.lane_id)?.failed ?? 0,
    p50_s: percentile_s(lane.lane_id, lane.timed, 0.5),
    p95_s: percentile_s(lane.lane_id, lane.timed, 0.95),
  }));
}

/** One ad with every result (one per engine in compare) and every attempt. */
export function getResult({ db, runStore }: StoreContext, runId: string, creativeId: string): ResultDetail | null {
  runStore.flush();
  const ad = db
    .prepare<[string, string], BatchAdRow>('SELECT b.seq, b.creative_id, b.image_url, b.ad_text, b.extra FROM runs r JOIN batch_ads b ON b.batch_id = r.batch_id WHERE r.id = ? AND b.creative_id = ?')
    .get(runId, creativeId);
  if (!ad) return null;
  const attempts = db
    .prepare<[string, string], AttemptRow>('SELECT creative_id, lane_id, engine, started_at, duration_ms, outcome, error FROM attempts WHERE run_id = ? AND creative_id = ? ORDER BY id')
    .all(runId, creativeId)
    .map(toAttempt);
  const results = db
    .prepare<[string, string], ResultDbRow>('SELECT * FROM results WHERE run_id = ? AND creative_id = ? ORDER BY engine_key')
    .all(runId, creativeId)
    .map((row) => toAdResult(runId, row, attempts));
  const detail: ResultDetail = { runId, creativeId, imageUrl: ad.image_url, results, attempts };
  if (ad.ad_text !== null) detail.adText = ad.ad_text;
  return detail;
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
  if (row.image_failed === 1) result.imageFailed = true;
  return result;
}
