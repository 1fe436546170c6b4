import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Verifier } from '@sigstore/verify';
import { beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { toTrustAnchor, type TrustAnchor } from '../../src/trust/anchor.js';
import { parsePublicKey } from '../../src/trust/keys.js';
import {
  assertCopyAuthorization,
  insecureSkipVerify,
  isVerifiedDigest,
  summarizeVerdict,
  toPolicy,
  toVerifiedDigest,
  verifyBundle,
  type ArtifactInput,
  type Verdict,
} from '../../src/verify/index.js';
import { stepsOf } from '../../src/verify/sigstore-steps.js';
import { verifyBundleWithChecksDisabled } from '../../src/verify/testing.js';
import { createMockSigstore, FLUX_SAN, GITHUB_ISSUER, type MockSigstore } from '../support/sigstore-fixtures.js';
import { caught as failure } from '../support/errors.js';

const ARTIFACT = Buffer.from('install.yaml\n');
const HEX = createHash('sha256').update(ARTIFACT).digest('hex');
const BYTES: ArtifactInput = { bytes: ARTIFACT };
const DIGEST: ArtifactInput = { digest: { algorithm: 'sha256', hex: HEX } };
let mock: MockSigstore;
let trust: TrustAnchor;
const policy = () => toPolicy({ certificateIdentity: FLUX_SAN, certificateOidcIssuer: GITHUB_ISSUER });
const keyPolicy = (k: KeyObject, insecureIgnoreTlog = false) =>
  toPolicy({ key: parsePublicKey(k.export({ format: 'pem', type: 'spki' }).toString()), insecureIgnoreTlog });

beforeAll(async () => {
  mock = await createMockSigstore();
  trust = toTrustAnchor(mock.trustedRootBytes, { source: 'file', origin: 'mock' });
});

describe('verifyBundle: verdicts with evidence', () => {
  it('a v0.3 message signature: signer, extensions, tlog entry, timestamps, trust root, checks', async () => {
    const bundle = await mock.signBlob(ARTIFACT);
    const v = verifyBundle({ bundle, artifact: BYTES }, trust, policy());
    expect(v.artifact).toEqual({ digest: `sha256:${HEX}`, given: 'bytes' });
    expect(v.bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(v.bundle.json).toEqual(bundle);
    expect(v.bundle.json).not.toBe(bundle); // a copy: later mutation by the caller cannot change the evidence
    if (v.signer.kind !== 'certificate') throw new Error('certificate signer expected');
    expect(v.signer.identity).toBe(FLUX_SAN);
    expect(v.signer.issuer).toBe(GITHUB_ISSUER);
    expect(v.signer.extensions).toMatchObject({
      githubWorkflowRepository: 'fluxcd/flux2',
      sourceRepositoryUri: 'https://github.com/fluxcd/flux2',
      sourceRepositoryRef: 'refs/tags/v2.9.4',
      issuerLegacy: GITHUB_ISSUER,
    });
    expect(v.signer.certificate.pem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(v.tlogEntries).toHaveLength(1);
    expect(v.tlogEntries[0]).toMatchObject({ kind: 'hashedrekord', version: '0.0.1', inclusionPromise: true, inclusionProof: true });
    expect(v.timestamps).toEqual([{ source: 'transparency-log', time: v.tlogEntries[0]!.integratedTime }]);
    expect(v.trustRoot).toEqual({ source: 'file', digest: trust.digest });
    expect(v.checks).toEqual(['policy', 'bundle-format', 'verification-material', 'timestamps', 'certificate-validity', 'certificate-chain', 'tlog', 'tlog-verifier', 'artifact', 'signature', 'identity', 'issuer', 'certificate-extensions']);
    expect(Object.isFrozen(v)).toBe(true);
    const s = summarizeVerdict(v);
    expect(JSON.stringify(s)).not.toContain('BEGIN CERTIFICATE');
    expect(s.signer).toMatchObject({ kind: 'certificate', identity: FLUX_SAN });
  });

  it('a legacy v0.1 bundle (converted cosign .sig: SET only) verifies', async () => {
    const v = verifyBundle({ bundle: await mock.signBlob(ARTIFACT, { bundleVersion: 'v0.1' }), artifact: BYTES }, trust, policy());
    expect(v.tlogEntries[0]).toMatchObject({ inclusionPromise: true, inclusionProof: false });
  });

  it('a DSSE in-toto bundle verifies for its subject, in file and digest mode, with the statement as evidence', async () => {
    const bundle = await mock.signInToto(HEX);
    for (const artifact of [BYTES, DIGEST]) {
      const v = verifyBundle({ bundle, artifact }, trust, policy());
      expect(v.bundle.content).toBe('dsse');
      expect(v.dsse).toMatchObject({ predicateType: 'https://sigstore.dev/cosign/sign/v1', subjects: [{ digest: { sha256: HEX } }] });
    }
  });
});

describe('digest mode (sha256:<hex> instead of the file)', () => {
  it('verifies an ECDSA message signature over the given digest', async () => {
    const v = verifyBundle({ bundle: await mock.signBlob(ARTIFACT), artifact: DIGEST }, trust, policy());
    expect(v.artifact).toEqual({ digest: `sha256:${HEX}`, given: 'digest' });
  });

  it('accepts uppercase hex and refuses a malformed digest', async () => {
    const bundle = await mock.signBlob(ARTIFACT);
    expect(verifyBundle({ bundle, artifact: { digest: { algorithm: 'sha256', hex: HEX.toUpperCase() } } }, trust, policy()).artifact.digest).toBe(`sha256:${HEX}`);
    expect(failure(() => verifyBundle({ bundle, artifact: { digest: { algorithm: 'sha256', hex: 'abc' } } }, trust, policy())).code).toBe('BAD_INPUT');
  });

  it("refuses another artifact's digest (artifact check), and the signature check alone also refuses it", async () => {
    const bundle = await mock.signBlob(ARTIFACT);
    const other: ArtifactInput = { digest: { algorithm: 'sha256', hex: 'ab'.repeat(32) } };
    expect(failure(() => verifyBundle({ bundle, artifact: other }, trust, policy())).details?.check).toBe('artifact');
    expect(failure(() => verifyBundleWithChecksDisabled({ bundle, artifact: other }, trust, policy(), ['artifact'])).details?.check).toBe('signature');
  });

  it('verifies key-based bundles: ECDSA P-256 and P-384, RSA; refuses Ed25519 with a clear message', async () => {
    for (const [type, opts] of [['ec', { namedCurve: 'P-256' }], ['ec', { namedCurve: 'P-384' }], ['rsa', { modulusLength: 2048 }]] as const) {
      const { publicKey, privateKey } = generateKeyPairSync(type as 'ec', opts as { namedCurve: string });
      const bundle = await mock.signBlobWithKey(ARTIFACT, privateKey);
      for (const artifact of [BYTES, DIGEST]) {
        const v = verifyBundle({ bundle, artifact }, trust, keyPolicy(publicKey));
        expect(v.signer.kind).toBe('key');
      }
    }
    const ed = generateKeyPairSync('ed25519');
    const edBundle = await mock.signBlobWithKey(ARTIFACT, ed.privateKey);
    const e = failure(() => verifyBundle({ bundle: edBundle, artifact: DIGEST }, trust, keyPolicy(ed.publicKey)));
    expect(e.code).toBe('BAD_INPUT');
    expect(e.message).toMatch(/give the artifact file/);
  });
});

describe('key-based verification (--key)', () => {
  it('refuses a bundle signed by another key: the log entry records another key, and unlogged the signature fails', async () => {
    const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bundle = await mock.signBlobWithKey(ARTIFACT, signer.privateKey);
    expect(failure(() => verifyBundle({ bundle, artifact: BYTES }, trust, keyPolicy(other.publicKey))).details?.check).toBe('tlog-verifier');
    const unlogged = await mock.signBlobWithKey(ARTIFACT, signer.privateKey, { withTlog: false });
    expect(failure(() => verifyBundle({ bundle: unlogged, artifact: BYTES }, trust, keyPolicy(other.publicKey, true))).details?.check).toBe('signature');
  });

  it('an unlogged signature needs --insecure-ignore-tlog, and is then recorded with no tlog evidence', async () => {
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bundle = await mock.signBlobWithKey(ARTIFACT, k.privateKey, { withTlog: false });
    expect(failure(() => verifyBundle({ bundle, artifact: BYTES }, trust, keyPolicy(k.publicKey))).details?.check).toBe('timestamps');
    const v = verifyBundle({ bundle, artifact: BYTES }, trust, keyPolicy(k.publicKey, true));
    expect(v.tlogEntries).toEqual([]);
    expect(v.policy).toMatchObject({ kind: 'key', insecureIgnoreTlog: true });
  });

  it('a key policy does not accept a certificate bundle, nor a keyless policy a key bundle (verification-material)', async () => {
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const certBundle = await mock.signBlob(ARTIFACT);
    expect(failure(() => verifyBundle({ bundle: certBundle, artifact: BYTES }, trust, keyPolicy(k.publicKey))).details?.check).toBe('verification-material');
    const keyBundle = await mock.signBlobWithKey(ARTIFACT, k.privateKey);
    expect(failure(() => verifyBundle({ bundle: keyBundle, artifact: BYTES }, trust, policy())).details?.check).toBe('verification-material');
  });
});

describe('malformed and empty bundles', () => {
  it('no signature at all is NO_SIGNATURE; an unknown media type or garbage is VERIFY_FAILED at bundle-format', async () => {
    const bundle = await mock.signBlob(ARTIFACT);
    const noSig = structuredClone(bundle);
    (noSig.messageSignature as { signature: string }).signature = '';
    expect(failure(() => verifyBundle({ bundle: noSig, artifact: BYTES }, trust, policy())).code).toBe('NO_SIGNATURE');
    const future = { ...structuredClone(bundle), mediaType: 'application/vnd.dev.sigstore.bundle.v0.4+json' };
    expect(failure(() => verifyBundle({ bundle: future, artifact: BYTES }, trust, policy())).details?.check).toBe('bundle-format');
    const both = { ...structuredClone(bundle), dsseEnvelope: { payload: 'e30=', payloadType: 'application/vnd.in-toto+json', signatures: [{ sig: 'AA==' }] } };
    expect(failure(() => verifyBundle({ bundle: both, artifact: BYTES }, trust, policy())).message).toMatch(/both a messageSignature and a dsseEnvelope/);
    const twoKeys = structuredClone(bundle);
    (twoKeys.verificationMaterial as Record<string, unknown>).publicKey = { hint: 'x' };
    expect(failure(() => verifyBundle({ bundle: twoKeys, artifact: BYTES }, trust, policy())).details?.check).toBe('bundle-format');
    for (const junk of [null, 42, 'x', [], {}]) {
      const e = failure(() => verifyBundle({ bundle: junk, artifact: BYTES }, trust, policy()));
      expect(['VERIFY_FAILED', 'NO_SIGNATURE']).toContain(e.code);
    }
  });
});

describe('verified types for the copy engine', () => {
  let verdict: Verdict;
  beforeAll(async () => {
    verdict = verifyBundle({ bundle: await mock.signBlob(ARTIFACT), artifact: BYTES }, trust, policy());
  });

  it('a genuine verdict gives a VerifiedDigest of its artifact', () => {
    const vd = toVerifiedDigest(verdict);
    expect(vd.digest).toBe(`sha256:${HEX}`);
    expect(isVerifiedDigest(vd)).toBe(true);
    expect(() => assertCopyAuthorization(vd)).not.toThrow();
  });

  it('forgeries are refused at run time: a copy, a spread, a cast, a hand-made verdict', () => {
    const vd = toVerifiedDigest(verdict);
    expect(isVerifiedDigest({ ...vd })).toBe(false);
    expect(isVerifiedDigest({ kind: 'verified', digest: vd.digest, verdict })).toBe(false);
    expect(() => assertCopyAuthorization({ ...vd })).toThrow(AirlockError);
    expect(() => toVerifiedDigest({ ...verdict })).toThrow(/did not produce/);
  });

  it('a verdict produced with checks disabled can never authorise a copy', async () => {
    const v = verifyBundleWithChecksDisabled({ bundle: await mock.signBlob(ARTIFACT), artifact: BYTES }, trust, policy(), ['identity']);
    expect(v.disabledChecks).toEqual(['identity']);
    expect(() => toVerifiedDigest(v)).toThrow(AirlockError);
  });

  it('--insecure-skip-verify is an explicit, distinct marker', () => {
    const m = insecureSkipVerify();
    expect(m).toEqual({ kind: 'unverified', reason: 'insecure-skip-verify' });
    expect(() => assertCopyAuthorization(m)).not.toThrow();
    expect(() => assertCopyAuthorization({ kind: 'unverified', reason: 'insecure-skip-verify' })).toThrow(AirlockError);
  });
});

describe('@sigstore/verify steps', () => {
  it('Verifier still has the four steps verify() is made of (else verification refuses to run)', () => {
    expect(() => stepsOf(new Verifier(trust.material))).not.toThrow();
    const fake = Object.create(null) as Verifier;
    expect(() => stepsOf(fake)).toThrow(/no longer has Verifier/);
  });
});

