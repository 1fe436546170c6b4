/**
 * RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification — pure functions over a source of
 * subtree hashes, so the same code serves the SQLite node table, the in-memory tree `ledger verify` rebuilds
 * from the leaves, and tests.
 *
 * Leaf hash = SHA-256(0x00 || leaf); interior = SHA-256(0x01 || left || right); a tree of n > 1 leaves splits at
 * the largest power of two smaller than n. The 0x00/0x01 prefixes keep a leaf from ever passing as an interior
 * node (second-preimage resistance).
 */
import { hash } from 'node:crypto';

export const HASH_SIZE = 32;

// One-shot crypto.hash is ~1.6x faster than createHash().update().digest() for inputs this small, which matters
// when `ledger verify` hashes two million of them. A string leaf is prefixed in the string ('\0' is one UTF-8 byte).
export function leafHash(leaf: Uint8Array | string): Buffer {
  if (typeof leaf === 'string') return hash('sha256', `\0${leaf}`, 'buffer');
  return hash('sha256', Buffer.concat([Buffer.from([0]), leaf]), 'buffer');
}

const scratch = Buffer.alloc(1 + 2 * HASH_SIZE);
scratch[0] = 1;

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) throw new RangeError('a Merkle node joins two 32-byte hashes');
  scratch.set(left, 1);
  scratch.set(right, 1 + HASH_SIZE);
  return hash('sha256', scratch, 'buffer');
}

// The hot loops (append, `ledger verify`) write hashes into buffers they already have: a digest returned as a
// latin1 string (one char per byte) and written in place costs well under half of a new Buffer per hash.

/** Writes the leaf hash of `leaf` (its text) at out[offset, offset + 32). */
export function writeLeafHash(leaf: string, out: Buffer, offset: number): void {
  out.write(hash('sha256', `\0${leaf}`, 'binary'), offset, HASH_SIZE, 'latin1');
}

/** Writes the node hash of the 64 bytes src[at, at + 64) (left child then right) at out[offset, offset + 32). */
export function writePairHash(src: Buffer, at: number, out: Buffer, offset: number): void {
  src.copy(scratch, 1, at, at + 2 * HASH_SIZE);
  out.write(hash('sha256', scratch, 'binary'), offset, HASH_SIZE, 'latin1');
}

/** Writes nodeHash(left, right) at out[offset, offset + 32). */
function writeNodeHash(left: Uint8Array, right: Uint8Array, out: Buffer, offset: number): void {
  scratch.set(left, 1);
  scratch.set(right, 1 + HASH_SIZE);
  out.write(hash('sha256', scratch, 'binary'), offset, HASH_SIZE, 'latin1');
}

/** MTH({}) — the root of the empty tree, SHA-256 of nothing. */
export const EMPTY_ROOT: Buffer = hash('sha256', '', 'buffer');

/** The largest power of two strictly smaller than n (n ≥ 2): RFC 6962's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Where subtree hashes come from. `node(level, index)` is the hash of the perfect subtree covering leaves
 * [index·2^level, (index+1)·2^level); level 0 is the leaf hashes. Only subtrees complete at the current size
 * are ever asked for.
 */
export interface SubtreeSource {
  node(level: number, index: number): Buffer;
}

/** Proofs come from outside: anything that is not a 32-byte hash makes them false, not an exception. */
function allHashes(hs: readonly Uint8Array[]): boolean {
  return hs.every((h) => h instanceof Uint8Array && h.length === HASH_SIZE);
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function log2(n: number): number {
  return 31 - Math.clz32(n);
}

/**
 * MTH(D[start:end]). In every range RFC 6962 recursion produces, `start` is a multiple of a power of two at
 * least as large as the range's left part, so a perfect range is always an aligned stored node.
 */
export function rangeHash(src: SubtreeSource, start: number, end: number): Buffer {
  const n = end - start;
  if (n <= 0) return EMPTY_ROOT;
  if (isPowerOfTwo(n) && start % n === 0) return src.node(log2(n), start / n);
  const k = splitPoint(n);
  return nodeHash(rangeHash(src, start, start + k), rangeHash(src, start + k, end));
}

/** RFC 6962 §2.1.1 PATH(index, D[size]): sibling hashes from the leaf up to the root. */
export function inclusionProof(src: SubtreeSource, index: number, size: number): Buffer[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path: Buffer[] = [];
  let start = 0;
  let end = size;
  const siblings: Buffer[] = [];
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index - start < k) {
      siblings.push(rangeHash(src, start + k, end));
      end = start + k;
    } else {
      siblings.push(rangeHash(src, start, start + k));
      start += k;
    }
  }
  // Collected root-down; a proof lists them leaf-up.
  for (let i = siblings.length - 1; i >= 0; i--) path.push(siblings[i]!);
  return path;
}

