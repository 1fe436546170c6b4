import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSignedCheckpoint, signCheckpoint } from '../../src/ledger/checkpoint.js';
import { formatVerifierKey, generateSigningKey, parseVerifierKey, type VerifierKey } from '../../src/ledger/keys.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { Frontier } from '../../src/ledger/merkle.js';
import { leafText, rowFromRaw, ROW_COLUMNS } from '../../src/ledger/row.js';
import { verifyLedger, type LedgerVerifyResult } from '../../src/ledger/verify.js';
import { digestOf, fingerprint, ledgerSandbox, sampleEvents, tamper, type LedgerSandbox } from '../support/ledger-fixtures.js';

/**
 * Each tampering is done the way an attacker with the file would: plain better-sqlite3, append-only triggers
 * dropped, rows edited. Each must be caught by `ledger verify` against a checkpoint the auditor kept earlier
 * (and a pinned key), and the failure must name where.
 */
let sb: LedgerSandbox;
let full: string; // the ledger at 40 entries, checkpoints at 20 and 40
let older: string; // a copy of the same ledger at 20 entries
let keptAt20: string;
let keptAt40: string;
let pinned: VerifierKey;

beforeAll(async () => {
  sb = ledgerSandbox('airlock-tamper-');
  const l = sb.open({ create: true });
  l.append(sampleEvents(20));
  keptAt20 = (await l.checkpoint())!.checkpoint.note;
  pinned = parseVerifierKey(formatVerifierKey(l.storedKey), 'pinned', l.origin);
  l.close();
  older = join(sb.root, 'older.db');
  copyFileSync(sb.ledgerPath, older);
  const l2 = sb.open();
  l2.append(sampleEvents(20, 'second-run-'));
  keptAt40 = (await l2.checkpoint())!.checkpoint.note;
  l2.close();
  full = sb.ledgerPath;
});
afterAll(() => sb.cleanup());

let n = 0;
/** A fresh copy of the finished ledger to tamper with. */
function copyOf(from = full): string {
  const p = join(sb.root, `case-${n++}.db`);
  copyFileSync(from, p);
  return p;
}

function verify(path: string, opts: { kept?: string; pin?: boolean } = {}): LedgerVerifyResult {
  const l = Ledger.open(path, { readOnly: true });
  try {
    return verifyLedger(l, {
      kept: opts.kept ? { checkpoint: parseSignedCheckpoint(opts.kept, 'kept'), source: 'kept.checkpoint' } : undefined,
      pinnedKey: opts.pin ? pinned : undefined,
    });
  } finally {
    l.close();
  }
}

function expectCaught(path: string, first: RegExp, kept = keptAt20): LedgerVerifyResult {
  const r = verify(path, { kept, pin: true });
  expect(r.ok).toBe(false);
  expect(r.problems[0]!.message).toMatch(first);
  return r;
}

/** The thorough attacker: rebuilds leaves, tree and checkpoints from the edited rows and re-signs with their own key. */
function rebuildAndResign(path: string): void {
  const db = new Database(path);
  const origin = db.prepare("SELECT value FROM meta WHERE key = 'origin'").pluck().get() as string;
  const { key } = generateSigningKey(origin);
  const rows = (db.prepare(`SELECT ${ROW_COLUMNS.join(', ')} FROM events ORDER BY seq`).raw(true).all() as unknown[][]).map(rowFromRaw);
  const sizes = db.prepare('SELECT size FROM checkpoints ORDER BY size').pluck().all() as number[];
  db.exec('DELETE FROM tree; DELETE FROM checkpoints;');
  const put = db.prepare('INSERT INTO tree (leaf, nodes) VALUES (?, ?)');
  const f = Frontier.empty();
  for (const row of rows) {
    put.run(row.seq, f.appendLeaf(leafText(row)));
    if (sizes.includes(f.size)) {
      db.prepare('INSERT INTO checkpoints (size, time, note) VALUES (?, ?, ?)').run(f.size, new Date().toISOString(), signCheckpoint({ origin, size: f.size, rootHash: f.root() }, key));
    }
  }
  db.prepare("UPDATE meta SET value = ? WHERE key = 'public_key'").run(key.publicKey.toString('base64'));
  db.close();
}

