/**
 * The results of verifying an image's signatures and attestations (image.ts): per signature, the verdict with its
 * evidence, or the named check that refused it. Only `ImageVerification.subject` authorises a copy of the image.
 */
import type { ErrorCode } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { SignatureFormat, SignatureLocation } from '../signatures/types.js';
import type { CheckName } from './checks.js';
import type { Policy } from './policy.js';
import type { SimpleSigningClaims } from './simple-signing.js';
import type { Verdict, VerifiedDigest } from './verdict.js';

export interface SignatureVerdict {
  readonly format: SignatureFormat;
  readonly location: SignatureLocation;
  readonly verdict: Verdict;
  /** Every check that ran and passed: the bundle's, then the image-level ones (subject-digest, predicate-type). */
  readonly checks: readonly CheckName[];
  /** The verified in-toto predicate type (referrer bundles, attestations). */
  readonly predicateType?: string;
  /** The verified simple-signing claims (legacy `.sig`). */
  readonly claims?: SimpleSigningClaims;
}

export interface SignatureFailure {
  readonly format: SignatureFormat;
  readonly location: SignatureLocation;
  /** The check that refused it (a CheckName), or `unknown` for an error outside the named checks. */
  readonly check: string;
  readonly code: ErrorCode;
  readonly message: string;
}

/** What verifyImageSignatures returns: proof for the image digest, and what each signature came to. */
export interface ImageVerification {
  readonly digest: Digest;
  /** Sealed by src/verify from the first verified signature; what copy/ accepts. */
  readonly subject: VerifiedDigest;
  readonly verified: readonly SignatureVerdict[];
  readonly failed: readonly SignatureFailure[];
}

/** Who may sign attestations of which predicate types (e.g. SLSA provenance by the SLSA generator's workflow). */
export interface AttestationRule {
  /** Full predicate type URIs (see predicate-types.ts for cosign's short names). */
  readonly predicateTypes: readonly string[];
  readonly policy: Policy;
}

export interface AttestationVerification {
  readonly digest: Digest;
  readonly verified: readonly SignatureVerdict[];
  readonly failed: readonly SignatureFailure[];
}

/** The unsealed outcome of the check runner (what the test-only entry points return). */
export interface ImageCheckResult {
  /** How many signatures or attestations were candidates. */
  candidates: number;
  readonly verified: SignatureVerdict[];
  readonly failed: SignatureFailure[];
}

/** A refused signature as plain data: where it was and which check refused it (for --json and the ledger). */
export interface FailureSummary {
  format: SignatureFormat;
  manifest: Digest;
  layer: Digest;
  index: number;
  tag?: string;
  check: string;
  code: string;
  message: string;
}

export function summarizeFailure(f: SignatureFailure): FailureSummary {
  return {
    format: f.format,
    manifest: f.location.manifest.digest,
    layer: f.location.layer.digest,
    index: f.location.index,
    ...(f.location.tag ? { tag: f.location.tag } : {}),
    check: f.check,
    code: f.code,
    message: f.message,
  };
}
