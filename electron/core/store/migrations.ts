/**
 * Schema migrations, numbered by SQLite's `user_version`: migration N brings the
 * database from version N to N + 1. Append only; never edit a released step.
 */
import type Database from 'better-sqlite3';

export const MIGRATIONS: readonly string[] = [
  // 1: batches, runs, the per-run state of every ad, attempts and results.
  `
  CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    format TEXT NOT NULL,
    columns TEXT NOT NULL,
    field_columns TEXT NOT NULL,
    ad_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE batch_ads (
    batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    creative_id TEXT NOT NULL,
    image_url TEXT NOT NULL,
    ad_text TEXT,
    extra TEXT,
    PRIMARY KEY (batch_id, seq)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX batch_ads_by_creative ON batch_ads (batch_id, creative_id);

  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL REFERENCES batches(id),
    status TEXT NOT NULL,
    policy TEXT NOT NULL,
    config TEXT NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    owner_pid INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX runs_by_batch ON runs (batch_id, created_at);

  -- One row per ad per run: what the results table pages over (sort, filter, search).
  CREATE TABLE run_ads (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    creative_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    engine TEXT,
    duration_ms REAL,
    finished_at INTEGER,
    text TEXT,
    error TEXT,
    PRIMARY KEY (run_id, seq)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX run_ads_by_creative ON run_ads (run_id, creative_id);
  CREATE INDEX run_ads_by_finished ON run_ads (run_id, finished_at);
  CREATE INDEX run_ads_by_duration ON run_ads (run_id, duration_ms);
  CREATE INDEX run_ads_by_status ON run_ads (run_id, status, finished_at);
  CREATE INDEX run_ads_by_engine ON run_ads (run_id, engine, finished_at);

  -- Final results: one per ad, or one per ad and engine in compare runs.
  CREATE TABLE results (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    creative_id TEXT NOT NULL,
    engine_key TEXT NOT NULL,
    status TEXT NOT NULL,
    engine TEXT,
    lane_id TEXT,
    model TEXT,
    text TEXT NOT NULL,
    description TEXT,
    blocks TEXT NOT NULL,
    duration_ms REAL,
    error TEXT,
    finished_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, creative_id, engine_key)
  ) WITHOUT ROWID;

  CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    creative_id TEXT NOT NULL,
    lane_id TEXT NOT NULL,
    engine TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT
  );
  CREATE INDEX attempts_by_ad ON attempts (run_id, creative_id);
  `,
  // 2: in compare runs, each ad's pairwise agreement between the engines that succeeded,
  // written with its last engine result: the compare page and summary read it, never recompute it.
  `
  CREATE TABLE pair_agreement (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    creative_id TEXT NOT NULL,
    engine_a TEXT NOT NULL,
    engine_b TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (run_id, creative_id, engine_a, engine_b)
  ) WITHOUT ROWID;
  `,
  // 3: a result whose generation was cut (repetition guard, output or time budget).
  `ALTER TABLE results ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0;`,
  // 4: a run's working time (ms, paused time excluded) as the orchestrator last noted it; NULL for older runs.
  `ALTER TABLE runs ADD COLUMN worked_ms REAL;`,
  // 5: a failed result that its image failed (AdResult.imageFailed): RunProgress.imageFailed counts them.
  `ALTER TABLE results ADD COLUMN image_failed INTEGER NOT NULL DEFAULT 0;`,
];

/** The step that added pair_agreement (found by content: other steps may be appended around it). */
export const PAIR_AGREEMENT_STEP = MIGRATIONS.findIndex((step) => step.includes('CREATE TABLE pair_agreement'));

/** Bring the database to the newest schema; each step is its own transaction. */
export function migrate(db: Database.Database, migrations: readonly string[] = MIGRATIONS): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > migrations.length) {
    throw new Error(`database schema version ${from} is newer than this app knows (${migrations.length}); update the app`);
  }
  for (let version = from; version < migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
  return { from, to: migrations.length };
}
