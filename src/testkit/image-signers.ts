/**
 * Image signers for the local Sigstore test kit (see sigstore.ts), in pure TypeScript so `airlock demo` can sign
 * images without cosign. They write into a store exactly what cosign writes:
 *  - cosign 2.x `sign`: a simple-signing payload as a layer of the `sha256-<hex>.sig` manifest, with the signature,
 *    certificate, chain and Rekor SET bundle (a hashedrekord entry in the kit's Rekor) as layer annotations;
 *  - cosign 2.x `attest`: a DSSE envelope of an in-toto statement as a layer of `sha256-<hex>.att`, logged as a
 *    dsse 0.0.1 entry (canonicalised as Rekor does), with the `predicateType` annotation;
 *  - cosign 3 `sign`: a Sigstore bundle v0.3 (DSSE, predicate type https://sigstore.dev/cosign/sign/v1) as an
 *    OCI 1.1 referrer of the image (image-signers-bundle.ts).
 * Keyless signatures get a certificate from the kit's Fulcio; `key` signs key-based (cosign `--key`), logged or not.
 * Options that make a signature lie (another digest, another predicate type) exist for the attack tests.
 */
import { createHash, generateKeyPairSync, sign, createPublicKey, type KeyObject } from 'node:crypto';
import type { Digest } from '../oci/digest.js';
import { hexOf } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import { MediaTypes } from '../oci/mediatypes.js';
import type { Repository } from '../store/types.js';
import { hashedRekordProposal } from './decoys.js';
import type { GitHubActionsClaims } from './identity.js';
import { appendSignatureLayer, putBlobBytes } from './oci-writer.js';
import { pae } from './rekor-entries.js';
import type { LocalSigstore, LoggedEntry } from './sigstore.js';
import { toPem } from './x509.js';

/** Who signs: a key with its Fulcio certificate and chain (keyless), or a bare key (key-based). */
export interface ImageSigner {
  privateKey: KeyObject;
  /** PEM leaf certificate; absent for key-based signing. */
  certificatePem?: string;
  /** PEM of the rest of Fulcio's chain (cosign's `dev.sigstore.cosign/chain`). */
  chainPem?: string;
}

export interface ImageSignOptions {
  /** Keyless: a fresh key certified for this identity. */
  identity?: Partial<GitHubActionsClaims>;
  /** Or sign again as an existing signer (keyless or key-based). */
  signer?: ImageSigner;
  /** Log the signature in the kit's Rekor (default true); false is cosign `--tlog-upload=false`. */
  tlog?: boolean;
  /** ATTACK: the digest the signed payload names (default: the digest the signature is attached to). */
  signedDigest?: Digest;
}

export interface WrittenSignature {
  /** The `.sig` / `.att` manifest after this signature was appended. */
  manifest: Descriptor;
  layer: Descriptor;
  signer: ImageSigner;
  rekor?: LoggedEntry;
}

const CERT = 'dev.sigstore.cosign/certificate';
const CHAIN = 'dev.sigstore.cosign/chain';
const BUNDLE = 'dev.sigstore.cosign/bundle';
const SIGNATURE = 'dev.cosignproject.cosign/signature';

/** A fresh P-256 key certified by the kit for `identity`, with its chain. */
export function newImageSigner(kit: LocalSigstore, identity: Partial<GitHubActionsClaims>): ImageSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issued = kit.issueCertificate(publicKey, identity);
  return { privateKey, certificatePem: toPem(issued.leafDer), chainPem: issued.chainPem.slice(1).join('') };
}

