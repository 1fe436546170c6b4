/**
 * What a verified copy may carry: find the digest's signatures in the source, verify the image's signatures (no
 * verified signature, no copy: NO_SIGNATURE or VERIFY_FAILED before a byte is written), verify the attestations
 * when a policy says who may sign which predicate types (a failed or absent attestation does not block the image;
 * it is simply not carried), and plan the signature objects to carry: only what verified.
 */
import type { SourceAuthorization } from '../copy/references.js';
import { isAirlockError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { findSignatures, type SignatureLimits, type SkippedArtifact } from '../signatures/index.js';
import type { Repository } from '../store/types.js';
import type { TrustAnchor } from '../trust/index.js';
import { verifyImageAttestations, verifyImageSignatures, type SignatureVerdict } from '../verify/index.js';
import { planCarry, type CarriedObject } from './carry.js';
import type { ImagePolicies } from './policies.js';
import { summarizeFailure, summarizeSignature, type FailureSummary, type SignatureSummary } from './summary.js';

/** The `verification` part of `copy --json`. */
export interface CopyVerification {
  verified: true;
  signatures: SignatureSummary[];
  signaturesFailed: FailureSummary[];
  attestations: {
    /** False when no policy names attestation types: then none is verified or carried. */
    checked: boolean;
    verified: SignatureSummary[];
    failed: FailureSummary[];
    /** Why none is carried, when none is (no attestation, none verified, no rule). */
    note?: string;
  };
  carried: CarriedObject[];
  skipped: SkippedArtifact[];
  trustRoot: { source: string; digest: Digest };
}

export interface AuthorizeOptions {
  policies: ImagePolicies;
  trust: TrustAnchor;
  limits?: Partial<SignatureLimits>;
}

export async function authorizeImageCopy(source: Repository, digest: Digest, o: AuthorizeOptions): Promise<SourceAuthorization<CopyVerification>> {
  const checked = o.policies.attestations.length > 0;
  const found = await findSignatures(source, digest, { attestations: checked, ...(o.limits ? { limits: o.limits } : {}) });
  const image = verifyImageSignatures(found, digest, o.trust, o.policies.signatures);

  let attested: readonly SignatureVerdict[] = [];
  const attestations: CopyVerification['attestations'] = { checked, verified: [], failed: [] };
  if (checked) {
    try {
      const a = verifyImageAttestations(found, digest, o.trust, o.policies.attestations);
      attested = a.verified;
      attestations.verified = a.verified.map(summarizeSignature);
      attestations.failed = a.failed.map(summarizeFailure);
    } catch (e) {
      if (!isAirlockError(e, 'NO_SIGNATURE') && !isAirlockError(e, 'VERIFY_FAILED')) throw e;
      attestations.note = e.message;
      const failures = e.details?.failures;
      if (Array.isArray(failures)) attestations.failed = failures as FailureSummary[];
    }
  } else {
    attestations.note = 'No policy names attestation predicate types and their signers (--policy), so no attestation is carried.';
  }

  const plan = planCarry(found, image.verified, attested);
  return {
    subject: image.subject,
    extras: plan.extras,
    referrers: plan.referrers,
    // Plain data (the verdicts carry their bundles): what the ledger's verified event keeps as evidence.
    evidence: JSON.parse(JSON.stringify({ signatures: image.verified, attestations: attested })) as unknown,
    report: {
      verified: true,
      signatures: image.verified.map(summarizeSignature),
      signaturesFailed: image.failed.map(summarizeFailure),
      attestations,
      carried: plan.carried,
      skipped: found.skipped,
      trustRoot: { source: o.trust.source, digest: o.trust.digest },
    },
  };
}
