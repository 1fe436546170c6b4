/**
 * The ledger's schema as numbered migrations, applied through `PRAGMA user_version`. A migration never changes
 * what a row says: every leaf computed before it is computed the same after it, or every checkpoint would stop
 * verifying. (Migration 2 changes how two columns and the tree are *stored*, not what they hold.)
 */
import type Database from 'better-sqlite3';
import { AirlockError } from '../errors.js';

/** "ARLK": marks the file as an airlock ledger in the SQLite header (offset 68), readable without opening it. */
export const APPLICATION_ID = 0x41524c4b;

export interface Migration {
  version: number;
  up(db: Database.Database): void;
}

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

/**
 * Version 2, for the append rate and the file size at a million events:
 *  - the digest and subject indexes are partitioned by ranges of sequence numbers (below);
 *  - `digest` and `subject` hold the digest's bytes (32 or 64) instead of its 71- or 135-character text: the table
 *    and the two digest indexes are smaller (~11% of the file at a million events). The leaf still spells them
 *    `sha256:<hex>` (row.ts), so every leaf is unchanged.
 *  - The tree is one row per leaf: the leaf hash followed by the hash of every perfect subtree that leaf
 *    completes (as many as the trailing 1 bits of its index), instead of one (level, idx) row per node. One
 *    integer-keyed insert per append instead of two, and the same nodes for proofs.
 */
const V2_TABLES = `
CREATE TABLE events_v2 (
  seq     INTEGER PRIMARY KEY CHECK (seq >= 0),
  time    TEXT NOT NULL,
  kind    TEXT NOT NULL,
  run     TEXT,
  image   TEXT,
  digest  BLOB CHECK (digest IS NULL OR (typeof(digest) = 'blob' AND length(digest) IN (32, 64))),
  subject BLOB CHECK (subject IS NULL OR (typeof(subject) = 'blob' AND length(subject) IN (32, 64))),
  release TEXT,
  status  TEXT,
  reason  TEXT,
  body    TEXT NOT NULL
);

-- Row i: leaf hash i, then the hashes of the perfect subtrees leaf i completes, smallest first: the node at level
-- L and index j is bytes [32L, 32L+32) of row (j+1)*2^L - 1. Appends are O(log n); proofs need no recomputation.
CREATE TABLE tree (
  leaf  INTEGER PRIMARY KEY CHECK (leaf >= 0),
  nodes BLOB NOT NULL
);
`;

/**
 * The digest and subject indexes are keyed first by the entry's range of 2^15 sequence numbers, then by the
 * digest. A digest is a random key: in one index over the whole ledger, each append lands on a random page, so
 * a batch of a thousand events dirtied (and every commit wrote, twice with the WAL checkpoint) as many pages as it
 * had digests, ~13 KiB per event at a million. Keyed by range first, a batch only touches the pages of the
 * current range, a few dozen. A lookup probes each range instead (query.ts, DIGEST_RANGES): one index seek per
 * 32,768 entries, ~0.5 ms at a million.
 */
export const DIGEST_RANGE_BITS = 15;

const V2_INDEXES = `
-- Every index ends in the rowid (seq), so "newest first" needs no sort. Partial where most rows are NULL.
CREATE INDEX events_kind    ON events(kind);
CREATE INDEX events_time    ON events(time);
CREATE INDEX events_digest  ON events(seq >> ${DIGEST_RANGE_BITS}, digest) WHERE digest IS NOT NULL;
CREATE INDEX events_subject ON events(seq >> ${DIGEST_RANGE_BITS}, subject) WHERE subject IS NOT NULL;
CREATE INDEX events_image   ON events(image) WHERE image IS NOT NULL;
CREATE INDEX events_release ON events(release) WHERE release IS NOT NULL;
CREATE INDEX events_status  ON events(status) WHERE status IS NOT NULL;
`;

/**
 * SQL for the digest lookups: a `ranges` CTE listing every range of sequence numbers (newest first), to put in
 * front of a statement, and the condition "the entry's digest or subject is ?" that probes the two indexes in
 * each range. Written so the planner can do nothing else (an OR of the two would scan them). At most 2^16 ranges
 * (2^31 entries, far beyond any real ledger): a sequence number forged into the billions cannot make a lookup
 * run for ever.
 */
export const DIGEST_RANGES =
  `WITH RECURSIVE ranges(r, low) AS (SELECT m >> ${DIGEST_RANGE_BITS}, max(0, (m >> ${DIGEST_RANGE_BITS}) - 65535) FROM (SELECT max(seq) AS m FROM events) ` +
  'UNION ALL SELECT r - 1, low FROM ranges WHERE r > low) ';
