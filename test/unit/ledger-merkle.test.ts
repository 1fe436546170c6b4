import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  EMPTY_ROOT,
  Frontier,
  inclusionProof,
  leafHash,
  nodeHash,
  rangeHash,
  verifyConsistency,
  verifyInclusion,
  writeLeafHash,
  type SubtreeSource,
} from '../../src/ledger/merkle.js';
import { hashesInRow, rowOfNode } from '../../src/ledger/tree.js';
import { MemoryTree } from '../../src/ledger/memtree.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');

// RFC 6962 reference vectors as published with the Certificate Transparency / transparency-dev test suites (data).
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** RFC 6962 §2.1 MTH, written directly from the definition: the reference everything else is checked against. */
function referenceRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

function memTree(hashes: Buffer[]): MemoryTree {
  return new MemoryTree(Buffer.concat(hashes.length ? hashes : [Buffer.alloc(32)]), hashes.length);
}

const many = Array.from({ length: 70 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));

describe('RFC 6962 Merkle tree', () => {
  it('matches the published roots for sizes 0..8', () => {
    const hashes = CT_LEAVES.map((l) => leafHash(l));
    expect(hex(EMPTY_ROOT)).toBe(CT_ROOTS[0]);
    for (let n = 0; n <= 8; n++) {
      expect(hex(rangeHash(memTree(hashes.slice(0, n)), 0, n)), `size ${n}`).toBe(CT_ROOTS[n]);
      const f = Frontier.empty();
      for (const h of hashes.slice(0, n)) f.push(h);
      expect(hex(f.root()), `frontier size ${n}`).toBe(CT_ROOTS[n]);
    }
  });

  it('produces the published inclusion and consistency proofs', () => {
    const src = memTree(CT_LEAVES.map((l) => leafHash(l)));
    expect(inclusionProof(src, 0, 8).map(hex)).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(inclusionProof(src, 5, 8).map(hex)).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(consistencyProof(src, 2, 5).map(hex)).toEqual([
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ]);
  });

  it('agrees with the reference MTH at every size, from memory and from the frontier', () => {
    const f = Frontier.empty();
    const stored = new Map<string, Buffer>();
    const src: SubtreeSource = { node: (l, i) => stored.get(`${l}/${i}`)! };
    for (let n = 1; n <= many.length; n++) {
      f.push(many[n - 1]!, (l, i, h) => stored.set(`${l}/${i}`, h));
      const want = hex(referenceRoot(many.slice(0, n)));
      expect(hex(f.root()), `size ${n}`).toBe(want);
      expect(hex(rangeHash(src, 0, n))).toBe(want);
      expect(hex(Frontier.at(n, src).root())).toBe(want);
    }
  });

  it("appendLeaf gives the ledger's tree rows: the leaf hash, then every node that leaf completes", () => {
    const texts = Array.from({ length: 70 }, (_, i) => `{"entry":${i},"text":"é ✓ \u0000"}`);
    const byPush = Frontier.empty();
    const byRow = Frontier.empty();
    for (let n = 1; n <= texts.length; n++) {
      const want: Buffer[] = [];
      byPush.push(leafHash(texts[n - 1]!), (_l, _i, h) => want.push(h));
      const row = byRow.appendLeaf(texts[n - 1]!);
      expect(hex(row), `leaf ${n - 1}`).toBe(hex(Buffer.concat(want)));
      expect(row.length).toBe(32 * hashesInRow(n - 1));
      expect(hex(byRow.root())).toBe(hex(byPush.root()));
      const out = Buffer.alloc(40);
      writeLeafHash(texts[n - 1]!, out, 8);
      expect(hex(out.subarray(8))).toBe(hex(leafHash(texts[n - 1]!)));
    }
    // The row of leaf i holds node (L, j) when i = (j + 1)·2^L − 1.
    expect([0, 1, 2, 3, 6, 7, 15, 16].map(hashesInRow)).toEqual([1, 2, 1, 3, 1, 4, 5, 1]);
    expect(rowOfNode(3, 1)).toBe(15);
  });

  it('every inclusion proof verifies, and a wrong index, leaf or path does not', () => {
    for (let n = 1; n <= 40; n++) {
      const src = memTree(many.slice(0, n));
      const root = referenceRoot(many.slice(0, n));
      for (let i = 0; i < n; i++) {
        const p = inclusionProof(src, i, n);
        expect(verifyInclusion(many[i]!, i, n, p, root), `${i}/${n}`).toBe(true);
        if (n > 1) expect(verifyInclusion(many[i]!, (i + 1) % n, n, p, root)).toBe(false);
        expect(verifyInclusion(many[(i + 1) % 70]!, i, n, p, root)).toBe(false);
        expect(verifyInclusion(many[i]!, i, n, [...p, many[0]!], root)).toBe(false);
        if (p.length > 0) {
          const bad = p.map((h) => Buffer.from(h));
          bad[0]![0]! ^= 1;
          expect(verifyInclusion(many[i]!, i, n, bad, root)).toBe(false);
          expect(verifyInclusion(many[i]!, i, n, p.slice(1), root)).toBe(false);
        }
      }
    }
  });

  it('every consistency proof verifies, and a tampered one or a rewritten prefix does not', () => {
    for (let n = 1; n <= 40; n++) {
      const src = memTree(many.slice(0, n));
      const newRoot = referenceRoot(many.slice(0, n));
      for (let m = 0; m <= n; m++) {
        const oldRoot = referenceRoot(many.slice(0, m));
        const p = consistencyProof(src, m, n);
        expect(verifyConsistency(m, n, oldRoot, newRoot, p), `${m}->${n}`).toBe(true);
        if (m > 0 && m < n) {
          const other = referenceRoot([many[69]!, ...many.slice(1, m)]);
          expect(verifyConsistency(m, n, other, newRoot, p), `forged prefix ${m}->${n}`).toBe(false);
          const bad = p.map((h) => Buffer.from(h));
          bad[bad.length - 1]![5]! ^= 0x80;
          expect(verifyConsistency(m, n, oldRoot, newRoot, bad)).toBe(false);
        }
      }
    }
  });
});
