import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSignedCheckpoint, signCheckpoint } from '../../src/ledger/checkpoint.js';
import { createKeyFile } from '../../src/ledger/keyfile.js';
import { formatVerifierKey, parseVerifierKey } from '../../src/ledger/keys.js';
import { Ledger, ORIGIN_PREFIX } from '../../src/ledger/ledger.js';
import { Frontier, leafHash } from '../../src/ledger/merkle.js';
import { leafText, toStoredRow } from '../../src/ledger/row.js';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../src/ledger/schema.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { digestOf, fingerprint, ledgerSandbox, sampleEvents, tamper, type LedgerSandbox } from '../support/ledger-fixtures.js';
import { caught } from '../support/errors.js';

/**
 * A ledger written by the first schema (digests as text, one tree row per node), built the way that version wrote
 * it: migration 1 only, rows inserted with their text digests, every node in tree_nodes, signed checkpoints.
 */
function writeV1Ledger(sb: LedgerSandbox, total: number, checkpointEvery: number): { origin: string; notes: string[] } {
  const db = new Database(sb.ledgerPath);
  db.pragma('page_size = 8192');
  db.pragma('journal_mode = WAL');
  const origin = ORIGIN_PREFIX + randomBytes(10).toString('hex');
  const key = createKeyFile(sb.keyFor(origin), origin);
  const notes: string[] = [];
  db.transaction(() => {
    db.pragma(`application_id = ${APPLICATION_ID}`);
    MIGRATIONS.find((m) => m.version === 1)!.up(db);
    const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    meta.run('origin', origin);
    meta.run('public_key', key.publicKey.toString('base64'));
    meta.run('created', '2025-01-01T00:00:00.000Z');
    db.pragma('user_version = 1');
    const insert = db.prepare(
      'INSERT INTO events (seq, time, kind, run, image, digest, subject, release, status, reason, body) VALUES (@seq, @time, @kind, @run, @image, @digest, @subject, @release, @status, @reason, @body)',
    );
    const node = db.prepare('INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)');
    const checkpoint = db.prepare('INSERT INTO checkpoints (size, time, note) VALUES (?, ?, ?)');
    const f = Frontier.empty();
    sampleEvents(total, 'v1-').forEach((ev, seq) => {
      const row = toStoredRow(ev, seq, `2025-01-01T00:00:${String(seq % 60).padStart(2, '0')}.000Z`, null);
      insert.run(row);
      f.push(leafHash(leafText(row)), (level, idx, hash) => node.run(level, idx, hash));
      if (f.size % checkpointEvery === 0) {
        const note = signCheckpoint({ origin, size: f.size, rootHash: f.root() }, key);
        checkpoint.run(f.size, '2025-01-01T00:01:00.000Z', note);
        notes.push(note);
      }
    });
  }).immediate();
  db.close();
  return { origin, notes };
}

let sb: LedgerSandbox;
beforeEach(() => {
  sb = ledgerSandbox('airlock-migrate-');
});
afterEach(() => sb.cleanup());

describe('ledger schema migrations', () => {
  it('a schema-1 ledger is refused read-only, migrated by a writer, keeps every leaf, and extends the checkpoints kept before', async () => {
    const total = 300; // enough for tree rows holding up to 8 node hashes
    const { notes } = writeV1Ledger(sb, total, 100);
    const before = fingerprint(sb.ledgerPath);
    const e = caught(() => sb.open({ readOnly: true }));
    expect(e.code).toBe('LEDGER_INVALID');
    expect(e.message).toMatch(/has schema 1 and needs migrating to \d+/);
    expect(fingerprint(sb.ledgerPath)).toEqual(before);

    const w = sb.open();
    const db = w.db;
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(['checkpoints', 'events', 'meta', 'tree']);
    expect(db.prepare("SELECT count(*) FROM events WHERE typeof(digest) = 'text' OR typeof(subject) = 'text'").pluck().get()).toBe(0);
    expect(w.size()).toBe(total);
    // The digest queries find the migrated rows through the new indexes.
    expect(w.list({ digest: digestOf('v1-image-5') }).map((x) => [x.seq, x.kind])).toEqual([[5, 'refused']]); // by digest
    expect(w.list({ digest: digestOf('v1-image-6') }).map((x) => [x.seq, x.kind])).toEqual([[6, 'composed']]); // by subject
    expect(w.story(digestOf('v1-image-4')).events.map((x) => [x.seq, x.subject])).toEqual([[4, digestOf('v1-image-4')]]);
    // Append-only still holds on the rebuilt tables.
    expect(() => db.exec('DELETE FROM events WHERE seq = 1')).toThrow(/append-only/);
    expect(() => db.exec('UPDATE tree SET nodes = zeroblob(32)')).toThrow(/append-only/);
    w.append(sampleEvents(37, 'v2-'));
    await w.checkpoint();
    w.close();

    const r = Ledger.open(sb.ledgerPath, { readOnly: true });
    const pinned = parseVerifierKey(formatVerifierKey(r.storedKey), 'pinned', r.origin);
    for (const note of notes) {
      const result = verifyLedger(r, { kept: { checkpoint: parseSignedCheckpoint(note, 'kept'), source: 'kept' }, pinnedKey: pinned });
      expect(result.problems).toEqual([]);
      expect(result.kept?.consistent).toBe(true);
      expect(result.treeSize).toBe(total + 37);
    }
    // A proof from the migrated tree checks against a checkpoint signed before the migration.
    const proof = r.prove(42, 100);
    expect(proof.rootHashBase64).toBe(parseSignedCheckpoint(notes[0]!, 'kept').rootHash.toString('base64'));
    r.close();
  });

  it('a schema-1 ledger holding a digest airlock did not write is not migrated, and is left unchanged', () => {
    writeV1Ledger(sb, 20, 10);
    tamper(sb.ledgerPath, "UPDATE events SET digest = upper(digest) WHERE seq = 9");
    const before = fingerprint(sb.ledgerPath);
    const e = caught(() => sb.open());
    expect(e.code).toBe('LEDGER_INVALID');
    expect(e.message).toMatch(/cannot be migrated: entry 9 holds a digest airlock did not write; run airlock ledger verify\.$/);
    expect(fingerprint(sb.ledgerPath)).toEqual(before);
  });

  it('a schema-1 ledger whose tree lacks a node is not migrated', () => {
    writeV1Ledger(sb, 20, 10);
    tamper(sb.ledgerPath, 'DELETE FROM tree_nodes WHERE level = 2 AND idx = 1');
    const e = caught(() => sb.open());
    expect(e.code).toBe('LEDGER_INVALID');
    expect(e.message).toMatch(/cannot be migrated: its Merkle tree lacks or misplaces the node at level 2, index 1/);
  });
});
