/**
 * What src/signatures finds: a digest's cosign signatures and attestations as they sit in a store, parsed but
 * UNVERIFIED. Nothing here is evidence of anything until src/verify has checked it (verifyImageSignatures /
 * verifyImageAttestations); the types carry no verified brand, so copy/ cannot take them as authorisation.
 */
import type { Digest } from '../oci/digest.js';
import type { Descriptor, ImageManifest } from '../oci/manifest.js';

/** cosign's layer annotations on legacy `.sig` / `.att` manifests (pkg/oci/static, FACTS §3). */
export const COSIGN_ANNOTATIONS = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  rfc3161Timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
  predicateType: 'predicateType',
} as const;

/** Where one signature came from, for messages, results and the copy planner. */
export interface SignatureLocation {
  /** The signature manifest: the `.sig` / `.att` manifest, or the referrer manifest. */
  manifest: Descriptor;
  /** The layer holding the payload, envelope or bundle. */
  layer: Descriptor;
  /** The tag it was found under (`sha256-<hex>.sig`, `.att`), for legacy formats. */
  tag?: string;
  /** Position of the layer in its manifest. */
  index: number;
}

/** A `.sig` layer: the simple-signing payload and cosign's annotations, as found. */
export interface LegacySignatureLayer {
  readonly format: 'legacy-sig';
  readonly location: SignatureLocation;
  /** The layer bytes: what was signed (digest-checked against the layer descriptor, nothing more). */
  readonly payload: Uint8Array;
  /** The layer's annotations (signature, certificate, chain, Rekor bundle, timestamp), unparsed. */
  readonly annotations: Readonly<Record<string, string>>;
}

/** An `.att` layer: a DSSE envelope (the layer bytes) and cosign's annotations, as found. */
export interface LegacyAttestationLayer {
  readonly format: 'legacy-att';
  readonly location: SignatureLocation;
  readonly envelope: Uint8Array;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A Sigstore bundle attached to the digest as an OCI 1.1 referrer (cosign 3). */
export interface ReferrerBundle {
  readonly format: 'referrer-bundle';
  readonly location: SignatureLocation;
  /** The bundle JSON, parsed (shape unchecked: src/verify decides). */
  readonly bundle: unknown;
  /**
   * The predicate type the bundle's DSSE payload claims, read WITHOUT verification: only used to route a bundle
   * to signature or attestation verification, which re-checks it on the verified statement.
   */
  readonly claimedPredicateType?: string;
}

export type FoundSignature = LegacySignatureLayer | LegacyAttestationLayer | ReferrerBundle;
export type SignatureFormat = FoundSignature['format'];

/** A legacy `.sig` or `.att` manifest with its layers, as found. */
export interface FoundSignatureManifest {
  kind: 'sig' | 'att';
  tag: string;
  descriptor: Descriptor;
  bytes: Uint8Array;
  manifest: ImageManifest;
  layers: (LegacySignatureLayer | LegacyAttestationLayer)[];
}

/** A referrer manifest holding one Sigstore bundle, as found. */
export interface FoundReferrer {
  descriptor: Descriptor;
  bytes: Uint8Array;
  manifest: ImageManifest;
  signature: ReferrerBundle;
}

export interface SkippedArtifact {
  /** A tag or `referrer <digest>`. */
  where: string;
  reason: string;
}

export interface FoundSignatures {
  digest: Digest;
  /** `location/repository`, for messages. */
  repository: string;
  signatures?: FoundSignatureManifest;
  attestations?: FoundSignatureManifest;
  referrers: FoundReferrer[];
  /** Artifacts seen but not signatures airlock reads (SBOM referrers, malformed manifests), with why. */
  skipped: SkippedArtifact[];
}

/** Bounds on what a store can make the finder read; exceeding one is LIMIT_EXCEEDED, before the thing is read. */
export interface SignatureLimits {
  /** Layers in one signature manifest (one per signature); default 64. */
  maxLayers: number;
  /** Bytes of one payload, envelope or bundle; default 16 MiB. */
  maxPayloadBytes: number;
  /** Bytes of one signature or referrer manifest; default 1 MiB (cosign's are a few KiB per signature). */
  maxManifestBytes: number;
  /** Candidate bundle referrers of one digest; default 64. */
  maxReferrers: number;
  /** Bytes read for one digest in all; default 64 MiB. */
  maxTotalBytes: number;
}

export const DEFAULT_SIGNATURE_LIMITS: Readonly<SignatureLimits> = Object.freeze({
  maxLayers: 64,
  maxPayloadBytes: 16 * 1024 * 1024,
  maxManifestBytes: 1024 * 1024,
  maxReferrers: 64,
  maxTotalBytes: 64 * 1024 * 1024,
});

/** Every signature and attestation found, in the order: `.sig` layers, `.att` layers, referrer bundles. */
export function allFound(f: FoundSignatures): FoundSignature[] {
  return [...(f.signatures?.layers ?? []), ...(f.attestations?.layers ?? []), ...f.referrers.map((r) => r.signature)];
}
