/**
 * The local Sigstore test kit (src/testkit) against the real cosign 2.5.0, and `airlock verify blob` against both.
 *
 * cosign signs a blob keyless against the kit over loopback exactly as Flux's release signs its checksums file
 * (detached .sig/.pem); cosign verifies it; airlock finds its Rekor entry among decoys logged first for the same
 * hash, verifies it, writes a bundle that then verifies offline in airlock and in cosign; blobs the kit signs in
 * process verify in cosign. Attack tests name the selection check that stops each decoy and show that without it
 * the wrong entry is taken.
 */
import { execFile } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { verifyBlob, type VerifyBlobOptions } from '../../src/blob/verify-blob.js';
import { ENTRY_CHECKS } from '../../src/rekor/select.js';
import { loadTrustAnchorFile } from '../../src/trust/index.js';
import { toPolicy, verifyBundle } from '../../src/verify/index.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { controllerReleaseClaims, fluxReleaseClaims, githubClaims } from '../../src/testkit/identity.js';
import { hashedRekordProposal } from '../../src/testkit/decoys.js';
import { newKitSigner, signBlobBundle, signBlobLikeFlux } from '../../src/testkit/signers.js';
import { REPO_ROOT, runCli } from '../support/cli.js';

const COSIGN = join(REPO_ROOT, '.tools', 'bin', 'cosign');
const ISSUER = 'https://token.actions.githubusercontent.com';
const FLUX_SAN = 'https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.9.4';
const DECOYS = 3;

const dir = mkdtempSync(join(tmpdir(), 'airlock-sigstore-kit-'));
const stateDir = join(dir, 'state');
const path = (name: string): string => join(dir, name);
let kit: LocalSigstore;

