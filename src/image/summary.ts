/**
 * JSON-able summaries of image verification outcomes, for `verify image|attestation --json` and `copy --json`:
 * per valid signature its format, identity, issuer (or key), log index and time; per refused one the check that
 * refused it. No certificates or bundle bodies (the ledger records those from the verdicts themselves).
 */
import type { Digest } from '../oci/digest.js';
import type { SignatureFormat } from '../signatures/types.js';
import type { CheckName, SignatureVerdict } from '../verify/index.js';

export interface SignatureSummary {
  format: SignatureFormat;
  /** The signature manifest (`.sig`/`.att` manifest, or the referrer manifest) and the layer it was read from. */
  manifest: Digest;
  layer: Digest;
  /** Position of the layer in its manifest (0-based). */
  index: number;
  tag?: string;
  signer:
    | { kind: 'certificate'; identity: string; issuer: string; extensions: Record<string, string> }
    | { kind: 'key'; keyDigest: string; algorithm: string };
  /** First transparency-log entry (null for a key-based signature verified with --insecure-ignore-tlog). */
  logIndex: string | null;
  /** The verified signing time (integrated time or TSA), ISO 8601, or null without one. */
  time: string | null;
  predicateType?: string;
  checks: CheckName[];
}


export function summarizeSignature(v: SignatureVerdict): SignatureSummary {
  const s = v.verdict.signer;
  const tlog = v.verdict.tlogEntries[0];
  return {
    format: v.format,
    manifest: v.location.manifest.digest,
    layer: v.location.layer.digest,
    index: v.location.index,
    ...(v.location.tag ? { tag: v.location.tag } : {}),
    signer:
      s.kind === 'certificate'
        ? { kind: 'certificate', identity: s.identity, issuer: s.issuer, extensions: { ...s.extensions } }
        : { kind: 'key', keyDigest: s.keyDigest, algorithm: s.algorithm },
    logIndex: tlog?.logIndex ?? null,
    time: v.verdict.timestamps[0]?.time ?? tlog?.integratedTime ?? null,
    ...(v.predicateType !== undefined ? { predicateType: v.predicateType } : {}),
    checks: [...v.checks],
  };
}

// One definition for the CLI and the errors src/verify raises.
export { summarizeFailure, type FailureSummary } from '../verify/image-types.js';

/** Human name of a format, as `verify image` prints it. */
export function formatName(f: SignatureFormat): string {
  switch (f) {
    case 'legacy-sig':
      return 'cosign .sig (legacy tag)';
    case 'legacy-att':
      return 'cosign .att (legacy tag)';
    case 'referrer-bundle':
      return 'Sigstore bundle (OCI referrer)';
  }
}
