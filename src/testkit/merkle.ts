/**
 * RFC 6962 Merkle tree hashing and inclusion proofs for the local Rekor of the test kit (see sigstore.ts). A real
 * tree rather than @sigstore/mock's one-leaf-per-entry proofs, so log indexes are positions and proofs from the
 * kit look like (and verify like) proofs from public-good Rekor.
 */
import { createHash } from 'node:crypto';

export function leafHash(data: Buffer): Buffer {
  return createHash('sha256').update(Buffer.from([0x00])).update(data).digest();
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(Buffer.from([0x01])).update(left).update(right).digest();
}

/** The largest power of two strictly smaller than n (n ≥ 2): where RFC 6962 splits a tree. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes. */
export function rootHash(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0]!;
  const k = splitPoint(leaves.length);
  return nodeHash(rootHash(leaves.slice(0, k)), rootHash(leaves.slice(k)));
}

/** PATH(m, D[n]): the audit path of leaf m in the tree of the given leaf hashes, leaf-side first. */
export function inclusionPath(m: number, leaves: readonly Buffer[]): Buffer[] {
  if (m < 0 || m >= leaves.length) throw new RangeError(`leaf ${m} outside a tree of ${leaves.length}`);
  if (leaves.length === 1) return [];
  const k = splitPoint(leaves.length);
  if (m < k) return [...inclusionPath(m, leaves.slice(0, k)), rootHash(leaves.slice(k))];
  return [...inclusionPath(m - k, leaves.slice(k)), rootHash(leaves.slice(0, k))];
}
