/**
 * verifyBundle: a Sigstore bundle, the artifact (bytes or sha256), trust material and a policy → a Verdict, or a
 * thrown AirlockError naming the check that failed. Pure and synchronous: no fs, no network, no clock (every time
 * it compares against comes from verified evidence in the bundle).
 *
 * The checks run in the order of CHECKS (checks.ts). @sigstore/verify does the cryptography (timestamps,
 * certificate chain + SCT, tlog inclusion and body, signature); we add the checks it leaves to the caller —
 * which media types we accept, the artifact binding (message digest / in-toto subject), anchored identity and
 * issuer matching, Fulcio extension policies — and a certificate-validity check of our own that states plainly
 * which time fell outside the certificate (the library's chain check also covers it, as defence in depth).
 */
import { createHash, createPublicKey } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import type { SignedEntity, Signer, TrustMaterial } from '@sigstore/verify';
import { AirlockError, messageOf } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { TrustAnchor } from '../trust/anchor.js';
import { checkFailed, type CheckName } from './checks.js';
import { cacheTrustMaterial } from './der-cache.js';
import { parseBundle, prepareArtifact, toEntity, type PreparedArtifact, type VerifyBundleInput } from './bundle-input.js';
import { verifyDsseSubject, type InTotoEvidence } from './dsse.js';
import { issuerOf, readFulcioExtensions, type FulcioExtensions } from './extensions.js';
import { describeMatcher, matches, summarizePolicy, wholeMatchRegExp, type Policy, type PolicyExtension } from './policy.js';
import { sigstoreSteps } from './sigstore-steps.js';
import { checkTlogVerifiers, signingMaterialOf } from './tlog-verifier.js';
import { sealVerdict, type SignerEvidence, type TimestampEvidence, type TlogEvidence, type Verdict } from './verdict.js';

const NONE: ReadonlySet<CheckName> = new Set();

/** Verifies `input.bundle` for `input.artifact` against `trust` and `policy`. Returns the verdict or throws. */
export function verifyBundle(input: VerifyBundleInput, trust: TrustAnchor, policy: Policy): Verdict {
  return runBundleChecks(input, trust, policy, NONE);
}

/** The check runner. `disabled` is non-empty only through ./testing.ts; such verdicts are never sealed as genuine. */
export function runBundleChecks(input: VerifyBundleInput, trust: TrustAnchor, policy: Policy, disabled: ReadonlySet<CheckName>): Verdict {
  const performed: CheckName[] = [];
  const run = <T>(name: CheckName, fn: () => T): T | undefined => {
    if (disabled.has(name)) return undefined;
    let result: T;
    try {
      result = fn();
    } catch (e) {
      throw asCheckError(name, e);
    }
    performed.push(name);
    return result;
  };

  run('policy', () => checkPolicyComplete(policy));
  const artifact = prepareArtifact(input.artifact);
  const bundle = parseBundle(input.bundle);
  performed.push('bundle-format');
  let entity = toEntity(bundle, artifact);
  const keyless = entity.key.$case === 'certificate';
  run('verification-material', () => {
    if (policy.kind === 'keyless' && !keyless) throw new Error('the bundle is signed with a public key but the policy expects a Fulcio certificate (use --key)');
    if (policy.kind === 'key' && keyless) throw new Error('the bundle carries a certificate but a --key was given (verify it with --certificate-identity and --certificate-oidc-issuer)');
  });

  const ignoreTlog = policy.kind === 'key' && policy.insecureIgnoreTlog;
  if (ignoreTlog) entity = { ...entity, tlogEntries: [], timestamps: entity.timestamps.filter((t) => t.$case !== 'transparency-log') };
  const steps = sigstoreSteps(materialFor(trust, policy), {
    tlogThreshold: ignoreTlog ? 0 : 1,
    ctlogThreshold: keyless ? 1 : 0,
    timestampThreshold: ignoreTlog ? 0 : 1,
  });

  const times = run('timestamps', () => steps.verifyTimestamps(entity)) ?? claimedTimes(entity);
  const leaf = entity.key.$case === 'certificate' ? entity.key.certificate : undefined;
  if (leaf) run('certificate-validity', () => checkLeafValidity(leaf, times));
  const signer = run(leaf ? 'certificate-chain' : 'public-key', () => steps.verifySigningKey(entity, times)) ?? unverifiedSigner(entity, trust.material, policy);
  run('tlog', () => steps.verifyTLogs(entity));
  run('tlog-verifier', () => {
    const material = signingMaterialOf(bundle, policy.kind === 'key' ? policy.key.keyObject : undefined);
    if (!material) throw new Error('the bundle names no certificate or key');
    checkTlogVerifiers(ignoreTlog ? [] : bundle.verificationMaterial.tlogEntries, material);
  });
  const dsse = run('artifact', () => checkArtifact(bundle, artifact));
  run('signature', () => steps.verifySignature(entity, signer));

  let signerEvidence: SignerEvidence;
  if (leaf && policy.kind === 'keyless') {
    let exts: FulcioExtensions | undefined;
    const extensions = () => (exts ??= readFulcioExtensions(leaf));
    const san = signer.identity?.subjectAlternativeName;
    run('identity', () => {
      if (policy.identity && !matches(policy.identity, san)) {
        throw new Error(`expected ${describeMatcher(policy.identity)}, the certificate says ${san === undefined ? 'nothing (no URI or email SAN)' : JSON.stringify(san)}`);
      }
    });
    const issuer = run('issuer', () => {
      const mine = issuerOf(extensions());
      const theirs = signer.identity?.extensions?.issuer;
      if (theirs !== undefined && mine !== theirs) throw new Error(`the issuer extension decodes inconsistently (${JSON.stringify(mine)} vs ${JSON.stringify(theirs)})`);
      if (policy.issuer && !matches(policy.issuer, mine)) {
        throw new Error(`expected ${describeMatcher(policy.issuer)}, the certificate says ${mine === undefined ? 'nothing' : JSON.stringify(mine)}`);
      }
      return mine;
    });
    run('certificate-extensions', () => {
      for (const [name, want] of Object.entries(policy.extensions ?? {}) as [PolicyExtension, string][]) {
        const got = extensions()[name];
        if (got !== want) throw new Error(`expected ${name} ${JSON.stringify(want)}, the certificate has ${got === undefined ? 'none' : JSON.stringify(got)}`);
      }
    });
    signerEvidence = certificateEvidence(leaf, san ?? '', issuer ?? '', safeExtensions(leaf));
  } else {
    const keyDer = signer.key.export({ format: 'der', type: 'spki' });
    signerEvidence = { kind: 'key', keyDigest: sha256(keyDer), algorithm: policy.kind === 'key' ? policy.key.algorithm : String(signer.key.asymmetricKeyType) };
  }

  return sealVerdict({
    artifact: { digest: artifact.digest, given: artifact.bytes ? 'bytes' : 'digest' },
    bundle: { mediaType: bundle.mediaType, content: bundle.content.$case === 'dsseEnvelope' ? 'dsse' : 'message-signature', json: structuredClone(input.bundle) },
    ...(dsse ? { dsse } : {}),
    signer: signerEvidence,
    tlogEntries: ignoreTlog ? [] : bundle.verificationMaterial.tlogEntries.map(tlogEvidence),
    timestamps: timestampEvidence(entity, times),
    trustRoot: { source: trust.source, digest: trust.digest },
    policy: summarizePolicy(policy),
    checks: performed,
    disabledChecks: [...disabled],
  });
}

