/**
 * findSignatures: every cosign signature and attestation of one digest in a repository — legacy `.sig` / `.att`
 * tags and Sigstore bundle referrers (both may exist at once, FACTS §3) — read within limits and parsed, never
 * judged. The result is unverified by type; src/verify decides.
 */
import { parseDigest, type Digest } from '../oci/digest.js';
import type { Repository } from '../store/types.js';
import { readLegacyManifest } from './legacy.js';
import { ReadBudget } from './read.js';
import { readReferrerBundles } from './referrers.js';
import { DEFAULT_SIGNATURE_LIMITS, type FoundSignatures, type SignatureLimits, type SkippedArtifact } from './types.js';

export interface FindSignaturesOptions {
  limits?: Partial<SignatureLimits>;
  /** Read attestations (`.att`) too; default true. */
  attestations?: boolean;
  /** Read referrer bundles too; default true. */
  referrers?: boolean;
}

export async function findSignatures(repo: Repository, digest: Digest, options: FindSignaturesOptions = {}): Promise<FoundSignatures> {
  parseDigest(digest, 'image digest');
  const limits: SignatureLimits = { ...DEFAULT_SIGNATURE_LIMITS, ...options.limits };
  const budget = new ReadBudget(limits, repo.display);
  const skipped: SkippedArtifact[] = [];
  const signatures = await readLegacyManifest(repo, digest, 'sig', limits, budget);
  const attestations = options.attestations === false ? undefined : await readLegacyManifest(repo, digest, 'att', limits, budget);
  const referrers = options.referrers === false ? [] : await readReferrerBundles(repo, digest, limits, budget, skipped);
  return {
    digest,
    repository: repo.display,
    ...(signatures ? { signatures } : {}),
    ...(attestations ? { attestations } : {}),
    referrers,
    skipped,
  };
}

/** How many signatures and attestations were found, for messages. */
export function countFound(f: FoundSignatures): { signatures: number; attestations: number; referrers: number } {
  return { signatures: f.signatures?.layers.length ?? 0, attestations: f.attestations?.layers.length ?? 0, referrers: f.referrers.length };
}
