/**
 * The first pass of `ledger verify`: read every row once, in sequence order, and rebuild its leaf from the
 * columns alone, comparing it with the leaf hash stored when it was appended — so the first entry that was
 * edited is named, not just "the root differs". Both tables are read sequentially (the stored leaf hashes first,
 * 32 bytes each), which is twice as fast as joining them row by row.
 */
import type { Db } from './db.js';
import { isEventKind } from './events.js';
import { HASH_SIZE, leafHash } from './merkle.js';
import { leafText, ROW_COLUMNS, rowFromRaw } from './row.js';
import type { VerifyProblem } from './verify.js';

export interface ScanResult {
  /** Leaf hashes recomputed from the rows, back to back, in row order. */
  leaves: Buffer;
  count: number;
  /** The first entry whose row does not match what was appended (null when all match). */
  firstBadSeq: number | null;
}

const TEXT_COLUMNS = ROW_COLUMNS.filter((c) => c !== 'seq');

/** The stored leaf hashes by index; a missing one is all zeroes (and reported by the caller's comparison). */
function storedLeaves(db: Db, size: number): Buffer {
  const out = Buffer.alloc(size * HASH_SIZE);
  for (const [idx, hash] of db.prepare('SELECT idx, hash FROM tree_nodes WHERE level = 0 ORDER BY idx').raw(true).iterate() as IterableIterator<[number, unknown]>) {
    if (Number.isSafeInteger(idx) && idx >= 0 && idx < size && Buffer.isBuffer(hash) && hash.length === HASH_SIZE) hash.copy(out, idx * HASH_SIZE);
  }
  return out;
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
  const stored = storedLeaves(db, span);
  const leaves = Buffer.alloc(Math.max(1, total) * HASH_SIZE);
  let count = 0;
  let firstBadSeq: number | null = null;
  let prevSeq = -1;
  const bad = (seq: number, message: string) => {
    if (firstBadSeq === null) firstBadSeq = seq;
    problem({ seq, message });
  };
  const rows = db.prepare(`SELECT ${ROW_COLUMNS.join(', ')} FROM events ORDER BY seq`).raw(true);
  for (const raw of rows.iterate() as IterableIterator<unknown[]>) {
    if (count >= total) break; // rows appeared while reading (impossible in one snapshot; kept as a bound)
    const row = rowFromRaw(raw);
    // Sequence numbers are leaf positions: a gap or a shift moves every later leaf, so report where it starts.
    if (row.seq !== prevSeq + 1) {
      bad(prevSeq + 1, `Entry ${prevSeq + 1} is missing (the next stored entry is ${String(row.seq)}): entries were deleted, renumbered or inserted.`);
    }
    prevSeq = typeof row.seq === 'number' ? row.seq : prevSeq + 1;
    const typeError = TEXT_COLUMNS.find((c) => {
      const v = row[c];
      return c === 'time' || c === 'kind' || c === 'body' ? typeof v !== 'string' : v !== null && typeof v !== 'string';
    });
    if (typeError) {
      bad(row.seq, `Entry ${row.seq} has a ${typeError} that is not text: it was edited outside airlock.`);
      count++; // its leaf stays all zeroes: nothing can match it
      continue;
    }
    if (!isEventKind(row.kind)) bad(row.seq, `Entry ${row.seq} has an unknown kind: it was edited outside airlock.`);
    if (!isJsonObjectText(row.body)) bad(row.seq, `Entry ${row.seq}'s body is not a JSON object: it was edited outside airlock.`);
    const hash = leafHash(leafText(row));
    hash.copy(leaves, count * HASH_SIZE);
    const at = row.seq * HASH_SIZE;
    const storedHash = row.seq >= 0 && row.seq < span ? stored.subarray(at, at + HASH_SIZE) : undefined;
    if (!storedHash || !hash.equals(storedHash)) {
      const none = !storedHash || storedHash.every((b) => b === 0);
      bad(
        row.seq,
        none
          ? `Entry ${row.seq} has no leaf in the tree: it was inserted outside airlock.`
          : `Entry ${row.seq} does not match the leaf hash recorded when it was appended: it was changed afterwards.`,
      );
    }
    count++;
  }
  return { leaves, count, firstBadSeq };
}