/** A Policy built by hand (not through toPolicy) must still name who signed. */
function checkPolicyComplete(policy: Policy): void {
  if (policy.kind === 'key') {
    if (!policy.key?.keyObject) throw new AirlockError('BAD_INPUT', 'A key policy needs a public key.');
    return;
  }
  if (policy.kind !== 'keyless' || !policy.identity || !policy.issuer) {
    throw new AirlockError(
      'BAD_INPUT',
      'A keyless verification needs an expected identity and an expected OIDC issuer: any GitHub account can get a Fulcio certificate.',
    );
  }
  // A hand-made regexp matcher must be the whole-value form toPolicy compiles (policy.ts), not e.g. /fluxcd/.
  for (const m of [policy.identity, policy.issuer]) {
    if (m.kind === 'regexp' && (m.re.source !== wholeMatchRegExp(m.source).source || m.re.flags !== '')) {
      throw new AirlockError('BAD_INPUT', `The regexp matcher /${m.re.source}/${m.re.flags} is not anchored to the whole value; build policies with toPolicy().`);
    }
  }
}

/** For --key, the trust root's CAs/logs stay, and the key finder answers every hint with the given key. */
function materialFor(trust: TrustAnchor, policy: Policy): TrustMaterial {
  cacheTrustMaterial(trust.material); // performance only, see der-cache.ts
  if (policy.kind !== 'key') return trust.material;
  // cosign ignores the bundle's key hint: the user said which key; a hint is an unauthenticated label.
  const key = policy.key.keyObject;
  return { ...trust.material, publicKey: () => ({ publicKey: key, validFor: () => true }) };
}

function checkLeafValidity(leaf: X509Certificate, times: Date[]): void {
  for (const t of times) {
    if (!leaf.validForDate(t)) {
      throw new Error(`it was valid from ${leaf.notBefore.toISOString()} to ${leaf.notAfter.toISOString()}, and the signature is timestamped ${t.toISOString()}`);
    }
  }
}

