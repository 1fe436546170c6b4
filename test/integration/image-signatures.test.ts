/**
 * Image signatures against the real cosign 2.5.0 and oras 1.2.0, two real docker-registry instances (no referrers
 * API: the fallback tag is what is exercised there) and the local Sigstore test kit on loopback:
 *  - cosign-signed images (keyless against the kit, and --key) verify in airlock; a wrong identity or key fails;
 *  - what `airlock copy` carried to the target verifies in cosign there (keyless, --key, verify-attestation),
 *    including a composed `.sig` holding only the layers that verified;
 *  - what the kit's image signers write verifies in cosign;
 *  - a cosign-3-style signature made with real tools (attest-blob --new-bundle-format + oras attach) verifies in
 *    airlock, and is carried by copy with the target's fallback index written;
 *  - the referrers-API path against the FAKE referrers registry (nothing real with the API runs here).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { copyVerified } from '../../src/image/copy-verified.js';
import { verifyAttestationReference, verifyImageReference, type VerifyImageOptions } from '../../src/image/verify-image.js';
import type { Digest } from '../../src/oci/digest.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { signatureTag } from '../../src/store/types.js';
import { openLayoutStore } from '../../src/store/layout/store.js';
import { attestImageLikeCosign2, newKeySigner, signImageLikeCosign2 } from '../../src/testkit/image-signers.js';
import { signImageLikeCosign3 } from '../../src/testkit/image-signers-bundle.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { REPO_ROOT } from '../support/cli.js';
import {
  attackerClaims,
  CONTROLLER_SAN,
  controllerClaims,
  ISSUER,
  pushImage,
  SLSA_POLICY_YAML,
  SLSA_SAN,
  slsaClaims,
} from '../support/image-signing.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFakeReferrersRegistry } from '../support/fake-referrers-registry.js';
import { parseManifest } from '../../src/oci/manifest.js';

const TOOLS = join(REPO_ROOT, '.tools', 'bin');
const dir = mkdtempSync(join(tmpdir(), 'airlock-image-signatures-'));
const path = (name: string): string => join(dir, name);
let kit: LocalSigstore;
let src: RunningRegistry;
let dst: RunningRegistry;
let srcStore: RegistryStore;
let dstStore: RegistryStore;
let n = 0;

function run(tool: 'cosign' | 'oras', args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(join(TOOLS, tool), args, { cwd: dir, env: { ...process.env, ...kit.cosignEnv(), COSIGN_PASSWORD: '' }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}
const REG = ['--allow-http-registry', '--allow-insecure-registry'];
const KEYLESS = ['--certificate-identity', CONTROLLER_SAN, '--certificate-oidc-issuer', ISSUER];
const SOURCE_URI = 'https://github.com/fluxcd/source-controller';

async function ok(tool: 'cosign' | 'oras', args: string[]): Promise<string> {
  const r = await run(tool, args);
  expect(r.code, r.out).toBe(0);
  return r.out;
}

/** cosign 2.5 `sign` keyless against the kit, as the controller release workflow. */
async function cosignSignKeyless(ref: string): Promise<void> {
  const token = kit.mintIdentityToken(controllerClaims());
  await ok('cosign', ['sign', '--yes', ...REG, '--identity-token', token, '--fulcio-url', kit.fulcioUrl, '--rekor-url', kit.rekorUrl, ref]);
}

/** A fresh image in the source registry: its repository name, reference by digest, and digest. */
async function sourceImage(): Promise<{ name: string; ref: string; digest: Digest }> {
  const name = `fluxcd/source-controller-${n++}`;
  const { digest } = await pushImage(srcStore.repository(name), 'v1.9.4');
  return { name, ref: `${src.host}/${name}@${digest}`, digest };
}

const verifyOptions = (reference: string, extra: Partial<VerifyImageOptions> = {}): VerifyImageOptions => ({
  reference,
  policy: { certificateIdentity: CONTROLLER_SAN, certificateOidcIssuer: ISSUER, sourceRepositoryUri: SOURCE_URI },
  trustedRootPath: kit.trustedRootPath,
  ...extra,
});

async function rejects(p: Promise<unknown>, code: string, check?: string): Promise<AirlockError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e, `expected ${code}`).toBeInstanceOf(AirlockError);
  expect((e as AirlockError).code, (e as AirlockError).message).toBe(code);
  if (check) expect((e as AirlockError).details?.check, (e as AirlockError).message).toBe(check);
  return e as AirlockError;
}

beforeAll(async () => {
  kit = await startLocalSigstore({ stateDir: path('kit') });
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  srcStore = new RegistryStore(src.host);
  dstStore = new RegistryStore(dst.host);
  await ok('cosign', ['generate-key-pair', '--output-key-prefix', 'cosign']);
  await ok('cosign', ['generate-key-pair', '--output-key-prefix', 'other']);
  writeFileSync(path('slsa-policy.yaml'), SLSA_POLICY_YAML);
}, 120_000);

