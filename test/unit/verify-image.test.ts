/**
 * Image signatures in process: the test kit writes cosign 2.x `.sig` / `.att` and cosign 3 bundle referrers into a
 * real OCI layout; src/signatures finds them; src/verify verifies each against identity policies and binds it to
 * the image digest; the carry planner keeps only what verified.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planCarry } from '../../src/image/carry.js';
import { copyVerified } from '../../src/image/copy-verified.js';
import { verifyImageReference } from '../../src/image/verify-image.js';
import type { Digest } from '../../src/oci/digest.js';
import { parseManifest } from '../../src/oci/manifest.js';
import { findSignatures, type FoundSignatures } from '../../src/signatures/index.js';
import { openLayoutStore } from '../../src/store/layout/store.js';
import type { ContentStore, Repository } from '../../src/store/types.js';
import { attestImageLikeCosign2, newKeySigner, signImageLikeCosign2 } from '../../src/testkit/image-signers.js';
import { signImageLikeCosign3 } from '../../src/testkit/image-signers-bundle.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { loadTrustAnchorFile, parsePublicKey, type TrustAnchor } from '../../src/trust/index.js';
import { isVerifiedDigest, toPolicy, verifyImageAttestations, verifyImageSignatures } from '../../src/verify/index.js';
import { attackerClaims, CONTROLLER_SAN, controllerClaims, controllerPolicy, ISSUER, pushImage, slsaClaims, slsaRule } from '../support/image-signing.js';
import { caught } from '../support/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-verify-image-'));
let kit: LocalSigstore;
let trust: TrustAnchor;
let store: ContentStore;
let n = 0;

/** A fresh repository with a fresh image in the layout. */
async function image(): Promise<{ repo: Repository; digest: Digest }> {
  const repo = store.repository(`image-${n++}`);
  const { digest } = await pushImage(repo, 'v1.9.4');
  return { repo, digest };
}

beforeAll(async () => {
  kit = await startLocalSigstore({ stateDir: join(dir, 'kit') });
  trust = loadTrustAnchorFile(kit.trustedRootPath);
  store = await openLayoutStore(join(dir, 'layout'), { kind: 'oci', create: true });
});

afterAll(async () => {
  await store?.close();
  await kit?.close();
});

