import { AirlockError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import { formatReference, parseReference, parseRegistryReference, type Reference } from '../oci/reference.js';
import { openReference } from '../store/open.js';
import type { StoreOptions } from '../store/options.js';
import type { Repository } from '../store/types.js';
import { insecureSkipVerify, type CopyAuthorization } from '../verify/verdict.js';
import { copyImage } from './copy.js';
import { listReferrers, type ReferrersListing } from './referrers-fallback.js';
import type { CopyPlanSummary, CopyProgress, CopyResult, ExtraManifest, GraphLimits } from './types.js';

/** What the verifier vouches for before anything is written: the digest, and what may go along with it. */
export interface SourceAuthorization<R = unknown> {
  subject: CopyAuthorization;
  /** Signature objects to carry (only what verified). */
  extras?: ExtraManifest[];
  /** Referrer manifests among the extras, to list in the target's fallback index where it has no referrers API. */
  referrers?: Descriptor[];
  /** What the verification found, returned in the result. */
  report?: R;
  /** The full evidence (verdicts with their bundles), for the record; not returned in the result. */
  evidence?: unknown;
}

export interface CopyReferencesOptions<R = unknown> {
  /** `registry/repo[:tag][@digest]`, `oci:DIR[:TAG]` or `oci-archive:FILE[:TAG]`. */
  source: string;
  target: string;
  insecureSkipVerify: boolean;
  /**
   * Verifies the resolved source digest (required unless insecureSkipVerify); throwing refuses the copy before the
   * target is even opened.
   */
  authorize?: (source: Repository, digest: Digest) => Promise<SourceAuthorization<R>>;
  allowTagMove?: boolean;
  concurrency?: number;
  /** Bounds on the source's graph (index size and depth, manifests); defaults otherwise. */
  graphLimits?: Partial<GraphLimits>;
  storeOptions?: StoreOptions;
  onProgress?: (e: CopyProgress) => void;
  logger?: Logger;
  /** Records the copy (the ledger): what is about to be written before the first byte, what was written after. */
  recorder?: CopyRecorder<R>;
}

export interface CopyRecordContext<R> {
  source: string;
  target: string;
  auth: SourceAuthorization<R>;
}

/**
 * The two moments a record of a copy is made. `beforeWrite` runs only when something will be written, before the
 * first byte reaches the target (a throw there aborts the copy); `afterWrite` after the content tag (and the
 * referrers listing) are in place, with what was written. A copy that writes nothing calls neither.
 */
export interface CopyRecorder<R> {
  beforeWrite(ctx: CopyRecordContext<R>, plan: CopyPlanSummary): void | Promise<void>;
  afterWrite(ctx: CopyRecordContext<R>, result: CopyResult, referrersIndex: Descriptor | undefined): void | Promise<void>;
  /**
   * After every copy that completed, whether it wrote anything (`wrote`) or found everything in place, after
   * afterWrite: the record can account for what the target already held (a copy killed after writing, before
   * recording).
   */
  settled?(ctx: CopyRecordContext<R>, result: CopyResult, wrote: boolean): void | Promise<void>;
}

/** The `airlock copy --json` result. */
export interface CopyCommandResult<R = unknown> extends CopyResult {
  source: string;
  target: string;
  /** Peak resident memory of this process, bytes (the copy streams: it should not grow with blob size). */
  peakRssBytes: number;
  /** What verification found and which signature objects were carried; absent for --insecure-skip-verify. */
  verification?: R;
  /** How carried referrers are found in the target: its own listing, or the fallback tag airlock wrote. */
  referrers?: ReferrersListing;
}

/** Whether the user wrote a tag on the reference (a registry reference gets `latest` by default when parsed). */
function explicitTag(input: string, ref: Reference): string | undefined {
  if (ref.kind !== 'registry') return ref.tag;
  return parseRegistryReference(input, { requireTagOrDigest: false }).tag;
}

/** Resolves the source reference ONCE and has it verified; everything after is by the verified digest. */
async function authorizeSource<R>(opts: CopyReferencesOptions<R>, source: Repository, reference: string, display: string): Promise<{ auth: SourceAuthorization<R>; reference: string }> {
  if (opts.insecureSkipVerify) return { auth: { subject: insecureSkipVerify() }, reference };
  if (!opts.authorize) throw new AirlockError('INTERNAL', 'A verified copy was asked for without a verifier.');
  const head = await source.headManifest(reference);
  if (!head) throw new AirlockError('NOT_FOUND', `${display} does not exist.`);
  try {
    return { auth: await opts.authorize(source, head.digest), reference: head.digest };
  } catch (e) {
    // The refusal is about this digest: say which, for the record (a refusal is recorded once per digest).
    if (e instanceof AirlockError && e.details?.digest === undefined) {
      throw new AirlockError(e.code, e.message, { cause: e, details: { ...e.details, digest: head.digest } });
    }
    throw e;
  }
}

/**
 * `airlock copy SRC DST`: opens the source, resolves and verifies it (unless --insecure-skip-verify), then opens the
 * target, decides the target tag (the one written on DST, else the source's tag — a mirror keeps
 * `<prefix>/<name>:<tag>`), copies with what verification allows to go along, and closes the stores (an
 * oci-archive is written on close).
 */
export async function copyReferences<R = unknown>(opts: CopyReferencesOptions<R>): Promise<CopyCommandResult<R>> {
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
    // Nothing of an unverified source reaches the target: verification happens before the target is opened.
    const { auth, reference } = await authorizeSource(opts, from.repository, sourceReference, from.display);
    const to = await openReference(dst, { ...opts.storeOptions, create: true });
    const record: CopyRecordContext<R> = { source: from.display, target: to.display, auth };
    let result: CopyResult;
    let referrers: ReferrersListing | undefined;
    let referrersIndex: Descriptor | undefined;
    let planned = false;
    try {
      result = await copyImage({
        source: from.repository,
        sourceReference: reference,
        target: to.repository,
        ...(targetTag !== undefined ? { targetTag } : {}),
        subject: auth.subject,
        ...(auth.extras ? { extras: auth.extras } : {}),
        allowTagMove: opts.allowTagMove ?? false,
        ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
        ...(opts.graphLimits ? { limits: opts.graphLimits } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        ...(opts.logger ? { logger: opts.logger } : {}),
        ...(opts.recorder
          ? {
              beforeWrite: async (plan: CopyPlanSummary) => {
                planned = true;
                await opts.recorder?.beforeWrite(record, plan);
              },
            }
          : {}),
      });
      if (auth.referrers && auth.referrers.length > 0) {
        const subject = result.digest;
        const listing = await listReferrers(to.repository, subject, auth.referrers, async (index) => {
          if (planned || !opts.recorder) return;
          planned = true;
          await opts.recorder.beforeWrite(record, { digest: subject, digests: [index.digest], ...(targetTag !== undefined ? { tag: targetTag } : {}) });
        });
        referrers = listing.listing;
        referrersIndex = listing.written;
      }
    } catch (e) {
      await to.store.close().catch(() => undefined);
      throw e;
    }
    // Closing the target can still fail (an oci-archive is packed here), and that must fail the copy.
    await to.store.close();
    if (opts.recorder && planned) await opts.recorder.afterWrite(record, result, referrersIndex);
    await opts.recorder?.settled?.(record, result, planned);
    // Name the target as written: with the tag given to it, else by digest (not the `latest` a parser defaults to).
    const written: Reference = { ...dst, tag: targetTag, digest: targetTag === undefined ? result.digest : undefined };
    return {
      source: from.display,
      target: formatReference(written),
      ...result,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      ...(auth.report !== undefined ? { verification: auth.report } : {}),
      ...(referrers ? { referrers } : {}),
    };
  } finally {
    await from.store.close().catch(() => undefined);
  }
}
