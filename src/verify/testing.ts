/**
 * TEST-ONLY entry point: verifyBundle with named checks switched off, so the attack tests can prove that a given
 * check is what stops a given attack. Not exported from ./index.ts; nothing under src/ or commands/ may import it.
 * Verdicts it returns list their disabled checks and are never sealed: toVerifiedDigest() refuses them, so they can
 * never authorise a copy even if this module were misused.
 */
import type { TrustAnchor } from '../trust/anchor.js';
import { runBundleChecks } from './bundle.js';
import type { VerifyBundleInput } from './bundle-input.js';
import type { CheckName } from './checks.js';
import type { Policy } from './policy.js';
import type { Verdict } from './verdict.js';

export function verifyBundleWithChecksDisabled(input: VerifyBundleInput, trust: TrustAnchor, policy: Policy, disabledChecks: readonly CheckName[]): Verdict {
  return runBundleChecks(input, trust, policy, new Set(disabledChecks));
}
