/**
 * The rows an export writes: every ad of a run in input order with its final result
 * (one row per engine in compare, `pending` where none yet), read in key-range chunks.
 */
import type Database from 'better-sqlite3';
import type { Ad, TextBlock } from '../../../shared/domain.js';
import type { StoreContext } from './context.js';
import { parseJson, toAd, type BatchAdRow, type ResultDbRow } from './rows.js';
import { getRun, readRun } from './runs.js';

export type ExportRowFilter = 'all' | 'done' | 'failed';

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

const EXPORT_CHUNK = 2000;

/** How many rows an export will write. */
export function countExportRows({ db, runStore }: StoreContext, runId: string, rows: ExportRowFilter): number {
  runStore.flush();
  return countCommittedRows(db, runId, rows);
}

function countCommittedRows(db: Database.Database, runId: string, rows: ExportRowFilter): number {
  if (rows === 'all') {
    return db.prepare<{ runId: string }, { n: number }>('SELECT count(*) + (SELECT count(*) FROM results WHERE run_id = @runId) - (SELECT count(DISTINCT creative_id) FROM results WHERE run_id = @runId) AS n FROM run_ads WHERE run_id = @runId').get({ runId })!.n;
  }
  return db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM results WHERE run_id = ? AND status = ?').get(runId, rows)!.n;
}

type ExportDbRow = BatchAdRow & { result_status: 'done' | 'failed' | null } & Omit<ResultDbRow, 'creative_id' | 'status'>;

/** The export's SELECT over a run's ads and results, with a WHERE tail and an ORDER/LIMIT tail. */
function exportSelect(rows: ExportRowFilter, where: string, tail: string): string {
  const statusFilter = rows === 'all' ? '' : `AND r.status = '${rows === 'done' ? 'done' : 'failed'}'`;
  return `SELECT b.seq, b.creative_id, b.image_url, b.ad_text, b.extra, r.status AS result_status, r.engine, r.model, r.text, r.description, r.blocks, r.duration_ms, r.error, r.truncated
     FROM run_ads a
     JOIN batch_ads b ON b.batch_id = @batchId AND b.seq = a.seq
     LEFT JOIN results r ON r.run_id = a.run_id AND r.creative_id = a.creative_id
     WHERE a.run_id = @runId ${where} ${statusFilter}
     ORDER BY a.seq, r.engine_key ${tail}`;
}

function toExportRow(row: ExportDbRow): ExportRow {
  return {
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

/**
 * Export rows in input order, read in chunks by key range: memory stays flat at
 * 100 000 rows and no statement stays open between chunks, so a running run can
 * keep writing while an export is in progress.
 */
export function* exportRows(ctx: StoreContext, runId: string, rows: ExportRowFilter, chunk = EXPORT_CHUNK, range: { from?: number; to?: number } = {}): Generator<ExportRow> {
  const { db } = ctx;
  const run = getRun(ctx, runId);
  if (!run) throw new Error(`unknown run ${runId}`);
  const statement = db.prepare<{ runId: string; batchId: string; from: number; to: number }, ExportDbRow>(exportSelect(rows, 'AND a.seq >= @from AND a.seq < @to', ''));
  // `range`: ads [from, to) in input order.
  const end = Math.min(run.total, range.to ?? run.total);
  for (let start = range.from ?? 0; start < end; start += chunk) {
    for (const row of statement.all({ runId, batchId: run.batchId, from: start, to: Math.min(start + chunk, end) })) yield toExportRow(row);
  }
}

/**
 * Rows [offset, offset + limit) of the run's done (or failed) results in input order, and how
 * many match in all: a page of the local API's filtered results, counted in matching rows, not
 * in ads. One flush, then both reads: the page and its total see the same commits.
 */
export function filteredExportRows(ctx: StoreContext, runId: string, rows: 'done' | 'failed', offset: number, limit: number): { total: number; rows: ExportRow[] } {
  ctx.runStore.flush();
  const run = readRun(ctx.db, runId);
  if (!run) throw new Error(`unknown run ${runId}`);
  const page = ctx.db
    .prepare<{ runId: string; batchId: string; limit: number; offset: number }, ExportDbRow>(exportSelect(rows, '', 'LIMIT @limit OFFSET @offset'))
    .all({ runId, batchId: run.batchId, limit, offset })
    .map(toExportRow);
  return { total: countCommittedRows(ctx.db, runId, rows), rows: page };
}
