/**
 * A Certificate Transparency log signer for the local Sigstore test kit (see sigstore.ts): it only issues SCTs
 * (RFC 6962 §3.2) for precertificates; nothing is stored, as with Fulcio's CT log from a verifier's point of view.
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import * as der from './der.js';

export interface CtLogSigner {
  privateKey: KeyObject;
  /** DER SubjectPublicKeyInfo of the log key; the log ID is its SHA-256. */
  publicKeySpki: Buffer;
}

const SCT_VERSION_V1 = 0;
const SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP = 0;
const ENTRY_TYPE_PRECERT = 1;
const HASH_SHA256 = 4;
const SIGNATURE_ECDSA = 3;

function uint(n: number | bigint, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  let v = BigInt(n);
  for (let i = bytes - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

export function ctLogId(ct: CtLogSigner): Buffer {
  return createHash('sha256').update(ct.publicKeySpki).digest();
}

/**
 * Signs the precertificate entry and returns the serialized SignedCertificateTimestamp. The signed data binds the
 * issuer's key hash and the precertificate TBS, so the SCT only verifies for this certificate from this CA.
 */
export function signPrecertificateSct(ct: CtLogSigner, issuerSpki: Buffer, precertTbs: Buffer, timestampMs: number): Buffer {
  const issuerKeyHash = createHash('sha256').update(issuerSpki).digest();
  const signed = Buffer.concat([
    uint(SCT_VERSION_V1, 1),
    uint(SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP, 1),
    uint(timestampMs, 8),
    uint(ENTRY_TYPE_PRECERT, 2),
    issuerKeyHash,
    uint(precertTbs.length, 3),
    precertTbs,
    uint(0, 2), // no extensions
  ]);
  const signature = sign('sha256', signed, ct.privateKey);
  return Buffer.concat([
    uint(SCT_VERSION_V1, 1),
    ctLogId(ct),
    uint(timestampMs, 8),
    uint(0, 2), // no extensions
    uint(HASH_SHA256, 1),
    uint(SIGNATURE_ECDSA, 1),
    uint(signature.length, 2),
    signature,
  ]);
}

/** extnValue of the embedded-SCT extension: an OCTET STRING holding the TLS-encoded SignedCertificateTimestampList. */
export function sctListExtensionValue(scts: Buffer[]): Buffer {
  const items = Buffer.concat(scts.map((s) => Buffer.concat([uint(s.length, 2), s])));
  return der.octetString(Buffer.concat([uint(items.length, 2), items]));
}
