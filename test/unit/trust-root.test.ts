import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import {
  checkTrustedRoot,
  describeTrustAnchor,
  exportTrust,
  loadEmbeddedTrustAnchor,
  loadOfflineTrustAnchor,
  loadTrustAnchorFile,
  readEmbeddedRoot,
  renderTrustShow,
  saveRefreshedRoot,
  toTrustAnchor,
  updateTrust,
} from '../../src/trust/index.js';
import { caught as error } from '../support/errors.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'airlock-trust-'));
const embeddedJson = () => JSON.parse(Buffer.from(readEmbeddedRoot().bytes).toString('utf8')) as Record<string, unknown>;

describe('trusted root validity windows (what @sigstore/verify leaves unchecked)', () => {
  const cases: [string, (r: Record<string, unknown>) => void][] = [
    ['tlogs[0]', (r) => delete (r.tlogs as { publicKey: { validFor: { start?: string } } }[])[0]!.publicKey.validFor.start],
    ['ctlogs[0]', (r) => delete (r.ctlogs as { publicKey: { validFor?: unknown } }[])[0]!.publicKey.validFor],
    ['certificateAuthorities[1]', (r) => ((r.certificateAuthorities as { validFor: { start: unknown } }[])[1]!.validFor.start = null)],
    ['timestampAuthorities[0]', (r) => delete (r.timestampAuthorities as { validFor?: unknown }[])[0]!.validFor],
  ];
  for (const [path, mutate] of cases) {
    it(`refuses a root whose ${path} has no validFor.start`, () => {
      const root = embeddedJson();
      mutate(root);
      const e = error(() => checkTrustedRoot(root, 'the trusted root X'));
      expect(e.code).toBe('BAD_INPUT');
      expect(e.details?.check).toBe('trust-root-validity');
      expect(e.message).toContain(path);
    });
  }

  it('refuses malformed times, an end before the start, and a foreign media type; accepts end: null', () => {
    const root = embeddedJson();
    const tlog = (root.tlogs as { publicKey: { validFor: { start: unknown; end?: unknown } } }[])[0]!;
    tlog.publicKey.validFor.end = null;
    expect(() => checkTrustedRoot(root, 'r')).not.toThrow();
    tlog.publicKey.validFor.start = '2021';
    expect(error(() => checkTrustedRoot(root, 'r')).message).toMatch(/not an RFC 3339 time/);
    tlog.publicKey.validFor = { start: '2022-01-01T00:00:00Z', end: '2021-01-01T00:00:00Z' };
    expect(error(() => checkTrustedRoot(root, 'r')).message).toMatch(/before its start/);
    expect(error(() => checkTrustedRoot({ ...embeddedJson(), mediaType: 'application/json' }, 'r')).message).toMatch(/mediaType/);
    expect(() => checkTrustedRoot([], 'r')).toThrow(AirlockError);
  });

  it('summarises every authority with its window', () => {
    const entries = checkTrustedRoot(embeddedJson(), 'r');
    expect(entries.map((e) => e.kind)).toEqual(expect.arrayContaining(['certificate-authority', 'timestamp-authority', 'tlog', 'ctlog']));
    const rekor = entries.find((e) => e.kind === 'tlog' && e.name === 'https://rekor.sigstore.dev');
    expect(rekor).toMatchObject({ path: 'tlogs[0]', validFor: { start: '2021-01-12T11:53:27.000Z' } });
    expect(rekor?.id).toMatch(/^c0d23d6ad406973f/); // the log id, hex
  });
});

