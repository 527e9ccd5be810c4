/**
 * Imported lists: a batch is named by the hash of its content, so the same list
 * imported twice is the same batch, and its ads keep their input order (`seq`).
 */
import { createHash } from 'node:crypto';
import type { Ad } from '../../../shared/domain.js';
import type { FieldColumns } from '../ingest/columns.js';
import type { StoreContext } from './context.js';
import { parseJson, toAd, type BatchAdRow } from './rows.js';

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

interface BatchRow {
  id: string;
  source: string;
  format: string;
  columns: string;
  field_columns: string;
  ad_count: number;
  created_at: number;
}

/** The content hash that names a batch: the same list imported twice is the same batch. */
function batchIdOf(input: Pick<BatchInput, 'ads' | 'columns'>): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(input.columns));
  for (const ad of input.ads) hash.update(`\n${JSON.stringify([ad.creativeId, ad.imageUrl, ad.adText ?? null, ad.extra ?? null])}`);
  return `b_${hash.digest('hex').slice(0, 20)}`;
}

/** Store an imported list; idempotent: the same ads give the same batch id. */
export function saveBatch({ db, now }: Pick<StoreContext, 'db' | 'now'>, input: BatchInput): BatchInfo {
  const id = batchIdOf(input);
  const existing = getBatch({ db }, id);
  if (existing) return existing;
  const createdAt = now();
  const insertAd = db.prepare('INSERT INTO batch_ads (batch_id, seq, creative_id, image_url, ad_text, extra) VALUES (?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    db
      .prepare('INSERT INTO batches (id, source, format, columns, field_columns, ad_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, input.source, input.format, JSON.stringify(input.columns), JSON.stringify(input.fieldColumns), input.ads.length, createdAt);
    input.ads.forEach((ad, seq) => insertAd.run(id, seq, ad.creativeId, ad.imageUrl, ad.adText ?? null, ad.extra ? JSON.stringify(ad.extra) : null));
  })();
  return { id, source: input.source, format: input.format, columns: input.columns, fieldColumns: input.fieldColumns, adCount: input.ads.length, createdAt };
}

export function getBatch({ db }: Pick<StoreContext, 'db'>, batchId: string): BatchInfo | null {
  const row = db.prepare<[string], BatchRow>('SELECT * FROM batches WHERE id = ?').get(batchId);
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
export function batchAds({ db }: Pick<StoreContext, 'db'>, batchId: string, offset = 0, limit = Number.MAX_SAFE_INTEGER): Ad[] {
  return db
    .prepare<[string, number, number], BatchAdRow>('SELECT seq, creative_id, image_url, ad_text, extra FROM batch_ads WHERE batch_id = ? AND seq >= ? ORDER BY seq LIMIT ?')
    .all(batchId, offset, limit)
    .map(toAd);
}