/** A key-based signer (what `cosign generate-key-pair` makes), with its public key PEM for verifiers. */
export function newKeySigner(): ImageSigner & { publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function signerOf(kit: LocalSigstore, o: ImageSignOptions): ImageSigner {
  if (o.signer) return o.signer;
  if (!o.identity) throw new Error('give the identity to sign as (keyless) or a signer');
  return newImageSigner(kit, o.identity);
}

/** The PEM a verifier of `signer` names: its certificate, else its public key. */
export function verifierPem(signer: ImageSigner): string {
  return signer.certificatePem ?? createPublicKey(signer.privateKey).export({ type: 'spki', format: 'pem' }).toString();
}

/** cosign's `dev.sigstore.cosign/bundle` annotation for a logged entry: the SET and the four fields it signs. */
export function rekorBundleAnnotation(logged: LoggedEntry): string {
  const e = logged.entry;
  return JSON.stringify({
    SignedEntryTimestamp: e.verification.signedEntryTimestamp,
    Payload: { body: e.body, integratedTime: e.integratedTime, logIndex: e.logIndex, logID: e.logID },
  });
}

function certificateAnnotations(signer: ImageSigner): Record<string, string> {
  return signer.certificatePem ? { [CERT]: signer.certificatePem, [CHAIN]: signer.chainPem ?? '' } : {};
}

/** The simple-signing payload cosign signs for `repo@digest`. */
export function simpleSigningPayload(repo: Repository, digest: Digest): Uint8Array {
  const doc = {
    critical: { identity: { 'docker-reference': repo.display }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
    optional: null,
  };
  return new TextEncoder().encode(JSON.stringify(doc));
}

/** Signs `repo@digest` as cosign 2.x `sign` does and appends the signature to its `.sig` manifest. */
export async function signImageLikeCosign2(kit: LocalSigstore, repo: Repository, digest: Digest, o: ImageSignOptions = {}): Promise<WrittenSignature> {
  const signer = signerOf(kit, o);
  const payload = simpleSigningPayload(repo, o.signedDigest ?? digest);
  const signature = sign('sha256', payload, signer.privateKey);
  const rekor = o.tlog === false ? undefined : kit.logEntry(hashedRekordProposal(createHash('sha256').update(payload).digest('hex'), signature, verifierPem(signer)));
  const layer = await putBlobBytes(repo, payload, MediaTypes.cosignSimpleSigning, {
    [SIGNATURE]: signature.toString('base64'),
    ...certificateAnnotations(signer),
    ...(rekor ? { [BUNDLE]: rekorBundleAnnotation(rekor) } : {}),
  });
  const manifest = await appendSignatureLayer(repo, digest, '.sig', layer);
  return { manifest, layer, signer, ...(rekor ? { rekor } : {}) };
}

export interface AttestOptions extends ImageSignOptions {
  /** The statement's predicate type; default SLSA provenance v0.2 (what `--type slsaprovenance` writes). */
  predicateType?: string;
  predicate?: unknown;
  /** ATTACK: the `predicateType` annotation (unsigned), default the statement's. */
  annotatedPredicateType?: string;
}

export const SLSA_PROVENANCE_V02 = 'https://slsa.dev/provenance/v0.2';

/** An in-toto statement about `digest` (in-toto v0.1, as cosign 2.x writes). */
export function inTotoStatement(repo: Repository, digest: Digest, predicateType: string, predicate: unknown, statementType = 'https://in-toto.io/Statement/v0.1'): Uint8Array {
  const doc = { _type: statementType, predicateType, subject: [{ name: repo.display, digest: { sha256: hexOf(digest) } }], predicate };
  return new TextEncoder().encode(JSON.stringify(doc));
}

/** A signed DSSE envelope of an in-toto statement, and its Rekor dsse 0.0.1 proposal. */
export function dsseEnvelope(signer: ImageSigner, statement: Uint8Array): { text: string; sig: Buffer; proposal: Record<string, unknown> } {
  const sig = sign('sha256', pae('application/vnd.in-toto+json', Buffer.from(statement)), signer.privateKey);
  const text = JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(statement).toString('base64'), signatures: [{ keyid: '', sig: sig.toString('base64') }] });
  const proposal = { apiVersion: '0.0.1', kind: 'dsse', spec: { proposedContent: { envelope: text, verifiers: [Buffer.from(verifierPem(signer)).toString('base64')] } } };
  return { text, sig, proposal };
}

const defaultProvenance = (repo: Repository) => ({
  buildType: 'https://github.com/slsa-framework/slsa-github-generator/container@v1',
  builder: { id: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0' },
  invocation: { configSource: { uri: `git+https://github.com/${repo.name}@refs/tags/v0.0.0`, entryPoint: '.github/workflows/release.yml' } },
});

/** Attests `repo@digest` as cosign 2.x `attest` does (dsse Rekor entry) and appends it to its `.att` manifest. */
export async function attestImageLikeCosign2(kit: LocalSigstore, repo: Repository, digest: Digest, o: AttestOptions = {}): Promise<WrittenSignature> {
  const signer = signerOf(kit, o);
  const predicateType = o.predicateType ?? SLSA_PROVENANCE_V02;
  const statement = inTotoStatement(repo, o.signedDigest ?? digest, predicateType, o.predicate ?? defaultProvenance(repo));
  const env = dsseEnvelope(signer, statement);
  const rekor = o.tlog === false ? undefined : kit.logEntry(env.proposal);
  const layer = await putBlobBytes(repo, new TextEncoder().encode(env.text), MediaTypes.dsseEnvelope, {
    [SIGNATURE]: '',
    ...certificateAnnotations(signer),
    ...(rekor ? { [BUNDLE]: rekorBundleAnnotation(rekor) } : {}),
    predicateType: o.annotatedPredicateType ?? predicateType,
  });
  const manifest = await appendSignatureLayer(repo, digest, '.att', layer);
  return { manifest, layer, signer, ...(rekor ? { rekor } : {}) };
}
