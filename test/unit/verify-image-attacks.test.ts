/**
 * Attacks on image signatures, mutation style (as verify-attacks.test.ts for bundles). Each attack is written into
 * a real OCI layout by the test kit with what a real attacker controls — their own valid signatures, tags and
 * referrers next to the image, annotations, the unsigned OCI `subject` — and each test:
 *   1. shows the attack refused, by the named check;
 *   2. switches that check off (test-only entry point, src/verify/testing.ts) and shows the attack then gets
 *      through — or, where two checks guard one property, is stopped by the other.
 * The other two attacks live where they happen: an unsigned image given to `copy` (nothing of it reaches the
 * target) in test/e2e/verify-image.test.ts, an oversized signature manifest in test/unit/signatures-find.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../src/oci/digest.js';
import { findSignatures, type FoundSignatures } from '../../src/signatures/index.js';
import { openLayoutStore } from '../../src/store/layout/store.js';
import type { ContentStore, Repository } from '../../src/store/types.js';
import { attestImageLikeCosign2, newKeySigner, signImageLikeCosign2 } from '../../src/testkit/image-signers.js';
import { signImageLikeCosign3 } from '../../src/testkit/image-signers-bundle.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { loadTrustAnchorFile, type TrustAnchor } from '../../src/trust/index.js';
import type { AttestationRule, CheckName, Policy } from '../../src/verify/index.js';
import { verifyImageAttestationsWithChecksDisabled, verifyImageSignaturesWithChecksDisabled } from '../../src/verify/testing.js';
import { controllerClaims, controllerPolicy, pushImage, slsaClaims, slsaRule } from '../support/image-signing.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-image-attacks-'));
let kit: LocalSigstore;
let trust: TrustAnchor;
let store: ContentStore;
let n = 0;

async function image(): Promise<{ repo: Repository; digest: Digest }> {
  const repo = store.repository(`attack-${n++}`);
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

/** The outcome of the one candidate: 'passed', or the check that refused it. */
function signatureOutcome(found: FoundSignatures, digest: Digest, policy: Policy, disabled: CheckName[] = []): string {
  const r = verifyImageSignaturesWithChecksDisabled(found, digest, trust, policy, disabled);
  expect(r.candidates).toBe(1);
  if (r.verified.length === 1) {
    expect(r.verified[0]!.verdict.disabledChecks).toEqual(disabled.filter((c) => r.verified[0]!.verdict.disabledChecks.includes(c)));
    return 'passed';
  }
  return r.failed[0]!.check;
}

function attestationOutcome(found: FoundSignatures, digest: Digest, rules: AttestationRule[], disabled: CheckName[] = []): string {
  const r = verifyImageAttestationsWithChecksDisabled(found, digest, trust, rules, disabled);
  expect(r.candidates).toBe(1);
  return r.verified.length === 1 ? 'passed' : r.failed[0]!.check;
}

describe('attacks on image signatures, each stopped by a named check', () => {
  it('a valid signature of ANOTHER digest attached to this image (.sig) — stopped by subject-digest', async () => {
    const victim = await image();
    const other = await image();
    // A genuine Flux signature, made for the other image, copied into this image's .sig tag.
    await signImageLikeCosign2(kit, victim.repo, victim.digest, { identity: controllerClaims(), signedDigest: other.digest });
    const found = await findSignatures(victim.repo, victim.digest);
    expect(signatureOutcome(found, victim.digest, controllerPolicy())).toBe('subject-digest');
    expect(signatureOutcome(found, victim.digest, controllerPolicy(), ['subject-digest'])).toBe('passed');
  });

  it('a referrer bundle whose SIGNED subject is another digest while its unsigned OCI subject says this one — stopped by artifact', async () => {
    const victim = await image();
    const other = await image();
    const w = await signImageLikeCosign3(kit, victim.repo, victim.digest, { identity: controllerClaims(), signedDigest: other.digest, attachTo: victim.digest });
    const found = await findSignatures(victim.repo, victim.digest);
    expect(found.referrers[0]!.manifest.subject?.digest).toBe(victim.digest); // the unsigned field says "this image"
    expect(w.bundle).toBeDefined();
    expect(signatureOutcome(found, victim.digest, controllerPolicy())).toBe('artifact');
    expect(signatureOutcome(found, victim.digest, controllerPolicy(), ['artifact'])).toBe('passed');
  });

  it('a key-based signature where a keyless identity is required — stopped by verification-material, then by public-key', async () => {
    const { repo, digest } = await image();
    await signImageLikeCosign2(kit, repo, digest, { signer: newKeySigner() }); // logged in Rekor, valid for its key
    const found = await findSignatures(repo, digest);
    expect(signatureOutcome(found, digest, controllerPolicy())).toBe('verification-material');
    // Defence in depth: the trust root holds no such key, so the key lookup refuses it next.
    expect(signatureOutcome(found, digest, controllerPolicy(), ['verification-material'])).toBe('public-key');
  });

  it('an attestation of the wrong predicate type, its unsigned annotation claiming SLSA provenance — stopped by predicate-type', async () => {
    const { repo, digest } = await image();
    await attestImageLikeCosign2(kit, repo, digest, {
      identity: slsaClaims(),
      predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1',
      annotatedPredicateType: 'https://slsa.dev/provenance/v0.2',
    });
    const found = await findSignatures(repo, digest);
    expect(found.attestations!.layers[0]!.annotations.predicateType).toBe('https://slsa.dev/provenance/v0.2');
    expect(attestationOutcome(found, digest, [slsaRule()])).toBe('predicate-type');
    expect(attestationOutcome(found, digest, [slsaRule()], ['predicate-type'])).toBe('passed');
  });

  it('a signed SLSA statement passed off as a cosign-3 image signature (same signer) — stopped by predicate-type', async () => {
    const { repo, digest } = await image();
    await signImageLikeCosign3(kit, repo, digest, { identity: controllerClaims(), predicateType: 'https://slsa.dev/provenance/v1' });
    const found = await findSignatures(repo, digest);
    // Routed as a signature when it claims nothing; here it is re-labelled as one in the found list.
    const asSignature: FoundSignatures = { ...found, referrers: found.referrers.map((r) => ({ ...r, signature: { ...r.signature, claimedPredicateType: 'https://sigstore.dev/cosign/sign/v1' } })) };
    expect(signatureOutcome(asSignature, digest, controllerPolicy())).toBe('predicate-type');
    expect(signatureOutcome(asSignature, digest, controllerPolicy(), ['predicate-type'])).toBe('passed');
  });

  it('an attestation about another image — stopped by artifact (the in-toto subject inside the envelope)', async () => {
    const victim = await image();
    const other = await image();
    await attestImageLikeCosign2(kit, victim.repo, victim.digest, { identity: slsaClaims(), signedDigest: other.digest });
    const found = await findSignatures(victim.repo, victim.digest);
    expect(attestationOutcome(found, victim.digest, [slsaRule()])).toBe('artifact');
    expect(attestationOutcome(found, victim.digest, [slsaRule()], ['artifact'])).toBe('passed');
  });
});