function cosign(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(COSIGN, args, { env: { ...process.env, ...kit.cosignEnv() }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Options for the Flux checksums identity against the kit. */
function fluxOptions(file: string, extra: Partial<VerifyBlobOptions> = {}): VerifyBlobOptions {
  return {
    file,
    signaturePath: `${file}.sig`,
    certificatePath: `${file}.pem`,
    policy: { certificateIdentity: FLUX_SAN, certificateOidcIssuer: ISSUER },
    trustedRootPath: kit.trustedRootPath,
    rekorUrl: kit.rekorUrl,
    ...extra,
  };
}

async function rejectsWith(p: Promise<unknown>, code: string, check?: string): Promise<AirlockError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `expected ${code}`).toBeInstanceOf(AirlockError);
  const ae = e as AirlockError;
  expect(ae.code, ae.message).toBe(code);
  if (check) expect(ae.details?.check, ae.message).toBe(check);
  return ae;
}

/** Writes a kit-made detached signature next to `file`, as Flux's release assets are laid out. */
function writeDetached(file: string, sig: { signature: string; certificate: string }): void {
  writeFileSync(`${file}.sig`, sig.signature);
  writeFileSync(`${file}.pem`, sig.certificate);
}

const checksums = path('flux_2.9.4_checksums.txt');

beforeAll(async () => {
  kit = await startLocalSigstore({ stateDir });
  writeFileSync(checksums, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  flux_2.9.4_linux_amd64.tar.gz\n');
  // Anyone can log signatures over the same hash: decoys go in first, so they are found before the real entry.
  for (let i = 0; i < DECOYS; i++) kit.addDecoyEntry(sha256Hex(readFileSync(checksums)));
  const token = kit.mintIdentityToken(fluxReleaseClaims('v2.9.4'));
  const r = await cosign([
    'sign-blob', '--yes', '--identity-token', token, '--fulcio-url', kit.fulcioUrl, '--rekor-url', kit.rekorUrl,
    '--output-signature', `${checksums}.sig`, '--output-certificate', `${checksums}.pem`, checksums,
  ]);
  expect(r.code, r.out).toBe(0);
}, 120_000);

afterAll(async () => {
  await kit?.close();
});

describe('the kit with the real cosign 2.5.0', () => {
  it('cosign verify-blob accepts the keyless signature it made against the kit (online, via the kit Rekor)', async () => {
    const r = await cosign([
      'verify-blob', '--rekor-url', kit.rekorUrl, '--signature', `${checksums}.sig`, '--certificate', `${checksums}.pem`,
      '--certificate-identity', FLUX_SAN, '--certificate-oidc-issuer', ISSUER, '--certificate-github-workflow-repository', 'fluxcd/flux2', checksums,
    ]);
    expect(r.code, r.out).toBe(0);
    const wrong = await cosign([
      'verify-blob', '--rekor-url', kit.rekorUrl, '--signature', `${checksums}.sig`, '--certificate', `${checksums}.pem`,
      '--certificate-identity', FLUX_SAN.replace('v2.9.4', 'v2.9.3'), '--certificate-oidc-issuer', ISSUER, checksums,
    ]);
    expect(wrong.code).not.toBe(0);
  });

  it('cosign verifies a blob the kit signed in process, detached (online) and as a bundle (offline)', async () => {
    const blob = path('kit-signed.txt');
    writeFileSync(blob, 'signed by the kit\n');
    writeDetached(blob, signBlobLikeFlux(kit, readFileSync(blob), fluxReleaseClaims('v2.9.4')));
    const detached = await cosign([
      'verify-blob', '--rekor-url', kit.rekorUrl, '--signature', `${blob}.sig`, '--certificate', `${blob}.pem`,
      '--certificate-identity', FLUX_SAN, '--certificate-oidc-issuer', ISSUER, blob,
    ]);
    expect(detached.code, detached.out).toBe(0);
    writeFileSync(`${blob}.sigstore.json`, JSON.stringify(signBlobBundle(kit, readFileSync(blob), fluxReleaseClaims('v2.9.4'))));
    const bundled = await cosign([
      'verify-blob', '--bundle', `${blob}.sigstore.json`, '--trusted-root', kit.trustedRootPath,
      '--certificate-identity', FLUX_SAN, '--certificate-oidc-issuer', ISSUER, blob,
    ]);
    expect(bundled.code, bundled.out).toBe(0);
  });
});

describe('the kit\'s Rekor canonicalises DSSE entries as real Rekor does', () => {
  it('cosign attest-blob logs a dsse 0.0.1 entry; cosign and airlock (sigstore-js body check) verify the bundle', async () => {
    const blob = path('attested.txt');
    writeFileSync(blob, 'attested and signed\n');
    const predicate = path('predicate.json');
    writeFileSync(predicate, '{}');
    const bundlePath = path('attested.att.sigstore.json');
    const token = kit.mintIdentityToken(fluxReleaseClaims('v2.9.4'));
    const type = 'https://sigstore.dev/cosign/sign/v1';
    const signed = await cosign([
      'attest-blob', '--yes', '--identity-token', token, '--fulcio-url', kit.fulcioUrl, '--rekor-url', kit.rekorUrl,
      '--new-bundle-format', '--type', type, '--predicate', predicate, '--bundle', bundlePath, blob,
    ]);
    expect(signed.code, signed.out).toBe(0);
    const bundle = JSON.parse(readFileSync(bundlePath, 'utf8')) as { verificationMaterial: { tlogEntries: { kindVersion: unknown; canonicalizedBody: string }[] } };
    const entry = bundle.verificationMaterial.tlogEntries[0]!;
    expect(entry.kindVersion).toEqual({ kind: 'dsse', version: '0.0.1' });
    expect(Object.keys((JSON.parse(Buffer.from(entry.canonicalizedBody, 'base64').toString()) as { spec: object }).spec)).toEqual(['envelopeHash', 'payloadHash', 'signatures']);
    const r = await cosign([
      'verify-blob-attestation', '--bundle', bundlePath, '--new-bundle-format', '--trusted-root', kit.trustedRootPath, '--type', type,
      '--certificate-identity', FLUX_SAN, '--certificate-oidc-issuer', ISSUER, blob,
    ]);
    expect(r.code, r.out).toBe(0);
    const v = verifyBundle({ bundle, artifact: { bytes: readFileSync(blob) } }, loadTrustAnchorFile(kit.trustedRootPath), toPolicy({ certificateIdentity: FLUX_SAN, certificateOidcIssuer: ISSUER }));
    expect(v.checks).toContain('tlog');
    expect(v.dsse?.predicateType).toBe(type);
    // Rekor indexes a DSSE entry under its in-toto subjects, so a search by the blob's hash finds it too: the
    // kind check passes it over when the blob's detached signature is verified.
    writeDetached(blob, signBlobLikeFlux(kit, readFileSync(blob), fluxReleaseClaims('v2.9.4')));
    const found = await verifyBlob(fluxOptions(blob));
    expect(found.rekor?.rejected.map((x) => x.failed)).toEqual(['kind']);
  });

  it('serves Fulcio v2 (sigstore-js) with proof of possession, and refuses a wrong proof', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const token = kit.mintIdentityToken(fluxReleaseClaims('v2.9.4'));
    const ask = (proof: Buffer) =>
      fetch(`${kit.fulcioUrl}/api/v2/signingCert`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          credentials: { oidcIdentityToken: token },
          publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content: publicKey.export({ type: 'spki', format: 'pem' }) }, proofOfPossession: proof.toString('base64') },
        }),
      });
    const ok = await ask(sign('sha256', Buffer.from(fluxReleaseClaims('v2.9.4').sub), privateKey));
    expect(ok.status).toBe(201);
    const chain = ((await ok.json()) as { signedCertificateEmbeddedSct: { chain: { certificates: string[] } } }).signedCertificateEmbeddedSct.chain.certificates;
    expect(chain).toHaveLength(2);
    expect(new X509Certificate(chain[0]!).subjectAltName).toBe(`URI:${FLUX_SAN}`);
    const bad = await ask(sign('sha256', Buffer.from('someone else'), privateKey));
    expect(bad.status).toBe(400);
  });
});

