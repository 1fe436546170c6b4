import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { toTrustAnchor, type TrustAnchor } from '../../src/trust/anchor.js';
import { cacheDerEncodings, cacheTrustedVerifications } from '../../src/verify/der-cache.js';
import { issuerOf, readFulcioExtensions } from '../../src/verify/extensions.js';
import { FULCIO_EXTENSION_OIDS, toPolicy, verifyBundle, verifyPrehashedSignature } from '../../src/verify/index.js';
import { createMockSigstore, FLUX_SAN, GITHUB_ISSUER, type MockSigstore } from '../support/sigstore-fixtures.js';

const ARTIFACT = Buffer.from('a');
let mock: MockSigstore;
let trust: TrustAnchor;
const policy = () => toPolicy({ certificateIdentity: FLUX_SAN, certificateOidcIssuer: GITHUB_ISSUER });

beforeAll(async () => {
  mock = await createMockSigstore();
  trust = toTrustAnchor(mock.trustedRootBytes, { source: 'file', origin: 'mock' });
});

function leafOf(bundle: Record<string, unknown>): X509Certificate {
  const raw = (bundle.verificationMaterial as { certificate: { rawBytes: string } }).certificate.rawBytes;
  return X509Certificate.parse(Buffer.from(raw, 'base64'));
}

describe('Fulcio extensions, read from the leaf', () => {
  it('decodes legacy (raw) and v2 (DER UTF8String) extensions by name; unknown OIDs of the arc by OID', async () => {
    const bundle = await mock.signBlob(ARTIFACT, {
      extensions: [
        { oid: '1.3.6.1.4.1.57264.1.1', value: GITHUB_ISSUER, legacy: true },
        { oid: '1.3.6.1.4.1.57264.1.5', value: 'fluxcd/flux2', legacy: true },
        { oid: '1.3.6.1.4.1.57264.1.8', value: GITHUB_ISSUER },
        { oid: '1.3.6.1.4.1.57264.1.12', value: 'https://github.com/fluxcd/flux2' },
        { oid: '1.3.6.1.4.1.57264.1.99', value: 'future' },
      ],
    });
    const ext = readFulcioExtensions(leafOf(bundle));
    expect(ext).toEqual({
      issuerLegacy: GITHUB_ISSUER,
      githubWorkflowRepository: 'fluxcd/flux2',
      issuer: GITHUB_ISSUER,
      sourceRepositoryUri: 'https://github.com/fluxcd/flux2',
      '1.3.6.1.4.1.57264.1.99': 'future',
    });
    expect(FULCIO_EXTENSION_OIDS.sourceRepositoryRef).toBe('1.3.6.1.4.1.57264.1.14');
  });

  it('the v2 issuer wins over the legacy one, and a disagreement between them is refused at the issuer check', async () => {
    expect(issuerOf({ issuer: 'a' })).toBe('a');
    expect(issuerOf({ issuerLegacy: 'b' })).toBe('b');
    const bundle = await mock.signBlob(ARTIFACT, {
      extensions: [
        { oid: '1.3.6.1.4.1.57264.1.1', value: 'https://evil.example', legacy: true },
        { oid: '1.3.6.1.4.1.57264.1.8', value: GITHUB_ISSUER },
      ],
    });
    try {
      verifyBundle({ bundle, artifact: { bytes: ARTIFACT } }, trust, policy());
      throw new Error('expected a failure');
    } catch (e) {
      expect(e).toBeInstanceOf(AirlockError);
      expect((e as AirlockError).details?.check).toBe('issuer');
      expect((e as AirlockError).message).toMatch(/disagree|inconsistent/);
    }
  });

  it('a v2 extension that is not a DER UTF8String is an error, not a guess', async () => {
    // legacy: true writes raw bytes under a v2 OID, i.e. not DER.
    const bundle = await mock.signBlob(ARTIFACT, {
      extensions: [{ oid: '1.3.6.1.4.1.57264.1.8', value: GITHUB_ISSUER }, { oid: '1.3.6.1.4.1.57264.1.12', value: 'https://github.com/x/y', legacy: true }],
    });
    expect(() => readFulcioExtensions(leafOf(bundle))).toThrow(/not a DER UTF8String/);
  });
});

describe('verifyPrehashedSignature (digest mode)', () => {
  const digest = createHash('sha256').update('hello').digest();
  it('ECDSA P-256/P-384/P-521 and RSA PKCS#1 v1.5 over a sha256 digest; wrong digest or garbage is false', () => {
    const keys = [
      generateKeyPairSync('ec', { namedCurve: 'P-256' }),
      generateKeyPairSync('ec', { namedCurve: 'P-384' }),
      generateKeyPairSync('ec', { namedCurve: 'P-521' }),
      generateKeyPairSync('rsa', { modulusLength: 2048 }),
    ];
    for (const k of keys) {
      const sig = sign('sha256', Buffer.from('hello'), k.privateKey);
      expect(verifyPrehashedSignature(k.publicKey, digest, sig)).toBe(true);
      expect(verifyPrehashedSignature(k.publicKey, Buffer.alloc(32), sig)).toBe(false);
      expect(verifyPrehashedSignature(k.publicKey, digest, Buffer.from('garbage'))).toBe(false);
      expect(verifyPrehashedSignature(k.publicKey, digest.subarray(0, 31), sig)).toBe(false);
    }
  });

  it('accepts high-S ECDSA signatures (Go and OpenSSL do not normalise s)', () => {
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    let ok = 0;
    for (let i = 0; i < 16; i++) ok += verifyPrehashedSignature(k.publicKey, digest, sign('sha256', Buffer.from('hello'), k.privateKey)) ? 1 : 0;
    expect(ok).toBe(16); // about half of these have s > n/2
  });

  it('refuses Ed25519 (it signs the message, not a digest) with BAD_INPUT naming the way out', () => {
    const k = generateKeyPairSync('ed25519');
    expect(() => verifyPrehashedSignature(k.publicKey, digest, Buffer.alloc(64))).toThrow(/give the artifact file/);
  });
});

describe('der-cache', () => {
  it('cached encodings equal fresh ones; trusted-pair verdicts are cached, other issuers are checked each time', async () => {
    const bundle = await mock.signBlob(ARTIFACT);
    const fresh = leafOf(bundle);
    const cached = cacheDerEncodings(leafOf(bundle));
    expect(cached.root.toDER().equals(fresh.root.toDER())).toBe(true);
    expect(cached.tbsCertificate.toDER().equals(fresh.tbsCertificate.toDER())).toBe(true);
    expect(cached.publicKey.equals(fresh.publicKey)).toBe(true);

    const root = X509Certificate.parse(Buffer.from(trust.material.certificateAuthorities[0]!.certChain[0]!.root.toDER()));
    cacheTrustedVerifications([root]);
    expect(root.verify()).toBe(true);
    expect(root.verify(root)).toBe(true);
    // The leaf is not in the trusted chain: not cached, and of course not self-signed.
    expect(root.verify(fresh)).toBe(false);
  });
});