afterAll(async () => {
  await srcStore?.close();
  await dstStore?.close();
  await Promise.all([src?.stop(), dst?.stop()]);
  await kit?.close();
});

describe('cosign 2.5 signs, airlock verifies', () => {
  it('keyless against the kit: verifies under the controller policy; another identity or source repository fails', async () => {
    const img = await sourceImage();
    await cosignSignKeyless(img.ref);
    const r = await verifyImageReference(verifyOptions(`${src.host}/${img.name}:v1.9.4`));
    expect(r.digest).toBe(img.digest);
    expect(r.verified).toEqual([expect.objectContaining({ format: 'legacy-sig', signer: expect.objectContaining({ kind: 'certificate', identity: CONTROLLER_SAN, issuer: ISSUER }) })]);
    expect(r.verified[0]!.logIndex).toMatch(/^\d+$/);
    expect(r.checks).toEqual(expect.arrayContaining(['tlog', 'certificate-chain', 'identity', 'subject-digest']));
    await rejects(verifyImageReference(verifyOptions(img.ref, { policy: { certificateIdentity: CONTROLLER_SAN.replace('v0.4.0', 'v0.3.0'), certificateOidcIssuer: ISSUER } })), 'VERIFY_FAILED', 'identity');
    await rejects(
      verifyImageReference(verifyOptions(img.ref, { policy: { certificateIdentity: CONTROLLER_SAN, certificateOidcIssuer: ISSUER, sourceRepositoryUri: 'https://github.com/fluxcd/helm-controller' } })),
      'VERIFY_FAILED',
      'certificate-extensions',
    );
  });

  it('--key (logged in the kit Rekor, and unlogged with --insecure-ignore-tlog): verifies with the key; another key fails', async () => {
    const img = await sourceImage();
    await ok('cosign', ['sign', '--yes', ...REG, '--key', 'cosign.key', '--rekor-url', kit.rekorUrl, img.ref]);
    const r = await verifyImageReference({ reference: img.ref, keyPath: path('cosign.pub'), trustedRootPath: kit.trustedRootPath });
    expect(r.verified[0]).toMatchObject({ format: 'legacy-sig', signer: { kind: 'key', algorithm: 'ecdsa-p256' } });
    await rejects(verifyImageReference({ reference: img.ref, keyPath: path('other.pub'), trustedRootPath: kit.trustedRootPath }), 'VERIFY_FAILED');
    // A keyless policy refuses the key-based signature.
    await rejects(verifyImageReference(verifyOptions(img.ref)), 'VERIFY_FAILED', 'verification-material');

    const unlogged = await sourceImage();
    await ok('cosign', ['sign', '--yes', ...REG, '--key', 'cosign.key', '--tlog-upload=false', unlogged.ref]);
    await rejects(verifyImageReference({ reference: unlogged.ref, keyPath: path('cosign.pub'), trustedRootPath: kit.trustedRootPath }), 'VERIFY_FAILED');
    const ignored = await verifyImageReference({ reference: unlogged.ref, keyPath: path('cosign.pub'), insecureIgnoreTlog: true, trustedRootPath: kit.trustedRootPath });
    expect(ignored.verified[0]!.logIndex).toBeNull();
  });

  it('an unsigned image: NO_SIGNATURE', async () => {
    const img = await sourceImage();
    await rejects(verifyImageReference(verifyOptions(img.ref)), 'NO_SIGNATURE');
  });
});

describe('the kit signs, cosign 2.5 verifies', () => {
  it('.sig keyless and --key, and .att SLSA provenance (dsse entry) verify in cosign verify / verify-attestation', async () => {
    const img = await sourceImage();
    const repo = srcStore.repository(img.name);
    await signImageLikeCosign2(kit, repo, img.digest, { identity: controllerClaims() });
    await attestImageLikeCosign2(kit, repo, img.digest, { identity: slsaClaims() });
    await ok('cosign', ['verify', ...REG, '--rekor-url', kit.rekorUrl, ...KEYLESS, '--certificate-github-workflow-repository', 'fluxcd/source-controller', img.ref]);
    await ok('cosign', ['verify-attestation', ...REG, '--rekor-url', kit.rekorUrl, '--type', 'slsaprovenance', '--certificate-identity', SLSA_SAN, '--certificate-oidc-issuer', ISSUER, img.ref]);
    const keyed = await sourceImage();
    const signer = newKeySigner();
    writeFileSync(path('kit.pub'), signer.publicKeyPem);
    await signImageLikeCosign2(kit, srcStore.repository(keyed.name), keyed.digest, { signer });
    await ok('cosign', ['verify', ...REG, '--rekor-url', kit.rekorUrl, '--key', 'kit.pub', keyed.ref]);
    const wrong = await run('cosign', ['verify', ...REG, '--rekor-url', kit.rekorUrl, '--key', 'cosign.pub', keyed.ref]);
    expect(wrong.code).not.toBe(0);
  });
});

