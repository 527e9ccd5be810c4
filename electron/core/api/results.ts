/**
 * A run's results as the export's rows (input columns + `_vision_*`): one page from the
 * store, or an NDJSON stream that first sends what is already finished and then follows
 * the live run's result events until the run ends — each result exactly once.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { isLiveRunStatus, type Ad, type AdResult, type RunProgress } from '../../../shared/domain.js';
import { exportRecord, inputColumnsOf } from '../export/index.js';
import type { ExportRow, ExportRowFilter, Store } from '../store/index.js';

export interface ResultsDeps {
  store: Store;
  /** The backend's event bus. */
  subscribe(listener: (event: string, payload: unknown) => void): () => void;
  progress(runId: string): Promise<RunProgress>;
}

const keyOf = (creativeId: string, engine: string | null) => `${creativeId}\u0000${engine ?? ''}`;

/**
 * A page of results: with `rows` `all`, `offset`/`limit`/`total` count ads in input order
 * (a compare run answers one row per engine of each ad); with `done` or `failed`, they count
 * the matching rows, so every page but the last is full and `total` is what matches.
 */
export function resultsPage(store: Store, runId: string, offset: number, limit: number, rows: ExportRowFilter) {
  const run = store.getRun(runId)!;
  const { columns, valueOf } = inputColumnsOf(store, runId);
  const { total, rows: found } =
    rows === 'all'
      ? { total: store.getBatch(run.batchId)!.adCount, rows: [...store.exportRows(runId, rows, Math.min(limit, 2000), { from: offset, to: offset + limit })] }
      : store.filteredExportRows(runId, rows, offset, limit);
  return { total, offset, next: offset + limit < total ? offset + limit : null, rows: found.map((row) => exportRecord(row, columns, valueOf)) };
}

function rowOf(ad: Ad, result: AdResult): ExportRow {
  return {
    seq: -1,
    ad,
    status: result.status,
    engine: result.engine,
    model: result.model,
    text: result.text,
    description: result.description ?? null,
    blocks: result.blocks,
    durationMs: result.durationMs,
    error: result.error ?? null,
    truncated: result.truncated === true,
  };
}

async function write(out: Writable, text: string): Promise<void> {
  if (out.destroyed) throw new Error('client went away');
  if (!out.write(text)) await Promise.race([once(out, 'drain'), once(out, 'close')]);
}

/**
 * Streams every finished row of the run to `out` as NDJSON, then (while the run is live)
 * each new result, until the run ends or the client goes away.
 */
export async function streamResults(deps: ResultsDeps, runId: string, rows: ExportRowFilter, out: Writable): Promise<number> {
  const { store } = deps;
  const run = store.getRun(runId)!;
  const { columns, valueOf } = inputColumnsOf(store, runId);
  const wanted = (status: string) => status !== 'pending' && (rows === 'all' || status === rows);
  const sent = new Set<string>();
  // Subscribe before reading the store: a result finished meanwhile is then in one or both, never in neither.
  const live: AdResult[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  const unsubscribe = deps.subscribe((event, payload) => {
    if (event === 'run.results' && (payload as { runId: string }).runId === runId) live.push(...(payload as { results: AdResult[] }).results);
    // The run manager sends the last results before the final progress.
    else if (event === 'run.progress' && (payload as RunProgress).runId === runId && !isLiveRunStatus((payload as RunProgress).status)) ended = true;
    else return;
    wake?.();
  });
  const closed = new Promise<void>((resolve) => out.once('close', resolve));
  let count = 0;
  try {
    let buffer = '';
    const flush = async () => {
      if (buffer) await write(out, buffer);
      buffer = '';
    };
    for (const row of store.exportRows(runId, rows)) {
      if (!wanted(row.status)) continue;
      sent.add(keyOf(row.ad.creativeId, row.engine));
      buffer += `${JSON.stringify(exportRecord(row, columns, valueOf))}\n`;
      count++;
      if (buffer.length >= 64 * 1024) await flush();
    }
    await flush();
    if (!isLiveRunStatus((await deps.progress(runId)).status)) ended = true;
    // Live results carry no input columns: the ads are looked up once, by id.
    let ads: Map<string, Ad> | null = null;
    for (;;) {
      while (live.length > 0) {
        const batch = live.splice(0, live.length);
        ads ??= new Map(store.batchAds(run.batchId).map((ad) => [ad.creativeId, ad]));
        for (const result of batch) {
          const key = keyOf(result.creativeId, result.engine);
          if (sent.has(key) || !wanted(result.status)) continue;
          sent.add(key);
          const ad = ads.get(result.creativeId) ?? { creativeId: result.creativeId, imageUrl: '' };
          buffer += `${JSON.stringify(exportRecord(rowOf(ad, result), columns, valueOf))}\n`;
          count++;
          if (buffer.length >= 64 * 1024) await flush();
        }
        await flush();
      }
      if (out.destroyed) break;
      if (ended) {
        // The run's last results may still sit in the run manager's batch when the end is announced: the store has them.
        for (const row of store.exportRows(runId, rows)) {
          if (!wanted(row.status) || sent.has(keyOf(row.ad.creativeId, row.engine))) continue;
          sent.add(keyOf(row.ad.creativeId, row.engine));
          buffer += `${JSON.stringify(exportRecord(row, columns, valueOf))}\n`;
          count++;
          if (buffer.length >= 64 * 1024) await flush();
        }
        await flush();
        break;
      }
      await Promise.race([new Promise<void>((resolve) => (wake = resolve)), closed]);
      wake = null;
    }
    return count;
  } finally {
    unsubscribe();
  }
}
