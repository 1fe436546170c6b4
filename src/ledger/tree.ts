/**
 * The Merkle tree as stored: every perfect subtree hash in `tree_nodes`. Appends read the right frontier (at most
 * log2(n) rows) inside their write transaction — never a cached copy, since another process may have appended
 * since — and insert the leaf and each node it completes.
 */
import { AirlockError } from '../errors.js';
import type { Db } from './db.js';
import { Frontier, type SubtreeSource } from './merkle.js';

export class TreeStore implements SubtreeSource {
  private readonly getNode;
  private readonly putNode;
  private readonly lastSeq;

  constructor(db: Db) {
    this.getNode = db.prepare<[number, number], Buffer>('SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?').pluck();
    this.putNode = db.prepare<[number, number, Buffer]>('INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)');
    this.lastSeq = db.prepare<[], number>('SELECT seq FROM events ORDER BY seq DESC LIMIT 1').pluck();
  }

  /** The number of events, i.e. the tree size. Call it inside the transaction that uses it. */
  size(): number {
    const last = this.lastSeq.get();
    return last === undefined ? 0 : last + 1;
  }

  node(level: number, index: number): Buffer {
    const h = this.getNode.get(level, index);
    if (!h) {
      throw new AirlockError('LEDGER_INVALID', `The ledger's Merkle tree lacks the node at level ${level}, index ${index}; run airlock ledger verify.`, {
        details: { level, index },
      });
    }
    return h;
  }

  frontier(size: number): Frontier {
    return Frontier.at(size, this);
  }

  insertNode(level: number, index: number, hash: Buffer): void {
    this.putNode.run(level, index, hash);
  }
}
