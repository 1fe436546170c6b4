import { AirlockError } from '../errors.js';
import type { Logger } from '../log.js';
import { formatReference, parseReference, parseRegistryReference, type Reference } from '../oci/reference.js';
import { openReference } from '../store/open.js';
import type { StoreOptions } from '../store/options.js';
import { insecureSkipVerify } from '../verify/verdict.js';
import { copyImage } from './copy.js';
import type { CopyProgress, CopyResult } from './types.js';

export interface CopyReferencesOptions {
  /** `registry/repo[:tag][@digest]`, `oci:DIR[:TAG]` or `oci-archive:FILE[:TAG]`. */
  source: string;
  target: string;
  insecureSkipVerify: boolean;
  allowTagMove?: boolean;
  concurrency?: number;
  storeOptions?: StoreOptions;
  onProgress?: (e: CopyProgress) => void;
  logger?: Logger;
}

/** The `airlock copy --json` result. */
export interface CopyCommandResult extends CopyResult {
  source: string;
  target: string;
  /** Peak resident memory of this process, bytes (the copy streams: it should not grow with blob size). */
  peakRssBytes: number;
}

/** Whether the user wrote a tag on the reference (a registry reference gets `latest` by default when parsed). */
function explicitTag(input: string, ref: Reference): string | undefined {
  if (ref.kind !== 'registry') return ref.tag;
  return parseRegistryReference(input, { requireTagOrDigest: false }).tag;
}

/**
 * `airlock copy SRC DST`: opens both references, decides the target tag (the one written on DST, else the
 * source's tag — a mirror keeps `<prefix>/<name>:<tag>`), copies, and closes the stores (an oci-archive is
 * written on close).
 */
export async function copyReferences(opts: CopyReferencesOptions): Promise<CopyCommandResult> {
  if (!opts.insecureSkipVerify) {
    throw new AirlockError(
      'BAD_INPUT',
      'Verification by default arrives with image signatures and is not available in this version yet; pass --insecure-skip-verify to copy without verifying.',
    );
  }
  const src = parseReference(opts.source);
  const dst = parseReference(opts.target);
  // A digest on the source wins: the tag beside it is then only the label to give the copy.
  const sourceReference = src.digest ?? src.tag;
  if (sourceReference === undefined) {
    throw new AirlockError('BAD_INPUT', `"${opts.source}" names no tag or digest; add :TAG or @sha256:… to say what to copy.`);
  }
  if (dst.digest !== undefined && dst.digest !== src.digest) {
    throw new AirlockError('BAD_INPUT', `The target "${opts.target}" names a digest; a copy keeps the source's digest, so name that digest on the source instead, or give the target a tag.`);
  }
  const targetTag = explicitTag(opts.target, dst) ?? src.tag;

  const from = await openReference(src, opts.storeOptions ?? {});
  try {
    const to = await openReference(dst, { ...opts.storeOptions, create: true });
    let result: CopyResult;
    try {
      result = await copyImage({
        source: from.repository,
        sourceReference,
        target: to.repository,
        ...(targetTag !== undefined ? { targetTag } : {}),
        subject: insecureSkipVerify(),
        allowTagMove: opts.allowTagMove ?? false,
        ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        ...(opts.logger ? { logger: opts.logger } : {}),
      });
    } catch (e) {
      await to.store.close().catch(() => undefined);
      throw e;
    }
    // Closing the target can still fail (an oci-archive is packed here), and that must fail the copy.
    await to.store.close();
    // Name the target as written: with the tag given to it, else by digest (not the `latest` a parser defaults to).
    const written: Reference = { ...dst, tag: targetTag, digest: targetTag === undefined ? result.digest : undefined };
    return { source: from.display, target: formatReference(written), ...result, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
  } finally {
    await from.store.close().catch(() => undefined);
  }
}
