import { AirlockError } from '../errors.js';
import { neutralize } from '../log.js';
import type { Digest } from '../oci/digest.js';
import type { Repository } from '../store/types.js';

// cosign's legacy tags (`.sig`, `.att`, `.sbom`) and the OCI referrers fallback tag (no suffix) are named after the
// digest they belong to. They are not content: new signatures legitimately move them.
const SIGNATURE_TAG_RE = /^(?:sha256-[a-f0-9]{64}|sha512-[a-f0-9]{128})(?:\.sig|\.att|\.sbom)?$/;

export function isSignatureTag(tag: string): boolean {
  return SIGNATURE_TAG_RE.test(tag);
}

/** The digest a signature tag is named after (`sha256-<hex>.sig` → `sha256:<hex>`), or undefined for other tags. */
export function digestOfSignatureTag(tag: string): Digest | undefined {
  if (!isSignatureTag(tag)) return undefined;
  const base = tag.replace(/\.(sig|att|sbom)$/, '');
  return base.replace('-', ':') as Digest;
}

export type TagState = { kind: 'absent' } | { kind: 'same' } | { kind: 'moves'; from: Digest };

/**
 * What writing `tag` → `digest` in `target` would do, refusing a content tag that would move to another digest
 * unless `allowTagMove`: a mirror must never silently change what a tag means. Signature tags may advance.
 */
export async function checkTag(target: Repository, tag: string, digest: Digest, allowTagMove: boolean): Promise<TagState> {
  const existing = await target.headManifest(tag);
  if (!existing) return { kind: 'absent' };
  if (existing.digest === digest) return { kind: 'same' };
  if (!allowTagMove && !isSignatureTag(tag)) {
    throw new AirlockError(
      'TAG_CONFLICT',
      `The tag "${neutralize(tag)}" in ${target.display} already points to ${existing.digest}, not to ${digest} being copied; airlock does not move a tag silently, pass --allow-tag-move to move it.`,
      { details: { tag, existing: existing.digest, copying: digest } },
    );
  }
  return { kind: 'moves', from: existing.digest };
}
