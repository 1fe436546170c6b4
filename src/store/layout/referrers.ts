import type { Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import { isAirlockError } from '../../errors.js';
import { signatureTag } from '../types.js';
import { readManifest } from './manifests.js';
import { findTag } from './tags.js';

/**
 * Referrers of a digest in a layout. A layout has no referrers API, so the answer is assembled from what the
 * layout records:
 *  1. every manifest listed in index.json (tagged or not) whose `subject.digest` is the digest — oras and
 *     airlock record a pushed referrer there untagged, so it is found without a tag;
 *  2. the entries of the fallback index at tag `sha256-<hex>`, written by tools that treat a layout like a
 *     registry without the API.
 * Children of listed indexes are not scanned: a referrer is a standalone manifest, never a platform child.
 * Each manifest is read (≤ 4 MiB, digest-checked) once per repository; `cache` keeps what it referred to.
 */
export interface ReferrerSummary {
  subject: Digest | undefined;
  descriptor: Descriptor;
}

export async function findReferrers(
  layoutDir: string,
  entries: readonly Descriptor[],
  digest: Digest,
  display: string,
  cache: Map<Digest, ReferrerSummary>,
  artifactType?: string,
): Promise<Descriptor[]> {
  const found = new Map<string, Descriptor>();
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry.digest)) continue;
    seen.add(entry.digest);
    const summary = await summarize(layoutDir, entries, entry.digest, display, cache);
    if (summary?.subject === digest) found.set(entry.digest, summary.descriptor);
  }
  const fallback = findTag(entries, signatureTag(digest, ''));
  if (fallback) {
    const index = await readManifest(layoutDir, entries, fallback.digest, display);
    if (index.parsed.kind === 'index') {
      for (const d of index.parsed.index.manifests) if (!found.has(d.digest)) found.set(d.digest, d);
    }
  }
  return [...found.values()]
    .filter((d) => artifactType === undefined || d.artifactType === artifactType)
    .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

async function summarize(
  layoutDir: string,
  entries: readonly Descriptor[],
  digest: Digest,
  display: string,
  cache: Map<Digest, ReferrerSummary>,
): Promise<ReferrerSummary | undefined> {
  const cached = cache.get(digest);
  if (cached) return cached;
  let m;
  try {
    m = await readManifest(layoutDir, entries, digest, display);
  } catch (e) {
    // A dangling entry (blob missing) must not hide every other referrer; corrupt bytes still fail loudly.
    if (isAirlockError(e, 'NOT_FOUND')) return undefined;
    throw e;
  }
  const doc = m.parsed.kind === 'index' ? m.parsed.index : m.parsed.manifest;
  const descriptor: Descriptor = { mediaType: m.descriptor.mediaType, digest, size: m.descriptor.size };
  // The referrers response's artifactType: the manifest's own, else (image manifests) its config's mediaType.
  const artifactType = doc.artifactType ?? (m.parsed.kind === 'manifest' ? m.parsed.manifest.config.mediaType : undefined);
  if (artifactType !== undefined) descriptor.artifactType = artifactType;
  if (doc.annotations !== undefined) descriptor.annotations = doc.annotations;
  const summary: ReferrerSummary = { subject: doc.subject?.digest, descriptor };
  cache.set(digest, summary);
  return summary;
}
