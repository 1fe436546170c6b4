/**
 * The ledger's schema as numbered migrations, applied through `PRAGMA user_version`. A migration only ever adds:
 * rows already appended are never rewritten, or every checkpoint would stop verifying.
 */
import type Database from 'better-sqlite3';

/** "ARLK": marks the file as an airlock ledger in the SQLite header (offset 68), readable without opening it. */
export const APPLICATION_ID = 0x41524c4b;

export interface Migration {
  version: number;
  up(db: Database.Database): void;
}

const APPEND_ONLY = ['meta', 'events', 'tree_nodes', 'checkpoints'];

const V1 = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per event; seq is also the event's leaf index in the Merkle tree.
CREATE TABLE events (
  seq     INTEGER PRIMARY KEY CHECK (seq >= 0),
  time    TEXT NOT NULL,
  kind    TEXT NOT NULL,
  run     TEXT,
  image   TEXT,
  digest  TEXT,
  subject TEXT,
  release TEXT,
  status  TEXT,
  reason  TEXT,
  body    TEXT NOT NULL
);
-- Every index ends in the rowid (seq), so "newest first" needs no sort. Partial where most rows are NULL.
CREATE INDEX events_kind    ON events(kind);
CREATE INDEX events_time    ON events(time);
CREATE INDEX events_digest  ON events(digest) WHERE digest IS NOT NULL;
CREATE INDEX events_subject ON events(subject) WHERE subject IS NOT NULL;
CREATE INDEX events_image   ON events(image) WHERE image IS NOT NULL;
CREATE INDEX events_release ON events(release) WHERE release IS NOT NULL;
CREATE INDEX events_status  ON events(status) WHERE status IS NOT NULL;

-- Every perfect subtree hash, level 0 being the leaf hashes: append is O(log n) and proofs need no recomputation.
CREATE TABLE tree_nodes (
  level INTEGER NOT NULL,
  idx   INTEGER NOT NULL,
  hash  BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- Signed tree heads, one per size: the whole C2SP signed note as written and published.
CREATE TABLE checkpoints (
  size INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  note TEXT NOT NULL
);
`;

function appendOnlyTriggers(table: string): string {
  return `
CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table}
  BEGIN SELECT RAISE(ABORT, 'the airlock ledger is append-only: ${table} rows cannot be changed'); END;
CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table}
  BEGIN SELECT RAISE(ABORT, 'the airlock ledger is append-only: ${table} rows cannot be deleted'); END;`;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up(db) {
      db.exec(V1 + APPEND_ONLY.map(appendOnlyTriggers).join('\n'));
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
