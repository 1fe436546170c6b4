/**
 * The per-signature check runner for images (pure). Each found signature is turned into a Sigstore bundle and
 * verified by the bundle check runner, then bound to THIS image digest:
 *  - legacy `.sig`: the bundle is verified over the payload bytes, then the payload must name the digest
 *    (subject-digest);
 *  - referrer bundle (cosign 3): a DSSE in-toto statement, verified with the image digest as the artifact, so its
 *    subject — inside the signed envelope, never the unsigned OCI `subject` — must be the digest (artifact); its
 *    predicate type must be cosign's image-signature type (predicate-type);
 *  - attestation (`.att` layer or referrer): the same DSSE binding, and the predicate type asked for.
 * `disabled` is non-empty only through ./testing.ts; verdicts made so are never sealed.
 */
import { AirlockError, messageOf } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { hexOf } from '../oci/digest.js';
import type { FoundSignature, LegacyAttestationLayer, LegacySignatureLayer, ReferrerBundle } from '../signatures/types.js';
import type { TrustAnchor } from '../trust/anchor.js';
import { runBundleChecks } from './bundle.js';
import { checkFailed, type CheckName } from './checks.js';
import type { AttestationRule, SignatureFailure, SignatureVerdict } from './image-types.js';
import { tlogKinds, toLegacyAttestationBundle, toLegacySignatureBundle } from './legacy-bundle.js';
import type { Policy } from './policy.js';
import { COSIGN_SIGN_PREDICATE_TYPE } from './predicate-types.js';
import { verifySimpleSigningPayload } from './simple-signing.js';
import type { Verdict } from './verdict.js';

type Disabled = ReadonlySet<CheckName>;

/** Runs one image-level check, recording it; an Error becomes that check's failure. */
function runner(disabled: Disabled, performed: CheckName[]) {
  return <T>(name: CheckName, fn: () => T): T | undefined => {
    if (disabled.has(name)) return undefined;
    let r: T;
    try {
      r = fn();
    } catch (e) {
      throw e instanceof AirlockError ? e : checkFailed(name, messageOf(e), { cause: e });
    }
    performed.push(name);
    return r;
  };
}

/**
 * @sigstore/verify cannot compare an `intoto` 0.0.1 entry with an envelope (its body holds hashes, no signature),
 * and would fail with an opaque error; refuse such entries with a sentence that says so.
 */
function refuseUnverifiableEntries(bundle: unknown, disabled: Disabled): void {
  if (disabled.has('tlog')) return;
  if (tlogKinds(bundle).some((k) => k.kind === 'intoto' && k.version === '0.0.1')) {
    throw checkFailed('tlog', 'its Rekor entry is of kind intoto 0.0.1 (older cosign attest), which airlock does not verify; re-attest with a cosign that logs dsse entries');
  }
}

function artifactOf(digest: Digest): { digest: { algorithm: 'sha256'; hex: string } } {
  if (!digest.startsWith('sha256:')) throw checkFailed('artifact', `the image digest ${digest} is not sha256, the only digest in-toto subjects are compared by`);
  return { digest: { algorithm: 'sha256', hex: hexOf(digest) } };
}

/**
 * The predicate type of the statement the verdict's DSSE envelope signs: read from the verified bundle's payload
 * (the bytes the signature check covered), so this check does not depend on the artifact check having run.
 */
function predicateOf(verdict: Verdict, wanted: readonly string[]): string {
  const payload = verdict.bundle.content === 'dsse' ? (verdict.bundle.json as { dsseEnvelope?: { payload?: unknown } }).dsseEnvelope?.payload : undefined;
  if (typeof payload !== 'string') throw new Error('the bundle signs a message, not an in-toto statement with a predicate type');
  let got: unknown;
  try {
    got = (JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as { predicateType?: unknown }).predicateType;
  } catch {
    throw new Error('the signed payload is not a JSON in-toto statement');
  }
  if (typeof got !== 'string') throw new Error('the signed in-toto statement has no predicate type');
  if (!wanted.includes(got)) throw new Error(`the signed predicate type is ${JSON.stringify(got)}, and ${wanted.map((w) => JSON.stringify(w)).join(' or ')} is asked for`);
  return got;
}

