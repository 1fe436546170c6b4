/** Media types airlock reads and writes. Digests are preserved exactly: no type is ever converted. */
export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  ociLayerTarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerLayerTarGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  cosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  dsseEnvelope: 'application/vnd.dsse.envelope.v1+json',
  sigstoreBundleV03: 'application/vnd.dev.sigstore.bundle.v0.3+json',
} as const;

/** The Accept list for manifest requests; docker-registry only serves OCI manifests when they are listed. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifestList,
  MediaTypes.dockerManifest,
];

export function isIndexMediaType(mt: string): boolean {
  return mt === MediaTypes.ociIndex || mt === MediaTypes.dockerManifestList;
}

export function isManifestMediaType(mt: string): boolean {
  return mt === MediaTypes.ociManifest || mt === MediaTypes.dockerManifest;
}

export function isAnyManifestMediaType(mt: string): boolean {
  return isIndexMediaType(mt) || isManifestMediaType(mt);
}

/** Manifests larger than this are refused before they are read whole (the distribution spec's recommended limit). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
