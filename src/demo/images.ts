/**
 * Real OCI images built for tests and for `airlock demo`'s stand-in upstream and written through the store interface (so the same builders fill a real
 * docker-registry, a layout, or the in-memory fake): random incompressible layers, multi-arch indexes with
 * BuildKit-style attestation manifests, as Flux's controllers are published.
 */
import { randomBytes } from 'node:crypto';
import { sha256Digest } from '../oci/digest.js';
import type { Descriptor, Platform } from '../oci/manifest.js';
import { MediaTypes } from '../oci/mediatypes.js';
import type { Repository } from '../store/types.js';

export interface TestBlob {
  descriptor: Descriptor;
  bytes: Uint8Array;
}

export interface PushedManifest extends TestBlob {
  blobs: TestBlob[];
}

export interface PushedIndex extends TestBlob {
  images: PushedManifest[];
  attestations: PushedManifest[];
}

export function blobOf(bytes: Uint8Array, mediaType: string = MediaTypes.ociLayerTarGzip, extra: Partial<Descriptor> = {}): TestBlob {
  return { descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength, ...extra }, bytes };
}

export function randomBlob(size: number, mediaType?: string): TestBlob {
  return blobOf(randomBytes(size), mediaType);
}

export function jsonBlob(doc: unknown, mediaType: string): TestBlob {
  return blobOf(new TextEncoder().encode(JSON.stringify(doc)), mediaType);
}

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

export async function pushBlob(repo: Repository, b: TestBlob): Promise<void> {
  if ((await repo.statBlob(b.descriptor.digest)) === undefined) await repo.putBlob(b.descriptor, once(b.bytes));
}

/** An image manifest with a config naming `platform` and the given layers (random ones of `layerSizes` otherwise). */
export function imageOf(opts: { layers?: TestBlob[]; layerSizes?: number[]; platform?: Platform; mediaType?: string } = {}): PushedManifest {
  const layers = opts.layers ?? (opts.layerSizes ?? [1024, 2048]).map((n) => randomBlob(n));
  const p = opts.platform ?? { architecture: 'amd64', os: 'linux' };
  const config = jsonBlob(
    { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}), rootfs: { type: 'layers', diff_ids: layers.map((l) => l.descriptor.digest) }, config: {} },
    MediaTypes.ociConfig,
  );
  const manifest = jsonBlob(
    { schemaVersion: 2, mediaType: opts.mediaType ?? MediaTypes.ociManifest, config: config.descriptor, layers: layers.map((l) => l.descriptor) },
    opts.mediaType ?? MediaTypes.ociManifest,
  );
  return { ...manifest, blobs: [config, ...layers] };
}

export async function pushManifest(repo: Repository, m: PushedManifest, tag?: string): Promise<void> {
  for (const b of m.blobs) await pushBlob(repo, b);
  await repo.putManifest(m.bytes, m.descriptor.mediaType, tag);
}

export const PLATFORMS: Platform[] = [
  { architecture: 'amd64', os: 'linux' },
  { architecture: 'arm64', os: 'linux' },
  { architecture: 'arm', os: 'linux', variant: 'v7' },
];

/** A BuildKit attestation manifest for `image`: an in-toto layer, listed in the index under platform unknown/unknown. */
export function attestationOf(image: TestBlob): { manifest: PushedManifest; entry: Descriptor } {
  const statement = jsonBlob({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://spdx.dev/Document', subject: [{ digest: { sha256: image.descriptor.digest.slice(7) } }] }, 'application/vnd.in-toto+json');
  statement.descriptor.annotations = { 'in-toto.io/predicate-type': 'https://spdx.dev/Document' };
  const manifest = imageOf({ layers: [statement], platform: { architecture: 'unknown', os: 'unknown' } });
  const entry: Descriptor = {
    ...manifest.descriptor,
    annotations: { 'vnd.docker.reference.digest': image.descriptor.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
    platform: { architecture: 'unknown', os: 'unknown' },
  };
  return { manifest, entry };
}

/**
 * A multi-arch index: one image per platform (random layers of `layerSizes`, plus `shared` layers common to all),
 * and, with `attestations`, one BuildKit attestation manifest per image inside the same index.
 */
export function multiArchOf(opts: { platforms?: Platform[]; layerSizes?: number[]; shared?: TestBlob[]; attestations?: boolean } = {}): PushedIndex {
  const platforms = opts.platforms ?? PLATFORMS;
  const images = platforms.map((platform) => imageOf({ platform, layers: [...(opts.shared ?? []), ...(opts.layerSizes ?? [4096]).map((n) => randomBlob(n))] }));
  const entries: Descriptor[] = images.map((im, i) => ({ ...im.descriptor, platform: platforms[i] }));
  const attestations: PushedManifest[] = [];
  if (opts.attestations) {
    for (const im of images) {
      const a = attestationOf(im);
      attestations.push(a.manifest);
      entries.push(a.entry);
    }
  }
  const index = jsonBlob({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: entries }, MediaTypes.ociIndex);
  return { ...index, images, attestations };
}

export async function pushIndex(repo: Repository, idx: PushedIndex, tag?: string): Promise<void> {
  for (const m of [...idx.images, ...idx.attestations]) await pushManifest(repo, m);
  await repo.putManifest(idx.bytes, idx.descriptor.mediaType, tag);
}
