/**
 * The check @sigstore/verify leaves out: that each transparency-log entry logged THIS certificate (or key).
 *
 * sigstore-js compares a hashedrekord/dsse entry's body with the bundle only by signature and digest. For a given
 * ECDSA signature and digest anyone can derive a public key under which that signature verifies, and log it:
 * such an entry would then pass as the log record of a certificate that was never logged, and a monitor watching
 * the log for Flux's identity would never see the signing. So the verifier named in the entry body must be the
 * bundle's leaf certificate (keyless) or the signing key (key-based), byte for byte after decoding.
 */
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';

type TlogEntry = Bundle['verificationMaterial']['tlogEntries'][number];

/** What signed, as the bundle presents it: the leaf certificate's DER, or the public key. */
export type SigningMaterial = { kind: 'certificate'; der: Buffer } | { kind: 'key'; key: KeyObject };

export function signingMaterialOf(bundle: Bundle, key: KeyObject | undefined): SigningMaterial | undefined {
  const c = bundle.verificationMaterial.content;
  if (c.$case === 'certificate') return { kind: 'certificate', der: Buffer.from(c.certificate.rawBytes) };
  if (c.$case === 'x509CertificateChain') {
    const leaf = c.x509CertificateChain.certificates[0];
    return leaf ? { kind: 'certificate', der: Buffer.from(leaf.rawBytes) } : undefined;
  }
  return key ? { kind: 'key', key } : undefined;
}

/** Throws unless every entry's body names `material` as its verifier. */
export function checkTlogVerifiers(entries: readonly TlogEntry[], material: SigningMaterial): void {
  entries.forEach((e, i) => {
    const verifiers = verifiersOf(e);
    if (verifiers.length === 0) throw new Error(`transparency-log entry ${i} (log index ${e.logIndex}) names no verifier this client can read`);
    if (!verifiers.every((v) => sameMaterial(v, material))) {
      throw new Error(`transparency-log entry ${i} (log index ${e.logIndex}) logged another certificate or key than the one in the bundle`);
    }
  });
}

interface Verifier {
  pemOrDer: Buffer;
}

/** The verifiers a canonical body names: hashedrekord/dsse/intoto v1 bodies (PEM, base64) and Rekor v2 0.0.2 (DER). */
function verifiersOf(e: TlogEntry): Verifier[] {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(e.canonicalizedBody).toString('utf8'));
  } catch {
    return [];
  }
  const b = body as {
    spec?: {
      signature?: { publicKey?: { content?: unknown } };
      signatures?: { verifier?: unknown }[];
      publicKey?: unknown;
      content?: { envelope?: { signatures?: { publicKey?: unknown }[] } };
      hashedRekordV002?: { signature?: { verifier?: V2Verifier } };
      dsseV002?: { signatures?: { verifier?: V2Verifier }[] };
    };
  };
  const b64 = (s: unknown): Verifier[] => (typeof s === 'string' ? [{ pemOrDer: Buffer.from(s, 'base64') }] : []);
  const spec = b.spec ?? {};
  if (spec.signature?.publicKey) return b64(spec.signature.publicKey.content);
  if (Array.isArray(spec.signatures)) return spec.signatures.flatMap((s) => b64(s.verifier));
  if (Array.isArray(spec.content?.envelope?.signatures)) return spec.content.envelope.signatures.flatMap((s) => b64(s.publicKey)); // intoto 0.0.2
  if (spec.publicKey !== undefined) return b64(spec.publicKey); // intoto 0.0.1
  if (spec.hashedRekordV002) return v2(spec.hashedRekordV002.signature?.verifier);
  if (spec.dsseV002 && Array.isArray(spec.dsseV002.signatures)) return spec.dsseV002.signatures.flatMap((s) => v2(s.verifier));
  return [];
}

interface V2Verifier {
  x509Certificate?: { rawBytes?: unknown };
  publicKey?: { rawBytes?: unknown };
}

function v2(v: V2Verifier | undefined): Verifier[] {
  const raw = v?.x509Certificate?.rawBytes ?? v?.publicKey?.rawBytes;
  return typeof raw === 'string' ? [{ pemOrDer: Buffer.from(raw, 'base64') }] : [];
}

function sameMaterial(v: Verifier, m: SigningMaterial): boolean {
  try {
    if (m.kind === 'certificate') return new X509Certificate(v.pemOrDer).raw.equals(m.der);
    const text = v.pemOrDer.toString('utf8');
    const key = text.includes('-----BEGIN') ? createPublicKey(text) : createPublicKey({ key: v.pemOrDer, format: 'der', type: 'spki' });
    return key.export({ format: 'der', type: 'spki' }).equals(m.key.export({ format: 'der', type: 'spki' }));
  } catch {
    return false;
  }
}
