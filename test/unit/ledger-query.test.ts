import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/ledger/canonical.js';
import { csvCell, exportLedger } from '../../src/ledger/export.js';
import { refusedEvent } from '../../src/ledger/events.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { leafHash, verifyInclusion } from '../../src/ledger/merkle.js';
import { parseTimeBound } from '../../src/ledger/query.js';
import { refusalLookup } from '../../src/ledger/refusals.js';
import { DIGEST_RANGE_BITS } from '../../src/ledger/schema.js';
import { canonicalLeaf, leafText, rowFromRaw, ROW_COLUMNS } from '../../src/ledger/row.js';
import { digestOf, ledgerSandbox, sampleEvents, type LedgerSandbox } from '../support/ledger-fixtures.js';

let sb: LedgerSandbox;
let l: Ledger;
let t = Date.parse('2025-01-01T00:00:00Z');

beforeAll(async () => {
  sb = ledgerSandbox();
  // A clock that moves a minute per batch, so time filters have something to cut.
  l = sb.open({ create: true, clock: () => new Date(t) });
  for (let b = 0; b < 8; b++) {
    l.append(sampleEvents(10, `b${b}-`));
    t += 60_000;
  }
  await l.checkpoint();
});
afterAll(() => {
  l.close();
  sb.cleanup();
});

async function drain(fn: (out: PassThrough) => Promise<number>): Promise<string> {
  const out = new PassThrough();
  let s = '';
  out.on('data', (d: Buffer) => (s += d.toString()));
  await fn(out);
  out.end();
  return s;
}