describe('airlock verify blob', () => {
  it('finds the cosign entry among decoys for the same hash and verifies it', async () => {
    const r = await verifyBlob(fluxOptions(checksums, { policy: { certificateIdentity: FLUX_SAN, certificateOidcIssuer: ISSUER, githubWorkflowRepository: 'fluxcd/flux2', sourceRepositoryRef: 'refs/tags/v2.9.4' } }));
    expect(r.source).toBe('rekor');
    expect(r.rekor?.via).toBe('search');
    expect(r.rekor?.found).toBe(DECOYS + 1);
    expect(r.rekor?.rejected.map((x) => x.failed)).toEqual(Array(DECOYS).fill('signature'));
    expect(r.verdict.signer).toMatchObject({ kind: 'certificate', identity: FLUX_SAN, issuer: ISSUER });
    expect(r.verdict.tlogEntries[0]?.logIndex).toBe(String(r.rekor?.logIndex));
    expect(r.verdict.trustRoot.source).toBe('file');
  });

  it('fails with VERIFY_FAILED when the identity does not match', async () => {
    await rejectsWith(verifyBlob(fluxOptions(checksums, { policy: { certificateIdentity: FLUX_SAN.replace('v2.9.4', 'v2.9.3'), certificateOidcIssuer: ISSUER } })), 'VERIFY_FAILED', 'identity');
  });

  it('fails with NO_SIGNATURE when Rekor holds only decoys for the hash (the signature was never logged)', async () => {
    const blob = path('never-logged.txt');
    writeFileSync(blob, 'signed but never logged\n');
    for (let i = 0; i < 2; i++) kit.addDecoyEntry(sha256Hex(readFileSync(blob)));
    const signer = newKitSigner(kit, fluxReleaseClaims('v2.9.4'));
    writeDetached(blob, { signature: sign('sha256', readFileSync(blob), signer.privateKey).toString('base64'), certificate: Buffer.from(signer.certificatePem).toString('base64') });
    const e = await rejectsWith(verifyBlob(fluxOptions(blob)), 'NO_SIGNATURE');
    expect(e.details).toMatchObject({ found: 2, read: 2 });
  });

  it('fails with NO_SIGNATURE when no signature is given, BAD_INPUT for half of one, INSECURE_REFUSED for http Rekor off loopback', async () => {
    await rejectsWith(verifyBlob({ file: checksums, policy: { certificateIdentity: FLUX_SAN, certificateOidcIssuer: ISSUER } }), 'NO_SIGNATURE');
    await rejectsWith(verifyBlob(fluxOptions(checksums, { signaturePath: path('missing.sig') })), 'NO_SIGNATURE');
    await rejectsWith(verifyBlob(fluxOptions(checksums, { certificatePath: undefined })), 'BAD_INPUT');
    await rejectsWith(verifyBlob(fluxOptions(checksums, { policy: { certificateIdentity: FLUX_SAN } })), 'BAD_INPUT', 'policy');
    await rejectsWith(verifyBlob(fluxOptions(checksums, { rekorUrl: 'http://rekor.example.com' })), 'INSECURE_REFUSED');
  });

  it('--output-bundle writes a bundle that verifies offline in airlock and in cosign verify-blob --bundle', async () => {
    const out = path('checksums.sigstore.json');
    const online = await verifyBlob(fluxOptions(checksums, { outputBundlePath: out }));
    expect(online.outputBundle).toBe(out);
    const bundle = JSON.parse(readFileSync(out, 'utf8')) as { mediaType: string };
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json'); // the kit's entries carry inclusion proofs
    // Offline: no Rekor is consulted (an unroutable Rekor URL would fail if it were).
    const offline = await verifyBlob({ file: checksums, bundlePath: out, policy: { certificateIdentity: FLUX_SAN, certificateOidcIssuer: ISSUER }, trustedRootPath: kit.trustedRootPath, rekorUrl: 'https://192.0.2.1' });
    expect(offline.source).toBe('bundle');
    expect(offline.verdict.signer).toMatchObject({ identity: FLUX_SAN });
    const r = await cosign(['verify-blob', '--bundle', out, '--trusted-root', kit.trustedRootPath, '--certificate-identity', FLUX_SAN, '--certificate-oidc-issuer', ISSUER, checksums]);
    expect(r.code, r.out).toBe(0);
    writeFileSync(path('tampered.txt'), `${readFileSync(checksums, 'utf8')}extra\n`);
    await rejectsWith(verifyBlob({ file: path('tampered.txt'), bundlePath: out, policy: { certificateIdentity: FLUX_SAN, certificateOidcIssuer: ISSUER }, trustedRootPath: kit.trustedRootPath }), 'VERIFY_FAILED');
  });

  it('binds a controller to its source repository and ref (gha-workflows SAN shared by all controllers)', async () => {
    const blob = path('source-controller.txt');
    writeFileSync(blob, 'source-controller v1.9.4 artifact\n');
    writeDetached(blob, signBlobLikeFlux(kit, readFileSync(blob), controllerReleaseClaims('source-controller', 'v1.9.4')));
    const san = 'https://github.com/fluxcd/gha-workflows/.github/workflows/controller-release.yaml@refs/tags/v0.4.0';
    const policy = { certificateIdentity: san, certificateOidcIssuer: ISSUER, sourceRepositoryUri: 'https://github.com/fluxcd/source-controller', sourceRepositoryRef: 'refs/tags/v1.9.4' };
    const ok = await verifyBlob(fluxOptions(blob, { policy }));
    expect(ok.verdict.signer).toMatchObject({ identity: san, extensions: { sourceRepositoryUri: 'https://github.com/fluxcd/source-controller' } });
    await rejectsWith(verifyBlob(fluxOptions(blob, { policy: { ...policy, sourceRepositoryUri: 'https://github.com/fluxcd/helm-controller' } })), 'VERIFY_FAILED', 'certificate-extensions');
  });

  it('keeps verifying signatures made before a restart of the kit (keys, root and log persisted)', async () => {
    const rootBefore = readFileSync(kit.trustedRootPath, 'utf8');
    const sizeBefore = kit.logSize();
    await kit.close();
    kit = await startLocalSigstore({ stateDir });
    expect(readFileSync(kit.trustedRootPath, 'utf8')).toBe(rootBefore);
    expect(kit.logSize()).toBe(sizeBefore);
    const r = await verifyBlob(fluxOptions(checksums));
    expect(r.verdict.signer).toMatchObject({ identity: FLUX_SAN });
  });
});

