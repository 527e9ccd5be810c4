/**
 * For the store's tests: a fresh store in a temp directory, a sample batch of four ads
 * (one with LIKE wildcards in its id, for search), results to save, and a clock that
 * ticks once per call so timestamps order the way the calls did.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ad, AdResult } from '../../../../shared/domain.js';
import { openStore, type Store } from '../index.js';

let clock = 1_000;
export const now = (): number => clock++;

export const ads: Ad[] = [
  { creativeId: 'a1', imageUrl: 'https://x.test/1.png', adText: 'Sale', extra: { campaign: 'spring' } },
  { creativeId: 'a2', imageUrl: 'https://x.test/2.png', extra: { campaign: 'summer' } },
  { creativeId: 'a3', imageUrl: 'https://x.test/3.png', extra: { campaign: '' } },
  { creativeId: 'a4_%', imageUrl: 'https://x.test/4.png', extra: { campaign: 'fall' } },
];
export const batchInput = { source: 'ads.csv', format: 'csv', columns: ['creative_id', 'image_url', 'ad_text', 'campaign'], fieldColumns: { id: 'creative_id', url: 'image_url', text: 'ad_text' }, ads };

export function result(creativeId: string, overrides: Partial<AdResult> = {}): AdResult {
  return { runId: '', creativeId, status: 'done', engine: 'embedded', laneId: 'embedded', model: 'ppocr', text: `text of ${creativeId}`, blocks: [{ text: 'x', box: [1, 2, 3, 4] }], durationMs: 100, attempts: [], ...overrides };
}

/** A new store at `<dir>/db/pv.db` in a new temp directory; tests reopen that path. */
export async function openTempStore(): Promise<{ dir: string; store: Store }> {
  const dir = await mkdtemp(join(tmpdir(), 'pv-store-'));
  return { dir, store: openStore(join(dir, 'db', 'pv.db'), { now }) };
}

export async function removeTempStore(dir: string, store: Store): Promise<void> {
  store.close();
  await rm(dir, { recursive: true, force: true });
}
