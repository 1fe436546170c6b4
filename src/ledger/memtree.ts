/**
 * The tree `ledger verify` rebuilds from the leaves alone: one Buffer per level, 32 bytes a node (about 64 MB at
 * a million events). Nothing in it comes from the stored tree, so it is the reference the stored nodes and the
 * checkpoints are compared against.
 */
import { HASH_SIZE, writePairHash, type SubtreeSource } from './merkle.js';

export class MemoryTree implements SubtreeSource {
  private readonly levels: Buffer[];

  /** `leaves` holds `count` leaf hashes back to back. */
  constructor(leaves: Buffer, count: number) {
    this.levels = [leaves.subarray(0, count * HASH_SIZE)];
    for (let width = count; width >= 2; width = Math.floor(width / 2)) {
      const below = this.levels[this.levels.length - 1]!;
      const pairs = Math.floor(width / 2);
      const level = Buffer.allocUnsafe(pairs * HASH_SIZE);
      for (let i = 0; i < pairs; i++) writePairHash(below, 2 * i * HASH_SIZE, level, i * HASH_SIZE);
      this.levels.push(level);
    }
  }

  /** Number of complete nodes at `level`. */
  width(level: number): number {
    return (this.levels[level]?.length ?? 0) / HASH_SIZE;
  }

  /** All of `level`'s nodes, back to back. */
  level(level: number): Buffer {
    return this.levels[level] ?? Buffer.alloc(0);
  }

  get height(): number {
    return this.levels.length;
  }

  node(level: number, index: number): Buffer {
    const l = this.levels[level];
    if (!l || (index + 1) * HASH_SIZE > l.length) throw new RangeError(`no node at level ${level}, index ${index}`);
    return l.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  }
}
