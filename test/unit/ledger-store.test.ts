import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT_CODES, type AirlockError } from '../../src/errors.js';
import type { SignedCheckpoint } from '../../src/ledger/checkpoint.js';
import { refusedEvent, verifiedEvent, type LedgerEventInput } from '../../src/ledger/events.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { APPLICATION_ID, SCHEMA_VERSION } from '../../src/ledger/schema.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { digestOf, fingerprint, ledgerSandbox, sampleEvents, type LedgerSandbox } from '../support/ledger-fixtures.js';
import { caught } from '../support/errors.js';

function oneSentence(e: AirlockError): void {
  expect(e.message.split('\n')).toHaveLength(1);
  expect(e.message).toMatch(/[.]$/);
}

let sb: LedgerSandbox;
beforeEach(() => {
  sb = ledgerSandbox();
});
afterEach(() => sb.cleanup());

describe('ledger storage', () => {
  it('creates a ledger with a unique origin and a 0600 key outside its directory, with a notice', () => {
    const notices: string[] = [];
    const l = sb.open({ create: true, logger: { log: (_lvl, msg) => notices.push(msg) } });
    expect(l.created).toBe(true);
    expect(l.origin).toMatch(/^airlock\.ledger\/[0-9a-f]{20}$/);
    const keyPath = sb.keyFor(l.origin);
    expect(keyPath.startsWith(sb.env.XDG_CONFIG_HOME!)).toBe(true);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyPath, 'utf8')).toMatch(/^PRIVATE\+KEY\+airlock\.ledger\/[0-9a-f]{20}\+[0-9a-f]{8}\+/);
    expect(notices.join('\n')).toMatch(/created the ledger signing key/);
    l.close();
    const db = new Database(sb.ledgerPath, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
    const again = sb.open({ create: true });
    expect(again.created).toBe(false);
    expect(again.origin).toBe(l.origin);
    again.close();
  });

  it('keeps synchronous=FULL and a busy timeout on every writer connection', () => {
    const l = sb.open({ create: true });
    expect(l.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(l.db.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(1000);
    l.close();
  });

  it('appends a batch in one transaction and persists it across reopening the real file', () => {
    const l = sb.open({ create: true });
    expect(l.append(sampleEvents(10))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const head = l.treeHead();
    const before = l.list({ order: 'asc', limit: 1000 });
    // A bad event anywhere in a batch leaves nothing of the batch behind.
    const bad = { ...sampleEvents(1)[0]!, digest: 'sha256:nothex' };
    expect(() => l.append([...sampleEvents(3), bad])).toThrow(/not a digest/);
    expect(l.size()).toBe(10);
    l.close();
    const r = Ledger.open(sb.ledgerPath, { readOnly: true });
    expect(r.list({ order: 'asc', limit: 1000 })).toEqual(before);
    expect(r.treeHead()).toBe(head);
    expect(verifyLedger(r).ok).toBe(true);
    r.close();
  });

  it('triggers refuse UPDATE and DELETE on every table', () => {
    const l = sb.open({ create: true });
    l.append(sampleEvents(3));
    for (const sql of [
      "UPDATE events SET body = '{}' WHERE seq = 1",
      'DELETE FROM events WHERE seq = 2',
      'UPDATE tree SET nodes = zeroblob(32)',
      'DELETE FROM tree',
      "UPDATE meta SET value = 'x' WHERE key = 'origin'",
      'DELETE FROM meta',
    ]) {
      expect(() => l.db.exec(sql), sql).toThrow(/append-only/);
    }
    l.close();
  });

  it('appends an identical refusal only once', () => {
    const l = sb.open({ create: true });
    const d = digestOf('x');
    const ev = refusedEvent({ image: 'ghcr.io/fluxcd/source-controller', digest: d, reason: 'IDENTITY_MISMATCH', message: 'No.' });
    expect(l.appendRefusalOnce(ev)).toBe(0);
    expect(l.appendRefusalOnce({ ...ev, body: { ...ev.body, message: 'Reworded.' } })).toBeNull();
    expect(l.appendRefusalOnce({ ...ev, reason: 'NO_SIGNATURE' })).toBe(1);
    const noDigest = refusedEvent({ image: 'ghcr.io/fluxcd/x', release: 'v1.0.0', reason: 'TAG_MISSING', message: 'No tag.' });
    expect(l.appendRefusalOnce(noDigest)).toBe(2);
    expect(l.appendRefusalOnce(noDigest)).toBeNull();
    expect(l.appendRefusalOnce({ ...noDigest, release: 'v1.0.1' })).toBe(3);
    expect(l.size()).toBe(4);
    l.close();
  });

  it('a run that records nothing writes nothing, not even a checkpoint', async () => {
    const l = sb.open({ create: true });
    l.append(sampleEvents(2));
    await l.checkpoint();
    l.close();
    const before = fingerprint(sb.ledgerPath);
    const w = sb.open();
    const run = w.startRun({ command: 'sync', toolVersion: '0.1.0' });
    expect(run.appendRefusalOnce(refusedEvent({ digest: digestOf('image-1'), reason: 'X', message: 'x' }))).toBe(3); // new: run-started (2) and the refusal (3)
    await run.finish({ outcome: 'refusals', counts: { refused: 1 } });
    w.close();
    const after1 = fingerprint(sb.ledgerPath);
    expect(after1.sha256).not.toBe(before.sha256);
    // The same refusal again: the whole run is a no-op.
    const w2 = sb.open();
    const run2 = w2.startRun({ command: 'sync', toolVersion: '0.1.0' });
    expect(run2.appendRefusalOnce(refusedEvent({ digest: digestOf('image-1'), reason: 'X', message: 'x' }))).toBeNull();
    expect(await run2.finish({ outcome: 'refusals', counts: { refused: 1 } })).toBeNull();
    expect(await w2.checkpoint()).toMatchObject({ created: false });
    w2.close();
    expect(fingerprint(sb.ledgerPath)).toEqual(after1);
    expect(existsSync(`${sb.ledgerPath}-wal`) ? statSync(`${sb.ledgerPath}-wal`).size : 0).toBe(0);
  });

  it('a run that records nothing still signs what a killed run appended and no checkpoint covers', async () => {
    const l = sb.open({ create: true });
    const killed = l.startRun({ command: 'sync', toolVersion: '0.1.0' });
    killed.append(sampleEvents(2)); // …and the process dies: no run-finished, no checkpoint
    l.close();
    const w = sb.open();
    expect(w.latestCheckpoint()).toBeUndefined();
    const run = w.startRun({ command: 'sync', toolVersion: '0.1.0' });
    const outcome = await run.finish({ outcome: 'ok', counts: {} });
    expect(outcome?.created).toBe(true);
    expect(outcome?.checkpoint.size).toBe(3); // run-started + 2: nothing of the second run itself
    expect(w.size()).toBe(3);
    w.close();
    // Covered now: the next run with nothing to record is a no-op again.
    const before = fingerprint(sb.ledgerPath);
    const w2 = sb.open();
    expect(await w2.startRun({ command: 'sync', toolVersion: '0.1.0' }).finish({ outcome: 'ok', counts: {} })).toBeNull();
    w2.close();
    expect(fingerprint(sb.ledgerPath)).toEqual(before);
  });

  it('records a run: run-started lazily with the first event, run-finished and a checkpoint at the end', async () => {
    const l = sb.open({ create: true });
    const run = l.startRun({ command: 'sync', toolVersion: '0.1.0', configDigest: digestOf('config') });
    const d = digestOf('a');
    expect(run.append([verifiedEvent({ image: 'ghcr.io/fluxcd/a', digest: d, verdict: { ok: true }, trustRootDigest: digestOf('root') })])).toEqual([1]);
    const outcome = await run.finish({ outcome: 'ok', counts: { verified: 1 } });
    expect(outcome?.created).toBe(true);
    expect(outcome?.checkpoint.size).toBe(3);
    const all = l.list({ order: 'asc' });
    expect(all.map((e) => e.kind)).toEqual(['run-started', 'verified', 'run-finished']);
    expect(new Set(all.map((e) => e.run))).toEqual(new Set([run.id]));
    expect(all[0]!.body).toMatchObject({ command: 'sync', tool: { name: 'airlock', version: '0.1.0' }, configDigest: digestOf('config') });
    l.close();
  });

  it('writes a checkpoint only when events were appended since the last, and publishes it to sinks', async () => {
    const { FileSink, CommandSink } = await import('../../src/ledger/sinks.js');
    const file = join(sb.root, 'other-volume', 'airlock.checkpoint');
    const piped = join(sb.root, 'piped.checkpoint');
    const l = sb.open({
      create: true,
      sinks: [new FileSink(file, true), new CommandSink(['sh', '-c', `cat > '${piped}'`]), new CommandSink(['sh', '-c', 'exit 3'])],
    });
    expect(await l.checkpoint()).toBeNull(); // empty ledger: nothing to sign
    l.append(sampleEvents(5));
    const first = await l.checkpoint();
    expect(first?.created).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(first!.checkpoint.note);
    expect(readFileSync(piped, 'utf8')).toBe(first!.checkpoint.note);
    expect(first!.published.map((p) => p.ok)).toEqual([true, true, false]);
    expect(first!.published[2]!.error).toMatch(/exited with 3/);
    const same = await l.checkpoint();
    expect(same).toMatchObject({ created: false, published: [] });
    expect(l.checkpoints()).toHaveLength(1);
    l.close();
  });

  it('a run that records nothing publishes the latest checkpoint again where a sink says it lacks it, the ledger untouched', async () => {
    const { FileSink } = await import('../../src/ledger/sinks.js');
    /** A sink that can tell what it holds (as the registry sink does with one HEAD), and one whose check fails. */
    class Held {
      readonly description = 'held';
      readonly leavesHost = true;
      note: string | undefined;
      asked = 0;
      published = 0;
      isPublished(c: SignedCheckpoint): Promise<boolean> {
        this.asked++;
        return Promise.resolve(this.note === c.note);
      }
      publish(c: SignedCheckpoint): Promise<void> {
        this.published++;
        this.note = c.note;
        return Promise.resolve();
      }
    }
    const held = new Held();
    const down = { description: 'down', leavesHost: true, publish: () => Promise.reject(new Error('unreachable')), isPublished: () => Promise.reject(new Error('unreachable')) };
    const file = join(sb.root, 'checkpoint');
    const l = sb.open({ create: true, sinks: [new FileSink(file), held] });
    const run = l.startRun({ command: 'sync', toolVersion: '0.1.0' });
    run.append(sampleEvents(2));
    const made = await run.finish({ outcome: 'ok', counts: {} });
    expect(held.published).toBe(1);
    l.close();

    // Killed while publishing: the sink lost it (the file sink, which cannot tell, is left alone).
    held.note = undefined;
    rmSync(file);
    const before = fingerprint(sb.ledgerPath);
    const w = sb.open({ sinks: [new FileSink(file), held, down] });
    const outcome = await w.startRun({ command: 'sync', toolVersion: '0.1.0' }).finish({ outcome: 'ok', counts: {} });
    expect(outcome).toMatchObject({ created: false, checkpoint: { size: made!.checkpoint.size } });
    expect(outcome!.published.map((p) => [p.sink, p.ok])).toEqual([['down', false], ['held', true]]);
    expect(held.note).toBe(made!.checkpoint.note);
    expect(existsSync(file)).toBe(false);
    // In place now: the next run only asks, publishes nothing, reports no checkpoint.
    const w2 = sb.open({ sinks: [held] });
    expect(await w2.startRun({ command: 'sync', toolVersion: '0.1.0' }).finish({ outcome: 'ok', counts: {} })).toBeNull();
    expect([held.asked, held.published]).toEqual([2, 2]);
    w.close();
    w2.close();
    expect(fingerprint(sb.ledgerPath)).toEqual(before);
  });

  it('refuses invalid events with one sentence', () => {
    const l = sb.open({ create: true });
    const cases: LedgerEventInput[] = [
      { kind: 'nonsense' as 'verified', body: {} },
      { kind: 'verified', status: 'great' as 'verified', body: {} },
      { kind: 'verified', subject: 'sha256:zz', body: {} },
      { kind: 'refused', reason: 'has spaces', body: {} },
      { kind: 'verified', body: { s: '\ud800' } },
      { kind: 'verified', body: [] as unknown as Record<string, never> },
    ];
    for (const c of cases) {
      const e = caught(() => l.append([c]));
      expect(e.code).toBe('BAD_INPUT');
      oneSentence(e);
    }
    expect(l.size()).toBe(0);
    l.close();
  });
});

describe('ledger files that are not right', () => {
  it('refuses a database written by a newer airlock, read-only or not, and leaves it unchanged', () => {
    sb.open({ create: true }).close();
    const db = new Database(sb.ledgerPath);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const before = fingerprint(sb.ledgerPath);
    for (const readOnly of [true, false]) {
      const e = caught(() => sb.open({ readOnly }));
      expect(e.code).toBe('LEDGER_INVALID');
      expect(e.message).toMatch(/written by a newer airlock/);
      oneSentence(e);
    }
    expect(fingerprint(sb.ledgerPath)).toEqual(before);
  });

  it('refuses a text file, a foreign SQLite database, an empty file and a damaged ledger, changing none of them', () => {
    const text = join(sb.dataDir, 'notes.txt');
    writeFileSync(text, 'hello, I am not a database\n'.repeat(20));
    const foreign = join(sb.dataDir, 'other.db');
    const f = new Database(foreign);
    f.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    f.close();
    const empty = join(sb.dataDir, 'empty.db');
    writeFileSync(empty, '');
    const damagedPath = join(sb.dataDir, 'damaged.db');
    const l = Ledger.open(damagedPath, { create: true, key: sb.keyFor });
    l.append(sampleEvents(300));
    l.close();
    const bytes = readFileSync(damagedPath);
    bytes.fill(0x5a, 4096, bytes.length - 4096); // keep the header (and application id), wreck the pages
    writeFileSync(damagedPath, bytes);

    for (const [path, create, pattern] of [
      [text, true, /not an SQLite database/],
      [foreign, true, /SQLite database but not an airlock ledger/],
      [empty, false, /empty, not an airlock ledger/],
      [damagedPath, false, /damaged or unreadable/],
    ] as const) {
      const before = fingerprint(path);
      for (const readOnly of [true, false]) {
        if (readOnly && create) continue;
        const e = caught(() => {
          const x = Ledger.open(path, { create, readOnly, key: sb.keyFor });
          // A damaged file may open; reading it is what fails.
          try {
            verifyLedger(x);
            x.list();
          } finally {
            x.close();
          }
        });
        expect(e.code, path).toBe('LEDGER_INVALID');
        expect(e.exitCode).toBe(EXIT_CODES.LEDGER_INVALID);
        expect(e.message).toMatch(pattern);
        oneSentence(e);
      }
      expect(fingerprint(path), path).toEqual(before);
    }
  });

  it('a missing ledger is NOT_FOUND for readers and never created by them', () => {
    const e = caught(() => sb.open({ readOnly: true }));
    expect(e.code).toBe('NOT_FOUND');
    expect(existsSync(sb.ledgerPath)).toBe(false);
  });

  it('a missing, open, foreign or wrong key stops a writer before it writes anything', () => {
    const l = sb.open({ create: true });
    l.append(sampleEvents(3));
    const origin = l.origin;
    l.close();
    const keyPath = sb.keyFor(origin);
    const keyText = readFileSync(keyPath, 'utf8');
    const before = fingerprint(sb.ledgerPath);

    writeFileSync(keyPath, keyText, { mode: 0o600 });
    chmodSync(keyPath, 0o644);
    let e = caught(() => sb.open());
    expect(e.code).toBe('LEDGER_KEY');
    expect(e.message).toMatch(/accessible to other users/);

    // Another ledger's key at this path.
    const other = ledgerSandbox();
    const o = Ledger.open(join(other.dataDir, 'x.db'), { create: true, key: other.keyFor });
    const otherKey = readFileSync(other.keyFor(o.origin), 'utf8');
    o.close();
    other.cleanup();
    writeFileSync(keyPath, otherKey, { mode: 0o600 });
    chmodSync(keyPath, 0o600);
    e = caught(() => sb.open());
    expect(e.code).toBe('LEDGER_KEY');
    expect(e.message).toMatch(/belongs to the ledger/);

    writeFileSync(keyPath, 'garbage\n');
    e = caught(() => sb.open());
    expect(e.code).toBe('LEDGER_KEY');

    rmSync(keyPath);
    e = caught(() => sb.open());
    expect(e.code).toBe('LEDGER_KEY');
    expect(e.exitCode).toBe(17);
    expect(e.message).toMatch(/signing key .* is missing/);
    oneSentence(e);
    expect(existsSync(keyPath)).toBe(false); // never silently replaced
    expect(fingerprint(sb.ledgerPath)).toEqual(before);
  });

  it('opening read-only never writes, even with a WAL left by a writer', () => {
    const l = sb.open({ create: true });
    l.append(sampleEvents(20));
    const before = fingerprint(sb.ledgerPath);
    const r = Ledger.open(sb.ledgerPath, { readOnly: true });
    expect(r.size()).toBe(20);
    expect(verifyLedger(r).ok).toBe(true);
    r.close();
    expect(fingerprint(sb.ledgerPath)).toEqual(before);
    l.close();
  });
});
