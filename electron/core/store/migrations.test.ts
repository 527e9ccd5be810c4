import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTempStore, removeTempStore } from './__fixtures__/sample-store.js';
import type { Store } from './index.js';
import { MIGRATIONS, migrate } from './migrations.js';

let dir: string;
let store: Store;
beforeEach(async () => {
  ({ dir, store } = await openTempStore());
});
afterEach(() => removeTempStore(dir, store));

describe('migrations', () => {
  it('creates the schema once and refuses a database from a newer app', () => {
    expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(migrate(store.db)).toEqual({ from: MIGRATIONS.length, to: MIGRATIONS.length });
    const db = new Database(':memory:');
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    expect(() => migrate(db)).toThrow(/newer than this app/);
    db.close();
  });

  it('applies only the missing steps, in order', () => {
    const db = new Database(':memory:');
    const steps = ['CREATE TABLE one (x)', 'CREATE TABLE two (x)'];
    expect(migrate(db, steps.slice(0, 1))).toEqual({ from: 0, to: 1 });
    expect(migrate(db, steps)).toEqual({ from: 1, to: 2 });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all()).toEqual(['one', 'two']);
    db.close();
  });
});