describe('attacks on Rekor entry selection (check: src/rekor/select.ts ENTRY_CHECKS)', () => {
  const without = (name: string) => ENTRY_CHECKS.filter((c) => c.name !== name);

  it('signature: the same signer\'s other signature over the same blob is not this signature\'s entry', async () => {
    const blob = path('signed-twice.txt');
    writeFileSync(blob, 'signed twice by one signer\n');
    const first = signBlobLikeFlux(kit, readFileSync(blob), fluxReleaseClaims('v2.9.4'));
    const second = signBlobLikeFlux(kit, readFileSync(blob), fluxReleaseClaims('v2.9.4'), first.signer); // same key and certificate
    writeDetached(blob, second);
    const r = await verifyBlob(fluxOptions(blob));
    expect(r.rekor?.uuid).toBe(second.rekor.uuid);
    expect(r.rekor?.rejected).toEqual([{ uuid: first.rekor.uuid, logIndex: first.rekor.entry.logIndex, failed: 'signature' }]);
    // Mutation: selection without the signature check takes the first entry (same certificate), and the bundle
    // built from it fails verification — so it is the signature check that finds the right entry.
    await rejectsWith(verifyBlob(fluxOptions(blob), { entryChecks: without('signature') }), 'VERIFY_FAILED', 'tlog');
  });

  it('signature: decoys by other identities are passed over; ignoring every check takes a decoy and fails', async () => {
    // Which check refuses the decoy depends on the clock: a decoy logged in an earlier second than the real
    // certificate's notBefore fails certificate-validity first; otherwise the tlog body comparison fails.
    const ae = await rejectsWith(verifyBlob(fluxOptions(checksums), { entryChecks: [] }), 'VERIFY_FAILED');
    expect(['tlog', 'certificate-validity']).toContain(ae.details?.check);
  });

  it('certificate: an entry logging this very signature under a key derived from it is not this certificate\'s entry', async () => {
    const blob = path('key-substitution.txt');
    writeFileSync(blob, 'key substitution target\n');
    const digest = createHash('sha256').update(readFileSync(blob)).digest();
    const signer = newKitSigner(kit, fluxReleaseClaims('v2.9.4'));
    const signature = sign('sha256', readFileSync(blob), signer.privateKey);
    // ECDSA key substitution: from (signature, digest) anyone can derive a public key that verifies it, and log
    // it as a bare key (no proof of possession needed). Pick the candidate that is not the signer's own key.
    const ownPoint = Buffer.from(p256.getPublicKey(Buffer.from(signer.privateKey.export({ format: 'jwk' }).d!, 'base64url'), false));
    const sigObj = p256.Signature.fromBytes(signature, 'der');
    const forged = [0, 1].map((bit) => Buffer.from(sigObj.addRecoveryBit(bit).recoverPublicKey(digest).toBytes(false))).find((pt) => !pt.equals(ownPoint))!;
    const forgedPem = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: forged.subarray(1, 33).toString('base64url'), y: forged.subarray(33).toString('base64url') }, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' }) as string;
    const decoy = kit.logEntry(hashedRekordProposal(digest.toString('hex'), signature, forgedPem)); // logged first
    const real = kit.logEntry(hashedRekordProposal(digest.toString('hex'), signature, signer.certificatePem));
    writeDetached(blob, { signature: signature.toString('base64'), certificate: Buffer.from(signer.certificatePem).toString('base64') });
    const r = await verifyBlob(fluxOptions(blob));
    expect(r.rekor?.uuid).toBe(real.uuid);
    expect(r.rekor?.rejected).toEqual([{ uuid: decoy.uuid, logIndex: decoy.entry.logIndex, failed: 'certificate' }]);
    // Mutation: without the selection's certificate check the decoy is selected. sigstore-js compares only
    // signature and digest with the entry body and would accept it; the core's own tlog-verifier check
    // (src/verify/tlog-verifier.ts) is the second line that refuses it.
    await expect(verifyBlob(fluxOptions(blob), { entryChecks: without('certificate') })).rejects.toMatchObject({
      code: 'VERIFY_FAILED',
      details: { check: 'tlog-verifier' },
    });
  });

  it('the direct lookup by computed UUID finds an entry buried under more decoys than are read', async () => {
    const blob = path('flooded.txt');
    writeFileSync(blob, 'flooded with decoys\n');
    for (let i = 0; i < 3; i++) kit.addDecoyEntry(sha256Hex(readFileSync(blob)), { claims: githubClaims({ repository: `attacker${i}/x`, workflowPath: '.github/workflows/x.yaml', ref: 'refs/heads/main' }) });
    writeDetached(blob, signBlobLikeFlux(kit, readFileSync(blob), fluxReleaseClaims('v2.9.4')));
    const r = await verifyBlob(fluxOptions(blob, { maxRekorEntries: 2 }));
    expect(r.rekor).toMatchObject({ via: 'uuid', found: 4, read: 2 });
  });
});

