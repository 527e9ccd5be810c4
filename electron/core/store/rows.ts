/**
 * Row shapes that more than one part of the store reads, and their mapping to domain
 * types: a batch's ad (batches, runs, results, exports) and a final result (results, exports).
 */
import type { Ad } from '../../../shared/domain.js';

/** A JSON column read back; a value that does not parse gives `fallback` rather than failing the read. */
export function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export interface BatchAdRow {
  seq: number;
  creative_id: string;
  image_url: string;
  ad_text: string | null;
  extra: string | null;
}

export interface ResultDbRow {
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
  image_failed: number;
}

export function toAd(row: BatchAdRow): Ad {
  const ad: Ad = { creativeId: row.creative_id, imageUrl: row.image_url };
  if (row.ad_text !== null) ad.adText = row.ad_text;
  const extra = parseJson<Record<string, string> | null>(row.extra, null);
  if (extra) ad.extra = extra;
  return ad;
}
