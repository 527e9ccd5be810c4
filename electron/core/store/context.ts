/**
 * What each part of the store (batches, runs, results, exports) works on: the open
 * database, the clock for timestamps, and the run write path, which reads flush first
 * so they see every result saved so far.
 */
import type Database from 'better-sqlite3';
import type { SqliteRunStore } from './run-store.js';

export interface StoreContext {
  readonly db: Database.Database;
  readonly now: () => number;
  readonly runStore: SqliteRunStore;
}
