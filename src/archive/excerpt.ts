/**
 * The ledger excerpt an archive carries: the sender's events about one release (its release-discovered event and
 * every event whose digest or subject is a digest the archive holds), each with its RFC 6962 inclusion proof
 * against the sender's latest signed checkpoint, and that checkpoint. The receiver checks every proof against the
 * checkpoint's root; the checkpoint's signature only means something against a key the receiver got from the
 * sender out of band (`--ledger-public-key`) — without it, the excerpt is recorded as unauthenticated.
 */
import { AirlockError } from '../errors.js';
import { checkSignature, parseSignedCheckpoint } from '../ledger/checkpoint.js';
import type { LedgerEntry } from '../ledger/events.js';
import { formatVerifierKey, parseVerifierKey } from '../ledger/keys.js';
import type { Ledger } from '../ledger/ledger.js';
import { leafHash, verifyInclusion } from '../ledger/merkle.js';

export const EXCERPT_FORMAT = 'airlock.ledger-excerpt/v1';
const MAX_ENTRIES = 100_000;

export interface ExcerptEntry {
  index: number;
  /** The leaf: canonical JSON of the row (what the Merkle tree hashes). */
  leaf: string;
  auditPath: string[];
}

export interface LedgerExcerpt {
  format: typeof EXCERPT_FORMAT;
  release: string;
  origin: string;
  /** The sender's verifier key as its ledger records it: informational only, never trusted by the receiver. */
  verifierKey: string;
  treeSize: number;
  checkpoint: string;
  entries: ExcerptEntry[];
  /** Events of this release newer than the checkpoint, which it cannot prove (counted, not carried). */
  unproven: number;
}

/** The sender's side: the release's events with their proofs against the latest checkpoint. */
export function buildExcerpt(ledger: Ledger, release: string, digests: Iterable<string>): LedgerExcerpt {
  const cp = ledger.latestCheckpoint();
  if (!cp) throw new AirlockError('LEDGER_INVALID', `The ledger ${ledger.path} has no signed checkpoint yet; run a sync first.`);
  const seqs = new Set<number>();
  const add = (entries: LedgerEntry[]) => entries.forEach((e) => seqs.add(e.seq));
  add(ledger.list({ release, limit: MAX_ENTRIES, order: 'asc' }));
  for (const d of digests) add(ledger.list({ digest: d, limit: MAX_ENTRIES, order: 'asc' }));
  const sorted = [...seqs].sort((a, b) => a - b);
  const entries: ExcerptEntry[] = [];
  let unproven = 0;
  for (const seq of sorted) {
    if (seq >= cp.size) {
      unproven++;
      continue;
    }
    const p = ledger.prove(seq, cp.size);
    entries.push({ index: p.index, leaf: p.leaf, auditPath: p.auditPath });
  }
  return { format: EXCERPT_FORMAT, release, origin: ledger.origin, verifierKey: formatVerifierKey(ledger.storedKey), treeSize: cp.size, checkpoint: cp.note, entries, unproven };
}

export interface ExcerptCheck {
  origin: string;
  treeSize: number;
  rootHash: string;
  checkpoint: string;
  entries: number;
  /** True only when the checkpoint's signature verified against the key the receiver gave. */
  authenticated: boolean;
  /** What the receiver's key said, or why it is unauthenticated. */
  note: string;
  /** The digests the excerpt's entries are about. */
  digests: Set<string>;
}

function invalid(what: string): AirlockError {
  return new AirlockError('LEDGER_INVALID', `The archive's ledger excerpt ${what}; the archive is refused.`, { details: { check: 'ledger-excerpt' } });
}

/**
 * The receiver's side: every entry is proven included in the checkpoint's tree; the checkpoint is authenticated
 * only by `publicKeyText` (the sender's key, obtained out of band).
 */
export function checkExcerpt(raw: unknown, release: string, publicKeyText: string | undefined): ExcerptCheck {
  if (typeof raw !== 'object' || raw === null) throw invalid('is not a JSON object');
  const x = raw as Partial<LedgerExcerpt>;
  if (x.format !== EXCERPT_FORMAT) throw invalid(`is not in the ${EXCERPT_FORMAT} format`);
  if (x.release !== release) throw invalid(`is about ${JSON.stringify(String(x.release).slice(0, 40))}, not ${release}`);
  if (typeof x.checkpoint !== 'string' || !Array.isArray(x.entries) || x.entries.length > MAX_ENTRIES) throw invalid('lacks its checkpoint or entries');
  let cp;
  try {
    cp = parseSignedCheckpoint(x.checkpoint, "The archive's ledger checkpoint");
  } catch (e) {
    throw new AirlockError('CHECKPOINT_INVALID', `The archive's ledger checkpoint is malformed (${(e as Error).message}); the archive is refused.`, { cause: e });
  }
  const digests = new Set<string>();
  for (const e of x.entries as unknown[]) {
    const entry = e as Partial<ExcerptEntry>;
    if (typeof entry.leaf !== 'string' || typeof entry.index !== 'number' || !Array.isArray(entry.auditPath) || !entry.auditPath.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))) {
      throw invalid('has a malformed entry');
    }
    const ok = verifyInclusion(leafHash(entry.leaf), entry.index, cp.size, entry.auditPath.map((h) => Buffer.from(h, 'hex')), cp.rootHash);
    if (!ok) throw invalid(`has entry ${entry.index}, which is not in the tree of its checkpoint (size ${cp.size})`);
    try {
      const row = JSON.parse(entry.leaf) as { digest?: unknown; subject?: unknown };
      for (const d of [row.digest, row.subject]) if (typeof d === 'string') digests.add(d);
    } catch {
      throw invalid(`has entry ${entry.index} whose leaf is not JSON`);
    }
  }
  let authenticated = false;
  let note = 'unauthenticated: no --ledger-public-key was given, so the checkpoint is the archive\'s word only';
  if (publicKeyText !== undefined) {
    const key = parseVerifierKey(publicKeyText, 'The --ledger-public-key', cp.origin);
    const check = checkSignature(cp, key);
    if (check !== 'valid') {
      throw new AirlockError('CHECKPOINT_INVALID', `The archive's ledger checkpoint is ${check === 'absent' ? 'not signed by' : 'signed with a bad signature for'} the key given with --ledger-public-key; the archive is refused.`, {
        details: { check: 'ledger-excerpt-signature' },
      });
    }
    authenticated = true;
    note = `signed by ${formatVerifierKey(key)}`;
  }
  return { origin: cp.origin, treeSize: cp.size, rootHash: cp.rootHash.toString('base64'), checkpoint: cp.note, entries: x.entries.length, authenticated, note, digests };
}
