/**
 * Verifying an image: its signatures (who signed THIS digest) and its attestations (signed statements about it).
 * Pure: the signatures were found and read elsewhere (src/signatures) and are passed in, unverified.
 *
 * verifyImageSignatures is the only way to a VerifiedDigest for an image digest: it seals one when at least one
 * signature verified under the policy, and throws otherwise — NO_SIGNATURE when there was nothing to verify,
 * VERIFY_FAILED (naming the first failed check) when nothing verified. Signatures that failed are reported, never
 * counted.
 */
import { AirlockError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { FoundSignatures, LegacyAttestationLayer, LegacySignatureLayer, ReferrerBundle } from '../signatures/types.js';
import type { TrustAnchor } from '../trust/anchor.js';
import type { CheckName } from './checks.js';
import { checkImageAttestation, checkImageSignature, firstAccepting, toFailure } from './image-checks.js';
import { summarizeFailure, type AttestationRule, type AttestationVerification, type ImageCheckResult, type ImageVerification } from './image-types.js';
import type { Policy } from './policy.js';
import { COSIGN_SIGN_PREDICATE_TYPE } from './predicate-types.js';
import { sealVerifiedDigest } from './verdict.js';

const NONE: ReadonlySet<CheckName> = new Set();

/** `.sig` layers, and referrer bundles that claim to be image signatures (or claim nothing: verification decides). */
export function signatureCandidates(found: FoundSignatures): (LegacySignatureLayer | ReferrerBundle)[] {
  const legacy = (found.signatures?.layers ?? []).filter((l): l is LegacySignatureLayer => l.format === 'legacy-sig');
  const bundles = found.referrers.map((r) => r.signature).filter((b) => b.claimedPredicateType === undefined || b.claimedPredicateType === COSIGN_SIGN_PREDICATE_TYPE);
  return [...legacy, ...bundles];
}

/** `.att` layers, and referrer bundles that claim another predicate type than cosign's image signature. */
export function attestationCandidates(found: FoundSignatures): (LegacyAttestationLayer | ReferrerBundle)[] {
  const legacy = (found.attestations?.layers ?? []).filter((l): l is LegacyAttestationLayer => l.format === 'legacy-att');
  const bundles = found.referrers.map((r) => r.signature).filter((b) => b.claimedPredicateType !== undefined && b.claimedPredicateType !== COSIGN_SIGN_PREDICATE_TYPE);
  return [...legacy, ...bundles];
}

function checkFound(found: FoundSignatures, digest: Digest): void {
  if (found.digest !== digest) {
    throw new AirlockError('INTERNAL', `The signatures passed in were found for ${found.digest}, not for the image ${digest} being verified.`);
  }
}

/** The check runner over every signature candidate (test entry point: ./testing.ts). */
export function runImageSignatureChecks(found: FoundSignatures, digest: Digest, trust: TrustAnchor, policies: readonly Policy[], disabled: ReadonlySet<CheckName>): ImageCheckResult {
  checkFound(found, digest);
  const out: ImageCheckResult = { candidates: 0, verified: [], failed: [] };
  for (const sig of signatureCandidates(found)) {
    out.candidates++;
    try {
      out.verified.push(firstAccepting(policies, (p) => checkImageSignature(sig, digest, trust, p, disabled)));
    } catch (e) {
      out.failed.push(toFailure(sig, e));
    }
  }
  return out;
}

export function runImageAttestationChecks(found: FoundSignatures, digest: Digest, trust: TrustAnchor, rules: readonly AttestationRule[], disabled: ReadonlySet<CheckName>): ImageCheckResult {
  checkFound(found, digest);
  const out: ImageCheckResult = { candidates: 0, verified: [], failed: [] };
  for (const att of attestationCandidates(found)) {
    out.candidates++;
    try {
      out.verified.push(checkImageAttestation(att, digest, trust, rules, disabled));
    } catch (e) {
      out.failed.push(toFailure(att, e));
    }
  }
  return out;
}

function noneVerified(what: 'signature' | 'attestation', found: FoundSignatures, r: ImageCheckResult): AirlockError {
  const first = r.failed[0];
  const failures = r.failed.map(summarizeFailure);
  return new AirlockError(
    'VERIFY_FAILED',
    `None of the ${r.candidates} ${what}${r.candidates === 1 ? '' : 's'} of ${found.repository}@${found.digest} verified; the first: ${first ? lower(first.message) : 'no reason recorded'}`,
    { details: { check: first?.check ?? 'unknown', failures } },
  );
}

function lower(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/**
 * Verifies the image's signatures under `policy` (any one of several policies may accept a signature). Returns the
 * proof for `digest` with every signature's outcome, or throws NO_SIGNATURE / VERIFY_FAILED.
 */
export function verifyImageSignatures(found: FoundSignatures, digest: Digest, trust: TrustAnchor, policy: Policy | readonly Policy[]): ImageVerification {
  const policies = Array.isArray(policy) ? (policy as readonly Policy[]) : [policy as Policy];
  if (policies.length === 0) throw new AirlockError('BAD_INPUT', 'An image verification needs a policy: who must have signed.', { details: { check: 'policy' } });
  const r = runImageSignatureChecks(found, digest, trust, policies, NONE);
  if (r.candidates === 0) {
    throw new AirlockError(
      'NO_SIGNATURE',
      `${found.repository}@${digest} has no cosign signature (no ${digest.replace(':', '-')}.sig tag and no Sigstore bundle referrer), so there is nothing to verify.`,
      { details: { skipped: found.skipped } },
    );
  }
  if (r.verified.length === 0) throw noneVerified('signature', found, r);
  const subject = sealVerifiedDigest(r.verified[0]!.verdict, digest);
  return Object.freeze({ digest, subject, verified: Object.freeze(r.verified), failed: Object.freeze(r.failed) });
}

/**
 * Verifies the image's attestations against `rules` (predicate types and who may sign them). Returns every
 * outcome when at least one verified, or throws NO_SIGNATURE (no attestation at all) / VERIFY_FAILED.
 */
export function verifyImageAttestations(found: FoundSignatures, digest: Digest, trust: TrustAnchor, rules: readonly AttestationRule[]): AttestationVerification {
  if (rules.length === 0) throw new AirlockError('BAD_INPUT', 'An attestation verification needs a rule: which predicate types, signed by whom.', { details: { check: 'policy' } });
  const r = runImageAttestationChecks(found, digest, trust, rules, NONE);
  if (r.candidates === 0) {
    throw new AirlockError('NO_SIGNATURE', `${found.repository}@${digest} has no attestation (no ${digest.replace(':', '-')}.att tag and no attestation bundle referrer), so there is nothing to verify.`);
  }
  if (r.verified.length === 0) throw noneVerified('attestation', found, r);
  return Object.freeze({ digest, verified: Object.freeze(r.verified), failed: Object.freeze(r.failed) });
}