describe('ledger queries', () => {
  it('filters by every indexed column, newest first by default', () => {
    expect(l.list({ limit: 3 }).map((e) => e.seq)).toEqual([79, 78, 77]);
    expect(l.list({ limit: 3, order: 'asc' }).map((e) => e.seq)).toEqual([0, 1, 2]);
    const refused = l.list({ kind: 'refused', limit: 1000 });
    expect(refused).toHaveLength(8);
    expect(refused.every((e) => e.kind === 'refused' && e.status === 'refused' && e.reason === 'IDENTITY_MISMATCH')).toBe(true);
    expect(l.list({ status: 'unverified', limit: 1000 }).every((e) => e.kind === 'insecure-copy')).toBe(true);
    expect(l.list({ image: 'ghcr.io/fluxcd/helm-controller', limit: 1000 }).every((e) => e.image === 'ghcr.io/fluxcd/helm-controller')).toBe(true);
    expect(l.list({ release: 'v2.1.0', limit: 1000 }).every((e) => e.release === 'v2.1.0')).toBe(true);
    const since = new Date(Date.parse('2025-01-01T00:06:00Z')).toISOString();
    expect(l.list({ since, limit: 1000, order: 'asc' }).map((e) => e.seq)[0]).toBe(60);
    expect(l.list({ until: '2025-01-01T00:00:59.999Z', limit: 1000 })).toHaveLength(10);
  });

  it('--digest finds the events about a digest and those naming it as their subject', () => {
    const d = digestOf('b3-image-4'); // event 4 of batch 3: a copied signature that signs it
    const hits = l.list({ digest: d, limit: 100 });
    expect(hits.map((e) => e.kind)).toEqual(['copied-signature']);
    expect(hits[0]!.subject).toBe(d);
    const story = l.story(digestOf('b2-image-1'));
    expect(story.events.map((e) => e.kind)).toEqual(['verified']);
    expect(story.releases.length).toBeGreaterThan(0);
    expect(story.releases.every((e) => e.kind === 'release-discovered' && e.release === 'v2.0.0')).toBe(true);
    // A layer no event is about, but a copy wrote.
    const layer = l.story(digestOf('b1-layer-3'));
    expect(layer.events).toEqual([]);
    expect(layer.mentions.map((e) => e.kind)).toEqual(['copied-upstream']);
  });

  it('--digest probes every range of the partitioned digest indexes, newest first, and never scans', () => {
    const s2 = ledgerSandbox();
    const x = s2.open({ create: true });
    try {
      x.append(sampleEvents(8, 'r-'));
      const d = digestOf('across');
      // Entries far apart (ranges of 2^DIGEST_RANGE_BITS sequence numbers), written straight into the table: only
      // the indexes are under test here, not the tree.
      const put = x.db.prepare('INSERT INTO events (seq, time, kind, digest, subject, reason, status, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      const bytes = Buffer.from(d.slice(7), 'hex');
      const other = Buffer.from(digestOf('other').slice(7), 'hex');
      const span = 2 ** DIGEST_RANGE_BITS;
      put.run(span - 1, '2025-01-01T00:00:00.000Z', 'verified', bytes, null, null, 'verified', '{}');
      put.run(span, '2025-01-02T00:00:00.000Z', 'copied-signature', other, bytes, null, 'verified', '{}');
      put.run(3 * span + 5, '2025-01-03T00:00:00.000Z', 'refused', bytes, null, 'NO_SIGNATURE', 'refused', '{}');
      put.run(3 * span + 6, '2025-01-03T00:00:00.000Z', 'composed', other, other, null, 'composed', '{}');
      expect(x.list({ digest: d }).map((e) => e.seq)).toEqual([3 * span + 5, span, span - 1]);
      expect(x.list({ digest: d, order: 'asc', limit: 2 }).map((e) => e.seq)).toEqual([span - 1, span]);
      expect(x.list({ digest: d, kind: 'copied-signature' }).map((e) => e.seq)).toEqual([span]);
      expect(x.list({ digest: d, since: '2025-01-02T00:00:00.000Z' }).map((e) => e.seq)).toEqual([3 * span + 5, span]);
      expect(x.story(d).events.map((e) => e.seq)).toEqual([span - 1, span, 3 * span + 5]);
      expect(x.list({ digest: digestOf('r-image-1') }).map((e) => e.seq)).toEqual([1]);
      expect(x.list({ digest: digestOf('nowhere') })).toEqual([]);
      const refused = refusalLookup(x.db);
      expect(refused({ digest: d, reason: 'NO_SIGNATURE', image: null, release: null })).toBe(true);
      expect(refused({ digest: d, reason: 'OTHER', image: null, release: null })).toBe(false);
      for (const filter of [{ digest: d }, { digest: d, kind: 'verified', image: 'x', release: 'y', status: 'verified', since: '2025-01-01' }]) {
        const plan = x.queries.plan(filter).join('\n');
        expect(plan).toMatch(/SEARCH events USING COVERING INDEX events_digest \(<expr>=\? AND digest=\?\)/);
        expect(plan).toMatch(/SEARCH events USING COVERING INDEX events_subject \(<expr>=\? AND subject=\?\)/);
        expect(plan).not.toMatch(/SCAN events/);
      }
      // A sequence number forged into the quadrillions: lookups stay bounded (2^16 ranges) instead of running for ever.
      put.run(2 ** 50, '2025-01-04T00:00:00.000Z', 'verified', bytes, null, null, 'verified', '{}');
      const t0 = performance.now();
      expect(x.list({ digest: d, limit: 1 }).map((e) => e.seq)).toEqual([2 ** 50]);
      expect(performance.now() - t0).toBeLessThan(5000);
    } finally {
      x.close();
      s2.cleanup();
    }
  });

  it('rejects unknown kinds, statuses, malformed digests and limits with one sentence', () => {
    expect(() => l.list({ kind: 'nope' })).toThrow(/not an event kind\.$/);
    expect(() => l.list({ status: 'nope' })).toThrow(/not an event status\.$/);
    expect(() => l.list({ digest: 'sha256:abc' })).toThrow(/not a sha256/);
    expect(() => l.list({ limit: 0 })).toThrow(/limit/);
  });

  it('reads --since/--until as ISO times or durations', () => {
    const now = new Date('2025-06-01T12:00:00Z');
    expect(parseTimeBound('24h', now, '--since')).toBe('2025-05-31T12:00:00.000Z');
    expect(parseTimeBound('7d', now, '--since')).toBe('2025-05-25T12:00:00.000Z');
    expect(parseTimeBound('2025-01-02', now, '--since')).toBe('2025-01-02T00:00:00.000Z');
    expect(parseTimeBound('2025-01-02T03:04:05+02:00', now, '--since')).toBe('2025-01-02T01:04:05.000Z');
    expect(() => parseTimeBound('yesterday', now, '--since')).toThrow(/--since "yesterday"/);
  });
});

describe('leaves and proofs', () => {
  it('the leaf is the RFC 8785 canonical JSON of every stored column', () => {
    const rows = (l.db.prepare(`SELECT ${ROW_COLUMNS.join(', ')} FROM events`).raw(true).all() as unknown[][]).map(rowFromRaw);
    for (const row of rows) {
      expect(leafText(row)).toBe(canonicalLeaf(row));
      expect(Object.keys(JSON.parse(leafText(row)) as object).sort()).toEqual([...ROW_COLUMNS].sort());
    }
  });

  it('an inclusion proof verifies against the signed checkpoint, with RFC 6962 hashing done by hand', () => {
    const p = l.prove(37);
    expect(p.treeSize).toBe(80);
    expect(p.checkpoint?.split('\n')[2]).toBe(p.rootHashBase64);
    const leaf = createHash('sha256').update(Buffer.from([0])).update(p.leaf).digest();
    expect(leaf.toString('hex')).toBe(p.leafHash);
    expect(JSON.parse(p.leaf)).toMatchObject({ seq: 37 });
    expect(canonicalize(JSON.parse(p.leaf))).toBe(p.leaf);
    expect(verifyInclusion(leaf, 37, 80, p.auditPath.map((h) => Buffer.from(h, 'hex')), Buffer.from(p.rootHash, 'hex'))).toBe(true);
    // Against an older size too.
    const old = l.prove(3, 10);
    expect(verifyInclusion(leafHash(old.leaf), 3, 10, old.auditPath.map((h) => Buffer.from(h, 'hex')), Buffer.from(old.rootHash, 'hex'))).toBe(true);
    expect(() => l.prove(80)).toThrow(/no entry 80/);
    expect(() => l.prove(5, 5)).toThrow(/cannot be proved/);
  });
});

describe('export', () => {
  it('exports JSON that parses back to the entries, with leaf hashes', async () => {
    const text = await drain((out) => exportLedger(l.db, 'json', out));
    const rows = JSON.parse(text) as { seq: number; leafHash: string }[];
    expect(rows).toHaveLength(80);
    expect(rows[5]).toMatchObject({ ...l.entry(5), leafHash: l.prove(5).leafHash });
  });

  it('neutralises CSV cells a spreadsheet would run, and quotes what needs quoting', async () => {
    for (const [v, want] of [
      ['=HYPERLINK("x")', `"'=HYPERLINK(""x"")"`],
      ['+1', "'+1"],
      ['-1', "'-1"],
      ['@SUM(A1)', "'@SUM(A1)"],
      ['\tx', "'\tx"],
      ['\rx', `"'\rx"`],
      ['a,b', '"a,b"'],
      ['plain', 'plain'],
      [null, ''],
      [7, '7'],
    ] as const) {
      expect(csvCell(v)).toBe(want);
    }
    const s2 = ledgerSandbox();
    const x = s2.open({ create: true });
    x.append([refusedEvent({ image: '=cmd|/C calc!A0', release: '@evil', reason: 'BAD', message: '+danger', digest: digestOf('q') })]);
    const csv = await drain((out) => exportLedger(x.db, 'csv', out));
    x.close();
    s2.cleanup();
    const [header, row] = csv.split('\r\n');
    expect(header).toBe('seq,time,kind,run,image,digest,subject,release,status,reason,body,leaf_hash');
    const cells = row!.split(',');
    expect(cells[4]).toBe("'=cmd|/C calc!A0");
    expect(cells[7]).toBe("'@evil");
    expect(csv).not.toMatch(/(^|,)[=+\-@]/m);
  });
});
