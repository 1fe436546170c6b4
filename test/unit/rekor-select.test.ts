/**
 * src/rekor: parsing Rekor answers, selecting the entry that logged a given signature, building the bundle, and
 * reading cosign's detached files — the pure parts of `verify blob`, on entries made by the test kit's log.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors.js';
import { parseCertificateFile, parseSignatureFile } from '../../src/blob/detached.js';
import { BUNDLE_V01, BUNDLE_V03, toBlobBundle } from '../../src/rekor/bundle.js';
import { toRekorBaseUrl } from '../../src/rekor/client.js';
import { toRekorEntries, type RekorEntry } from '../../src/rekor/entry.js';
import { expectedEntryUuid, selectRekorEntry, type DetachedSignature } from '../../src/rekor/select.js';
import { hashedRekordProposal } from '../../src/testkit/decoys.js';
import { canonicalizeProposedEntry } from '../../src/testkit/rekor-entries.js';
import { TransparencyLog } from '../../src/testkit/rekor-log.js';
import { createRootCertificate, issueLeafCertificate, toPem } from '../../src/testkit/x509.js';

const rootKey = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ctKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rootSpki = rootKey.publicKey.export({ type: 'spki', format: 'der' });
const rootDer = createRootCertificate(rootKey.privateKey, rootSpki, { organization: 'test', commonName: 'test' }, new Date(Date.now() - 60_000), new Date(Date.now() + 86_400_000));

function signer(): { sig: (b: Buffer) => Buffer; certDer: Buffer } {
  const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const certDer = issueLeafCertificate(
    { publicKeySpki: k.publicKey.export({ type: 'spki', format: 'der' }), san: { uri: 'https://example.test/signer' }, extensions: [], notBefore: new Date(), notAfter: new Date(Date.now() + 600_000) },
    { privateKey: rootKey.privateKey, certificateDer: rootDer },
    { privateKey: ctKey.privateKey, publicKeySpki: ctKey.publicKey.export({ type: 'spki', format: 'der' }) },
  );
  return { sig: (b) => sign('sha256', b, k.privateKey), certDer };
}

function newLog(): TransparencyLog {
  const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return new TransparencyLog({
    privateKey: k.privateKey,
    publicKeySpki: k.publicKey.export({ type: 'spki', format: 'der' }),
    origin: 'rekor.test',
    treeId: '1',
    entriesFile: join(mkdtempSync(join(tmpdir(), 'airlock-rekor-unit-')), 'entries.jsonl'),
    clock: () => new Date(),
    firstLogIndex: 1000,
  });
}

function logged(log: TransparencyLog, blob: Buffer, s: { sig: (b: Buffer) => Buffer; certDer: Buffer }): { entry: RekorEntry; given: DetachedSignature } {
  const digestHex = createHash('sha256').update(blob).digest('hex');
  const signature = s.sig(blob);
  const { uuid, entry } = log.append(canonicalizeProposedEntry(hashedRekordProposal(digestHex, signature, toPem(s.certDer))));
  const [parsed] = toRekorEntries({ [uuid]: entry });
  return { entry: parsed!, given: { signature, certificateDer: s.certDer, digestHex } };
}

describe('toRekorEntries', () => {
  it('keeps entries whose key is the leaf hash of their body (64- or 80-hex) and drops the others', () => {
    const log = newLog();
    const { entry } = logged(log, Buffer.from('a'), signer());
    const raw = log.getByUuid(entry.uuid)!;
    expect(toRekorEntries({ [entry.uuid]: raw })).toHaveLength(1);
    expect(toRekorEntries({ [`0123456789abcdef${entry.uuid}`]: raw })).toHaveLength(1);
    expect(toRekorEntries({ ['f'.repeat(64)]: raw })).toHaveLength(0); // another entry's UUID
    expect(() => toRekorEntries([])).toThrow();
  });
});

describe('selectRekorEntry', () => {
  it('selects the entry with this signature and certificate, naming the first check each other entry failed', () => {
    const log = newLog();
    const blob = Buffer.from('checksums');
    const other = logged(log, blob, signer());
    const otherBlob = logged(log, Buffer.from('other blob'), signer());
    const mine = logged(log, blob, signer());
    const s = selectRekorEntry([other.entry, otherBlob.entry, mine.entry], mine.given);
    expect(s.entry?.uuid).toBe(mine.entry.uuid);
    expect(s.rejected.map((r) => r.failed)).toEqual(['signature', 'artifact-hash']);
    expect(selectRekorEntry([other.entry], mine.given).entry).toBeUndefined();
  });

  it('rejects an entry with the same signature bytes but another certificate (check: certificate)', () => {
    const log = newLog();
    const mine = logged(log, Buffer.from('x'), signer());
    const { certDer: otherCert } = signer();
    const s = selectRekorEntry([mine.entry], { ...mine.given, certificateDer: otherCert });
    expect(s.rejected[0]?.failed).toBe('certificate');
  });

  it('computes the UUID Rekor gives the entry (direct lookup), equal to the logged one', () => {
    const log = newLog();
    const mine = logged(log, Buffer.from('y'), signer());
    expect(expectedEntryUuid(mine.given)).toBe(mine.entry.uuid);
  });
});

describe('toBlobBundle', () => {
  it('builds v0.3 with the inclusion proof (tree-local index) and SET, or v0.1 when only a SET is there', () => {
    const log = newLog();
    const blob = Buffer.from('z');
    const mine = logged(log, blob, signer());
    const m = { signature: mine.given.signature, certificateDer: mine.given.certificateDer, digest: createHash('sha256').update(blob).digest() };
    const v3 = toBlobBundle(m, mine.entry);
    expect(v3.mediaType).toBe(BUNDLE_V03);
    const t = v3.verificationMaterial.tlogEntries[0]!;
    expect(t.logIndex).toBe('1000');
    expect(t.inclusionProof?.logIndex).toBe('0');
    expect(t.inclusionPromise?.signedEntryTimestamp).toBe(mine.entry.signedEntryTimestamp);
    const { inclusionProof: _dropped, ...noProof } = mine.entry;
    expect(toBlobBundle(m, noProof).mediaType).toBe(BUNDLE_V01);
    const { signedEntryTimestamp: _set, ...nothing } = noProof;
    expect(() => toBlobBundle(m, nothing)).toThrow(/neither an inclusion proof nor a signed entry timestamp/);
  });
});

describe('detached files and the Rekor URL', () => {
  it('reads base64 .sig and .pem (base64 of PEM, or PEM), refusing anything else as BAD_INPUT', () => {
    const { certDer } = signer();
    const pem = toPem(certDer);
    expect(parseCertificateFile(Buffer.from(Buffer.from(pem).toString('base64')), 'c.pem').equals(certDer)).toBe(true);
    expect(parseCertificateFile(Buffer.from(pem), 'c.pem').equals(certDer)).toBe(true);
    expect(parseSignatureFile(Buffer.from('MEUCIQ==\n'), 's.sig')).toHaveLength(4);
    for (const f of [() => parseSignatureFile(Buffer.from('not base64!'), 's.sig'), () => parseCertificateFile(Buffer.from('aGVsbG8='), 'c.pem')]) {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(isAirlockError(e, 'BAD_INPUT')).toBe(true);
      }
    }
  });

  it('allows plain http to loopback Rekor only', () => {
    expect(toRekorBaseUrl('http://127.0.0.1:3000/').host).toBe('127.0.0.1:3000');
    expect(toRekorBaseUrl('http://[::1]:3000').hostname).toBe('[::1]');
    expect(toRekorBaseUrl('https://rekor.sigstore.dev').protocol).toBe('https:');
    expect(() => toRekorBaseUrl('http://rekor.internal')).toThrow(/Refusing plain http/);
    expect(() => toRekorBaseUrl('http://127.0.0.1.evil.test')).toThrow(/Refusing plain http/);
    expect(() => toRekorBaseUrl('ftp://x')).toThrow(/https/);
  });
});