function checkArtifact(bundle: Bundle, artifact: PreparedArtifact): InTotoEvidence | undefined {
  if (bundle.content.$case === 'dsseEnvelope') return verifyDsseSubject(bundle.content.dsseEnvelope, artifact.hex);
  const md = bundle.content.messageSignature.messageDigest;
  if (!md) throw new Error('the bundle has no message digest');
  const alg = HASHES[md.algorithm];
  if (!alg) throw new Error(`the bundle's message digest algorithm ${md.algorithm} is not supported`);
  if (!artifact.bytes && alg !== 'sha256') throw new Error(`the bundle signs a ${alg} digest, and only a sha256 digest was given; give the artifact file`);
  const actual = artifact.bytes ? createHash(alg).update(artifact.bytes).digest() : Buffer.from(artifact.hex, 'hex');
  if (!actual.equals(Buffer.from(md.digest))) {
    throw new Error(`the bundle's message digest is ${alg}:${Buffer.from(md.digest).toString('hex')} and the artifact's is ${alg}:${actual.toString('hex')}`);
  }
  return undefined;
}

// protobuf HashAlgorithm → node hash name (UNSPECIFIED is treated as sha256, as @sigstore/verify does).
const HASHES: Readonly<Record<number, string>> = { 0: 'sha256', 1: 'sha256', 2: 'sha384', 3: 'sha512' };

function asCheckError(name: CheckName, e: unknown): AirlockError {
  if (e instanceof AirlockError) {
    if (e.details?.check) return e;
    return new AirlockError(e.code, e.message, { cause: e, details: { ...e.details, check: name } });
  }
  // @sigstore/verify errors carry a code (CERTIFICATE_ERROR, TLOG_INCLUSION_PROOF_ERROR…) and often a cause.
  const code = (e as { code?: unknown }).code;
  const cause = (e as { cause?: unknown }).cause;
  const reason = `${messageOf(e)}${cause instanceof Error ? ` (${cause.message})` : ''}`;
  return checkFailed(name, reason, { cause: e, details: typeof code === 'string' ? { libraryCode: code } : {} });
}

// ---- evidence -------------------------------------------------------------------------------------------------

function tlogEvidence(e: Bundle['verificationMaterial']['tlogEntries'][number]): TlogEvidence {
  const t = Number(e.integratedTime);
  return {
    logIndex: e.logIndex,
    logId: Buffer.from(e.logId?.keyId ?? []).toString('hex'),
    kind: e.kindVersion?.kind ?? '',
    version: e.kindVersion?.version ?? '',
    integratedTime: Number.isFinite(t) && t > 0 ? new Date(t * 1000).toISOString() : null,
    inclusionPromise: e.inclusionPromise !== undefined,
    inclusionProof: e.inclusionProof !== undefined,
  };
}

/** The sources of the verified times, rebuilt the way @sigstore/verify collects them (TSA, or tlog with a SET). */
function timestampEvidence(entity: SignedEntity, times: Date[]): TimestampEvidence[] {
  const sources = entity.timestamps
    .filter((t) => t.$case === 'timestamp-authority' || t.tlogEntry.inclusionPromise !== undefined)
    .map((t) => (t.$case === 'timestamp-authority' ? ('timestamp-authority' as const) : ('transparency-log' as const)));
  return times.map((time, i) => ({ source: sources[i] ?? 'transparency-log', time: time.toISOString() }));
}

function certificateEvidence(leaf: X509Certificate, identity: string, issuer: string, extensions: FulcioExtensions): SignerEvidence {
  const der = leaf.root.toDER();
  return {
    kind: 'certificate',
    identity,
    issuer,
    extensions,
    certificate: {
      serialNumber: Buffer.from(leaf.serialNumber).toString('hex'),
      notBefore: leaf.notBefore.toISOString(),
      notAfter: leaf.notAfter.toISOString(),
      sha256: sha256(der),
      pem: toPem(der),
    },
  };
}

function toPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

function safeExtensions(leaf: X509Certificate): FulcioExtensions {
  try {
    return readFulcioExtensions(leaf);
  } catch {
    return {};
  }
}

function sha256(b: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;
}

// ---- only reachable with checks disabled (tests) ----------------------------------------------------------------

function claimedTimes(entity: SignedEntity): Date[] {
  return entity.timestamps.map((t) => (t.$case === 'timestamp-authority' ? t.timestamp.signingTime : new Date(Number(t.tlogEntry.integratedTime) * 1000)));
}

function unverifiedSigner(entity: SignedEntity, material: TrustMaterial, policy: Policy): Signer {
  if (entity.key.$case === 'certificate') {
    const c = entity.key.certificate;
    let issuer: string | undefined;
    try {
      issuer = issuerOf(readFulcioExtensions(c));
    } catch {
      issuer = undefined;
    }
    return { key: createPublicKey({ key: c.publicKey, format: 'der', type: 'spki' }), identity: { subjectAlternativeName: c.subjectAltName, extensions: { issuer } } };
  }
  return { key: policy.kind === 'key' ? policy.key.keyObject : material.publicKey(entity.key.hint).publicKey };
}
