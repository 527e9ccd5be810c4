import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ads, batchInput, openTempStore, removeTempStore } from './__fixtures__/sample-store.js';
import type { Store } from './index.js';

let dir: string;
let store: Store;
beforeEach(async () => {
  ({ dir, store } = await openTempStore());
});
afterEach(() => removeTempStore(dir, store));

describe('batches', () => {
  it('stores a batch once per content and reads the ads back unchanged', () => {
    const batch = store.saveBatch(batchInput);
    expect(store.saveBatch(batchInput).id).toBe(batch.id);
    expect(store.saveBatch({ ...batchInput, ads: ads.slice(1) }).id).not.toBe(batch.id);
    expect(store.batchAds(batch.id)).toEqual(ads);
    expect(store.getBatch(batch.id)).toMatchObject({ columns: batchInput.columns, fieldColumns: batchInput.fieldColumns, adCount: 4, source: 'ads.csv' });
  });
});