/** RFC 6962 §2.1.2 PROOF(m, D[n]): proves the tree of size m is a prefix of the tree of size n. */
export function consistencyProof(src: SubtreeSource, m: number, n: number): Buffer[] {
  if (!(m >= 0 && m <= n)) throw new RangeError(`cannot prove size ${m} against size ${n}`);
  if (m === 0 || m === n) return [];
  const out: Buffer[] = [];
  subproof(src, m, 0, n, true, out);
  return out;
}

function subproof(src: SubtreeSource, m: number, start: number, end: number, whole: boolean, out: Buffer[]): void {
  if (m === end) {
    if (!whole) out.push(rangeHash(src, start, end));
    return;
  }
  const k = splitPoint(end - start);
  if (m - start <= k) {
    subproof(src, m, start, start + k, whole, out);
    out.push(rangeHash(src, start + k, end));
  } else {
    subproof(src, m, start + k, end, false, out);
    out.push(rangeHash(src, start, start + k));
  }
}

/** RFC 9162 §2.1.3.2: does `proof` place `leaf` (a leaf hash) at `index` in the tree of `size` with `root`? */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!(index >= 0 && index < size) || !allHashes([leaf, root, ...proof])) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(r).equals(root);
}

/** RFC 9162 §2.1.4.2: does `proof` show the tree of size m with `oldRoot` is a prefix of the tree of size n with `newRoot`? */
export function verifyConsistency(m: number, n: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!(m >= 0 && m <= n) || !allHashes([oldRoot, newRoot, ...proof])) return false;
  if (m === n) return proof.length === 0 && Buffer.from(oldRoot).equals(newRoot);
  if (m === 0) return proof.length === 0; // the empty tree is a prefix of every tree
  const path = isPowerOfTwo(m) ? [oldRoot, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(fr).equals(oldRoot) && Buffer.from(sr).equals(newRoot);
}

/**
 * The right frontier (compact range [0, size)): for each set bit `level` of size, the hash of the last complete
 * subtree at that level. Appending a leaf is O(log n) and reports every node it completes, which is how the
 * ledger stores interior nodes without ever re-reading the tree.
 */
export class Frontier {
  private constructor(
    private count: number,
    private readonly levels: (Buffer | undefined)[],
  ) {}

  static empty(): Frontier {
    return new Frontier(0, []);
  }

  /** The frontier of a tree of `size` leaves, from its stored perfect subtrees. */
  static at(size: number, src: SubtreeSource): Frontier {
    const levels: (Buffer | undefined)[] = [];
    for (let level = 0; 2 ** level <= size; level++) {
      if (Math.floor(size / 2 ** level) % 2 === 1) levels[level] = src.node(level, Math.floor(size / 2 ** level) - 1);
    }
    return new Frontier(size, levels);
  }

  get size(): number {
    return this.count;
  }

  /** Adds a leaf hash; `onNode(level, index, hash)` sees the leaf (level 0) and each interior node it completes. */
  push(leaf: Buffer, onNode?: (level: number, index: number, hash: Buffer) => void): void {
    let index = this.count;
    let level = 0;
    let cur = leaf;
    onNode?.(0, index, cur);
    while (index % 2 === 1) {
      cur = nodeHash(this.levels[level]!, cur);
      this.levels[level] = undefined;
      level++;
      index = Math.floor(index / 2);
      onNode?.(level, index, cur);
    }
    this.levels[level] = cur;
    this.count++;
  }

  /**
   * Adds the leaf whose text is `leaf` and returns the ledger's tree row for it (tree.ts): its leaf hash followed
   * by the hash of every node it completes, smallest first.
   */
  appendLeaf(leaf: string): Buffer {
    let index = this.count;
    let completes = 0;
    for (let i = index; i % 2 === 1; i = (i - 1) / 2) completes++;
    const row = Buffer.allocUnsafe((1 + completes) * HASH_SIZE);
    writeLeafHash(leaf, row, 0);
    let level = 0;
    while (index % 2 === 1) {
      writeNodeHash(this.levels[level]!, row.subarray(level * HASH_SIZE, (level + 1) * HASH_SIZE), row, (level + 1) * HASH_SIZE);
      this.levels[level] = undefined;
      level++;
      index = (index - 1) / 2;
    }
    this.levels[level] = row.subarray(level * HASH_SIZE, (level + 1) * HASH_SIZE);
    this.count++;
    return row;
  }

  /** MTH of the whole tree: the frontier folded from the smallest subtree (rightmost) to the largest. */
  root(): Buffer {
    let acc: Buffer | undefined;
    for (let level = 0; level < this.levels.length; level++) {
      const h = this.levels[level];
      if (h) acc = acc ? nodeHash(h, acc) : h;
    }
    return acc ?? EMPTY_ROOT;
  }
}
