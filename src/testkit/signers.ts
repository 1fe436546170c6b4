/**
 * In-process signers for the local Sigstore test kit (see sigstore.ts), in pure TypeScript so `airlock demo` can
 * sign without cosign: blobs signed the way Flux's release signs its checksums file (cosign v2 `sign-blob
 * --output-signature --output-certificate`: detached base64 `.sig` and `.pem`, a hashedrekord entry in Rekor), and
 * the same as a Sigstore bundle (what cosign 3 `sign-blob --bundle` writes).
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { SerializedBundle } from '@sigstore/bundle';
import { toBlobBundle } from '../rekor/bundle.js';
import type { RekorEntry } from '../rekor/entry.js';
import { hashedRekordProposal } from './decoys.js';
import type { GitHubActionsClaims } from './identity.js';
import type { LocalSigstore, LoggedEntry } from './sigstore.js';
import { toPem } from './x509.js';

/** A signing key with its Fulcio certificate, reusable to sign again as the same signer. */
export interface KitSigner {
  privateKey: KeyObject;
  certificateDer: Buffer;
  certificatePem: string;
}

export interface DetachedBlobSignature {
  /** Content of the `.sig` file: base64 of the DER ECDSA signature, as cosign v2 writes it. */
  signature: string;
  /** Content of the `.pem` file: base64 of the PEM certificate, as cosign v2 writes it. */
  certificate: string;
  signer: KitSigner;
  rekor: LoggedEntry;
}

/** A fresh ephemeral P-256 key certified by the kit's Fulcio for `identity` (what cosign does keyless). */
export function newKitSigner(kit: LocalSigstore, identity: Partial<GitHubActionsClaims>): KitSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { leafDer } = kit.issueCertificate(publicKey, identity);
  return { privateKey, certificateDer: leafDer, certificatePem: toPem(leafDer) };
}

/**
 * Signs `bytes` as Flux's release signs its checksums file and logs the hashedrekord entry in the kit's Rekor.
 * Pass `signer` to sign again with an existing key and certificate (e.g. two entries by one signer for one blob).
 */
export function signBlobLikeFlux(kit: LocalSigstore, bytes: Uint8Array, identity: Partial<GitHubActionsClaims>, signer?: KitSigner): DetachedBlobSignature {
  const s = signer ?? newKitSigner(kit, identity);
  const signature = sign('sha256', bytes, s.privateKey);
  const digestHex = createHash('sha256').update(bytes).digest('hex');
  const rekor = kit.logEntry(hashedRekordProposal(digestHex, signature, s.certificatePem));
  return {
    signature: signature.toString('base64'),
    certificate: Buffer.from(s.certificatePem).toString('base64'),
    signer: s,
    rekor,
  };
}

/** The kit's Rekor answer as the unverified entry shape src/rekor reads from a real Rekor. */
export function toRekorEntry(logged: LoggedEntry): RekorEntry {
  const { entry } = logged;
  return {
    uuid: logged.uuid,
    body: entry.body,
    integratedTime: entry.integratedTime,
    logID: entry.logID,
    logIndex: entry.logIndex,
    signedEntryTimestamp: entry.verification.signedEntryTimestamp,
    inclusionProof: entry.verification.inclusionProof,
  };
}

/** Signs `bytes` and returns a v0.3 Sigstore bundle for them (message signature, certificate, proof and SET). */
export function signBlobBundle(kit: LocalSigstore, bytes: Uint8Array, identity: Partial<GitHubActionsClaims>, signer?: KitSigner): SerializedBundle {
  const signed = signBlobLikeFlux(kit, bytes, identity, signer);
  return toBlobBundle(
    {
      signature: Buffer.from(signed.signature, 'base64'),
      certificateDer: signed.signer.certificateDer,
      digest: createHash('sha256').update(bytes).digest(),
    },
    toRekorEntry(signed.rekor),
  );
}
