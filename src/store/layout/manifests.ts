import { AirlockError, isAirlockError } from '../../errors.js';
import { checkBytes, isDigest, sha256Digest, type Digest } from '../../oci/digest.js';
import { childrenOf, parseManifest, type Descriptor, type ParsedManifest } from '../../oci/manifest.js';
import { MAX_MANIFEST_BYTES } from '../../oci/mediatypes.js';
import { isTag } from '../../oci/reference.js';
import type { FetchedManifest } from '../types.js';
import { blobPath, statBlob, writeBlob } from './blobs.js';
import { readSmallFile } from './fs-util.js';
import { updateIndex } from './index-file.js';
import { addUntagged, bareDescriptor, dropUntaggedChildren, findDigest, findTag, setTag } from './tags.js';

/**
 * Manifests of one layout. A manifest is a blob like any other; index.json says which ones are tagged or kept
 * reachable, and carries their mediaType (a layout has no Content-Type).
 */
export interface ReadManifest extends FetchedManifest {
  parsed: ParsedManifest;
}

type Target = { tag: string; digest?: undefined } | { digest: Digest; tag?: undefined };

export function toTarget(reference: string): Target {
  if (isDigest(reference)) return { digest: reference };
  if (isTag(reference)) return { tag: reference };
  throw new AirlockError('BAD_INPUT', `"${reference.slice(0, 140)}" is neither a tag nor a sha256:<hex> digest.`);
}

/** Resolves a tag or digest through index.json; a digest not listed there is still readable as a blob. */
function entryFor(entries: readonly Descriptor[], target: Target, display: string): Descriptor | undefined {
  if (target.tag === undefined) return findDigest(entries, target.digest);
  const entry = findTag(entries, target.tag);
  if (!entry) throw new AirlockError('NOT_FOUND', `The tag ${target.tag} is not in ${display}.`);
  return entry;
}

/**
 * Reads a manifest: refused over 4 MiB before it is read (from the open file's size), its bytes checked against
 * the digest and the index entry's size, then parsed so the mediaType is known even for unlisted manifests.
 */
export async function readManifest(layoutDir: string, entries: readonly Descriptor[], reference: string, display: string): Promise<ReadManifest> {
  const target = toTarget(reference);
  const entry = entryFor(entries, target, display);
  const digest = entry?.digest ?? (target.digest as Digest);
  if (entry && entry.size > MAX_MANIFEST_BYTES) {
    throw new AirlockError('LIMIT_EXCEEDED', `The manifest ${digest} in ${display} has ${entry.size} bytes, over the 4 MiB limit; it is refused.`);
  }
  const bytes = await readSmallFile(blobPath(layoutDir, digest), MAX_MANIFEST_BYTES, 'manifest');
  if (bytes === undefined) {
    throw new AirlockError('NOT_FOUND', `The manifest ${digest}${target.tag ? ` (tag ${target.tag})` : ''} is not in ${display}.`);
  }
  checkBytes(bytes, digest, entry?.size, 'manifest');
  const parsed = parseManifest(bytes, entry?.mediaType);
  const descriptor: Descriptor = { mediaType: entry?.mediaType ?? parsed.mediaType, digest, size: bytes.byteLength };
  const artifactType = parsed.kind === 'index' ? parsed.index.artifactType : parsed.manifest.artifactType;
  if (artifactType !== undefined) descriptor.artifactType = artifactType;
  return { descriptor, bytes, parsed };
}

/**
 * The descriptor a reference resolves to, or undefined. A listed entry whose blob is missing or has the wrong
 * size counts as absent, so a copy into this layout rewrites it instead of trusting a broken entry.
 */
export async function headManifest(layoutDir: string, entries: readonly Descriptor[], reference: string, display: string): Promise<Descriptor | undefined> {
  const target = toTarget(reference);
  const entry = target.tag !== undefined ? findTag(entries, target.tag) : findDigest(entries, target.digest);
  if (entry) {
    return (await statBlob(layoutDir, entry.digest)) === entry.size ? bareDescriptor(entry) : undefined;
  }
  if (target.tag !== undefined) return undefined;
  try {
    return (await readManifest(layoutDir, entries, reference, display)).descriptor;
  } catch (e) {
    if (isAirlockError(e, 'NOT_FOUND')) return undefined;
    throw e;
  }
}

/**
 * Stores a manifest blob, then records it in index.json: under `tag` (replacing the tag's previous entry), or
 * untagged so it stays reachable. Untagged entries of an index's children are dropped (the index reaches them).
 */
export async function writeManifest(layoutDir: string, bytes: Uint8Array, mediaType: string, tag: string | undefined): Promise<Descriptor> {
  if (tag !== undefined && !isTag(tag)) throw new AirlockError('BAD_INPUT', `"${tag.slice(0, 140)}" is not a valid tag.`);
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new AirlockError('LIMIT_EXCEEDED', `The manifest has ${bytes.byteLength} bytes, over the 4 MiB limit; it is refused.`);
  }
  const parsed = parseManifest(bytes, mediaType);
  const descriptor: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength };
  const artifactType = parsed.kind === 'index' ? parsed.index.artifactType : parsed.manifest.artifactType;
  if (artifactType !== undefined) descriptor.artifactType = artifactType;
  await writeBlob(layoutDir, descriptor, oneChunk(bytes));
  const children = parsed.kind === 'index' ? childrenOf(parsed).map((c) => c.digest) : [];
  await updateIndex(layoutDir, (entries) => {
    const pruned = dropUntaggedChildren(entries, children);
    return tag === undefined ? addUntagged(pruned, descriptor) : setTag(pruned, descriptor, tag);
  });
  return descriptor;
}

async function* oneChunk(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
