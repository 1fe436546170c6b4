/**
 * Verdicts — what was verified, with the evidence — and the verified types the copy engine accepts.
 *
 * Trust is decided only in src/verify (ARCHITECTURE.md). The type system carries that decision:
 *  - `VerifiedDigest` has a property keyed by a module-private `unique symbol`, so no other module can write an
 *    object literal of that type, and a spread (`{...v}`) does not copy it (the property is non-enumerable).
 *  - A cast (`x as VerifiedDigest`) can still lie to the compiler, so the brand is also checked at run time:
 *    every genuine value is recorded in a module-private WeakSet, and `assertVerifiedDigest` (which copy/ and the
 *    ledger must call on what they are given) rejects anything else.
 *  - Genuine verdicts are likewise recorded when the check runner seals them, so `toVerifiedDigest` cannot be fed a
 *    hand-made Verdict. Verdicts produced with checks switched off (tests only) are never sealed.
 *  - `sealVerdict` / `sealVerifiedDigest` are for src/verify/* only (TypeScript has no package-private exports);
 *    an eslint `no-restricted-imports` rule outside src/verify should forbid importing this file's seal functions.
 * `UnverifiedMarker` is the one explicit way to copy without verification (`--insecure-skip-verify`): a distinct
 * type, so every consumer must handle it on purpose and the ledger can record it as such.
 */
import { AirlockError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { TrustSource } from '../trust/anchor.js';
import type { CheckName } from './checks.js';
import type { InTotoEvidence } from './dsse.js';
import type { FulcioExtensions } from './extensions.js';
import type { PolicySummary } from './policy.js';

export interface TlogEvidence {
  /** As in the bundle (authenticated by the SET for v0.1, by the inclusion proof's own index otherwise). */
  readonly logIndex: string;
  /** Hex sha256 of the log's public key. */
  readonly logId: string;
  readonly kind: string;
  readonly version: string;
  /** ISO 8601, or null for Rekor v2 entries (no integrated time; a TSA timestamp stands in). */
  readonly integratedTime: string | null;
  readonly inclusionPromise: boolean;
  readonly inclusionProof: boolean;
}

export interface TimestampEvidence {
  readonly source: 'transparency-log' | 'timestamp-authority';
  readonly time: string;
}

export type SignerEvidence =
  | {
      readonly kind: 'certificate';
      /** The certificate's subject alternative name (URI or email) — what the identity policy matched. */
      readonly identity: string;
      readonly issuer: string;
      /** Fulcio extensions by name (extensions.ts), e.g. sourceRepositoryUri, githubWorkflowRepository. */
      readonly extensions: FulcioExtensions;
      readonly certificate: { readonly serialNumber: string; readonly notBefore: string; readonly notAfter: string; readonly sha256: Digest; readonly pem: string };
    }
  | { readonly kind: 'key'; readonly keyDigest: Digest; readonly algorithm: string };

export interface Verdict {
  /** What was verified: the sha256 of the artifact bytes, or the digest given in place of them. */
  readonly artifact: { readonly digest: Digest; readonly given: 'bytes' | 'digest' };
  readonly bundle: {
    readonly mediaType: string;
    readonly content: 'message-signature' | 'dsse';
    /** The bundle JSON as it was verified (a copy). */
    readonly json: unknown;
  };
  /** For DSSE bundles: the signed in-toto statement's type, predicate type and subjects. */
  readonly dsse?: InTotoEvidence;
  readonly signer: SignerEvidence;
  readonly tlogEntries: readonly TlogEvidence[];
  /** The verified times the certificate was checked against. */
  readonly timestamps: readonly TimestampEvidence[];
  readonly trustRoot: { readonly source: TrustSource; readonly digest: Digest };
  readonly policy: PolicySummary;
  /** The checks that ran and passed, in order. */
  readonly checks: readonly CheckName[];
  /** Checks that were switched off (only ever non-empty through the test-only entry point). */
  readonly disabledChecks: readonly CheckName[];
}

const VERIFIED: unique symbol = Symbol('airlock.VerifiedDigest');

/** A digest proven by a verdict. Only src/verify can make one; see the module comment. */
export interface VerifiedDigest {
  readonly kind: 'verified';
  readonly digest: Digest;
  readonly verdict: Verdict;
  readonly [VERIFIED]: true;
}

/** The explicit opt-out: content copied without verification, recorded as such. */
export interface UnverifiedMarker {
  readonly kind: 'unverified';
  readonly reason: 'insecure-skip-verify';
}

/** What the copy engine accepts for a digest: proof, or the explicit opt-out. */
export type CopyAuthorization = VerifiedDigest | UnverifiedMarker;

const genuineVerdicts = new WeakSet<object>();
const genuineDigests = new WeakSet<object>();

/** For src/verify's check runner only: freezes a verdict and records it as genuine when no check was disabled. */
export function sealVerdict(v: Verdict): Verdict {
  Object.freeze(v.checks);
  Object.freeze(v.disabledChecks);
  Object.freeze(v.tlogEntries);
  Object.freeze(v.timestamps);
  const sealed = Object.freeze(v);
  if (v.disabledChecks.length === 0) genuineVerdicts.add(sealed);
  return sealed;
}

/**
 * For src/verify only: a VerifiedDigest for `digest`, which a genuine verdict proves (e.g. the image digest named
 * in a verified simple-signing payload, or the artifact digest itself).
 */
export function sealVerifiedDigest(verdict: Verdict, digest: Digest): VerifiedDigest {
  if (!genuineVerdicts.has(verdict)) {
    throw new AirlockError('INTERNAL', 'A verdict that src/verify did not produce (or produced with checks disabled) cannot authorise a copy.');
  }
  const v = { kind: 'verified' as const, digest, verdict };
  Object.defineProperty(v, VERIFIED, { value: true, enumerable: false });
  const sealed = Object.freeze(v) as VerifiedDigest;
  genuineDigests.add(sealed);
  return sealed;
}

/** The artifact digest a verdict proves, as the type the copy engine accepts. */
export function toVerifiedDigest(verdict: Verdict): VerifiedDigest {
  return sealVerifiedDigest(verdict, verdict.artifact.digest);
}

/** Run-time guard for consumers (copy/, ledger/): true only for values minted here. */
export function isVerifiedDigest(x: unknown): x is VerifiedDigest {
  return typeof x === 'object' && x !== null && genuineDigests.has(x);
}

/** Run-time guard: true only for verdicts src/verify sealed with every check enabled (e.g. before carrying a signature). */
export function isGenuineVerdict(x: unknown): x is Verdict {
  return typeof x === 'object' && x !== null && genuineVerdicts.has(x);
}

/** Throws INTERNAL unless `a` is a genuine VerifiedDigest or the explicit UnverifiedMarker. */
export function assertCopyAuthorization(a: unknown): asserts a is CopyAuthorization {
  if (isVerifiedDigest(a)) return;
  if (a === INSECURE_SKIP_VERIFY) return;
  throw new AirlockError('INTERNAL', 'Refusing to copy content that carries neither a verification verdict nor the explicit --insecure-skip-verify marker.');
}

const INSECURE_SKIP_VERIFY: UnverifiedMarker = Object.freeze({ kind: 'unverified', reason: 'insecure-skip-verify' });

/** The marker for `--insecure-skip-verify`. A single frozen instance, so it too can be checked by identity. */
export function insecureSkipVerify(): UnverifiedMarker {
  return INSECURE_SKIP_VERIFY;
}