describe('airlock copy carries what verified; cosign verifies it at the target', () => {
  it('keyless: a .sig with one foreign layer is composed from the verified one, SLSA provenance is carried under --policy; cosign verifies both at the target', async () => {
    const img = await sourceImage();
    const repo = srcStore.repository(img.name);
    await cosignSignKeyless(img.ref);
    await signImageLikeCosign2(kit, repo, img.digest, { identity: attackerClaims() }); // verifies for its signer, not under the policy
    await attestImageLikeCosign2(kit, repo, img.digest, { identity: slsaClaims() });
    const r = await copyVerified({
      source: `${src.host}/${img.name}:v1.9.4`,
      target: `${dst.host}/mirror/source-controller`,
      insecureSkipVerify: false,
      policy: { certificateIdentity: CONTROLLER_SAN, certificateOidcIssuer: ISSUER, sourceRepositoryUri: SOURCE_URI },
      policyFile: path('slsa-policy.yaml'),
      trustedRootPath: kit.trustedRootPath,
    });
    expect(r.unverified).toBe(false);
    expect(r.verification?.signaturesFailed.map((f) => f.check)).toEqual(['identity']);
    expect(r.verification?.carried.map((c) => [c.kind, c.composed, c.layers, c.ofLayers])).toEqual([
      ['signatures', true, 1, 2],
      ['attestations', false, 1, 1],
    ]);
    const composed = r.verification!.carried[0]!;
    const target = dstStore.repository('mirror/source-controller');
    expect((await target.headManifest(signatureTag(img.digest, '.sig')))?.digest).toBe(composed.digest);
    const at = `${dst.host}/mirror/source-controller@${img.digest}`;
    const v = await ok('cosign', ['verify', ...REG, '--rekor-url', kit.rekorUrl, ...KEYLESS, at]);
    expect(v).toContain(CONTROLLER_SAN);
    await ok('cosign', ['verify-attestation', ...REG, '--rekor-url', kit.rekorUrl, '--type', 'slsaprovenance', '--certificate-identity', SLSA_SAN, '--certificate-oidc-issuer', ISSUER, at]);
    // Re-running writes nothing new: the composed manifest is byte-identical.
    const again = await copyVerified({
      source: img.ref,
      target: `${dst.host}/mirror/source-controller:v1.9.4`,
      insecureSkipVerify: false,
      policy: { certificateIdentity: CONTROLLER_SAN, certificateOidcIssuer: ISSUER },
      policyFile: path('slsa-policy.yaml'),
      trustedRootPath: kit.trustedRootPath,
    });
    expect(again.verification?.carried[0]?.digest).toBe(composed.digest);
    expect(again.manifestsWritten).toEqual([]);
  });

  it('--key: the .sig is carried as it is (every layer verified) and cosign verify --key accepts it at the target', async () => {
    const img = await sourceImage();
    await ok('cosign', ['sign', '--yes', ...REG, '--key', 'cosign.key', '--rekor-url', kit.rekorUrl, img.ref]);
    const sourceSig = await srcStore.repository(img.name).headManifest(signatureTag(img.digest, '.sig'));
    const r = await copyVerified({ source: img.ref, target: `${dst.host}/mirror/keyed:v1`, insecureSkipVerify: false, keyPath: path('cosign.pub'), trustedRootPath: kit.trustedRootPath });
    expect(r.verification?.carried).toEqual([expect.objectContaining({ kind: 'signatures', composed: false, digest: sourceSig?.digest })]);
    await ok('cosign', ['verify', ...REG, '--rekor-url', kit.rekorUrl, '--key', 'cosign.pub', `${dst.host}/mirror/keyed:v1`]);
  });
});

