/**
 * Builds a Sigstore bundle for a blob from cosign v2's detached `.sig` + `.pem` and the Rekor entry that logged
 * them (pure). Flux ships no transparency evidence with its checksums signature (FACTS §1); the entry supplies it:
 *  - with an inclusion proof and a signed checkpoint (public-good Rekor's answers carry both): a v0.3 bundle, the
 *    format cosign 3 writes, holding the proof and the SET (inclusion promise);
 *  - with only a SET: a v0.1 bundle, the one version verifiers accept on a SET alone (FACTS §4).
 * The bundle holds the GIVEN signature and certificate, never the entry's copies: the entry must match them, which
 * select.ts ensures and verification re-checks.
 */
import type { SerializedBundle } from '@sigstore/bundle';
import { AirlockError } from '../errors.js';
import type { RekorEntry } from './entry.js';

export const BUNDLE_V01 = 'application/vnd.dev.sigstore.bundle+json;version=0.1';
export const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export interface BlobSignatureMaterial {
  /** The raw signature (the `.sig` file, base64-decoded). */
  signature: Buffer;
  /** DER of the signing certificate (from the `.pem` file). */
  certificateDer: Buffer;
  /** SHA-256 of the blob. */
  digest: Buffer;
}

type SerializedTlogEntry = SerializedBundle['verificationMaterial']['tlogEntries'][number];

const hexToB64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

function kindVersionOf(entry: RekorEntry): { kind: string; version: string } {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(entry.body, 'base64').toString('utf8'));
  } catch {
    body = undefined;
  }
  const kind = (body as { kind?: unknown } | undefined)?.kind;
  const version = (body as { apiVersion?: unknown } | undefined)?.apiVersion;
  if (typeof kind !== 'string' || typeof version !== 'string') {
    throw new AirlockError('VERIFY_FAILED', `Rekor entry ${entry.uuid} has no kind and apiVersion in its body.`, { details: { check: 'tlog-body' } });
  }
  return { kind, version };
}

/** The protobuf-JSON TransparencyLogEntry for a Rekor v1 entry; the proof is kept only with its checkpoint. */
export function toBundleTlogEntry(entry: RekorEntry): SerializedTlogEntry {
  const proof = entry.inclusionProof;
  return {
    logIndex: String(entry.logIndex),
    logId: { keyId: hexToB64(entry.logID) },
    kindVersion: kindVersionOf(entry),
    integratedTime: String(entry.integratedTime),
    inclusionPromise: entry.signedEntryTimestamp ? { signedEntryTimestamp: entry.signedEntryTimestamp } : undefined,
    inclusionProof:
      proof?.checkpoint !== undefined
        ? {
            logIndex: String(proof.logIndex),
            rootHash: hexToB64(proof.rootHash),
            treeSize: String(proof.treeSize),
            hashes: proof.hashes.map(hexToB64),
            checkpoint: { envelope: proof.checkpoint },
          }
        : undefined,
    canonicalizedBody: entry.body,
  };
}

/** The bundle for a detached blob signature and its Rekor entry; v0.3 with a proof, else v0.1 with the SET. */
export function toBlobBundle(m: BlobSignatureMaterial, entry: RekorEntry): SerializedBundle {
  const tlogEntry = toBundleTlogEntry(entry);
  if (!tlogEntry.inclusionProof && !tlogEntry.inclusionPromise) {
    throw new AirlockError('VERIFY_FAILED', `Rekor entry ${entry.uuid} carries neither an inclusion proof nor a signed entry timestamp.`, {
      details: { check: 'tlog-inclusion' },
    });
  }
  const messageSignature = {
    messageDigest: { algorithm: 'SHA2_256', digest: m.digest.toString('base64') },
    signature: m.signature.toString('base64'),
  };
  const rawBytes = m.certificateDer.toString('base64');
  if (tlogEntry.inclusionProof) {
    return {
      mediaType: BUNDLE_V03,
      verificationMaterial: { certificate: { rawBytes }, tlogEntries: [tlogEntry], timestampVerificationData: undefined },
      messageSignature,
    } as SerializedBundle;
  }
  return {
    mediaType: BUNDLE_V01,
    verificationMaterial: { x509CertificateChain: { certificates: [{ rawBytes }] }, tlogEntries: [tlogEntry], timestampVerificationData: undefined },
    messageSignature,
  } as SerializedBundle;
}