describe('the built CLI', () => {
  beforeAll(() => {
    if (!existsSync(join(REPO_ROOT, 'dist', 'commands', 'verify', 'blob.js'))) throw new Error('run `npm run build` first: this test spawns the built CLI');
  });

  it('node bin/run.js verify blob verifies the cosign-made .sig/.pem and exits 11 for a blob never logged', async () => {
    const ok = await runCli(['verify', 'blob', checksums, '--signature', `${checksums}.sig`, '--certificate', `${checksums}.pem`,
      '--certificate-identity', FLUX_SAN, '--certificate-oidc-issuer', ISSUER, '--trusted-root', kit.trustedRootPath, '--rekor-url', kit.rekorUrl, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ source: 'rekor', verdict: { verified: true, signer: { identity: FLUX_SAN } } });
    const blob = path('never-logged.txt');
    const none = await runCli(['verify', 'blob', blob, '--signature', `${blob}.sig`, '--certificate', `${blob}.pem`,
      '--certificate-identity', FLUX_SAN, '--certificate-oidc-issuer', ISSUER, '--trusted-root', kit.trustedRootPath, '--rekor-url', kit.rekorUrl]);
    expect(none.code, none.stderr).toBe(11);
  });
});

// A last guard that the kit's own signatures are what they claim: one made with a different kit is refused.
describe('trust root isolation', () => {
  it('a signature from another kit instance (another root) fails the certificate-chain check', async () => {
    const other = await startLocalSigstore({ stateDir: path('other-state') });
    try {
      const blob = path('other-kit.txt');
      writeFileSync(blob, 'from another Sigstore\n');
      const s = signBlobLikeFlux(other, readFileSync(blob), fluxReleaseClaims('v2.9.4'));
      writeFileSync(`${blob}.sigstore.json`, JSON.stringify(signBlobBundle(other, readFileSync(blob), fluxReleaseClaims('v2.9.4'), s.signer)));
      await rejectsWith(verifyBlob({ file: blob, bundlePath: `${blob}.sigstore.json`, policy: { certificateIdentity: FLUX_SAN, certificateOidcIssuer: ISSUER }, trustedRootPath: kit.trustedRootPath }), 'VERIFY_FAILED');
    } finally {
      await other.close();
    }
  });
});
