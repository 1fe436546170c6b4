/**
 * The Merkle tree as stored: one `tree` row per leaf, holding the leaf hash and then the hash of every perfect
 * subtree that leaf completes (schema.ts, version 2). Appends read the right frontier (at most log2(n) rows)
 * inside their write transaction — never a cached copy, since another process may have appended since — and
 * insert one row per leaf.
 */
import { AirlockError } from '../errors.js';
import type { Db } from './db.js';
import { Frontier, HASH_SIZE, type SubtreeSource } from './merkle.js';

/** The leaf whose row holds the node at (level, index): the last leaf under it. */
export function rowOfNode(level: number, index: number): number {
  return (index + 1) * 2 ** level - 1;
}

/** How many hashes leaf `leaf`'s row holds: the leaf's, and one per trailing 1 bit of its index. */
export function hashesInRow(leaf: number): number {
  let n = 1;
  for (let i = leaf; i % 2 === 1; i = (i - 1) / 2) n++;
  return n;
}

export class TreeStore implements SubtreeSource {
  private readonly getRow;
  private readonly putRow;
  private readonly lastSeq;

  constructor(db: Db) {
    this.getRow = db.prepare<[number], Buffer>('SELECT nodes FROM tree WHERE leaf = ?').pluck();
    this.putRow = db.prepare<[number, Buffer]>('INSERT INTO tree (leaf, nodes) VALUES (?, ?)');
    this.lastSeq = db.prepare<[], number>('SELECT seq FROM events ORDER BY seq DESC LIMIT 1').pluck();
  }

  /** The number of events, i.e. the tree size. Call it inside the transaction that uses it. */
  size(): number {
    const last = this.lastSeq.get();
    return last === undefined ? 0 : last + 1;
  }

  node(level: number, index: number): Buffer {
    const row = this.getRow.get(rowOfNode(level, index));
    const at = level * HASH_SIZE;
    if (!Buffer.isBuffer(row) || row.length < at + HASH_SIZE) {
      throw new AirlockError('LEDGER_INVALID', `The ledger's Merkle tree lacks the node at level ${level}, index ${index}; run airlock ledger verify.`, {
        details: { level, index },
      });
    }
    return row.subarray(at, at + HASH_SIZE);
  }

  frontier(size: number): Frontier {
    return Frontier.at(size, this);
  }

  /** Stores leaf `leaf`'s row: its hash and the nodes it completes, as Frontier.appendLeaf returns them. */
  insertRow(leaf: number, nodes: Buffer): void {
    this.putRow.run(leaf, nodes);
  }
}