const IN_RANGE = `(seq >> ${DIGEST_RANGE_BITS}) IN (SELECT r FROM ranges)`;
export const DIGEST_IN_RANGE = `${IN_RANGE} AND digest = ?`;
export const ABOUT_DIGEST = `seq IN (SELECT seq FROM events WHERE ${IN_RANGE} AND digest = ? UNION ALL SELECT seq FROM events WHERE ${IN_RANGE} AND subject = ?)`;

/** SQL: is the text column `c` a digest as airlock writes it (lowercase hex, sha256 or sha512)? */
function textDigest(c: string): string {
  return `(typeof(${c}) = 'text' AND ((length(${c}) = 71 AND ${c} GLOB 'sha256:*') OR (length(${c}) = 135 AND ${c} GLOB 'sha512:*')) AND NOT substr(${c}, 8) GLOB '*[^0-9a-f]*')`;
}

function migrateToV2(db: Database.Database): void {
  // A digest that is not in the form airlock wrote would not survive the conversion unchanged: refuse, and leave
  // the ledger as it is for `ledger verify` to report.
  const odd = db
    .prepare(`SELECT seq FROM events WHERE NOT ((digest IS NULL OR ${textDigest('digest')}) AND (subject IS NULL OR ${textDigest('subject')})) ORDER BY seq LIMIT 1`)
    .pluck()
    .get() as number | undefined;
  if (odd !== undefined) {
    throw new AirlockError('LEDGER_INVALID', `The ledger cannot be migrated: entry ${odd} holds a digest airlock did not write; run airlock ledger verify.`);
  }
  db.exec(V2_TABLES);
  db.exec(`INSERT INTO events_v2 (seq, time, kind, run, image, digest, subject, release, status, reason, body)
    SELECT seq, time, kind, run, image, unhex(substr(digest, 8)), unhex(substr(subject, 8)), release, status, reason, body FROM events ORDER BY seq`);
  copyTreeToV2(db);
  db.exec(`DROP TABLE events; ALTER TABLE events_v2 RENAME TO events; DROP TABLE tree_nodes;${V2_INDEXES}${['events', 'tree'].map(appendOnlyTriggers).join('\n')}`);
}

/** The stored nodes, moved as they are (never recomputed: a damaged tree must stay visible to verify). */
function copyTreeToV2(db: Database.Database): void {
  const HASH = 32;
  const leaves = db.prepare('SELECT count(*) FROM tree_nodes WHERE level = 0').pluck().get() as number;
  const events = db.prepare('SELECT count(*) FROM events').pluck().get() as number;
  const fail = (why: string) => new AirlockError('LEDGER_INVALID', `The ledger cannot be migrated: its Merkle tree ${why}; run airlock ledger verify.`);
  if (leaves !== events) throw fail(`holds ${leaves} leaf hashes for ${events} entries`);
  // Read level by level (a connection cannot write while it iterates), then write one row per leaf.
  const levels: Buffer[] = [];
  const read = db.prepare<[number], [number, unknown]>('SELECT idx, hash FROM tree_nodes WHERE level = ? ORDER BY idx').raw(true);
  for (let level = 0, width = leaves; width >= 1; level++, width = Math.floor(width / 2)) {
    const buf = Buffer.alloc(width * HASH);
    let next = 0;
    for (const [idx, hash] of read.iterate(level)) {
      if (idx !== next || !Buffer.isBuffer(hash) || hash.length !== HASH) break;
      hash.copy(buf, idx * HASH);
      next++;
    }
    if (next !== width) throw fail(`lacks or misplaces the node at level ${level}, index ${next}`);
    levels.push(buf);
  }
  const stored = db.prepare('SELECT count(*) FROM tree_nodes').pluck().get() as number;
  const expected = levels.reduce((n, l) => n + l.length / HASH, 0);
  if (stored !== expected) throw fail(`holds ${stored} nodes where ${events} entries make ${expected}`);
  const put = db.prepare<[number, Buffer]>('INSERT INTO tree (leaf, nodes) VALUES (?, ?)');
  for (let leaf = 0; leaf < leaves; leaf++) {
    const parts = [levels[0]!.subarray(leaf * HASH, (leaf + 1) * HASH)];
    for (let level = 1, span = 2; (leaf + 1) % span === 0; level++, span *= 2) {
      const j = (leaf + 1) / span - 1;
      parts.push(levels[level]!.subarray(j * HASH, (j + 1) * HASH));
    }
    put.run(leaf, Buffer.concat(parts));
  }
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up(db) {
      db.exec(V1 + ['meta', 'events', 'tree_nodes', 'checkpoints'].map(appendOnlyTriggers).join('\n'));
    },
  },
  { version: 2, up: migrateToV2 },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
