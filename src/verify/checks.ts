/**
 * The named checks of a bundle verification, in the order they run. Each failure is a VERIFY_FAILED (or BAD_INPUT
 * for `policy`) AirlockError whose `details.check` is one of these names, so a caller, a log line and a test can
 * say exactly which check stopped something. The attack tests switch single checks off (through the test-only
 * entry point in ./testing.ts) to prove that the named check is what stops each attack.
 */
import { AirlockError, type ErrorCode } from '../errors.js';

export const CHECKS = {
  policy: 'the policy says who must have signed: a keyless policy names an identity and an issuer',
  'bundle-format': 'the bundle is a Sigstore bundle v0.1–v0.3 with exactly one signature and a well-formed body',
  'verification-material': 'the bundle is signed with the kind of key the policy expects (a certificate, or the --key)',
  timestamps: 'every timestamp (RFC 3161 or transparency-log integrated time) verifies, and there are enough of them',
  'certificate-validity': 'the signing certificate was within its validity period at every verified timestamp',
  'certificate-chain': 'the signing certificate chains to a trusted CA valid at those times and has a valid SCT from a trusted CT log',
  'public-key': 'the key given with --key is the one that signed',
  tlog: 'every transparency-log entry is in a trusted log (signed entry timestamp and/or inclusion proof with a signed checkpoint) and matches this signature',
  'tlog-verifier': 'every transparency-log entry logged this certificate or key, not merely this signature',
  signature: 'the signature verifies with the signer key over the artifact (or its digest, or the DSSE envelope)',
  artifact: 'the bundle is about this artifact: its message digest or in-toto subject is the artifact digest',
  identity: "the certificate's subject alternative name matches the expected identity",
  issuer: "the certificate's OIDC issuer matches the expected issuer",
  'certificate-extensions': "the certificate's Fulcio extensions (workflow repository, source repository…) match the policy",
  'subject-digest': "the signed simple-signing payload is a cosign image signature naming this image's digest",
  'predicate-type': "the signed in-toto statement's predicate type is the one asked for (cosign's image signature type, or the attestation type)",
} as const;

export type CheckName = keyof typeof CHECKS;

export const CHECK_NAMES: readonly CheckName[] = Object.keys(CHECKS) as CheckName[];

/** The one sentence a user sees when a check fails (the library's own reason goes after a dash). */
const FAILURE: Readonly<Record<CheckName, string>> = {
  policy: 'the verification policy is incomplete',
  'bundle-format': 'the bundle is malformed',
  'verification-material': 'the bundle is not signed the way the policy expects',
  timestamps: 'a timestamp in the bundle does not verify',
  'certificate-validity': 'the signing certificate was not valid at the time of signing',
  'certificate-chain': 'the signing certificate is not trusted',
  'public-key': 'the given key cannot be used for this bundle',
  tlog: 'the transparency-log evidence does not verify',
  'tlog-verifier': 'the transparency-log entry is not the record of this certificate or key',
  signature: 'the signature does not verify',
  artifact: 'the bundle is not about this artifact',
  identity: 'the signer identity does not match',
  issuer: 'the OIDC issuer does not match',
  'certificate-extensions': 'a certificate extension does not match the policy',
  'subject-digest': 'the signed payload does not name this image digest',
  'predicate-type': 'the signed statement has another predicate type than the one asked for',
};

/** Builds the error for a failed check: one sentence, the check's name in details. */
export function checkFailed(check: CheckName, reason: string, opts: { cause?: unknown; code?: ErrorCode; details?: Record<string, unknown> } = {}): AirlockError {
  const sentence = `Verification failed at the ${check} check: ${FAILURE[check]}${reason ? ` — ${trimReason(reason)}` : ''}.`;
  return new AirlockError(opts.code ?? 'VERIFY_FAILED', sentence, {
    ...(opts.cause !== undefined ? { cause: opts.cause } : {}),
    details: { check, reason, ...opts.details },
  });
}

function trimReason(r: string): string {
  const one = r.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  return one.length > 300 ? `${one.slice(0, 300)}…` : one;
}
