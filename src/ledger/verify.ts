/**
 * `ledger verify`: recompute everything from the rows alone and compare it with everything stored — leaf hashes,
 * interior nodes, every checkpoint's root and signature — then prove the log extends the checkpoint an auditor
 * kept. Runs on a read-only connection: it never migrates or writes, whatever it finds.
 *
 * What it can prove depends on what the auditor brings, and the result says so in words: without a kept
 * checkpoint and a pinned key, a ledger rewritten together with its checkpoints and key would also pass.
 */
import { formatVerifierKey, type VerifierKey } from './keys.js';
import { checkSignature, parseSignedCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import { AirlockError } from '../errors.js';
import type { Ledger } from './ledger.js';
import { consistencyProof, HASH_SIZE, rangeHash, verifyConsistency } from './merkle.js';
import { MemoryTree } from './memtree.js';
import { scanRows, type StoredTree } from './scan.js';
import { NO_OFF_HOST_SINK } from './sinks.js';
import { TreeStore } from './tree.js';
import { guarded } from './db.js';

export interface VerifyOptions {
  /** A checkpoint the auditor kept, already parsed (parseSignedCheckpoint), and where it came from. */
  kept?: { checkpoint: SignedCheckpoint; source: string };
  /** A key pinned by the auditor (--public-key). */
  pinnedKey?: VerifierKey;
  /** The public half of the configured signing key file (outside the ledger's directory), when readable. */
  keyFileKey?: VerifierKey;
  /** The configured checkpoint sinks. */
  sinks?: readonly { description: string; leavesHost: boolean }[];
}

export interface VerifyProblem {
  /** Where: an entry number, a checkpoint size, or the tree. */
  seq?: number;
  checkpointSize?: number;
  message: string;
}

export type Assurance = 'internal-consistency-only' | 'signed-by-pinned-key' | 'extends-kept-checkpoint' | 'extends-kept-checkpoint-pinned-key';

export interface LedgerVerifyResult {
  ok: boolean;
  path: string;
  origin: string;
  treeSize: number;
  rootHash: string;
  key: { source: 'pinned' | 'key-file' | 'ledger'; verifierKey: string };
  checkpoints: { count: number; latestSize: number | null };
  kept: { source: string; size: number; rootHash: string; consistencyProof: string[]; consistent: boolean } | null;
  /** Entries after the latest stored checkpoint (a run that was interrupted before it signed one). */
  uncovered: number;
  assurance: Assurance;
  /** What was proved, in one or two plain sentences. */
  statement: string;
  offHostSinks: string[];
  warnings: string[];
  /** The first problems found (at most 50); `ok` is false when there is any. */
  problems: VerifyProblem[];
  durationMs: number;
}

const MAX_PROBLEMS = 50;

export function verifyLedger(ledger: Ledger, opts: VerifyOptions = {}): LedgerVerifyResult {
  // One read transaction: every table is read in the same snapshot, even while a writer appends.
  return guarded(ledger.path, () => ledger.db.transaction(() => verifyUnguarded(ledger, opts))());
}

function verifyUnguarded(ledger: Ledger, opts: VerifyOptions): LedgerVerifyResult {
  const t0 = Date.now();
  const problems: VerifyProblem[] = [];
  const warnings: string[] = [];
  const problem = (p: VerifyProblem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const db = ledger.db;

  const integrity = db.pragma('quick_check', { simple: true });
  if (integrity !== 'ok') problem({ message: `SQLite's integrity check fails (${String(integrity).slice(0, 120)}): the file is damaged.` });

  // 1. Every row → its leaf, compared with the leaf hash stored when it was appended.
  const { leaves, count, firstBadSeq, tree } = scanRows(db, problem);

  // 2. The stored tree against the one rebuilt from the leaves.
  const mem = new MemoryTree(leaves, count);
  compareStoredTree(tree, mem, problem);
  const root = rangeHash(mem, 0, count);

  // 3. Which key checkpoints must be signed by.
  const key = opts.pinnedKey ?? opts.keyFileKey ?? ledger.storedKey;
  const keySource = opts.pinnedKey ? 'pinned' : opts.keyFileKey ? 'key-file' : 'ledger';
  if (key.name !== ledger.origin) {
    throw new AirlockError('BAD_INPUT', `The public key given is for the ledger ${key.name}, not this one (${ledger.origin}).`);
  }
  if (!key.publicKey.equals(ledger.storedKey.publicKey)) {
    problem({ message: `The ledger records a public key other than the ${keySource === 'pinned' ? 'pinned' : 'key file\'s'} one: its key was replaced.` });
  }

  // 4. Every stored checkpoint: well-formed, signed, and matching the rebuilt tree at its size.
  const stored = ledger.checkpoints();
  for (const c of stored) {
    let cp: SignedCheckpoint;
    try {
      cp = parseSignedCheckpoint(c.note, `The stored checkpoint at size ${c.size}`);
    } catch (e) {
      problem({ checkpointSize: c.size, message: (e as Error).message });
      continue;
    }
    checkCheckpoint(cp, c.size, 'stored checkpoint', ledger.origin, key, keySource, mem, count, firstBadSeq, problem);
  }
  const latestSize = stored.length ? stored[stored.length - 1]!.size : null;
  const uncovered = latestSize === null ? count : Math.max(0, count - latestSize);
  if (uncovered > 0 && count > 0) {
    warnings.push(
      `${uncovered} entr${uncovered === 1 ? 'y' : 'ies'} after the latest checkpoint (size ${latestSize ?? 0}) ${uncovered === 1 ? 'is' : 'are'} not yet covered by a signed checkpoint (a run stopped before signing one); the next run's checkpoint covers ${uncovered === 1 ? 'it' : 'them'}.`,
    );
  }

  // 5. The auditor's checkpoint: signed, and this log is an extension of it (RFC 6962 consistency proof).
  let kept: LedgerVerifyResult['kept'] = null;
  if (opts.kept) {
    const cp = opts.kept.checkpoint;
    if (cp.origin !== ledger.origin) {
      throw new AirlockError('CHECKPOINT_INVALID', `The checkpoint ${opts.kept.source} is for the ledger ${cp.origin}, not this one (${ledger.origin}).`);
    }
    const before = problems.length;
    checkCheckpoint(cp, cp.size, `checkpoint ${opts.kept.source}`, ledger.origin, key, keySource, mem, count, firstBadSeq, problem, false);
    let proof: Buffer[] = [];
    let consistent = false;
    if (cp.size <= count) {
      proof = proofFromStore(ledger, mem, cp.size, count);
      consistent = verifyConsistency(cp.size, count, cp.rootHash, root, proof);
      if (!consistent) {
        // A damaged stored tree (reported above) serves a bad proof; whether the entries extend the checkpoint is
        // for the tree rebuilt from them to say.
        const rebuilt = consistencyProof(mem, cp.size, count);
        if (verifyConsistency(cp.size, count, cp.rootHash, root, rebuilt)) {
          proof = rebuilt;
          consistent = true;
        }
      }
      if (!consistent && problems.length === before) {
        problem({
          checkpointSize: cp.size,
          message: `The ledger does not extend the checkpoint ${opts.kept.source}: no consistency proof from size ${cp.size} to ${count} holds.`,
        });
      }
    }
    kept = { source: opts.kept.source, size: cp.size, rootHash: cp.rootHash.toString('base64'), consistencyProof: proof.map((h) => h.toString('base64')), consistent };
  }

  const offHostSinks = (opts.sinks ?? []).filter((s) => s.leavesHost).map((s) => s.description);
  if (offHostSinks.length === 0) warnings.push(NO_OFF_HOST_SINK);

  const { assurance, statement } = describe(kept !== null && kept.consistent, keySource, kept?.size ?? 0);
  return {
    ok: problems.length === 0,
    path: ledger.path,
    origin: ledger.origin,
    treeSize: count,
    rootHash: root.toString('base64'),
    key: { source: keySource, verifierKey: formatVerifierKey(key) },
    checkpoints: { count: stored.length, latestSize },
    kept,
    uncovered,
    assurance,
    statement,
    offHostSinks,
    warnings,
    problems,
    durationMs: Date.now() - t0,
  };
}

function checkCheckpoint(
  cp: SignedCheckpoint,
  size: number,
  what: string,
  origin: string,
  key: VerifierKey,
  keySource: string,
  mem: MemoryTree,
  count: number,
  firstBadSeq: number | null,
  problem: (p: VerifyProblem) => void,
  stored = true,
): void {
  const at = { checkpointSize: size };
  if (cp.size !== size || cp.origin !== origin) {
    problem({ ...at, message: `The ${what} at size ${size} names ${cp.origin} at size ${cp.size}: it was moved or belongs elsewhere.` });
    return;
  }
  const sig = checkSignature(cp, key);
  if (sig !== 'valid') {
    problem({
      ...at,
      message: `The ${what} at size ${size} is ${sig === 'absent' ? 'not signed' : 'signed with a bad signature'} by the ${keySource === 'ledger' ? "ledger's recorded" : keySource} key: it was forged or re-signed with another key.`,
    });
  }
  if (size > count) {
    problem({
      ...at,
      message: stored
        ? `The stored checkpoint at size ${size} is beyond the ledger's ${count} entries: entries were removed from its end.`
        : `The ledger has ${count} entries, fewer than the ${size} of the ${what}: it was truncated or replaced by an older copy.`,
    });
    return;
  }
  const root = rangeHash(mem, 0, size);
  if (!root.equals(cp.rootHash)) {
    const where = firstBadSeq !== null && firstBadSeq < size ? ` (entry ${firstBadSeq} is the first that does not match)` : '';
    problem({
      ...at,
      seq: firstBadSeq !== null && firstBadSeq < size ? firstBadSeq : undefined,
      message: `The ${what} at size ${size} does not match the ledger's first ${size} entries${where}: they were changed, reordered, inserted or removed after it was signed.`,
    });
  }
}

/** The consistency proof as the stored tree serves it (what `prove` would hand out); the rebuilt tree if it cannot. */
function proofFromStore(ledger: Ledger, mem: MemoryTree, m: number, n: number): Buffer[] {
  try {
    return consistencyProof(new TreeStore(ledger.db), m, n);
  } catch {
    return consistencyProof(mem, m, n);
  }
}

/**
 * The stored tree against the one rebuilt from the leaves: first whatever is wrong with its rows (scanRows read
 * them), then each level's nodes, compared level by level and named at the first that differs.
 */
function compareStoredTree(stored: StoredTree, mem: MemoryTree, problem: (p: VerifyProblem) => void): void {
  if (stored.problem !== null) {
    problem({ message: stored.problem });
    return;
  }
  for (let level = 1; level < stored.levels.length; level++) {
    const want = stored.levels[level]!;
    const width = want.length / HASH_SIZE;
    if (width !== mem.width(level)) {
      problem({ message: `The stored tree has ${width} node(s) at level ${level} where the entries make ${mem.width(level)}: it was damaged.` });
      return;
    }
    const rebuilt = mem.level(level);
    if (want.equals(rebuilt)) continue;
    let idx = 0;
    while (want.subarray(idx * HASH_SIZE, (idx + 1) * HASH_SIZE).equals(rebuilt.subarray(idx * HASH_SIZE, (idx + 1) * HASH_SIZE))) idx++;
    problem({ message: `The stored tree node at level ${level}, index ${idx} does not match the entries under it (${idx * 2 ** level}–${(idx + 1) * 2 ** level - 1}).` });
    return;
  }
}

function describe(keptOk: boolean, keySource: string, keptSize: number): { assurance: Assurance; statement: string } {
  if (keptOk && keySource === 'pinned') {
    return {
      assurance: 'extends-kept-checkpoint-pinned-key',
      statement: `Proved that this ledger extends your checkpoint of size ${keptSize} without changing any of its entries, and that every checkpoint is signed by your pinned key.`,
    };
  }
  if (keptOk) {
    return {
      assurance: 'extends-kept-checkpoint',
      statement: `Proved that this ledger extends your checkpoint of size ${keptSize} without changing any of its entries; signatures were checked with the ${keySource === 'key-file' ? 'configured key file' : "ledger's own recorded key"}, so pin the key with --public-key as well.`,
    };
  }
  if (keySource === 'pinned') {
    return {
      assurance: 'signed-by-pinned-key',
      statement:
        'Proved internal consistency and that every stored checkpoint is signed by your pinned key; without a checkpoint you kept (--checkpoint), replacing the file by an older copy of itself would not be detected.',
    };
  }
  return {
    assurance: 'internal-consistency-only',
    statement:
      'Proved internal consistency only: every entry matches the tree and the stored checkpoints; a ledger rewritten together with its checkpoints and key would pass too, so verify against a checkpoint kept elsewhere (--checkpoint) and a pinned key (--public-key).',
  };
}