describe('cosign-3-style signatures made with real tools (attest-blob --new-bundle-format + oras attach)', () => {
  it('verify in airlock as a referrer bundle, and copy carries them with the target fallback index', async () => {
    const img = await sourceImage();
    const manifest = await srcStore.repository(img.name).getManifest(img.digest);
    writeFileSync(path('manifest.json'), manifest.bytes);
    writeFileSync(path('empty.json'), '{}');
    const token = kit.mintIdentityToken(controllerClaims());
    await ok('cosign', [
      'attest-blob', '--yes', '--identity-token', token, '--fulcio-url', kit.fulcioUrl, '--rekor-url', kit.rekorUrl, '--new-bundle-format',
      '--type', 'https://sigstore.dev/cosign/sign/v1', '--predicate', 'empty.json', '--bundle', 'sig.bundle.json', 'manifest.json',
    ]);
    await ok('oras', ['attach', '--plain-http', '--artifact-type', 'application/vnd.dev.sigstore.bundle.v0.3+json', img.ref, 'sig.bundle.json:application/vnd.dev.sigstore.bundle.v0.3+json']);
    expect(await srcStore.repository(img.name).headManifest(signatureTag(img.digest, ''))).toBeDefined(); // docker-registry: the fallback tag
    const r = await verifyImageReference(verifyOptions(img.ref));
    expect(r.verified).toEqual([expect.objectContaining({ format: 'referrer-bundle', predicateType: 'https://sigstore.dev/cosign/sign/v1' })]);

    const copied = await copyVerified({ source: img.ref, target: `${dst.host}/mirror/cosign3:v1`, insecureSkipVerify: false, policy: verifyOptions('').policy!, trustedRootPath: kit.trustedRootPath });
    expect(copied.referrers).toBe('fallback-tag');
    expect(copied.verification?.carried.map((c) => c.kind)).toEqual(['referrer']);
    const there = await verifyImageReference(verifyOptions(`${dst.host}/mirror/cosign3:v1`));
    expect(there.verified.map((s) => s.format)).toEqual(['referrer-bundle']);
    // oras, a client of its own, finds the carried referrer at the target too.
    const discovered = await ok('oras', ['discover', '--plain-http', '--format', 'json', `${dst.host}/mirror/cosign3@${img.digest}`]);
    expect(discovered).toContain(copied.verification!.carried[0]!.digest);
  });
});

describe('attestations through verify attestation', () => {
  it('verifies the kit .att under the SLSA generator identity; another predicate type is refused', async () => {
    const img = await sourceImage();
    await attestImageLikeCosign2(kit, srcStore.repository(img.name), img.digest, { identity: slsaClaims() });
    const base = { reference: img.ref, policy: { certificateIdentity: SLSA_SAN, certificateOidcIssuer: ISSUER }, trustedRootPath: kit.trustedRootPath };
    const r = await verifyAttestationReference({ ...base, type: 'slsaprovenance' });
    expect(r.verified[0]).toMatchObject({ format: 'legacy-att', predicateType: 'https://slsa.dev/provenance/v0.2' });
    await rejects(verifyAttestationReference({ ...base, type: 'spdx' }), 'VERIFY_FAILED', 'predicate-type');
  });
});

describe('the referrers API path (FAKE referrers registry)', () => {
  it('a cosign-3 bundle listed by the referrers API verifies; copied to docker-registry it is listed in a fallback index and verifies there', async () => {
    const fake = await startFakeReferrersRegistry();
    const layout = await openLayoutStore(path('staging'), { kind: 'oci', create: true });
    try {
      // The fake takes no uploads: sign into a layout, then place the same objects in the fake.
      const staging = layout.repository('app');
      const { index, digest } = await pushImage(staging, 'v1');
      const w = await signImageLikeCosign3(kit, staging, digest, { identity: controllerClaims() });
      const name = 'fluxcd/app';
      for (const m of [...index.images, ...index.attestations]) {
        for (const b of m.blobs) fake.putBlob(name, b.bytes);
        fake.putManifest(name, m.bytes, m.descriptor.mediaType);
      }
      fake.putManifest(name, index.bytes, index.descriptor.mediaType, 'v1');
      const referrer = await staging.getManifest(w.manifest.digest);
      const parsed = parseManifest(referrer.bytes);
      for (const b of parsed.kind === 'manifest' ? [parsed.manifest.config, ...parsed.manifest.layers] : []) {
        const chunks: Uint8Array[] = [];
        for await (const c of await staging.openBlob(b)) chunks.push(c);
        fake.putBlob(name, Buffer.concat(chunks));
      }
      fake.putManifest(name, referrer.bytes, referrer.descriptor.mediaType);

      const r = await verifyImageReference(verifyOptions(`${fake.host}/${name}:v1`));
      expect(r.verified.map((s) => s.format)).toEqual(['referrer-bundle']);
      expect(fake.requests.some((q) => q.startsWith(`GET /v2/${name}/referrers/${digest}`))).toBe(true);

      const copied = await copyVerified({ source: `${fake.host}/${name}:v1`, target: `${dst.host}/mirror/app`, insecureSkipVerify: false, policy: verifyOptions('').policy!, trustedRootPath: kit.trustedRootPath });
      expect(copied.referrers).toBe('fallback-tag');
      expect((await verifyImageReference(verifyOptions(`${dst.host}/mirror/app:v1`))).verified).toHaveLength(1);
    } finally {
      await layout.close();
      await fake.stop();
    }
  });
});
