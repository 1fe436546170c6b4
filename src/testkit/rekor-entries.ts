/**
 * Proposed-entry handling for the local Rekor of the test kit (see sigstore.ts): validate a proposed entry the way
 * real Rekor does (the signature must verify with the given key or certificate), and turn it into the canonical
 * body Rekor stores. @sigstore/mock logs proposals verbatim; verifiers then reject them (a DSSE proposal has no
 * `signatures` array: "signature count mismatch"), so the kit must store what Rekor stores (FACTS §5).
 *
 * Kinds: hashedrekord 0.0.1 and dsse 0.0.1, what cosign 2.x uploads for signatures and attestations.
 */
import { createHash, createPublicKey, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import { json } from '@sigstore/core';
import { toPem } from './x509.js';

export interface CanonicalEntry {
  kind: 'hashedrekord' | 'dsse';
  /** The JCS-canonical JSON body; its RFC 6962 leaf hash is the entry UUID. */
  body: Buffer;
  /** Search keys, as Rekor indexes them: `sha256:<hex>` of artifacts, payloads, envelopes, keys; SAN values. */
  indexKeys: string[];
}

/** A proposal Rekor would refuse (HTTP 400). */
export class RejectedEntryError extends Error {}

const HASH_LENGTHS: Record<string, number> = { sha256: 32, sha384: 48, sha512: 64 };

function field(obj: unknown, ...path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function str(obj: unknown, ...path: string[]): string {
  const v = field(obj, ...path);
  if (typeof v !== 'string' || v === '') throw new RejectedEntryError(`missing ${path.join('.')}`);
  return v;
}

interface Verifier {
  key: KeyObject;
  /** The canonical PEM Rekor stores: the certificate if one was given, else the SPKI public key. */
  canonicalPem: string;
  subjects: string[];
}

/** Parses a PEM certificate or public key, as Rekor's x509 PKI type accepts either. */
export function parseVerifier(pem: string): Verifier {
  try {
    if (pem.includes('BEGIN CERTIFICATE')) {
      const cert = new X509Certificate(pem);
      const subjects = (cert.subjectAltName ?? '').split(', ').map((s) => s.replace(/^(URI|email):/, '')).filter(Boolean);
      return { key: cert.publicKey, canonicalPem: toPem(Buffer.from(cert.raw)), subjects };
    }
    const key = createPublicKey(pem);
    return { key, canonicalPem: toPem(key.export({ type: 'spki', format: 'der' }), 'PUBLIC KEY'), subjects: [] };
  } catch (e) {
    throw new RejectedEntryError(`unparsable verifier: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function rawPoint(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  if (!jwk.x || !jwk.y) throw new RejectedEntryError('not an EC key');
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
}

/**
 * Verifies an ECDSA signature over an already computed digest (hashedrekord carries only the digest). Node's
 * crypto always hashes, so this uses @noble/curves with prehash off and high-S allowed (Go does not normalise S).
 */
export function verifyDigestSignature(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const ecdsa = curve === 'prime256v1' ? p256 : curve === 'secp384r1' ? p384 : undefined;
  if (!ecdsa) throw new RejectedEntryError(`unsupported key type ${curve ?? key.asymmetricKeyType ?? 'unknown'} in the test kit`);
  try {
    return ecdsa.verify(signature, digest, rawPoint(key), { prehash: false, lowS: false, format: 'der' });
  } catch {
    return false;
  }
}

function keyHash(v: Verifier): string {
  return `sha256:${createHash('sha256').update(v.key.export({ type: 'spki', format: 'der' })).digest('hex')}`;
}

function canonicalHashedRekord(spec: unknown): CanonicalEntry {
  const algorithm = str(spec, 'data', 'hash', 'algorithm').toLowerCase();
  const value = str(spec, 'data', 'hash', 'value').toLowerCase();
  if (!(algorithm in HASH_LENGTHS) || !/^[0-9a-f]+$/.test(value) || value.length !== HASH_LENGTHS[algorithm]! * 2) {
    throw new RejectedEntryError('bad data.hash');
  }
  const signature = Buffer.from(str(spec, 'signature', 'content'), 'base64');
  const verifier = parseVerifier(Buffer.from(str(spec, 'signature', 'publicKey', 'content'), 'base64').toString('utf8'));
  if (!verifyDigestSignature(verifier.key, Buffer.from(value, 'hex'), signature)) {
    throw new RejectedEntryError('signature does not verify with the given key');
  }
  const body = {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm, value } },
      signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from(verifier.canonicalPem).toString('base64') } },
    },
  };
  return {
    kind: 'hashedrekord',
    body: Buffer.from(json.canonicalize(body)),
    indexKeys: [`${algorithm}:${value}`, keyHash(verifier), ...verifier.subjects],
  };
}

/** DSSE pre-authentication encoding (the bytes a DSSE signature covers). */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

function canonicalDsse(spec: unknown): CanonicalEntry {
  const envelopeText = str(spec, 'proposedContent', 'envelope');
  const verifiersRaw = field(spec, 'proposedContent', 'verifiers');
  if (!Array.isArray(verifiersRaw) || verifiersRaw.length === 0) throw new RejectedEntryError('missing proposedContent.verifiers');
  const verifiers = verifiersRaw.map((v) => parseVerifier(Buffer.from(String(v), 'base64').toString('utf8')));
  let envelope: unknown;
  try {
    envelope = JSON.parse(envelopeText);
  } catch {
    throw new RejectedEntryError('envelope is not JSON');
  }
  const payload = Buffer.from(str(envelope, 'payload'), 'base64');
  const signed = pae(str(envelope, 'payloadType'), payload);
  const sigs = field(envelope, 'signatures');
  if (!Array.isArray(sigs) || sigs.length === 0) throw new RejectedEntryError('envelope has no signatures');
  // Every signature must verify with one of the verifiers; Rekor records each with the key that verified it.
  const signatures = sigs.map((s) => {
    const sig = str(s, 'sig');
    const v = verifiers.find((cand) => verify('sha256', signed, cand.key, Buffer.from(sig, 'base64')));
    if (!v) throw new RejectedEntryError('a signature of the envelope does not verify with the given verifiers');
    return { signature: sig, verifier: Buffer.from(v.canonicalPem).toString('base64'), v };
  }).sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
  const payloadHash = createHash('sha256').update(payload).digest('hex');
  const envelopeHash = createHash('sha256').update(envelopeText).digest('hex');
  const body = {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: envelopeHash },
      payloadHash: { algorithm: 'sha256', value: payloadHash },
      signatures: signatures.map(({ signature, verifier }) => ({ signature, verifier })),
    },
  };
  const subjectDigests: string[] = [];
  try {
    const statement: unknown = JSON.parse(payload.toString('utf8'));
    const subjects = field(statement, 'subject');
    if (Array.isArray(subjects)) {
      for (const s of subjects) {
        const d = field(s, 'digest');
        if (d && typeof d === 'object') for (const [alg, hex] of Object.entries(d)) subjectDigests.push(`${alg}:${String(hex)}`);
      }
    }
  } catch {
    // not an in-toto statement: indexed by hashes and keys only
  }
  return {
    kind: 'dsse',
    body: Buffer.from(json.canonicalize(body)),
    indexKeys: [
      `sha256:${payloadHash}`,
      `sha256:${envelopeHash}`,
      ...subjectDigests,
      ...signatures.flatMap(({ v }) => [keyHash(v), ...v.subjects]),
    ],
  };
}

/** Validates a proposed entry and returns what Rekor would store, or throws RejectedEntryError. */
export function canonicalizeProposedEntry(proposed: unknown): CanonicalEntry {
  const kind = field(proposed, 'kind');
  const apiVersion = field(proposed, 'apiVersion');
  const spec = field(proposed, 'spec');
  if (kind === 'hashedrekord' && apiVersion === '0.0.1') return canonicalHashedRekord(spec);
  if (kind === 'dsse' && apiVersion === '0.0.1') return canonicalDsse(spec);
  throw new RejectedEntryError(`unsupported entry kind ${String(kind)} ${String(apiVersion)} in the test kit`);
}
