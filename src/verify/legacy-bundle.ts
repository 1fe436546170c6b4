/**
 * A legacy cosign `.sig` / `.att` layer as a Sigstore bundle v0.1, so that one verifier (verifyBundle) checks every
 * format (FACTS §4). Pure. Nothing here is trusted: the annotations are attacker-controlled strings, checked only
 * for shape; a bundle built from lies fails verification, it is never believed.
 *
 *  - `.sig`: messageSignature over sha256(layer bytes) with the signature annotation; verified over the payload.
 *  - `.att`: the layer IS the DSSE envelope; its one signature covers the in-toto statement.
 *  - certificate annotation → x509CertificateChain with the leaf only (the chain annotation is ignored: the CAs
 *    come from the trust root, never from the signature); no certificate → a key-based (`--key`) signature.
 *  - `dev.sigstore.cosign/bundle` (Rekor's SET bundle) → one tlog entry with its inclusion promise: v0.1 is the one
 *    bundle version that verifies on a SET alone. The entry's kind and version are read from its body.
 *  - `dev.sigstore.cosign/rfc3161timestamp` → an RFC 3161 timestamp.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { LegacyAttestationLayer, LegacySignatureLayer } from '../signatures/types.js';
import { COSIGN_ANNOTATIONS } from '../signatures/types.js';
import { checkFailed } from './checks.js';

export const BUNDLE_V01 = 'application/vnd.dev.sigstore.bundle+json;version=0.1';

type Json = Record<string, unknown>;

const bad = (reason: string): Error => checkFailed('bundle-format', reason);
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The bundle JSON for a `.sig` layer; verify it with `{ bytes: layer.payload }`. */
export function toLegacySignatureBundle(layer: LegacySignatureLayer): Json {
  const signature = layer.annotations[COSIGN_ANNOTATIONS.signature] ?? '';
  if (signature === '' || !B64.test(signature)) throw bad('the layer has no base64 signature annotation');
  return {
    mediaType: BUNDLE_V01,
    verificationMaterial: verificationMaterial(layer.annotations),
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(layer.payload).digest('base64') },
      signature,
    },
  };
}

/** The bundle JSON for an `.att` layer; verify it with the image digest (the in-toto subject). */
export function toLegacyAttestationBundle(layer: LegacyAttestationLayer): Json {
  let env: unknown;
  try {
    env = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(layer.envelope));
  } catch {
    throw bad('the attestation layer is not a UTF-8 JSON DSSE envelope');
  }
  if (!isObject(env) || typeof env.payloadType !== 'string' || typeof env.payload !== 'string' || !Array.isArray(env.signatures)) {
    throw bad('the attestation layer is not a DSSE envelope (payloadType, payload, signatures)');
  }
  const signatures = env.signatures.map((s: unknown) => {
    if (!isObject(s) || typeof s.sig !== 'string' || !B64.test(s.sig)) throw bad('a DSSE signature has no base64 sig');
    return { sig: s.sig, keyid: typeof s.keyid === 'string' ? s.keyid : '' };
  });
  return {
    mediaType: BUNDLE_V01,
    verificationMaterial: verificationMaterial(layer.annotations),
    dsseEnvelope: { payload: env.payload, payloadType: env.payloadType, signatures },
  };
}

function verificationMaterial(a: Readonly<Record<string, string>>): Json {
  const pem = a[COSIGN_ANNOTATIONS.certificate] ?? '';
  const rekor = a[COSIGN_ANNOTATIONS.bundle];
  const tsa = a[COSIGN_ANNOTATIONS.rfc3161Timestamp];
  return {
    ...(pem.trim() !== '' ? { x509CertificateChain: { certificates: [{ rawBytes: leafDer(pem).toString('base64') }] } } : { publicKey: { hint: '' } }),
    tlogEntries: rekor !== undefined && rekor !== '' ? [tlogEntry(rekor)] : [],
    ...(tsa !== undefined && tsa !== '' ? { timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: rfc3161(tsa) }] } } : {}),
  };
}

/** The first certificate of the PEM annotation, as DER; anything that is not one certificate is malformed. */
function leafDer(pem: string): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!m?.[1]) throw bad('the certificate annotation is not a PEM certificate');
  const der = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  try {
    new X509Certificate(der);
  } catch {
    throw bad('the certificate annotation does not parse as an X.509 certificate');
  }
  return der;
}

// Why the shape is checked field by field: every value lands in the bundle, and a missing or mistyped one must be a
// bundle-format failure here, not a TypeError deep inside the verifier or a silently defaulted zero.
function tlogEntry(annotation: string): Json {
  let doc: unknown;
  try {
    doc = JSON.parse(annotation);
  } catch {
    throw bad('the Rekor bundle annotation is not JSON');
  }
  const set = isObject(doc) ? doc.SignedEntryTimestamp : undefined;
  const p = isObject(doc) && isObject(doc.Payload) ? doc.Payload : undefined;
  if (typeof set !== 'string' || !B64.test(set) || set === '' || !p) throw bad('the Rekor bundle annotation has no SignedEntryTimestamp and Payload');
  const { body, integratedTime, logIndex, logID } = p;
  if (typeof body !== 'string' || !B64.test(body) || body === '') throw bad('the Rekor bundle has no base64 entry body');
  if (!Number.isSafeInteger(integratedTime) || (integratedTime as number) <= 0) throw bad('the Rekor bundle has no integrated time');
  if (!Number.isSafeInteger(logIndex) || (logIndex as number) < 0) throw bad('the Rekor bundle has no log index');
  if (typeof logID !== 'string' || !/^[0-9a-fA-F]{64}$/.test(logID)) throw bad('the Rekor bundle has no hex log ID');
  const { kind, version } = kindVersionOf(body);
  return {
    logIndex: String(logIndex),
    logId: { keyId: Buffer.from(logID, 'hex').toString('base64') },
    kindVersion: { kind, version },
    integratedTime: String(integratedTime),
    inclusionPromise: { signedEntryTimestamp: set },
    canonicalizedBody: body,
  };
}

function kindVersionOf(body: string): { kind: string; version: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
  } catch {
    throw bad('the Rekor entry body is not JSON');
  }
  if (!isObject(doc) || typeof doc.kind !== 'string' || typeof doc.apiVersion !== 'string') throw bad('the Rekor entry body names no kind and apiVersion');
  return { kind: doc.kind, version: doc.apiVersion };
}

function rfc3161(annotation: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(annotation);
  } catch {
    throw bad('the RFC 3161 timestamp annotation is not JSON');
  }
  const ts = isObject(doc) ? doc.SignedRFC3161Timestamp : undefined;
  if (typeof ts !== 'string' || ts === '' || !B64.test(ts)) throw bad('the RFC 3161 timestamp annotation has no SignedRFC3161Timestamp');
  return ts;
}

/** The (kind, version) of every tlog entry of a bundle JSON, for refusing kinds the verifier cannot check. */
export function tlogKinds(bundle: unknown): { kind: string; version: string }[] {
  const vm = isObject(bundle) && isObject(bundle.verificationMaterial) ? bundle.verificationMaterial : undefined;
  const entries = vm && Array.isArray(vm.tlogEntries) ? vm.tlogEntries : [];
  return entries.map((e: unknown) => {
    const kv = isObject(e) && isObject(e.kindVersion) ? e.kindVersion : {};
    return { kind: String(kv.kind ?? ''), version: String(kv.version ?? '') };
  });
}