function result(sig: FoundSignature, verdict: Verdict, extra: CheckName[], more: Partial<SignatureVerdict>): SignatureVerdict {
  return Object.freeze({ format: sig.format, location: sig.location, verdict, checks: Object.freeze([...verdict.checks, ...extra]), ...more });
}

/** Verifies one image signature (legacy `.sig` layer or cosign-3 referrer bundle) under one policy, or throws. */
export function checkImageSignature(sig: LegacySignatureLayer | ReferrerBundle, digest: Digest, trust: TrustAnchor, policy: Policy, disabled: Disabled): SignatureVerdict {
  const extra: CheckName[] = [];
  const run = runner(disabled, extra);
  if (sig.format === 'legacy-sig') {
    const bundle = toLegacySignatureBundle(sig);
    refuseUnverifiableEntries(bundle, disabled);
    const verdict = runBundleChecks({ bundle, artifact: { bytes: sig.payload } }, trust, policy, disabled);
    const claims = run('subject-digest', () => verifySimpleSigningPayload(sig.payload, digest));
    return result(sig, verdict, extra, claims ? { claims } : {});
  }
  refuseUnverifiableEntries(sig.bundle, disabled);
  const verdict = runBundleChecks({ bundle: sig.bundle, artifact: artifactOf(digest) }, trust, policy, disabled);
  const predicateType = run('predicate-type', () => predicateOf(verdict, [COSIGN_SIGN_PREDICATE_TYPE]));
  return result(sig, verdict, extra, predicateType ? { predicateType } : {});
}

/** The predicate type an attestation's envelope claims, read WITHOUT verification (to pick the rules to try). */
function claimedPredicateType(att: LegacyAttestationLayer | ReferrerBundle): string | undefined {
  if (att.format === 'referrer-bundle') return att.claimedPredicateType;
  try {
    const env = JSON.parse(Buffer.from(att.envelope).toString('utf8')) as { payload?: unknown };
    const statement = JSON.parse(Buffer.from(String(env.payload), 'base64').toString('utf8')) as { predicateType?: unknown };
    return typeof statement.predicateType === 'string' ? statement.predicateType : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies one attestation under the first rule that accepts it, or throws the first rule's failure. */
export function checkImageAttestation(att: LegacyAttestationLayer | ReferrerBundle, digest: Digest, trust: TrustAnchor, rules: readonly AttestationRule[], disabled: Disabled): SignatureVerdict {
  const claimed = claimedPredicateType(att);
  // Only an early answer: the predicate-type check below reads the VERIFIED statement.
  const applicable = disabled.has('predicate-type') ? rules : rules.filter((r) => claimed !== undefined && r.predicateTypes.includes(claimed));
  if (applicable.length === 0) {
    const asked = [...new Set(rules.flatMap((r) => r.predicateTypes))].map((t) => JSON.stringify(t)).join(' or ');
    throw checkFailed('predicate-type', `the attestation's predicate type is ${claimed === undefined ? 'unreadable' : JSON.stringify(claimed)}, and ${asked || 'none'} is asked for`);
  }
  let first: unknown;
  for (const rule of applicable) {
    try {
      const extra: CheckName[] = [];
      const run = runner(disabled, extra);
      const bundle = att.format === 'legacy-att' ? toLegacyAttestationBundle(att) : att.bundle;
      refuseUnverifiableEntries(bundle, disabled);
      const verdict = runBundleChecks({ bundle, artifact: artifactOf(digest) }, trust, rule.policy, disabled);
      const predicateType = run('predicate-type', () => predicateOf(verdict, rule.predicateTypes));
      return result(att, verdict, extra, predicateType ? { predicateType } : {});
    } catch (e) {
      first ??= e;
    }
  }
  throw first;
}

/** Tries each policy in turn; the first that verifies wins, else the first policy's failure is thrown. */
export function firstAccepting<T>(policies: readonly Policy[], attempt: (p: Policy) => T): T {
  let first: unknown;
  for (const p of policies) {
    try {
      return attempt(p);
    } catch (e) {
      first ??= e;
    }
  }
  throw first;
}

export function toFailure(sig: FoundSignature, e: unknown): SignatureFailure {
  const ae = e instanceof AirlockError ? e : new AirlockError('INTERNAL', messageOf(e), { cause: e });
  const check = ae.details?.check;
  return Object.freeze({ format: sig.format, location: sig.location, check: typeof check === 'string' ? check : 'unknown', code: ae.code, message: ae.message });
}
