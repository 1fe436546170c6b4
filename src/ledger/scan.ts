/**
 * The first pass of `ledger verify`: read every row once, in sequence order, and rebuild its leaf from the
 * columns alone, comparing it with the leaf hash stored when it was appended — so the first entry that was
 * edited is named, not just "the root differs". Both tables are read once, sequentially (the stored tree first:
 * its leaf hashes for this pass, its interior nodes kept for the comparison with the rebuilt tree), which is
 * twice as fast as joining them row by row.
 */
import type { Db } from './db.js';
import { isEventKind } from './events.js';
import { HASH_SIZE, writeLeafHash } from './merkle.js';
import { leafText, ROW_COLUMNS, rowFromRaw } from './row.js';
import { hashesInRow } from './tree.js';
import type { VerifyProblem } from './verify.js';

export interface ScanResult {
  /** Leaf hashes recomputed from the rows, back to back, in row order. */
  leaves: Buffer;
  count: number;
  /** The first entry whose row does not match what was appended (null when all match). */
  firstBadSeq: number | null;
  tree: StoredTree;
}

/** The stored tree as read: what verify compares with the tree it rebuilds from the rows. */
export interface StoredTree {
  /** The stored leaf hashes by index (up to the span of sequence numbers seen); a missing one is all zeroes. */
  leaves: Buffer;
  /** levels[L], L ≥ 1: the stored interior nodes of the tree of `entries` leaves, by index; missing ones all zeroes. */
  levels: Buffer[];
  /** The first thing wrong with the rows themselves (a leaf missing, a row beyond the entries, a row of the wrong size). */
  problem: string | null;
  /** Rows read with a leaf index below the number of entries. */
  rows: number;
}

const TEXT_COLUMNS = ['time', 'kind', 'run', 'image', 'release', 'status', 'reason', 'body'] as const;
const REQUIRED = new Set<string>(['time', 'kind', 'body']);
/** Positions of the columns in a raw row (ROW_COLUMNS order). */
const AT = Object.fromEntries(ROW_COLUMNS.map((c, i) => [c, i])) as Record<(typeof ROW_COLUMNS)[number], number>;

/**
 * Reads the `tree` table once, in leaf order: row i holds leaf hash i and then the nodes leaf i completes
 * (tree.ts), each put at its place in `levels`. `entries` is the number of event rows, `span` how far sequence
 * numbers reach (past `entries` after a deletion).
 */
function readStoredTree(db: Db, entries: number, span: number): StoredTree {
  const leaves = Buffer.alloc(span * HASH_SIZE);
  const levels: Buffer[] = [Buffer.alloc(0)];
  for (let width = Math.floor(entries / 2); width >= 1; width = Math.floor(width / 2)) levels.push(Buffer.alloc(width * HASH_SIZE));
  let problem: string | null = null;
  let next = 0;
  let rows = 0;
  const note = (message: string) => {
    if (problem === null) problem = message;
  };
  // Each row as hex text, decoded straight into place: a Buffer per row costs more than the decoding.
  const read = db.prepare("SELECT leaf, CASE WHEN typeof(nodes) = 'blob' THEN hex(nodes) END FROM tree ORDER BY leaf").raw(true);
  for (const [leaf, hex] of read.iterate() as IterableIterator<[number, string | null]>) {
    if (!Number.isSafeInteger(leaf) || leaf < 0) continue;
    if (leaf >= entries) note(`The tree has a node (level 0, index ${leaf}) beyond the ledger's ${entries} entries: entries were removed from its end.`);
    else if (leaf !== next) note(`The tree holds no leaf hash for entry ${next} (the next is ${leaf}): entries were deleted or inserted without the tree.`);
    next = leaf + 1;
    const hashes = hashesInRow(leaf);
    const hexChars = 2 * HASH_SIZE;
    if (hex === null || hex.length !== hashes * hexChars) {
      note(`The stored tree row of entry ${leaf} does not hold the ${hashes} hash(es) it should: it was damaged.`);
      if (hex !== null && hex.length >= hexChars && leaf < span) leaves.write(hex, leaf * HASH_SIZE, HASH_SIZE, 'hex');
      continue;
    }
    if (leaf < span) leaves.write(hex, leaf * HASH_SIZE, HASH_SIZE, 'hex');
    if (leaf >= entries) continue;
    rows++;
    for (let level = 1, width = 2; level < hashes; level++, width *= 2) {
      levels[level]!.write(hex.slice(level * hexChars, (level + 1) * hexChars), ((leaf + 1) / width - 1) * HASH_SIZE, HASH_SIZE, 'hex');
    }
  }
  if (rows < entries) note(`The tree holds ${rows} leaf hashes for ${entries} entries: entries were deleted or inserted without the tree.`);
  return { leaves, levels, problem, rows };
}

/** SQL for a digest column as the leaf spells it, and whether it is in airlock's form (NULL, 32 or 64 bytes). */
function spelled(c: string): string {
  return `CASE WHEN typeof(${c}) = 'blob' AND length(${c}) = 32 THEN 'sha256:' || lower(hex(${c})) WHEN typeof(${c}) = 'blob' AND length(${c}) = 64 THEN 'sha512:' || lower(hex(${c})) ELSE ${c} END`;
}
function inForm(c: string): string {
  return `(${c} IS NULL OR (typeof(${c}) = 'blob' AND length(${c}) IN (32, 64)))`;
}

