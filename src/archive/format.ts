/**
 * The air-gap archive: ONE uncompressed tar, whose root is laid out like an `oci:` mirror — one OCI image layout
 * per repository (`<name>/oci-layout`, `<name>/index.json`, `<name>/blobs/sha256/…`), so `skopeo inspect
 * oci:DIR/<name>:<tag>` and `oras … --oci-layout DIR/<name>:<tag>` read it once unpacked — plus three files:
 *
 *   airlock-archive.json   what the sender says is inside (release, repositories, trust root digest): a hint only
 *   trusted_root.json      a copy of the trust root the sender verified with (the receiver pins its sha256)
 *   ledger-excerpt.json    the sender's ledger events of the release with inclusion proofs and the checkpoint
 *
 * The images are the verified images of one release with only their verified signature and attestation objects;
 * the release artifact `<profile>-release/` holds the CLI archives, install.yaml, manifests, checksums, signature
 * material and the bundle the checksums verify with offline.
 */
export const ARCHIVE_FORMAT = 'airlock.archive/v1';
export const MANIFEST_FILE = 'airlock-archive.json';
export const TRUST_ROOT_FILE = 'trusted_root.json';
export const EXCERPT_FILE = 'ledger-excerpt.json';
export const ARCHIVE_FILES: readonly string[] = [MANIFEST_FILE, TRUST_ROOT_FILE, EXCERPT_FILE];

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  release: string;
  profile: string;
  releaseArtifact: { repository: string; digest: string };
  images: { name: string; tag: string; digest: string }[];
  trustRoot: { file: string; sha256: string };
  ledger: { origin: string; treeSize: number; entries: number };
  tool: { name: 'airlock'; version: string };
}

/** A bytes counter on stderr, only on a terminal: `label: 123.4 MiB`. */
export function progressCounter(label: string, stream: NodeJS.WriteStream = process.stderr): ((bytes: number) => void) | undefined {
  if (!stream.isTTY) return undefined;
  let last = 0;
  return (bytes: number) => {
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    stream.write(`\r${label}: ${(bytes / 1024 / 1024).toFixed(1)} MiB`);
  };
}

export function endProgress(stream: NodeJS.WriteStream = process.stderr): void {
  if (stream.isTTY) stream.write('\r\x1b[K');
}
