/**
 * Rekor v1 log entries as the API returns them (`{uuid: LogEntryAnon}`), parsed defensively: everything here came
 * from the network and is unverified. An entry is only evidence once src/verify has checked its SET or inclusion
 * proof against a trusted log key; this module merely checks shapes, and that each UUID is the RFC 6962 leaf hash of
 * its body (as cosign does), so a server cannot pass one entry off under another's UUID.
 */
import { createHash } from 'node:crypto';
import { AirlockError } from '../errors.js';

export interface RekorInclusionProof {
  checkpoint?: string;
  /** Hex SHA-256 node hashes, leaf side first. */
  hashes: string[];
  logIndex: number;
  /** Hex. */
  rootHash: string;
  treeSize: number;
}

/** One unverified Rekor entry. */
export interface RekorEntry {
  /** 64 hex: the leaf hash of `body`. */
  uuid: string;
  /** Base64 of the canonical entry body. */
  body: string;
  integratedTime: number;
  /** Hex SHA-256 of the log's public key. */
  logID: string;
  logIndex: number;
  signedEntryTimestamp?: string;
  inclusionProof?: RekorInclusionProof;
}

const HEX64 = /^[0-9a-f]{64}$/;

export function rekorLeafHash(body: Buffer): string {
  return createHash('sha256').update(Buffer.from([0])).update(body).digest('hex');
}

function bad(message: string): never {
  throw new AirlockError('REGISTRY_ERROR', message, { details: { check: 'rekor-response' } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toProof(v: unknown): RekorInclusionProof | undefined {
  if (!isObject(v)) return undefined;
  const { checkpoint, hashes, logIndex, rootHash, treeSize } = v;
  if (!Array.isArray(hashes) || !hashes.every((h) => typeof h === 'string' && HEX64.test(h))) return undefined;
  if (typeof logIndex !== 'number' || typeof treeSize !== 'number' || typeof rootHash !== 'string' || !HEX64.test(rootHash)) return undefined;
  return { ...(typeof checkpoint === 'string' ? { checkpoint } : {}), hashes: hashes as string[], logIndex, rootHash, treeSize };
}

/**
 * Parses a `{uuid: entry, …}` object. Entries whose UUID is not the leaf hash of their body are dropped (not
 * fatal: a search may return entries from other shards in another ID form; they are simply unusable here).
 */
export function toRekorEntries(json: unknown): RekorEntry[] {
  if (!isObject(json)) bad('Rekor answered something other than an entry object; check --rekor-url.');
  const out: RekorEntry[] = [];
  for (const [key, v] of Object.entries(json)) {
    if (!isObject(v)) continue;
    const { body, integratedTime, logID, logIndex, verification } = v;
    if (typeof body !== 'string' || typeof integratedTime !== 'number' || typeof logID !== 'string' || typeof logIndex !== 'number') continue;
    const uuid = rekorLeafHash(Buffer.from(body, 'base64'));
    // Rekor keys entries by the 64-hex UUID or the 80-hex entry ID (16-hex tree ID + UUID).
    if (key.toLowerCase().slice(-64) !== uuid) continue;
    const set = isObject(verification) && typeof verification.signedEntryTimestamp === 'string' ? verification.signedEntryTimestamp : undefined;
    const proof = isObject(verification) ? toProof(verification.inclusionProof) : undefined;
    out.push({
      uuid,
      body,
      integratedTime,
      logID: logID.toLowerCase(),
      logIndex,
      ...(set ? { signedEntryTimestamp: set } : {}),
      ...(proof ? { inclusionProof: proof } : {}),
    });
  }
  return out;
}