describe('trust anchors: embedded, file, saved', () => {
  it('the embedded anchor is read from @sigstore/tuf seeds.json, digest over its exact bytes', () => {
    const a = loadEmbeddedTrustAnchor();
    expect(a.source).toBe('embedded');
    expect(a.origin).toMatch(/@sigstore\/tuf .* seeds\.json/);
    expect(a.digest).toBe(`sha256:${createHash('sha256').update(readEmbeddedRoot().bytes).digest('hex')}`);
    expect(a.material.tlogs.length).toBeGreaterThan(0);
    expect(Object.isFrozen(a.trustedRoot)).toBe(true);
  });

  it('a --trusted-root file: digest = sha256sum of the file; missing → NOT_FOUND; not JSON → BAD_INPUT', () => {
    const dir = tmp();
    const f = join(dir, 'trusted_root.json');
    writeFileSync(f, readEmbeddedRoot().bytes);
    const a = loadTrustAnchorFile(f);
    expect(a).toMatchObject({ source: 'file', origin: f, digest: loadEmbeddedTrustAnchor().digest });
    expect(error(() => loadTrustAnchorFile(join(dir, 'nope.json'))).code).toBe('NOT_FOUND');
    writeFileSync(f, '{"mediaType":');
    expect(error(() => loadTrustAnchorFile(f)).code).toBe('BAD_INPUT');
  });

  it('offline: the last refreshed root when there is one (source tuf), else the embedded one; a torn save is ignored', () => {
    const dir = tmp();
    expect(loadOfflineTrustAnchor(dir).source).toBe('embedded');
    const bytes = Buffer.concat([Buffer.from(readEmbeddedRoot().bytes), Buffer.from('\n')]);
    saveRefreshedRoot(dir, { bytes, mirror: 'https://tuf.example', fetchedAt: '2026-01-01T00:00:00.000Z' });
    const a = loadOfflineTrustAnchor(dir);
    expect(a).toMatchObject({ source: 'tuf', origin: 'https://tuf.example', fetchedAt: '2026-01-01T00:00:00.000Z' });
    expect(a.digest).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    writeFileSync(join(dir, 'trusted_root.json'), '{}'); // meta no longer matches: interrupted update
    expect(loadOfflineTrustAnchor(dir).source).toBe('embedded');
  });

  it('a malformed embedded/TUF root is VERIFY_FAILED, a malformed file BAD_INPUT', () => {
    const bad = Buffer.from(JSON.stringify({ ...embeddedJson(), tlogs: [{ baseUrl: 'x', publicKey: {} }] }));
    expect(error(() => toTrustAnchor(bad, { source: 'tuf', origin: 'm' })).code).toBe('VERIFY_FAILED');
    expect(error(() => toTrustAnchor(bad, { source: 'file', origin: 'm' })).code).toBe('BAD_INPUT');
  });
});

describe('trust show / export / update', () => {
  it('show: source, digest, and each window with its status now', () => {
    const r = describeTrustAnchor(loadEmbeddedTrustAnchor(), new Date('2026-06-01T00:00:00Z'));
    expect(r.source).toBe('embedded');
    expect(r.entries.find((e) => e.path === 'tlogs[0]')?.status).toBe('active');
    expect(r.entries.some((e) => e.status === 'retired')).toBe(true); // the 2021 Fulcio root ended in 2022
    const text = renderTrustShow(r);
    expect(text).toContain(r.digest);
    expect(text).toMatch(/tlog\s+https:\/\/rekor\.sigstore\.dev/);
  });

  it('export writes the exact bytes (sha256sum = digest) and does not overwrite without --force', () => {
    const dir = tmp();
    const out = join(dir, 'root.json');
    const a = loadEmbeddedTrustAnchor();
    const r = exportTrust(a, out);
    expect(r).toMatchObject({ path: out, source: 'embedded', digest: a.digest });
    expect(`sha256:${createHash('sha256').update(readFileSync(out)).digest('hex')}`).toBe(a.digest);
    expect(error(() => exportTrust(a, out)).message).toMatch(/--force/);
    expect(() => exportTrust(a, out, true)).not.toThrow();
    expect(loadTrustAnchorFile(out).digest).toBe(a.digest);
  });

  it('update with --offline refuses with a clear way forward, and touches nothing', async () => {
    const dir = tmp();
    await expect(updateTrust({ trustDir: dir, offline: true })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/trust export/) });
    expect(existsSync(join(dir, 'tuf'))).toBe(false);
  });
});