describe('verifyImageSignatures', () => {
  it('verifies a legacy .sig and a cosign-3 referrer bundle of one digest, and seals the digest', async () => {
    const { repo, digest } = await image();
    await signImageLikeCosign2(kit, repo, digest, { identity: controllerClaims() });
    const ref = await signImageLikeCosign3(kit, repo, digest, { identity: controllerClaims() });
    expect(ref.published).toBe('listed'); // a layout lists a referrer from its index
    const found = await findSignatures(repo, digest);
    expect(found.skipped).toEqual([]);
    const v = verifyImageSignatures(found, digest, trust, controllerPolicy());
    expect(v.failed).toEqual([]);
    expect(v.verified.map((s) => s.format)).toEqual(['legacy-sig', 'referrer-bundle']);
    expect(v.verified[0]!.checks).toContain('subject-digest');
    expect(v.verified[0]!.claims?.dockerManifestDigest).toBe(digest);
    expect(v.verified[1]!.checks).toEqual(expect.arrayContaining(['artifact', 'predicate-type']));
    expect(v.verified[1]!.predicateType).toBe('https://sigstore.dev/cosign/sign/v1');
    expect(v.verified.every((s) => s.verdict.signer.kind === 'certificate' && s.verdict.signer.identity === CONTROLLER_SAN)).toBe(true);
    expect(isVerifiedDigest(v.subject)).toBe(true);
    expect(v.subject.digest).toBe(digest);
  });

  it('reports a signature by another identity as failed at the identity check, and still seals on the good one', async () => {
    const { repo, digest } = await image();
    await signImageLikeCosign2(kit, repo, digest, { identity: attackerClaims() });
    await signImageLikeCosign2(kit, repo, digest, { identity: controllerClaims() });
    const v = verifyImageSignatures(await findSignatures(repo, digest), digest, trust, controllerPolicy());
    expect(v.verified).toHaveLength(1);
    expect(v.failed.map((f) => [f.check, f.location.index])).toEqual([['identity', 0]]);
  });

  it('NO_SIGNATURE when there is nothing to verify; VERIFY_FAILED naming the first failed check when nothing verifies', async () => {
    const { repo, digest } = await image();
    const nothing = await findSignatures(repo, digest);
    const none = caught(() => verifyImageSignatures(nothing, digest, trust, controllerPolicy()));
    expect(none.code).toBe('NO_SIGNATURE');
    expect(none.message).toMatch(/has no cosign signature/);
    await signImageLikeCosign2(kit, repo, digest, { identity: attackerClaims() });
    const found = await findSignatures(repo, digest);
    const e = caught(() => verifyImageSignatures(found, digest, trust, controllerPolicy()));
    expect(e.code).toBe('VERIFY_FAILED');
    expect(e.details?.check).toBe('identity');
    expect(e.message).toMatch(/^None of the 1 signature of .* verified; the first: verification failed at the identity check/);
  });

  it('verifies key-based signatures (cosign --key): logged in Rekor, and unlogged only with --insecure-ignore-tlog', async () => {
    const { repo, digest } = await image();
    const signer = newKeySigner();
    const key = parsePublicKey(signer.publicKeyPem);
    await signImageLikeCosign2(kit, repo, digest, { signer });
    const v = verifyImageSignatures(await findSignatures(repo, digest), digest, trust, toPolicy({ key }));
    expect(v.verified[0]!.verdict.signer).toMatchObject({ kind: 'key', keyDigest: key.digest });
    expect(v.verified[0]!.verdict.tlogEntries).toHaveLength(1);
    const other = await image();
    await signImageLikeCosign2(kit, other.repo, other.digest, { signer, tlog: false });
    const unlogged = await findSignatures(other.repo, other.digest);
    expect(caught(() => verifyImageSignatures(unlogged, other.digest, trust, toPolicy({ key }))).code).toBe('VERIFY_FAILED');
    const ignored = verifyImageSignatures(unlogged, other.digest, trust, toPolicy({ key, insecureIgnoreTlog: true }));
    expect(ignored.verified[0]!.verdict.tlogEntries).toEqual([]);
    // The wrong key: the signature does not verify.
    const wrong = parsePublicKey(newKeySigner().publicKeyPem);
    expect(caught(() => verifyImageSignatures(unlogged, other.digest, trust, toPolicy({ key: wrong, insecureIgnoreTlog: true }))).details?.check).toBe('signature');
  });

  it('any of several policies may accept a signature (flags and --policy entries)', async () => {
    const { repo, digest } = await image();
    await signImageLikeCosign2(kit, repo, digest, { identity: controllerClaims() });
    const stranger = toPolicy({ certificateIdentity: 'https://github.com/x/y/.github/workflows/z.yml@refs/heads/main', certificateOidcIssuer: 'https://token.actions.githubusercontent.com' });
    const found = await findSignatures(repo, digest);
    expect(verifyImageSignatures(found, digest, trust, [stranger, controllerPolicy()]).verified).toHaveLength(1);
    expect(caught(() => verifyImageSignatures(found, digest, trust, [stranger])).details?.check).toBe('identity');
  });

  it('refuses an attestation whose Rekor entry is intoto 0.0.1 with one sentence naming it (tlog)', async () => {
    const { repo, digest } = await image();
    const written = await attestImageLikeCosign2(kit, repo, digest, { identity: slsaClaims() });
    const found = await findSignatures(repo, digest);
    const layer = found.attestations!.layers[0]!;
    // Re-label the entry body as intoto 0.0.1 (what cosign attest logged before dsse entries).
    const ann = JSON.parse(layer.annotations['dev.sigstore.cosign/bundle']!) as { Payload: { body: string } };
    ann.Payload.body = Buffer.from(JSON.stringify({ apiVersion: '0.0.1', kind: 'intoto', spec: { content: {}, publicKey: '' } })).toString('base64');
    const relabelled: FoundSignatures = { ...found, attestations: { ...found.attestations!, layers: [{ ...layer, annotations: { ...layer.annotations, 'dev.sigstore.cosign/bundle': JSON.stringify(ann) } }] } };
    const e = caught(() => verifyImageAttestations(relabelled, digest, trust, [slsaRule()]));
    expect(e.details?.check).toBe('tlog');
    expect(e.message).toMatch(/intoto 0\.0\.1 \(older cosign attest\), which airlock does not verify/);
    expect(written.rekor).toBeDefined();
  });
});

