/**
 * cosign 3's image signature, written by the test kit (see image-signers.ts): a Sigstore bundle v0.3 holding a
 * DSSE in-toto statement (predicate type https://sigstore.dev/cosign/sign/v1, subject = the image digest),
 * stored as the single layer of an OCI 1.1 manifest with artifactType = the bundle media type, an empty config and
 * `subject` = the image, published as a referrer (the fallback tag `sha256-<hex>` on a registry without the API).
 */
import type { SerializedBundle } from '@sigstore/bundle';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import { MediaTypes } from '../oci/mediatypes.js';
import { toBundleTlogEntry } from '../rekor/bundle.js';
import type { Repository } from '../store/types.js';
import { dsseEnvelope, inTotoStatement, signerOf, type ImageSigner, type ImageSignOptions } from './image-signers.js';
import { publishReferrer, putBlobBytes, putEmptyConfig } from './oci-writer.js';
import { toRekorEntry } from './signers.js';
import type { LocalSigstore, LoggedEntry } from './sigstore.js';

export const COSIGN_SIGN_V1 = 'https://sigstore.dev/cosign/sign/v1';

export interface BundleSignOptions extends ImageSignOptions {
  /** The statement's predicate type; default cosign's image-signature type (another makes a v0.3 attestation). */
  predicateType?: string;
  predicate?: unknown;
  /** ATTACK: the OCI `subject` of the referrer manifest (unsigned), default the signed digest's image. */
  attachTo?: Digest;
}

export interface WrittenReferrer {
  manifest: Descriptor;
  bundle: SerializedBundle;
  published: 'listed' | 'fallback-tag';
  signer: ImageSigner;
  rekor: LoggedEntry;
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
}

/** A keyless bundle v0.3 of a DSSE in-toto statement about `digest` (keyless only, as cosign 3 signs by default). */
export function dsseBundle(kit: LocalSigstore, repo: Repository, digest: Digest, o: BundleSignOptions): { bundle: SerializedBundle; signer: ImageSigner; rekor: LoggedEntry } {
  const signer = signerOf(kit, o);
  if (!signer.certificatePem) throw new Error('the kit writes keyless bundles only');
  const statement = inTotoStatement(repo, o.signedDigest ?? digest, o.predicateType ?? COSIGN_SIGN_V1, o.predicate ?? {}, 'https://in-toto.io/Statement/v1');
  const env = dsseEnvelope(signer, statement);
  const rekor = kit.logEntry(env.proposal);
  const bundle = {
    mediaType: MediaTypes.sigstoreBundleV03,
    verificationMaterial: {
      certificate: { rawBytes: pemToDer(signer.certificatePem).toString('base64') },
      tlogEntries: [toBundleTlogEntry(toRekorEntry(rekor))],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: { payload: Buffer.from(statement).toString('base64'), payloadType: 'application/vnd.in-toto+json', signatures: [{ sig: env.sig.toString('base64'), keyid: '' }] },
  } as unknown as SerializedBundle;
  return { bundle, signer, rekor };
}

/** Signs `repo@digest` as cosign 3 `sign` does and attaches the bundle as a referrer of the image. */
export async function signImageLikeCosign3(kit: LocalSigstore, repo: Repository, digest: Digest, o: BundleSignOptions = {}): Promise<WrittenReferrer> {
  const attachTo = o.attachTo ?? digest;
  const image = await repo.headManifest(attachTo);
  if (!image) throw new Error(`${repo.display}@${attachTo} does not exist`);
  const { bundle, signer, rekor } = dsseBundle(kit, repo, digest, o);
  const predicateType = o.predicateType ?? COSIGN_SIGN_V1;
  const layer = await putBlobBytes(repo, new TextEncoder().encode(JSON.stringify(bundle)), MediaTypes.sigstoreBundleV03);
  const config = await putEmptyConfig(repo);
  const annotations = { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': predicateType };
  const doc = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType: MediaTypes.sigstoreBundleV03,
    config,
    layers: [layer],
    subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
    annotations,
  };
  const manifest = await repo.putManifest(new TextEncoder().encode(JSON.stringify(doc)), MediaTypes.ociManifest);
  const published = await publishReferrer(repo, attachTo, { ...manifest, artifactType: MediaTypes.sigstoreBundleV03, annotations });
  return { manifest, bundle, published, signer, rekor };
}
