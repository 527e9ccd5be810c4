/**
 * Export a run's results as CSV, JSON or JSONL, streamed: rows come from the store in
 * chunks and go out with backpressure, so 100 000 rows never sit in memory. Each row
 * keeps the input columns and adds the prototype's fields (`_vision_model`,
 * `_vision_text`, `_vision_time` in seconds) plus status, error, description and, in
 * JSON/JSONL, the text boxes.
 *
 * CSV cells that a spreadsheet would run as a formula (`=…`, `+…`, `-…`, `@…`) get a
 * leading `'` — header and every text cell, input columns and OCR text alike; plain
 * numbers such as `-5` stay numbers (see spreadsheet-safe.ts). JSON and JSONL are exact.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { ExportFormat } from '../../../shared/domain.js';
import type { ExportRow, ExportRowFilter, Store } from '../store/index.js';
import { csvLine } from './csv-line.js';
import { writeOutputFile } from './output-file.js';
import { neutralizeFormula } from './spreadsheet-safe.js';

export { csvLine } from './csv-line.js';
export { writeOutputFile } from './output-file.js';

export interface ExportOptions {
  format: ExportFormat;
  rows?: ExportRowFilter;
  /** CSV only: start with a UTF-8 byte order mark, without which Excel reads é, € and 中文 as another code page (the window's exports). */
  bom?: boolean;
}

export interface ExportProgress {
  written: number;
  total: number;
}

export interface ExportSummary {
  rows: number;
  path?: string;
}

const VISION_FIELDS = ['_vision_model', '_vision_text', '_vision_time', '_vision_status', '_vision_error', '_vision_description', '_vision_truncated'] as const;
const OUTPUT_FIELDS = new Set<string>([...VISION_FIELDS, '_vision_blocks']);
const FLUSH_BYTES = 64 * 1024;
const PROGRESS_EVERY = 1000;

/** The input columns to write back, in input order, with id and URL columns added when the input had none. */
export function inputColumnsOf(store: Store, runId: string): { columns: string[]; valueOf: (row: ExportRow, column: string) => string } {
  const run = store.getRun(runId);
  if (!run) throw new Error(`unknown run ${runId}`);
  const batch = store.getBatch(run.batchId)!;
  const { fieldColumns } = batch;
  const idColumn = fieldColumns.id ?? 'creative_id';
  const urlColumn = fieldColumns.url ?? 'image_url';
  // An exported list run again: its old `_vision_*` columns give way to this run's.
  const columns = batch.columns.filter((column) => !OUTPUT_FIELDS.has(column));
  if (!columns.includes(urlColumn)) columns.unshift(urlColumn);
  if (!columns.includes(idColumn)) columns.unshift(idColumn);
  const valueOf = (row: ExportRow, column: string): string => {
    if (column === idColumn) return row.ad.creativeId;
    if (column === urlColumn) return row.ad.imageUrl;
    if (column === fieldColumns.text) return row.ad.adText ?? '';
    return row.ad.extra?.[column] ?? '';
  };
  return { columns, valueOf };
}

function seconds(durationMs: number | null): number | null {
  return durationMs === null ? null : Math.round(durationMs) / 1000;
}

function visionFields(row: ExportRow): Record<(typeof VISION_FIELDS)[number], string | number | boolean | null> {
  return {
    _vision_model: row.model,
    _vision_text: row.text,
    _vision_time: seconds(row.durationMs),
    _vision_status: row.status,
    _vision_error: row.error,
    _vision_description: row.description,
    _vision_truncated: row.truncated,
  };
}

/** One JSON/JSONL export row: the input columns, then the `_vision_*` fields and the boxes (also the local API's result rows). */
export function exportRecord(row: ExportRow, columns: readonly string[], valueOf: (row: ExportRow, column: string) => string): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const column of columns) record[column] = valueOf(row, column);
  return Object.assign(record, visionFields(row), { _vision_blocks: row.blocks });
}

