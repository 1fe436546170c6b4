/**
 * After referrers (e.g. cosign 3 signature bundles) were copied by digest, a target without the OCI referrers API
 * needs them listed in the fallback index at tag `sha256-<hex>`, or no client finds them there. A target that
 * already lists them (referrers API, a layout scanning its index, a fallback index already up to date) is left
 * alone. The new index keeps the entries the target's fallback index already had (other tools' referrers) and is
 * composed deterministically (compose.ts), so a re-run writes nothing new.
 */
import { isAirlockError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { MediaTypes } from '../oci/mediatypes.js';
import { signatureTag, type Repository } from '../store/types.js';
import { composeReferrersIndex } from './compose.js';

export type ReferrersListing = 'listed' | 'fallback-tag';

async function currentFallback(target: Repository, tag: string): Promise<Descriptor[]> {
  try {
    const got = await target.getManifest(tag);
    const parsed = parseManifest(got.bytes, got.descriptor.mediaType);
    return parsed.kind === 'index' ? parsed.index.manifests : [];
  } catch (e) {
    if (isAirlockError(e, 'NOT_FOUND')) return [];
    throw e;
  }
}

/**
 * Makes `referrers` (already in `target`) findable as referrers of `subject`. `written` is the fallback index
 * airlock composed and wrote, when it had to write one (a digest the ledger records as composed).
 */
export async function listReferrers(
  target: Repository,
  subject: Digest,
  referrers: readonly Descriptor[],
  beforeWrite?: (index: Descriptor) => void | Promise<void>,
): Promise<{ listing: ReferrersListing; written?: Descriptor }> {
  const listed = new Set((await target.referrers(subject)).map((d) => d.digest));
  if (referrers.every((r) => listed.has(r.digest))) return { listing: 'listed' };
  const tag = signatureTag(subject, '');
  const index = composeReferrersIndex([...(await currentFallback(target, tag)), ...referrers]);
  await beforeWrite?.(index.descriptor);
  const written = await target.putManifest(index.bytes, MediaTypes.ociIndex, tag);
  return { listing: 'fallback-tag', written };
}
