/**
 * Sigstore bundles attached as OCI 1.1 referrers (cosign 3's default storage): a manifest whose artifactType is
 * the bundle media type, with an empty config, one layer holding the bundle, and `subject` = the image. Found
 * through the store's referrers (the API, or the fallback index at tag `sha256-<hex>` where there is none) AND
 * the fallback tag read directly, since a registry with the API may still hold a fallback index written by a tool
 * that did not ask it: both may exist at once.
 */
import { AirlockError, isAirlockError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { isIndexMediaType, MediaTypes } from '../oci/mediatypes.js';
import { signatureTag, type Repository } from '../store/types.js';
import { readLayer, readSignatureManifest, type ReadBudget } from './read.js';
import type { FoundReferrer, SignatureLimits, SkippedArtifact } from './types.js';

const BUNDLE_TYPES = new Set<string>([MediaTypes.sigstoreBundleV03, 'application/vnd.dev.sigstore.bundle+json;version=0.3']);

/**
 * Whether an index entry may be a bundle. Entries typed as the empty descriptor (cosign writes those into the
 * fallback index, cosign#4641) or untyped say nothing about what they are: they are kept and the manifest decides.
 */
function maybeBundle(d: Descriptor): boolean {
  return d.artifactType === undefined || d.artifactType === MediaTypes.ociEmpty || BUNDLE_TYPES.has(d.artifactType);
}

/** The entries of the fallback index at `sha256-<hex>`, or none. */
async function fallbackEntries(repo: Repository, digest: Digest): Promise<Descriptor[]> {
  const tag = signatureTag(digest, '');
  const head = await repo.headManifest(tag);
  // The store bounds the read (4 MiB); the number of entries that may be bundles is bounded by the caller.
  if (!head || !isIndexMediaType(head.mediaType)) return [];
  try {
    const got = await repo.getManifest(head.digest);
    const parsed = parseManifest(got.bytes, got.descriptor.mediaType);
    return parsed.kind === 'index' ? parsed.index.manifests : [];
  } catch (e) {
    if (isAirlockError(e, 'NOT_FOUND')) return [];
    throw e;
  }
}

/** Candidate referrer descriptors of `digest`, deduplicated, API answer first. */
async function candidates(repo: Repository, digest: Digest, limits: SignatureLimits, skipped: SkippedArtifact[]): Promise<Descriptor[]> {
  const byDigest = new Map<string, Descriptor>();
  for (const d of [...(await repo.referrers(digest)), ...(await fallbackEntries(repo, digest))]) {
    if (byDigest.has(d.digest)) continue;
    byDigest.set(d.digest, d);
  }
  const out: Descriptor[] = [];
  for (const d of byDigest.values()) {
    if (maybeBundle(d)) out.push(d);
    else skipped.push({ where: `referrer ${d.digest}`, reason: `its artifact type ${d.artifactType} is not a Sigstore bundle` });
  }
  if (out.length > limits.maxReferrers) {
    throw new AirlockError(
      'LIMIT_EXCEEDED',
      `${repo.display}@${digest} has ${out.length} referrers that may be Sigstore bundles, more than the limit of ${limits.maxReferrers}; airlock refuses them to bound what a store can make it read.`,
    );
  }
  return out;
}

/** The bundle referrers of `digest`: each manifest read and checked, its bundle layer read and parsed as JSON. */
export async function readReferrerBundles(
  repo: Repository,
  digest: Digest,
  limits: SignatureLimits,
  budget: ReadBudget,
  skipped: SkippedArtifact[],
): Promise<FoundReferrer[]> {
  const found: FoundReferrer[] = [];
  for (const d of await candidates(repo, digest, limits, skipped)) {
    const where = `referrer ${d.digest}`;
    if (d.mediaType !== MediaTypes.ociManifest) {
      skipped.push({ where, reason: `it is a ${d.mediaType}, not an OCI image manifest` });
      continue;
    }
    const read = await readSignatureManifest(repo, d, limits, budget);
    if (!read) {
      skipped.push({ where, reason: 'it is listed but its manifest is missing' });
      continue;
    }
    const m = read.manifest;
    const type = m.artifactType ?? m.config.mediaType;
    if (!BUNDLE_TYPES.has(type)) {
      skipped.push({ where, reason: `its artifact type ${type} is not a Sigstore bundle` });
      continue;
    }
    // The OCI subject is unsigned: it only says where the bundle was attached; verification reads the signed one.
    if (m.subject?.digest !== digest) {
      skipped.push({ where, reason: `its subject is ${m.subject?.digest ?? 'missing'}, not ${digest}` });
      continue;
    }
    const layer = m.layers[0];
    if (m.layers.length !== 1 || !layer || !BUNDLE_TYPES.has(layer.mediaType)) {
      skipped.push({ where, reason: 'it does not hold exactly one Sigstore bundle layer' });
      continue;
    }
    const bytes = await readLayer(repo, layer, limits, budget);
    let bundle: unknown;
    try {
      bundle = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      skipped.push({ where, reason: 'its bundle layer is not UTF-8 JSON' });
      continue;
    }
    const claimed = claimedPredicateType(bundle);
    found.push({
      descriptor: read.descriptor,
      bytes: read.bytes,
      manifest: m,
      signature: Object.freeze({
        format: 'referrer-bundle' as const,
        location: { manifest: read.descriptor, layer, index: 0 },
        bundle,
        ...(claimed !== undefined ? { claimedPredicateType: claimed } : {}),
      }),
    });
  }
  return found;
}

/** The predicateType of the bundle's DSSE in-toto payload, read without verification (routing only). */
function claimedPredicateType(bundle: unknown): string | undefined {
  const env = (bundle as { dsseEnvelope?: { payload?: unknown } } | null)?.dsseEnvelope;
  if (typeof env?.payload !== 'string') return undefined;
  try {
    const statement = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')) as { predicateType?: unknown };
    return typeof statement?.predicateType === 'string' ? statement.predicateType : undefined;
  } catch {
    return undefined;
  }
}
