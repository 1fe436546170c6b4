/**
 * The local Rekor's log for the test kit (see sigstore.ts): an append-only RFC 6962 tree of canonical entry
 * bodies, persisted as JSON lines so entries survive a restart, with Rekor v1's evidence — a Signed Entry
 * Timestamp (SET) and an inclusion proof with a signed checkpoint — computed when an entry is read, as Rekor does.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createHash, sign, type KeyObject } from 'node:crypto';
import { json } from '@sigstore/core';
import { inclusionPath, leafHash, rootHash } from './merkle.js';
import type { CanonicalEntry } from './rekor-entries.js';

/** Rekor's `LogEntryAnon`, the value of each `{uuid: entry}` it returns. */
export interface RekorLogEntry {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: {
    inclusionProof: { checkpoint: string; hashes: string[]; logIndex: number; rootHash: string; treeSize: number };
    signedEntryTimestamp: string;
  };
}

interface StoredEntry {
  body: string;
  integratedTime: number;
  indexKeys: string[];
}

export interface TransparencyLogOptions {
  privateKey: KeyObject;
  publicKeySpki: Buffer;
  /** Checkpoint signer name, e.g. `rekor.local`: verifiers match it against the trusted root's tlog baseUrl. */
  origin: string;
  treeId: string;
  /** JSON-lines file holding the entries; created on first append. */
  entriesFile: string;
  clock: () => Date;
  /**
   * Log index of the tree's first leaf. Sharded Rekor numbers entries across shards, so an entry's logIndex and
   * its inclusion proof's (tree-local) logIndex differ, and verifiers must use each in its place. Never 0: some
   * cosign 2.x verifiers take a zero logIndex (omitted in protobuf JSON) for a missing field.
   */
  firstLogIndex: number;
}

/** The same entry (same leaf) is already in the log: Rekor answers 409 with its location. */
export class EntryExistsError extends Error {
  constructor(readonly uuid: string) {
    super(`entry ${uuid} already exists`);
  }
}

export class TransparencyLog {
  readonly logId: Buffer;
  private readonly entries: StoredEntry[] = [];
  private readonly leaves: Buffer[] = [];
  private readonly byUuid = new Map<string, number>();
  private readonly index = new Map<string, number[]>();

  constructor(private readonly o: TransparencyLogOptions) {
    this.logId = createHash('sha256').update(o.publicKeySpki).digest();
    if (existsSync(o.entriesFile)) {
      for (const line of readFileSync(o.entriesFile, 'utf8').split('\n')) {
        if (line.trim()) this.remember(JSON.parse(line) as StoredEntry);
      }
    }
  }

  get size(): number {
    return this.entries.length;
  }

  private remember(e: StoredEntry): number {
    const i = this.entries.length;
    const leaf = leafHash(Buffer.from(e.body, 'base64'));
    this.entries.push(e);
    this.leaves.push(leaf);
    this.byUuid.set(leaf.toString('hex'), i);
    for (const key of e.indexKeys) {
      const k = key.toLowerCase();
      this.index.set(k, [...(this.index.get(k) ?? []), i]);
    }
    return i;
  }

  /** Appends a canonical entry; its UUID is the RFC 6962 leaf hash of the body (cosign checks exactly that). */
  append(entry: CanonicalEntry): { uuid: string; entry: RekorLogEntry } {
    const uuid = leafHash(entry.body).toString('hex');
    if (this.byUuid.has(uuid)) throw new EntryExistsError(uuid);
    const stored: StoredEntry = {
      body: entry.body.toString('base64'),
      integratedTime: Math.floor(this.o.clock().getTime() / 1000),
      indexKeys: entry.indexKeys,
    };
    appendFileSync(this.o.entriesFile, `${JSON.stringify(stored)}\n`);
    const i = this.remember(stored);
    return { uuid, entry: this.entryAt(i) };
  }

  getByUuid(uuid: string): RekorLogEntry | undefined {
    // Rekor also accepts the 80-hex entry ID (16-hex tree ID + UUID).
    const i = this.byUuid.get(uuid.toLowerCase().slice(-64));
    return i === undefined ? undefined : this.entryAt(i);
  }

  getByIndex(logIndex: number): { uuid: string; entry: RekorLogEntry } | undefined {
    const i = logIndex - this.o.firstLogIndex;
    if (!Number.isInteger(i) || i < 0 || i >= this.entries.length) return undefined;
    return { uuid: this.leaves[i]!.toString('hex'), entry: this.entryAt(i) };
  }

  /** UUIDs of the entries indexed under a key (`sha256:<hex>`, a SAN, …), oldest first. */
  search(key: string): string[] {
    return (this.index.get(key.toLowerCase()) ?? []).map((i) => this.leaves[i]!.toString('hex'));
  }

  uuidOf(body: Buffer): string {
    return leafHash(body).toString('hex');
  }

  publicKeyPem(): string {
    const b64 = this.o.publicKeySpki.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
    return `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n`;
  }

  /** Rekor's `GET /api/v1/log` answer. */
  info(): { rootHash: string; treeSize: number; signedTreeHead: string; treeID: string; inactiveShards: [] } {
    const size = this.entries.length;
    const root = rootHash(this.leaves);
    return { rootHash: root.toString('hex'), treeSize: size, signedTreeHead: this.checkpoint(size, root), treeID: this.o.treeId, inactiveShards: [] };
  }

  private entryAt(i: number): RekorLogEntry {
    const e = this.entries[i]!;
    const logID = this.logId.toString('hex');
    // The SET signs the canonical JSON of exactly these four fields (FACTS §3: the cosign bundle's Payload).
    const logIndex = this.o.firstLogIndex + i;
    const setPayload = { body: e.body, integratedTime: e.integratedTime, logID, logIndex };
    const set = sign('sha256', Buffer.from(json.canonicalize(setPayload)), this.o.privateKey);
    const treeSize = this.entries.length;
    const root = rootHash(this.leaves);
    return {
      body: e.body,
      integratedTime: e.integratedTime,
      logID,
      logIndex,
      verification: {
        inclusionProof: {
          checkpoint: this.checkpoint(treeSize, root),
          hashes: inclusionPath(i, this.leaves).map((h) => h.toString('hex')),
          logIndex: i,
          rootHash: root.toString('hex'),
          treeSize,
        },
        signedEntryTimestamp: set.toString('base64'),
      },
    };
  }

  /** A signed note in Rekor v1's checkpoint format: origin line, size, root, timestamp; then `— name hint+sig`. */
  private checkpoint(size: number, root: Buffer): string {
    const ns = BigInt(this.o.clock().getTime()) * 1_000_000n;
    const note = `${this.o.origin} - ${this.o.treeId}\n${size}\n${root.toString('base64')}\nTimestamp: ${ns}\n`;
    const sig = sign('sha256', Buffer.from(note), this.o.privateKey);
    const hinted = Buffer.concat([this.logId.subarray(0, 4), sig]);
    return `${note}\n\u2014 ${this.o.origin} ${hinted.toString('base64')}\n`;
  }
}
