// Public surface of src/verify: the only place that decides whether something is trusted.
export { verifyBundle } from './bundle.js';
export { BUNDLE_MEDIA_TYPES, type ArtifactInput, type VerifyBundleInput } from './bundle-input.js';
export { CHECK_NAMES, CHECKS, type CheckName } from './checks.js';
export { IN_TOTO_PAYLOAD_TYPE, verifyDsseSubject, type InTotoEvidence, type InTotoSubject } from './dsse.js';
export { FULCIO_EXTENSION_OIDS, type FulcioExtensions } from './extensions.js';
export {
  describeMatcher,
  matches,
  POLICY_EXTENSIONS,
  summarizePolicy,
  toPolicy,
  wholeMatchRegExp,
  type KeylessPolicy,
  type KeyPolicy,
  type Matcher,
  type Policy,
  type PolicyExtension,
  type PolicyInput,
  type PolicySummary,
} from './policy.js';
export { attestationCandidates, signatureCandidates, verifyImageAttestations, verifyImageSignatures } from './image.js';
export type { AttestationRule, AttestationVerification, ImageVerification, SignatureFailure, SignatureVerdict } from './image-types.js';
export { COSIGN_SIGN_PREDICATE_TYPE, PREDICATE_SHORT_NAMES, toPredicateTypes } from './predicate-types.js';
export { verifyPrehashedSignature } from './prehashed.js';
export { SIMPLE_SIGNING_TYPE, type SimpleSigningClaims } from './simple-signing.js';
export { summarizeVerdict, type VerdictSummary } from './summary.js';
export {
  assertCopyAuthorization,
  insecureSkipVerify,
  isGenuineVerdict,
  isVerifiedDigest,
  toVerifiedDigest,
  type CopyAuthorization,
  type SignerEvidence,
  type TimestampEvidence,
  type TlogEvidence,
  type UnverifiedMarker,
  type Verdict,
  type VerifiedDigest,
} from './verdict.js';
