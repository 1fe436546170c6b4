import { randomBytes } from 'node:crypto';
import { sha256Digest } from '../../src/oci/digest.js';
import type { Descriptor } from '../../src/oci/manifest.js';
import { MediaTypes } from '../../src/oci/mediatypes.js';
import type { Repository } from '../../src/store/types.js';

/**
 * Real OCI content for layout tests (go-containerregistry's random.Image idea): random layers, a config per
 * platform, one image manifest per platform and an index over them. The bytes are exactly what gets stored.
 */
export interface TestBlob {
  descriptor: Descriptor;
  bytes: Uint8Array;
}

export interface TestManifest {
  descriptor: Descriptor;
  bytes: Uint8Array;
  blobs: TestBlob[];
}

export interface TestImage {
  index: { descriptor: Descriptor; bytes: Uint8Array };
  manifests: TestManifest[];
}

export function blobOf(bytes: Uint8Array, mediaType: string): TestBlob {
  return { descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength }, bytes };
}

export function jsonBytes(doc: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(doc));
}

export function imageManifest(platform: { os: string; architecture: string }, layerSizes: number[], extra: Record<string, unknown> = {}): TestManifest {
  const layers = layerSizes.map((n) => blobOf(randomBytes(n), MediaTypes.ociLayerTarGzip));
  const config = blobOf(
    jsonBytes({ ...platform, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.descriptor.digest) }, config: {} }),
    MediaTypes.ociConfig,
  );
  const bytes = jsonBytes({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: config.descriptor,
    layers: layers.map((l) => l.descriptor),
    ...extra,
  });
  return { descriptor: { mediaType: MediaTypes.ociManifest, digest: sha256Digest(bytes), size: bytes.byteLength }, bytes, blobs: [config, ...layers] };
}

export function multiArchImage(layerSizes = [2048, 70_000]): TestImage {
  const platforms = [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' },
    { os: 'linux', architecture: 'arm' },
  ];
  const manifests = platforms.map((p) => imageManifest(p, layerSizes));
  const bytes = jsonBytes({
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: manifests.map((m, i) => ({ ...m.descriptor, platform: platforms[i] })),
  });
  return { index: { descriptor: { mediaType: MediaTypes.ociIndex, digest: sha256Digest(bytes), size: bytes.byteLength }, bytes }, manifests };
}

export async function* chunks(bytes: Uint8Array, size = 16_384): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

export async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** Pushes children first (blobs, platform manifests), then the index under `tag`: the order a copy uses. */
export async function pushImage(repo: Repository, image: TestImage, tag: string): Promise<void> {
  for (const m of image.manifests) {
    for (const b of m.blobs) await repo.putBlob(b.descriptor, chunks(b.bytes));
    await repo.putManifest(m.bytes, m.descriptor.mediaType);
  }
  await repo.putManifest(image.index.bytes, image.index.descriptor.mediaType, tag);
}
