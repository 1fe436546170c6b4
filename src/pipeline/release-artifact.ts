/**
 * A verified release published to the target as ONE OCI artifact, `<target>/<profile>-release:<tag>`: the files
 * that matched the verified checksums, the checksums file, the release's signature material and the bundle the
 * checksums verified with (for detached signatures, the one built from Rekor's entry). The air-gapped side needs
 * exactly this: install.yaml binds each controller to its version, and the bundle lets it re-verify offline.
 *
 * Plan, then write: the manifest is byte-deterministic (files sorted by name, no timestamps), so a re-run finds it
 * present and writes nothing; a tag holding another digest is a TAG_CONFLICT (a published release never changes).
 * Blobs go first, the manifest with its tag last; the `composed` event is recorded after the tag, beside the
 * release-discovered event recorded before any byte.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../errors.js';
import { canonicalize } from '../ledger/canonical.js';
import { composedEvent } from '../ledger/events.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import { MediaTypes } from '../oci/mediatypes.js';
import { openReference } from '../store/open.js';
import type { StoreOptions } from '../store/options.js';
import { imageOf, type EventSink } from './copy-record.js';
import type { VerifiedAsset } from './sync-assets.js';
import type { VerifiedChecksums } from './sync-checksums.js';
import { targetFor } from './sync-image.js';

export const RELEASE_ARTIFACT_TYPE = 'application/vnd.airlock.release.v1';
const FILE_TYPE = 'application/octet-stream';
const TITLE = 'org.opencontainers.image.title';
const EMPTY = Buffer.from('{}');

type Source = { kind: 'bytes'; bytes: Buffer } | { kind: 'file'; path: string };

export interface ReleaseArtifactPlan {
  reference: string;
  manifest: Buffer;
  digest: Digest;
  blobs: { descriptor: Descriptor; source: Source }[];
}

function describe(bytes: Uint8Array, mediaType: string): Descriptor {
  return { mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest, size: bytes.byteLength };
}

export function releaseRepository(profileName: string): string {
  return `${profileName}-release`;
}

/** Pure: what the artifact consists of. */
export function planReleaseArtifact(o: { target: string; profileName: string; repository: string; tag: string; checksums: VerifiedChecksums; assets: readonly VerifiedAsset[] }): ReleaseArtifactPlan {
  const files: { name: string; descriptor: Descriptor; source: Source }[] = [];
  const add = (name: string, bytes: Buffer) => files.push({ name, descriptor: describe(bytes, FILE_TYPE), source: { kind: 'bytes', bytes } });
  add(o.checksums.name, o.checksums.bytes);
  for (const m of o.checksums.material) add(m.name, m.bytes);
  // Canonical JSON (RFC 8785), as the ledger keeps it: the same bundle is the same bytes on every run.
  if (o.checksums.bundleSource === 'rekor') add(`${o.checksums.name}.sigstore.json`, Buffer.from(`${canonicalize(o.checksums.bundle)}\n`));
  for (const a of o.assets) files.push({ name: a.name, descriptor: { mediaType: FILE_TYPE, digest: a.digest as Digest, size: a.size }, source: { kind: 'file', path: a.path } });
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const config = describe(EMPTY, MediaTypes.ociEmpty);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: RELEASE_ARTIFACT_TYPE,
      config,
      layers: files.map((f) => ({ ...f.descriptor, annotations: { [TITLE]: f.name } })),
      annotations: { 'org.opencontainers.image.version': o.tag, 'org.opencontainers.image.source': `https://github.com/${o.repository}` },
    }),
  );
  return {
    reference: targetFor(o.target, releaseRepository(o.profileName), o.tag),
    manifest,
    digest: describe(manifest, MediaTypes.ociManifest).digest,
    blobs: [{ descriptor: config, source: { kind: 'bytes', bytes: EMPTY } }, ...files.map((f) => ({ descriptor: { ...f.descriptor, annotations: { [TITLE]: f.name } }, source: f.source }))],
  };
}

/** Writes the in-memory parts of the plan (checksums, signature material, bundle) beside the downloaded files. */
export async function writeMaterial(dir: string, plan: ReleaseArtifactPlan): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const b of plan.blobs) {
    const title = b.descriptor.annotations?.[TITLE];
    if (b.source.kind !== 'bytes' || title === undefined) continue;
    const tmp = join(dir, `.partial-${title}`);
    await writeFile(tmp, b.source.bytes, { mode: 0o644 });
    await rename(tmp, join(dir, title));
  }
}

async function* bytesOf(b: Buffer): AsyncGenerator<Uint8Array> {
  yield b;
}

export interface PublishedArtifact {
  reference: string;
  digest: Digest;
  status: 'published' | 'present';
}

/**
 * Records the composed artifact, then writes it (blobs, then the manifest and tag); present → nothing written or
 * recorded. A run killed mid-write records it again when the re-run writes it.
 */
export async function publishReleaseArtifact(plan: ReleaseArtifactPlan, o: { tag: string; release: string; storeOptions: StoreOptions; run: EventSink; from: string[] }): Promise<PublishedArtifact> {
  const opened = await openReference(plan.reference, { ...o.storeOptions, create: true });
  try {
    const repo = opened.repository;
    const head = await repo.headManifest(o.tag);
    if (head?.digest === plan.digest) return { reference: opened.display, digest: plan.digest, status: 'present' };
    if (head) {
      throw new AirlockError('TAG_CONFLICT', `${opened.display} already holds ${head.digest}, not the verified release ${plan.digest}; a published release is never replaced.`, {
        details: { check: 'trust-on-first-use', recorded: head.digest, digest: plan.digest },
      });
    }
    // The ledger says what airlock composed, and from which verified parts, before the target holds any of it.
    const missing = [];
    for (const b of plan.blobs) if ((await repo.statBlob(b.descriptor.digest)) === undefined) missing.push(b);
    o.run.append([
      composedEvent({
        image: imageOf(opened.display),
        digest: plan.digest,
        release: o.release,
        tag: o.tag,
        what: 'release artifact of the verified files, checksums and signature bundle',
        target: opened.display,
        from: o.from,
        written: [...missing.map((b) => b.descriptor.digest), plan.digest],
      }),
    ]);
    for (const b of missing) {
      // putBlob hashes as it streams and commits only a match: a file changed on disk since its check is refused.
      await repo.putBlob(b.descriptor, b.source.kind === 'bytes' ? bytesOf(b.source.bytes) : createReadStream(b.source.path), { knownAbsent: true });
    }
    await repo.putManifest(plan.manifest, MediaTypes.ociManifest, o.tag);
    await opened.store.close();
    return { reference: opened.display, digest: plan.digest, status: 'published' };
  } finally {
    await opened.store.close().catch(() => undefined);
  }
}
