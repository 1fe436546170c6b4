/**
 * Decoy Rekor entries for the test kit (see sigstore.ts). Anyone can log a signature over any hash in Rekor, so a
 * search by an artifact's hash returns entries that have nothing to do with the signature being verified; these
 * helpers make such entries so tests can show the right one is selected.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { githubClaims, type GitHubActionsClaims } from './identity.js';
import { toPem } from './x509.js';

/** Signs a SHA-256 digest directly (hashedrekord signs the digest, not the bytes); ECDSA P-256, DER. */
export function signDigestP256(privateKey: KeyObject, digest: Buffer): Buffer {
  const d = privateKey.export({ format: 'jwk' }).d;
  if (!d) throw new Error('not an EC private key');
  return Buffer.from(p256.sign(digest, Buffer.from(d, 'base64url'), { prehash: false, lowS: false, format: 'der' }));
}

export interface DecoyOptions {
  /** The identity the decoy's certificate names; by default someone else's fork of Flux's release workflow. */
  claims?: Partial<GitHubActionsClaims>;
  /**
   * Log exactly this signature and verifier (a PEM certificate or public key) instead of a fresh signer's; Rekor
   * still requires that it verifies over the hash.
   */
  signature?: Buffer;
  verifierPem?: string;
}

export const ATTACKER_CLAIMS: GitHubActionsClaims = githubClaims({
  repository: 'attacker/flux2',
  workflowPath: '.github/workflows/release.yaml',
  ref: 'refs/tags/v2.9.4',
});

/** A hashedrekord 0.0.1 proposal as cosign uploads it: base64 signature, base64 of the PEM verifier. */
export function hashedRekordProposal(sha256Hex: string, signature: Buffer, verifierPem: string): Record<string, unknown> {
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: sha256Hex } },
      signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from(verifierPem).toString('base64') } },
    },
  };
}

/** What a decoy needs from the kit: a certificate for a fresh key. */
export type CertifyFn = (publicKey: KeyObject, claims: Partial<GitHubActionsClaims>) => Buffer;

/** Builds the proposal of a decoy entry over `sha256Hex` (signed by a fresh key certified for `claims`, or as given). */
export function decoyProposal(sha256Hex: string, certify: CertifyFn, o: DecoyOptions = {}): Record<string, unknown> {
  if (o.signature && o.verifierPem) return hashedRekordProposal(sha256Hex, o.signature, o.verifierPem);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leafDer = certify(publicKey, o.claims ?? ATTACKER_CLAIMS);
  return hashedRekordProposal(sha256Hex, signDigestP256(privateKey, Buffer.from(sha256Hex, 'hex')), toPem(leafDer));
}
