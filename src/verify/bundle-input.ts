/**
 * Turning untrusted input (parsed bundle JSON, artifact bytes or digest) into what the checks work on. Nothing here
 * decides trust; it only refuses input that is not well-formed enough to be checked.
 */
import { createHash } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { toSignedEntity, type SignedEntity } from '@sigstore/verify';
import { AirlockError, messageOf } from '../errors.js';
import { isDigest, type Digest } from '../oci/digest.js';
import { checkFailed } from './checks.js';
import { cacheDerEncodings } from './der-cache.js';
import { verifyPrehashedSignature } from './prehashed.js';

/** The artifact: its bytes, or only its sha256 (conformance `sha256:<hex>` mode, or an image digest). */
export type ArtifactInput = { bytes: Uint8Array } | { digest: { algorithm: 'sha256'; hex: string } };

export interface VerifyBundleInput {
  /** The bundle as parsed JSON (JSON.parse of the .sigstore.json file). */
  bundle: unknown;
  artifact: ArtifactInput;
}

/** Media types we verify. Anything else — including well-formed future versions — is refused, not guessed at. */
export const BUNDLE_MEDIA_TYPES: readonly string[] = [
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle.v0.3+json',
];

export interface PreparedArtifact {
  digest: Digest;
  hex: string;
  bytes?: Uint8Array;
}

export function prepareArtifact(a: ArtifactInput): PreparedArtifact {
  if ('bytes' in a) {
    const hex = createHash('sha256').update(a.bytes).digest('hex');
    return { digest: `sha256:${hex}` as Digest, hex, bytes: a.bytes };
  }
  const hex = typeof a.digest?.hex === 'string' ? a.digest.hex.toLowerCase() : '';
  const d = `sha256:${hex}`;
  if (a.digest?.algorithm !== 'sha256' || !isDigest(d)) {
    throw new AirlockError('BAD_INPUT', `The artifact digest must be sha256:<64 hex digits>.`, { details: { check: 'artifact' } });
  }
  return { digest: d, hex };
}

/**
 * Bundle JSON → validated Bundle. No signature at all is NO_SIGNATURE (nothing to verify); anything malformed is
 * VERIFY_FAILED at the bundle-format check.
 */
export function parseBundle(json: unknown): Bundle {
  const b = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  if (!b) throw checkFailed('bundle-format', 'it is not a JSON object');
  if (!hasSignature(b)) {
    throw new AirlockError('NO_SIGNATURE', 'The bundle contains no signature: neither a message signature nor a signed DSSE envelope.', {
      details: { check: 'bundle-format' },
    });
  }
  // protobuf oneofs: JSON could carry several members and the decoder would silently pick one. Refuse instead, so
  // what we verify and what a reader of the bundle sees cannot differ.
  if (b.messageSignature !== undefined && b.dsseEnvelope !== undefined) {
    throw checkFailed('bundle-format', 'it has both a messageSignature and a dsseEnvelope');
  }
  const vm = typeof b.verificationMaterial === 'object' && b.verificationMaterial !== null ? (b.verificationMaterial as Record<string, unknown>) : {};
  if (['publicKey', 'x509CertificateChain', 'certificate'].filter((k) => vm[k] !== undefined).length > 1) {
    throw checkFailed('bundle-format', 'its verification material names more than one key or certificate');
  }
  if (typeof b.mediaType !== 'string' || !BUNDLE_MEDIA_TYPES.includes(b.mediaType)) {
    throw checkFailed('bundle-format', `its mediaType ${JSON.stringify(b.mediaType)} is not a supported Sigstore bundle version (0.1 to 0.3)`);
  }
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(b);
  } catch (e) {
    const fields = (e as { fields?: unknown }).fields;
    throw checkFailed('bundle-format', `${messageOf(e)}${Array.isArray(fields) ? ` (${fields.join(', ')})` : ''}`, { cause: e });
  }
  checkStructure(bundle);
  return bundle;
}

/** What @sigstore/bundle's validation leaves out and the library would otherwise trip over or silently ignore. */
function checkStructure(bundle: Bundle): void {
  const vm = bundle.verificationMaterial;
  if (vm.content.$case === 'x509CertificateChain') {
    // The root must come from the trusted root, never from the bundle. @sigstore/verify only reads the leaf, so a
    // root here would be ignored — but a bundle that ships one is malformed (conformance: bundle-with-root-cert).
    vm.content.x509CertificateChain.certificates.forEach((c, i) => {
      let cert: X509Certificate;
      try {
        cert = X509Certificate.parse(Buffer.from(c.rawBytes));
      } catch (e) {
        throw checkFailed('bundle-format', `certificate ${i} of the chain is not a DER X.509 certificate (${messageOf(e)})`, { cause: e });
      }
      if (cert.subject.equals(cert.issuer)) {
        throw checkFailed('bundle-format', `certificate ${i} of the chain is self-signed: a bundle must not carry a root certificate, the trust root supplies it`);
      }
    });
  }
  vm.tlogEntries.forEach((e, i) => {
    // An inclusion proof is only meaningful against a signed checkpoint; without one @sigstore/verify throws a TypeError.
    if (e.inclusionProof && !e.inclusionProof.checkpoint?.envelope) {
      throw checkFailed('bundle-format', `tlog entry ${i} has an inclusion proof without a signed checkpoint`);
    }
  });
}

function hasSignature(b: Record<string, unknown>): boolean {
  const ms = b.messageSignature as { signature?: unknown } | undefined;
  if (ms && typeof ms === 'object' && typeof ms.signature === 'string' && ms.signature !== '') return true;
  const env = b.dsseEnvelope as { signatures?: unknown } | undefined;
  return !!env && typeof env === 'object' && Array.isArray(env.signatures) && env.signatures.length > 0;
}

/**
 * The SignedEntity @sigstore/verify checks. With only a digest, a message signature is verified over that digest
 * (prehashed.ts) instead of over bytes we do not have: the entity's signature content is wrapped, every other
 * method (the tlog body comparisons, the TSA's view of the signature) is the library's own.
 */
export function toEntity(bundle: Bundle, artifact: PreparedArtifact): SignedEntity {
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle, artifact.bytes ? Buffer.from(artifact.bytes) : undefined);
  } catch (e) {
    throw checkFailed('bundle-format', messageOf(e), { cause: e });
  }
  if (entity.key.$case === 'certificate') cacheDerEncodings(entity.key.certificate);
  if (artifact.bytes || bundle.content.$case !== 'messageSignature') return entity;
  const base = entity.signature;
  const digest = Buffer.from(artifact.hex, 'hex');
  const content: SignedEntity['signature'] = {
    signature: base.signature,
    compareSignature: (s) => base.compareSignature(s),
    compareDigest: (d) => base.compareDigest(d),
    compareSignedDigest: (d) => base.compareSignedDigest(d),
    verifySignature: (key) => verifyPrehashedSignature(key, digest, base.signature),
  };
  return { ...entity, signature: content };
}