/** Write to a stream, waiting for 'drain' when its buffer is full. */
async function writeWithBackpressure(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

type ExportRecord = Readonly<Record<string, unknown>>;

export interface RecordWriterOptions {
  format: ExportFormat;
  /** CSV only: start with a UTF-8 byte order mark (see ExportOptions.bom). */
  bom?: boolean;
  /** CSV only: the header; without it, the first record's keys (no record: no header). */
  columns?: readonly string[];
}

/** A CSV record that is safe to open in a spreadsheet. */
const csvRecord = (cells: string[]): string => csvLine(cells.map(neutralizeFormula));
const csvCell = (value: unknown): string => (value === null || value === undefined ? '' : String(value));

/**
 * The one writer of export records (the input columns, then the `_vision_*` fields, as
 * exportRecord makes them): CSV with formula-safe cells and without the boxes, a JSON array,
 * or JSONL. The export and `run --to-app --out` both write through it. Buffered: the stream
 * is written in ~64 KiB pieces, with backpressure. Answers the records written.
 */
export async function writeRecords(records: Iterable<ExportRecord> | AsyncIterable<ExportRecord>, out: Writable, options: RecordWriterOptions): Promise<number> {
  const { format } = options;
  let columns = options.columns ?? null;
  let buffer = format === 'json' ? '[' : '';
  let written = 0;
  const header = (cells: readonly string[]) => `${options.bom ? '\uFEFF' : ''}${csvRecord([...cells])}`;
  if (format === 'csv' && columns) buffer += header(columns);
  /** Appends one record; answers whether the buffer is due to go out. */
  const add = (record: ExportRecord): boolean => {
    if (format === 'csv') {
      if (!columns) {
        columns = Object.keys(record).filter((key) => key !== '_vision_blocks');
        buffer += header(columns);
      }
      buffer += csvRecord(columns.map((column) => csvCell(record[column])));
    } else {
      const json = JSON.stringify(record);
      buffer += format === 'json' ? `${written === 0 ? '\n' : ',\n'}${json}` : `${json}\n`;
    }
    written++;
    return buffer.length >= FLUSH_BYTES;
  };
  const flush = async () => {
    if (buffer) await writeWithBackpressure(out, buffer);
    buffer = '';
  };
  // A synchronous source (the store) is not awaited row by row: only a full buffer waits.
  if (Symbol.iterator in records) {
    for (const record of records) if (add(record)) await flush();
  } else {
    for await (const record of records) if (add(record)) await flush();
  }
  if (format === 'json') buffer += written === 0 ? ']\n' : '\n]\n';
  await flush();
  return written;
}

async function writeRows(store: Store, runId: string, options: ExportOptions, out: Writable, onProgress?: (progress: ExportProgress) => void): Promise<number> {
  const rows = options.rows ?? 'all';
  const total = store.countExportRows(runId, rows);
  const { columns, valueOf } = inputColumnsOf(store, runId);
  let read = 0;
  function* records(): Generator<ExportRecord> {
    for (const row of store.exportRows(runId, rows)) {
      yield exportRecord(row, columns, valueOf);
      // Asked for the next one: this one is written (at least into the writer's buffer).
      if (onProgress && ++read % PROGRESS_EVERY === 0) onProgress({ written: read, total });
    }
  }
  const written = await writeRecords(records(), out, { format: options.format, bom: options.bom, columns: [...columns, ...VISION_FIELDS] });
  onProgress?.({ written, total });
  return written;
}

/** Export to a stream (left open) or to a file path (see output-file.ts). */
export async function exportResults(
  store: Store,
  runId: string,
  options: ExportOptions,
  target: Writable | string,
  onProgress?: (progress: ExportProgress) => void,
): Promise<ExportSummary> {
  if (typeof target !== 'string') return { rows: await writeRows(store, runId, options, target, onProgress) };
  return { rows: await writeOutputFile(target, (out) => writeRows(store, runId, options, out, onProgress)), path: target };
}
