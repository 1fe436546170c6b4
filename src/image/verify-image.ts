/**
 * `airlock verify image REF` and `airlock verify attestation REF --type T`: resolve the reference ONCE to a
 * digest, find that digest's signatures (src/signatures), verify them (src/verify), and report every valid
 * signature with its evidence and every refused one with the check that refused it. Exit codes come from the
 * errors: NO_SIGNATURE (11) when there is nothing to verify, VERIFY_FAILED (10) when nothing verifies.
 */
import { AirlockError } from '../errors.js';
import type { Logger } from '../log.js';
import { debug } from '../log.js';
import type { Digest } from '../oci/digest.js';
import { findSignatures, type FoundSignatures, type SignatureLimits, type SkippedArtifact } from '../signatures/index.js';
import { openReference } from '../store/open.js';
import type { StoreOptions } from '../store/options.js';
import type { Repository } from '../store/types.js';
import {
  summarizePolicy,
  verifyImageAttestations,
  verifyImageSignatures,
  type CheckName,
  type PolicySummary,
  type SignatureFailure,
  type SignatureVerdict,
} from '../verify/index.js';
import { attestationRuleFromFlags, loadImagePolicies, loadVerifyTrust, type PolicyOptions, type TrustOptions } from './policies.js';
import { summarizeFailure, summarizeSignature, type FailureSummary, type SignatureSummary } from './summary.js';

export interface VerifyImageOptions extends PolicyOptions, TrustOptions {
  reference: string;
  storeOptions?: StoreOptions;
  limits?: Partial<SignatureLimits>;
  logger?: Logger;
}

export interface VerifyAttestationOptions extends VerifyImageOptions {
  /** cosign's short name (slsaprovenance, spdx, …) or a predicate type URI. */
  type: string;
}

/** The `verify image|attestation --json` result. */
export interface VerifyImageResult {
  reference: string;
  digest: Digest;
  mediaType: string;
  verified: SignatureSummary[];
  failed: FailureSummary[];
  /** Artifacts seen next to the signatures that airlock does not read as signatures (e.g. SBOM referrers). */
  skipped: SkippedArtifact[];
  /** Every check that passed for the verified signatures, in order. */
  checks: CheckName[];
  trustRoot: { source: string; digest: Digest };
  policies: PolicySummary[];
  predicateTypes?: readonly string[];
}

async function resolve(repo: Repository, target: string | undefined, display: string): Promise<{ digest: Digest; mediaType: string }> {
  if (target === undefined) throw new AirlockError('BAD_INPUT', `"${display}" names no tag or digest; add :TAG or @sha256:… to say what to verify.`);
  const head = await repo.headManifest(target);
  if (!head) throw new AirlockError('NOT_FOUND', `${display} does not exist.`);
  return { digest: head.digest, mediaType: head.mediaType };
}

function union(lists: readonly (readonly CheckName[])[]): CheckName[] {
  return [...new Set(lists.flat())];
}

/**
 * The shared walk of both commands: open, resolve ONCE, find, verify with `check`, report. `check` returns the
 * verdicts; the policies it was given are reported as `policies`.
 */
async function verifyReference(
  o: VerifyImageOptions,
  trust: ReturnType<typeof loadVerifyTrust>,
  attestations: boolean,
  check: (found: FoundSignatures, digest: Digest) => { verified: readonly SignatureVerdict[]; failed: readonly SignatureFailure[] },
  report: Pick<VerifyImageResult, 'policies' | 'predicateTypes'>,
): Promise<VerifyImageResult> {
  const opened = await openReference(o.reference, o.storeOptions ?? {});
  try {
    const { digest, mediaType } = await resolve(opened.repository, opened.target, opened.display);
    const found = await findSignatures(opened.repository, digest, { ...(o.limits ? { limits: o.limits } : {}), attestations });
    debug(o.logger, 'signatures found', { digest, sig: found.signatures?.layers.length ?? 0, referrers: found.referrers.length, skipped: found.skipped.length });
    const v = check(found, digest);
    return {
      reference: opened.display,
      digest,
      mediaType,
      verified: v.verified.map(summarizeSignature),
      failed: v.failed.map(summarizeFailure),
      skipped: found.skipped,
      checks: union(v.verified.map((s) => s.checks)),
      trustRoot: { source: trust.source, digest: trust.digest },
      ...report,
    };
  } finally {
    await opened.store.close().catch(() => undefined);
  }
}

export async function verifyImageReference(o: VerifyImageOptions): Promise<VerifyImageResult> {
  const policies = loadImagePolicies(o); // bad flags first
  const trust = loadVerifyTrust(o);
  return verifyReference(o, trust, false, (found, digest) => verifyImageSignatures(found, digest, trust, policies.signatures), {
    policies: policies.signatures.map(summarizePolicy),
  });
}

export async function verifyAttestationReference(o: VerifyAttestationOptions): Promise<VerifyImageResult> {
  const rule = attestationRuleFromFlags(o, o.type);
  const trust = loadVerifyTrust(o);
  return verifyReference(o, trust, true, (found, digest) => verifyImageAttestations(found, digest, trust, [rule]), {
    policies: [summarizePolicy(rule.policy)],
    predicateTypes: rule.predicateTypes,
  });
}