describe('ledger verify catches tampering (triggers dropped first)', () => {
  it('an untouched ledger verifies against both kept checkpoints and the pinned key', () => {
    for (const kept of [keptAt20, keptAt40]) {
      const r = verify(full, { kept, pin: true });
      expect(r.problems).toEqual([]);
      expect(r.assurance).toBe('extends-kept-checkpoint-pinned-key');
      expect(r.kept?.consistent).toBe(true);
    }
    expect(verify(full).statement).toMatch(/^Proved internal consistency only/);
  });

  it('a body edited', () => {
    const p = copyOf();
    tamper(p, "UPDATE events SET body = replace(body, 'IDENTITY_MISMATCH', 'VERIFIED') WHERE seq = 5");
    const r = expectCaught(p, /^Entry 5 does not match the leaf hash recorded when it was appended/);
    expect(r.problems.some((x) => /checkpoint kept\.checkpoint at size 20 does not match .*entry 5 is the first/.test(x.message))).toBe(true);
  });

  it('an indexed column edited (status, digest)', () => {
    const p = copyOf();
    tamper(p, "UPDATE events SET status = 'verified' WHERE seq = 13");
    expectCaught(p, /^Entry 13 does not match/);
    const q = copyOf();
    tamper(q, `UPDATE events SET digest = unhex('${digestOf('swapped').slice(7)}') WHERE seq = 3`);
    expectCaught(q, /^Entry 3 does not match the leaf hash recorded when it was appended/);
  });

  it('a digest rewritten in another form (same leaf text, but hidden from digest queries)', () => {
    const p = copyOf();
    tamper(p, 'PRAGMA ignore_check_constraints = ON', "UPDATE events SET subject = 'sha256:' || hex(subject) WHERE seq = 6", "UPDATE events SET digest = lower('sha256:' || hex(digest)) WHERE seq = 3");
    const r = expectCaught(p, /^Entry 3 does not match what airlock stores: its digest is not held as a digest's 32 or 64 bytes/);
    expect(r.problems[1]!.message).toMatch(/^Entry 6 does not match what airlock stores: its subject/);
  });

  it('a row deleted', () => {
    const p = copyOf();
    tamper(p, 'DELETE FROM events WHERE seq = 7');
    const r = expectCaught(p, /^Entry 7 is missing \(the next stored entry is 8\)/);
    // The entries after the gap are intact; only the gap (and what it breaks) is reported.
    expect(r.problems.filter((x) => x.seq !== undefined && x.seq !== 7)).toEqual([]);
  });

  it('rows reordered', () => {
    const p = copyOf();
    tamper(p, 'UPDATE events SET seq = 1000000 WHERE seq = 3', 'UPDATE events SET seq = 3 WHERE seq = 4', 'UPDATE events SET seq = 4 WHERE seq = 1000000');
    expectCaught(p, /^Entry 3 does not match/);
  });

  it('a row inserted (in the middle, and at the end without the tree)', () => {
    const p = copyOf();
    tamper(
      p,
      'UPDATE events SET seq = seq + 1000000 WHERE seq >= 10',
      'UPDATE events SET seq = seq - 999999 WHERE seq >= 1000000',
      `INSERT INTO events (seq, time, kind, image, digest, status, body) VALUES (10, '2025-01-01T00:00:00.000Z', 'verified', 'ghcr.io/evil/x', unhex('${digestOf('evil').slice(7)}'), 'verified', '{}')`,
    );
    expectCaught(p, /^Entry 10 does not match/);
    const q = copyOf();
    tamper(q, `INSERT INTO events (seq, time, kind, body) VALUES (40, '2030-01-01T00:00:00.000Z', 'verified', '{}')`);
    const r = verify(q); // even with nothing kept: the row has no leaf
    expect(r.ok).toBe(false);
    expect(r.problems[0]!.message).toMatch(/^Entry 40 has no leaf in the tree: it was inserted outside airlock/);
  });

  it('the tail truncated — crudely, or with tree and checkpoints trimmed to match', () => {
    const p = copyOf();
    tamper(p, 'DELETE FROM events WHERE seq >= 30');
    expect(verify(p).ok).toBe(false); // the stored tree and checkpoint still know there were 40
    const q = copyOf();
    tamper(
      q,
      'DELETE FROM events WHERE seq >= 30',
      'DELETE FROM tree WHERE leaf >= 30',
      'DELETE FROM checkpoints WHERE size > 30',
    );
    expect(verify(q).ok).toBe(true); // internally consistent: only a kept checkpoint can tell
    expectCaught(q, /^The ledger has 30 entries, fewer than the 40 of the checkpoint kept\.checkpoint: it was truncated or replaced by an older copy/, keptAt40);
  });

  it('the file replaced by an older copy of itself', () => {
    const p = copyOf(older);
    expect(verify(p, { pin: true }).ok).toBe(true); // a genuine older ledger, signed by the right key
    expectCaught(p, /fewer than the 40 of the checkpoint kept\.checkpoint: it was truncated or replaced by an older copy/, keptAt40);
  });

  it('the stored tree edited (an interior node, a row cut short), the entries left alone', () => {
    const p = copyOf();
    tamper(p, 'UPDATE tree SET nodes = unhex(hex(substr(nodes, 1, 32)) || hex(zeroblob(length(nodes) - 32))) WHERE leaf = 15');
    const r = expectCaught(p, /^The stored tree node at level 1, index 7 does not match the entries under it \(14–15\)/);
    expect(r.problems).toHaveLength(1); // every entry and checkpoint still matches: only the tree is named
    const q = copyOf();
    tamper(q, 'UPDATE tree SET nodes = substr(nodes, 1, 32) WHERE leaf = 7');
    expectCaught(q, /^The stored tree row of entry 7 does not hold the 4 hash\(es\) it should: it was damaged/);
    const t = copyOf();
    tamper(t, 'DELETE FROM tree WHERE leaf = 12');
    expectCaught(t, /^Entry 12 has no leaf in the tree/);
    expect(verify(t).problems.map((x) => x.message)).toContain('The tree holds no leaf hash for entry 12 (the next is 13): entries were deleted or inserted without the tree.');
  });

  it('a checkpoint re-signed with another key', () => {
    const p = copyOf();
    const db = new Database(p, { readonly: true });
    const origin = db.prepare("SELECT value FROM meta WHERE key = 'origin'").pluck().get() as string;
    db.close();
    const { key: other } = generateSigningKey(origin);
    const cp = parseSignedCheckpoint(keptAt40, 'x');
    tamper(p, 'DELETE FROM checkpoints WHERE size = 40', `INSERT INTO checkpoints (size, time, note) VALUES (40, '2030-01-01T00:00:00.000Z', '${signCheckpoint(cp, other)}')`);
    expect(verify(p).problems[0]!.message).toMatch(/stored checkpoint at size 40 is not signed by the ledger's recorded key/);
  });

  it('everything rewritten and re-signed with another key: caught by the pinned key and by the kept checkpoint', () => {
    const p = copyOf();
    tamper(p, "UPDATE events SET body = replace(body, 'IDENTITY_MISMATCH', 'VERIFIED') WHERE seq = 5");
    rebuildAndResign(p);
    const alone = verify(p);
    expect(alone.ok).toBe(true); // what "internal consistency only" means, said plainly
    expect(alone.assurance).toBe('internal-consistency-only');
    const pinnedOnly = verify(p, { pin: true });
    expect(pinnedOnly.ok).toBe(false);
    expect(pinnedOnly.problems.map((x) => x.message).join('\n')).toMatch(/public key other than the pinned one: its key was replaced/);
    expect(pinnedOnly.problems.map((x) => x.message).join('\n')).toMatch(/stored checkpoint at size 20 is not signed by the pinned key/);
    const keptOnly = verify(p, { kept: keptAt20 });
    expect(keptOnly.ok).toBe(false);
    expect(keptOnly.problems.map((x) => x.message).join('\n')).toMatch(/checkpoint kept\.checkpoint at size 20 is not signed by the ledger's recorded key/);
    expect(keptOnly.problems.map((x) => x.message).join('\n')).toMatch(/does not match the ledger's first 20 entries/);
  });

  it('verify never changes the file it checks', () => {
    const p = copyOf();
    tamper(p, 'DELETE FROM events WHERE seq = 2');
    const before = fingerprint(p);
    verify(p, { kept: keptAt40, pin: true });
    expect(fingerprint(p)).toEqual(before);
    rmSync(p);
  });
});
