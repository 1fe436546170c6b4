import { AirlockError, isAirlockError } from '../../errors.js';
import { warn } from '../../log.js';
import { parseDigest, type Digest } from '../../oci/digest.js';
import { parseManifest, type Descriptor } from '../../oci/manifest.js';
import { isIndexMediaType, MAX_MANIFEST_BYTES, MediaTypes } from '../../oci/mediatypes.js';
import { signatureTag } from '../types.js';
import { failFromResponse } from './client.js';
import { contentTypeOf, discard, getManifest, pullScope, readBounded, type RepoContext } from './manifests.js';
import { forEachPage } from './tags.js';

/** Referrers collected at most over all pages: more than any real image has, few enough to hold. */
export const MAX_REFERRERS = 10_000;

/**
 * Our own artifactType filter, for a registry that did not apply it and for the fallback tag. Entries typed as
 * the empty descriptor (cosign writes these into the fallback index, cosign#4641) or untyped cannot be judged by
 * their index entry: they are kept, and the caller reads the manifest to decide.
 */
export function matchesArtifactType(d: Descriptor, artifactType: string | undefined): boolean {
  if (artifactType === undefined) return true;
  return d.artifactType === undefined || d.artifactType === artifactType || d.artifactType === MediaTypes.ociEmpty;
}

/** Whether the registry says it applied the artifactType filter (`OCI-Filters-Applied: artifactType`). */
export function filterApplied(res: Response): boolean {
  const h = res.headers.get('oci-filters-applied') ?? '';
  return h
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .includes('artifacttype');
}

/** The manifests of an index document (referrers page or fallback index), validated descriptor by descriptor. */
function indexEntries(bytes: Uint8Array, mediaType: string, what: string): Descriptor[] {
  const parsed = parseManifest(bytes, mediaType);
  if (parsed.kind !== 'index') {
    throw new AirlockError('REGISTRY_ERROR', `The ${what} is not an image index; the registry is not speaking the referrers protocol correctly.`);
  }
  return parsed.index.manifests;
}

/** The fallback of registries without the referrers API: an index at tag `sha256-<hex>` (OCI 1.1, cosign v3). */
async function fallbackReferrers(ctx: RepoContext, digest: Digest, artifactType: string | undefined): Promise<Descriptor[]> {
  const tag = signatureTag(digest, '');
  let fetched;
  try {
    fetched = await getManifest(ctx, tag);
  } catch (e) {
    if (isAirlockError(e, 'NOT_FOUND')) return [];
    throw e;
  }
  if (!isIndexMediaType(fetched.descriptor.mediaType)) {
    warn(ctx.options.logger, 'the referrers fallback tag holds something other than an index; ignoring it', { repository: ctx.display, tag });
    return [];
  }
  return indexEntries(fetched.bytes, fetched.descriptor.mediaType, `referrers fallback index ${ctx.display}:${tag}`).filter((d) => matchesArtifactType(d, artifactType));
}

/**
 * Manifests whose subject is `digest`: the referrers API, following Link pagination, else (404, or an answer
 * that is not an index) the fallback tag. Each page is bounded like a manifest. Unverified.
 */
export async function referrers(ctx: RepoContext, digest: Digest, artifactType?: string): Promise<Descriptor[]> {
  parseDigest(digest, 'subject digest');
  const query = artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(artifactType)}`;
  const found: Descriptor[] = [];
  let first = true;
  let fallback = false;
  await forEachPage(ctx.client, `/v2/${ctx.name}/referrers/${digest}${query}`, async (url) => {
    const res = await ctx.client.request({ method: 'GET', url, headers: { Accept: MediaTypes.ociIndex }, scope: pullScope(ctx), retry: true });
    const isIndex = isIndexMediaType(contentTypeOf(res) ?? '');
    if (first && (res.status === 404 || (res.ok && !isIndex))) {
      await discard(res);
      fallback = true;
      return null;
    }
    first = false;
    if (!res.ok) return failFromResponse(res, `the referrers of ${ctx.display}@${digest}`);
    const what = `referrers index of ${ctx.display}@${digest}`;
    const entries = indexEntries(await readBounded(res, MAX_MANIFEST_BYTES, what), MediaTypes.ociIndex, what);
    const applied = filterApplied(res);
    found.push(...entries.filter((d) => applied || matchesArtifactType(d, artifactType)));
    if (found.length > MAX_REFERRERS) {
      throw new AirlockError('LIMIT_EXCEEDED', `The registry lists more than ${MAX_REFERRERS} referrers of ${ctx.display}@${digest}; refusing to read more.`);
    }
    return res.headers.get('link');
  });
  return fallback ? fallbackReferrers(ctx, digest, artifactType) : found;
}
