import { isDigest, type Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import { isTag } from '../../oci/reference.js';

/**
 * Tags of an OCI layout are index.json entries annotated with `org.opencontainers.image.ref.name` (what skopeo
 * and oras read). These functions are pure: they take the entries and return new ones, so the locked
 * read-modify-write in index-file.ts stays short and the rules are testable on their own.
 *
 * Rules: one entry per tag (re-tagging replaces); a manifest stored without a tag gets one untagged entry so it
 * stays reachable (signatures, referrers) unless it is already listed; untagged children of an index pushed
 * later are dropped because the index reaches them. Order: tagged entries by tag, then untagged by digest — a
 * deterministic file whatever order concurrent pushes ran in.
 */
export const REF_NAME = 'org.opencontainers.image.ref.name';

export function tagOf(d: Descriptor): string | undefined {
  return d.annotations?.[REF_NAME];
}

/** Valid tags named in the entries, sorted; foreign ref.name values that are not tags (full references) are skipped. */
export function tagsOf(entries: readonly Descriptor[]): string[] {
  const tags = new Set<string>();
  for (const e of entries) {
    const t = tagOf(e);
    if (t !== undefined && isTag(t)) tags.add(t);
  }
  return [...tags].sort(compare);
}

export function findTag(entries: readonly Descriptor[], tag: string): Descriptor | undefined {
  return entries.find((e) => tagOf(e) === tag);
}

export function findDigest(entries: readonly Descriptor[], digest: Digest): Descriptor | undefined {
  return entries.find((e) => e.digest === digest);
}

/** The manifest's own descriptor (mediaType, digest, size, artifactType) without the index-entry annotations. */
export function bareDescriptor(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.artifactType !== undefined) out.artifactType = d.artifactType;
  return out;
}

/** Points `tag` at `manifest`, replacing any entry with that tag and the manifest's untagged entry. */
export function setTag(entries: readonly Descriptor[], manifest: Descriptor, tag: string): Descriptor[] {
  const kept = entries.filter((e) => tagOf(e) !== tag && !(tagOf(e) === undefined && e.digest === manifest.digest));
  const entry: Descriptor = { ...bareDescriptor(manifest), annotations: { [REF_NAME]: tag } };
  return sortEntries([...kept, entry]);
}

/** Records a manifest without a tag, unless an entry (tagged or not) already reaches it. */
export function addUntagged(entries: readonly Descriptor[], manifest: Descriptor): Descriptor[] {
  if (entries.some((e) => e.digest === manifest.digest)) return sortEntries([...entries]);
  return sortEntries([...entries, bareDescriptor(manifest)]);
}

/** Drops untagged entries for `children`: an index now lists them, so they stay reachable through it. */
export function dropUntaggedChildren(entries: readonly Descriptor[], children: readonly Digest[]): Descriptor[] {
  const set = new Set<string>(children);
  return entries.filter((e) => tagOf(e) !== undefined || !set.has(e.digest));
}

/** Removes a tag, or every entry of a digest. The blobs stay; a layout has no garbage collection here. */
export function removeReference(entries: readonly Descriptor[], reference: string): Descriptor[] {
  return entries.filter((e) => (isDigest(reference) ? e.digest !== reference : tagOf(e) !== reference));
}

export function sortEntries(entries: Descriptor[]): Descriptor[] {
  return entries.sort((a, b) => {
    const ta = tagOf(a);
    const tb = tagOf(b);
    if (ta !== undefined && tb !== undefined) return compare(ta, tb) || compare(a.digest, b.digest);
    if (ta !== undefined) return -1;
    if (tb !== undefined) return 1;
    return compare(a.digest, b.digest);
  });
}

/** Code-unit order, not locale order: the same on every machine. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
