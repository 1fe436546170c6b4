import PQueue from 'p-queue';
import { debug, type Logger } from '../log.js';
import type { Repository } from '../store/types.js';
import { BlobLocations } from './blob-locations.js';
import { StoreLimiter } from './limits.js';
import type { CopyPlan, PlannedManifest } from './plan.js';
import { checkTag } from './tags.js';
import { transferBlob } from './transfer.js';
import type { CopyProgress, ExecuteOutcome } from './types.js';

export interface ExecuteOptions {
  target: Repository;
  concurrency?: number;
  allowTagMove?: boolean;
  /** Ask again whether the content tag may be written, just before writing it (the copy may have taken minutes). */
  recheckTag?: boolean;
  blobLocations?: BlobLocations;
  limiter?: StoreLimiter;
  onProgress?: (e: CopyProgress) => void;
  logger?: Logger;
}

export const DEFAULT_CONCURRENCY = 4;

/**
 * Carries out a plan: blobs on one bounded queue (any order), then manifests by ascending height — every child
 * before its parents, each height at once — then the extra manifests with their signature tags, and the content
 * tag strictly last, so a tag never names something whose graph is incomplete. The first failure stops the
 * rest, waits for transfers in flight to unwind, and is what the caller sees; no tag is written after it.
 */
export async function executePlan(plan: CopyPlan, opts: ExecuteOptions): Promise<ExecuteOutcome> {
  const { target } = opts;
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const limiter = opts.limiter ?? new StoreLimiter(concurrency);
  const blobLocations = opts.blobLocations ?? new BlobLocations();
  const out: ExecuteOutcome = { manifestsWritten: [], blobsCopied: [], blobsSkipped: 0, blobsMounted: 0, bytesMoved: 0, tagged: false };
  const queue = new PQueue({ concurrency });
  const abort = new AbortController();
  let failure: { error: unknown } | undefined;
  const fail = (e: unknown): void => {
    if (failure) return;
    failure = { error: e };
    abort.abort(e);
    queue.clear();
  };

  const ctx = { target, blobLocations, signal: abort.signal, onProgress: opts.onProgress, logger: opts.logger };
  await Promise.all(
    plan.blobs.map((b) =>
      queue
        .add(() => limiter.run([b.source.store.location, target.store.location], () => transferBlob(b, ctx)))
        .then(({ outcome, bytes }) => {
          const d = b.descriptor;
          if (outcome === 'skipped') out.blobsSkipped++;
          else if (outcome === 'mounted') out.blobsMounted++;
          else out.blobsCopied.push({ digest: d.digest, size: d.size });
          out.bytesMoved += bytes;
          blobLocations.record(target.store.location, target.name, d.digest);
          opts.onProgress?.({ type: 'blob-done', digest: d.digest, size: d.size, outcome });
          debug(opts.logger, `blob ${outcome}`, { digest: d.digest, size: d.size });
        })
        .catch(fail),
    ),
  );
  if (failure) throw failure.error;

  // With no extras between them, the root's own write can carry the tag: one request fewer, same order.
  const tag = plan.tag?.write ? plan.tag : undefined;
  const last = plan.manifests.at(-1);
  const mergeTag = tag !== undefined && plan.extras.length === 0 && last?.descriptor.digest === plan.digest;
  const writeTag = async (): Promise<void> => {
    if (!tag) return;
    if (opts.recheckTag) await checkTag(target, tag.name, plan.digest, opts.allowTagMove ?? false);
    await target.putManifest(tag.bytes, tag.mediaType, tag.name);
  };
  const tagged = (): void => {
    if (tag) opts.onProgress?.({ type: 'tagged', tag: tag.name, digest: plan.digest });
  };

  const put = async (m: PlannedManifest, carriesTag = false): Promise<void> => {
    if (carriesTag) await writeTag();
    else await target.putManifest(m.bytes, m.descriptor.mediaType, m.tag);
    out.manifestsWritten.push(m.descriptor.digest);
    opts.onProgress?.({ type: 'manifest', digest: m.descriptor.digest, mediaType: m.descriptor.mediaType, ...(m.tag ? { tag: m.tag } : {}) });
    if (carriesTag) tagged();
  };
  for (const group of byHeight(plan.manifests)) {
    const results = await Promise.allSettled(group.map((m) => queue.add(() => put(m, mergeTag && m === last))));
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) throw rejected.reason;
  }
  // Extras are few and small; in order, each one's children first.
  for (const m of plan.extras) await put(m);
  if (!mergeTag) {
    await writeTag();
    tagged();
  }
  out.tagged = plan.tag !== undefined;
  return out;
}

function byHeight(ms: PlannedManifest[]): PlannedManifest[][] {
  const groups: PlannedManifest[][] = [];
  for (const m of ms) {
    const g = groups.at(-1);
    if (g && g[0]?.height === m.height) g.push(m);
    else groups.push([m]);
  }
  return groups;
}