describe('verifyImageAttestations', () => {
  it('verifies SLSA provenance signed by the SLSA generator, not by the image identity', async () => {
    const { repo, digest } = await image();
    await attestImageLikeCosign2(kit, repo, digest, { identity: slsaClaims() });
    await signImageLikeCosign3(kit, repo, digest, { identity: slsaClaims(), predicateType: 'https://slsa.dev/provenance/v1' });
    const found = await findSignatures(repo, digest);
    const a = verifyImageAttestations(found, digest, trust, [slsaRule()]);
    expect(a.failed).toEqual([]);
    expect(a.verified.map((v) => [v.format, v.predicateType])).toEqual([
      ['legacy-att', 'https://slsa.dev/provenance/v0.2'],
      ['referrer-bundle', 'https://slsa.dev/provenance/v1'],
    ]);
    // The v1 bundle is an attestation, not an image signature.
    expect(caught(() => verifyImageSignatures(found, digest, trust, controllerPolicy())).code).toBe('NO_SIGNATURE');
    // Under the image's policy the provenance does not verify (signed by the generator's workflow).
    const e = caught(() => verifyImageAttestations(found, digest, trust, [{ ...slsaRule(), policy: controllerPolicy() }]));
    expect(e.details?.check).toBe('identity');
  });
});

describe('planCarry: only what verified goes along', () => {
  it('carries a .sig whose every layer verified as it is, and composes one from the verified layers otherwise', async () => {
    const { repo, digest } = await image();
    await signImageLikeCosign2(kit, repo, digest, { identity: controllerClaims() });
    await attestImageLikeCosign2(kit, repo, digest, { identity: slsaClaims() });
    const whole = await findSignatures(repo, digest);
    const all = planCarry(whole, verifyImageSignatures(whole, digest, trust, controllerPolicy()).verified, verifyImageAttestations(whole, digest, trust, [slsaRule()]).verified);
    expect(all.carried.map((c) => [c.kind, c.composed, c.digest === c.sourceDigest])).toEqual([
      ['signatures', false, true],
      ['attestations', false, true],
    ]);
    expect(all.extras[0]!.bytes).toEqual(whole.signatures!.bytes);

    await signImageLikeCosign2(kit, repo, digest, { identity: attackerClaims() }); // a second layer that fails
    const mixed = await findSignatures(repo, digest);
    const v = verifyImageSignatures(mixed, digest, trust, controllerPolicy());
    const plan = planCarry(mixed, v.verified, []);
    expect(plan.carried).toEqual([
      expect.objectContaining({ kind: 'signatures', composed: true, layers: 1, ofLayers: 2, sourceDigest: mixed.signatures!.descriptor.digest, tag: mixed.signatures!.tag }),
    ]);
    const composed = parseManifest(plan.extras[0]!.bytes!);
    expect(composed.kind === 'manifest' && composed.manifest.layers).toEqual([mixed.signatures!.manifest.layers[0]]);
    // Deterministic: the same verified layers compose to the same digest.
    expect(planCarry(mixed, v.verified, []).carried[0]!.digest).toBe(plan.carried[0]!.digest);
    // Attestations not verified (no rule) are not carried.
    expect(plan.carried.some((c) => c.kind === 'attestations')).toBe(false);
  });

  it('carries a verified referrer bundle and lists it for the fallback index; refuses verdicts src/verify did not seal', async () => {
    const { repo, digest } = await image();
    const written = await signImageLikeCosign3(kit, repo, digest, { identity: controllerClaims() });
    const found = await findSignatures(repo, digest);
    const v = verifyImageSignatures(found, digest, trust, controllerPolicy());
    const plan = planCarry(found, v.verified, []);
    expect(plan.referrers.map((r) => [r.digest, r.artifactType])).toEqual([[written.manifest.digest, 'application/vnd.dev.sigstore.bundle.v0.3+json']]);
    const forged = { ...v.verified[0]!, verdict: { ...v.verified[0]!.verdict } };
    expect(() => planCarry(found, [forged], [])).toThrow(/did not seal/);
  });
});

describe('copy between OCI layouts', () => {
  it('carries the verified .sig and bundle referrer into a layout, where they verify again (the layout lists the referrer itself)', async () => {
    const { repo, digest } = await image();
    await signImageLikeCosign2(kit, repo, digest, { identity: controllerClaims() });
    await signImageLikeCosign3(kit, repo, digest, { identity: controllerClaims() });
    const policy = { certificateIdentity: CONTROLLER_SAN, certificateOidcIssuer: ISSUER };
    const target = `oci:${join(dir, 'mirror', repo.name)}`;
    const r = await copyVerified({ source: `oci:${join(dir, 'layout', repo.name)}:v1.9.4`, target, insecureSkipVerify: false, policy, trustedRootPath: kit.trustedRootPath });
    expect(r.verification?.carried.map((c) => c.kind)).toEqual(['signatures', 'referrer']);
    expect(r.referrers).toBe('listed');
    const there = await verifyImageReference({ reference: `${target}:v1.9.4`, policy, trustedRootPath: kit.trustedRootPath });
    expect(there.digest).toBe(digest);
    expect(there.verified.map((s) => s.format)).toEqual(['legacy-sig', 'referrer-bundle']);
  });
});
