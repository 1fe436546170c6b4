// Public surface of src/signatures: find and parse a digest's signatures and attestations. Never decides trust.
export { countFound, findSignatures, type FindSignaturesOptions } from './find.js';
export {
  allFound,
  COSIGN_ANNOTATIONS,
  DEFAULT_SIGNATURE_LIMITS,
  type FoundReferrer,
  type FoundSignature,
  type FoundSignatureManifest,
  type FoundSignatures,
  type LegacyAttestationLayer,
  type LegacySignatureLayer,
  type ReferrerBundle,
  type SignatureFormat,
  type SignatureLimits,
  type SignatureLocation,
  type SkippedArtifact,
} from './types.js';
