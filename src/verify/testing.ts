/**
 * TEST-ONLY entry points: verifyBundle and the image verifiers with named checks switched off, so the attack tests
 * can prove that a given check is what stops a given attack. Not exported from ./index.ts; nothing under src/ or
 * commands/ may import it.
 * Verdicts it returns list their disabled checks and are never sealed: toVerifiedDigest() refuses them, so they can
 * never authorise a copy even if this module were misused.
 */
import type { Digest } from '../oci/digest.js';
import type { FoundSignatures } from '../signatures/types.js';
import type { TrustAnchor } from '../trust/anchor.js';
import { runBundleChecks } from './bundle.js';
import type { VerifyBundleInput } from './bundle-input.js';
import type { CheckName } from './checks.js';
import { runImageAttestationChecks, runImageSignatureChecks } from './image.js';
import type { AttestationRule, ImageCheckResult } from './image-types.js';
import type { Policy } from './policy.js';
import type { Verdict } from './verdict.js';

export function verifyBundleWithChecksDisabled(input: VerifyBundleInput, trust: TrustAnchor, policy: Policy, disabledChecks: readonly CheckName[]): Verdict {
  return runBundleChecks(input, trust, policy, new Set(disabledChecks));
}

/** verifyImageSignatures' check runner with named checks off: the outcomes, never a sealed VerifiedDigest. */
export function verifyImageSignaturesWithChecksDisabled(
  found: FoundSignatures,
  digest: Digest,
  trust: TrustAnchor,
  policy: Policy,
  disabledChecks: readonly CheckName[],
): ImageCheckResult {
  return runImageSignatureChecks(found, digest, trust, [policy], new Set(disabledChecks));
}

/** verifyImageAttestations' check runner with named checks off. */
export function verifyImageAttestationsWithChecksDisabled(
  found: FoundSignatures,
  digest: Digest,
  trust: TrustAnchor,
  rules: readonly AttestationRule[],
  disabledChecks: readonly CheckName[],
): ImageCheckResult {
  return runImageAttestationChecks(found, digest, trust, rules, new Set(disabledChecks));
}