/**
 * Every row in ROW_COLUMNS order, its digests spelled as in the leaf (row.ts, digestText) by SQLite — reading a
 * million of them as Buffers took longer than hashing the leaves — then whether each digest column is in form.
 */
const SCAN = `SELECT ${ROW_COLUMNS.map((c) => (c === 'digest' || c === 'subject' ? spelled(c) : c)).join(', ')}, ${inForm('digest')}, ${inForm('subject')} FROM events ORDER BY seq`;
const DIGEST_IN_FORM = ROW_COLUMNS.length;
const SUBJECT_IN_FORM = ROW_COLUMNS.length + 1;

/**
 * Why a scanned row is not in the form airlock writes, or null. A digest stored as text would spell the same leaf
 * but escape the digest indexes (hiding the entry from `list --digest`), so the form is checked, not just the leaf.
 */
function formProblem(raw: unknown[]): string | null {
  for (const c of TEXT_COLUMNS) {
    const v = raw[AT[c]];
    if (REQUIRED.has(c) ? typeof v !== 'string' : v !== null && typeof v !== 'string') return `has a ${c} that is not text: it was edited outside airlock`;
  }
  for (const [c, at] of [['digest', DIGEST_IN_FORM], ['subject', SUBJECT_IN_FORM]] as const) {
    if (raw[at] !== 1) {
      return `does not match what airlock stores: its ${c} is not held as a digest's 32 or 64 bytes (which also hides the entry from digest queries), so it was edited outside airlock`;
    }
  }
  return null;
}

/**
 * A body must be one JSON object: then the leaf `{"body":<body>,"digest":…}` parses unambiguously, and no
 * choice of body text can shift bytes between columns. (Appends store the canonical form; any other text was
 * written outside airlock and fails its leaf hash anyway.)
 */
function isJsonObjectText(body: string): boolean {
  if (body.charCodeAt(0) !== 0x7b) return false; // '{'
  try {
    const v: unknown = JSON.parse(body);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

export function scanRows(db: Db, problem: (p: VerifyProblem) => void): ScanResult {
  const total = db.prepare('SELECT count(*) FROM events').pluck().get() as number;
  const maxSeq = (db.prepare('SELECT max(seq) FROM events').pluck().get() as number | null) ?? -1;
  // Indexed by sequence number, which after a deletion runs past the row count; bounded against absurd numbers.
  const span = Math.min(Math.max(total, maxSeq + 1), total * 2 + 1024);
  const tree = readStoredTree(db, total, span);
  const stored = tree.leaves;
  const leaves = Buffer.alloc(Math.max(1, total) * HASH_SIZE);
  let count = 0;
  let firstBadSeq: number | null = null;
  let prevSeq = -1;
  const bad = (seq: number, message: string) => {
    if (firstBadSeq === null) firstBadSeq = seq;
    problem({ seq, message });
  };
  const rows = db.prepare(SCAN).raw(true);
  for (const raw of rows.iterate() as IterableIterator<unknown[]>) {
    if (count >= total) break; // rows appeared while reading (impossible in one snapshot; kept as a bound)
    const row = rowFromRaw(raw);
    // Sequence numbers are leaf positions: a gap or a shift moves every later leaf, so report where it starts.
    if (row.seq !== prevSeq + 1) {
      bad(prevSeq + 1, `Entry ${prevSeq + 1} is missing (the next stored entry is ${String(row.seq)}): entries were deleted, renumbered or inserted.`);
    }
    prevSeq = typeof row.seq === 'number' ? row.seq : prevSeq + 1;
    const wrongForm = formProblem(raw);
    if (wrongForm) {
      bad(row.seq, `Entry ${row.seq} ${wrongForm}.`);
      count++; // its leaf stays all zeroes: nothing can match it
      continue;
    }
    if (!isEventKind(row.kind)) bad(row.seq, `Entry ${row.seq} has an unknown kind: it was edited outside airlock.`);
    if (!isJsonObjectText(row.body)) bad(row.seq, `Entry ${row.seq}'s body is not a JSON object: it was edited outside airlock.`);
    const mine = count * HASH_SIZE;
    writeLeafHash(leafText(row), leaves, mine);
    const at = row.seq * HASH_SIZE;
    const inTree = row.seq >= 0 && row.seq < span;
    if (!inTree || leaves.compare(stored, at, at + HASH_SIZE, mine, mine + HASH_SIZE) !== 0) {
      const none = !inTree || stored.subarray(at, at + HASH_SIZE).every((b) => b === 0);
      bad(
        row.seq,
        none
          ? `Entry ${row.seq} has no leaf in the tree: it was inserted outside airlock.`
          : `Entry ${row.seq} does not match the leaf hash recorded when it was appended: it was changed afterwards.`,
      );
    }
    count++;
  }
  return { leaves, count, firstBadSeq, tree };
}
