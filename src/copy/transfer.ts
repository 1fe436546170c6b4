import { AirlockError } from '../errors.js';
import { debug, type Logger } from '../log.js';
import { checkBytes } from '../oci/digest.js';
import { isMountable, type Repository } from '../store/types.js';
import type { BlobLocations } from './blob-locations.js';
import type { PlannedBlob } from './plan.js';
import type { BlobOutcome, CopyProgress } from './types.js';

export interface TransferContext {
  target: Repository;
  blobLocations: BlobLocations;
  signal: AbortSignal;
  onProgress?: (e: CopyProgress) => void;
  logger?: Logger;
}

// A mount that fails costs a round trip and an upload session the registry opens instead; trying every
// repository a digest was seen in would turn a miss into many.
const MAX_MOUNT_ATTEMPTS = 2;

/**
 * Puts one blob into the target the cheapest way that is safe: already there with the right size → nothing;
 * in another repository of the same store → a cross-repository mount; else streamed from the source, hashed
 * by the source as it is read and by the target before it commits. Never holds a whole blob in memory.
 */
export async function transferBlob(b: PlannedBlob, ctx: TransferContext): Promise<{ outcome: BlobOutcome; bytes: number }> {
  const { target, signal } = ctx;
  const d = b.descriptor;
  signal.throwIfAborted();
  const have = await target.statBlob(d.digest);
  if (have === d.size) return { outcome: 'skipped', bytes: 0 };
  if (have !== undefined) {
    throw new AirlockError(
      'INTEGRITY',
      `The target ${target.display} holds the blob ${d.digest} with ${have} bytes where its descriptor says ${d.size}; the target or the source is corrupt.`,
    );
  }
  if (isMountable(target) && b.inline === undefined) {
    for (const from of mountCandidates(b, ctx).slice(0, MAX_MOUNT_ATTEMPTS)) {
      signal.throwIfAborted();
      if (await target.mountBlob(d, from)) {
        debug(ctx.logger, 'blob mounted', { digest: d.digest, from, to: target.name });
        return { outcome: 'mounted', bytes: 0 };
      }
    }
  }
  ctx.onProgress?.({ type: 'blob-start', digest: d.digest, size: d.size });
  let body: AsyncIterable<Uint8Array>;
  if (b.inline !== undefined) {
    checkBytes(b.inline, d.digest, d.size, 'blob');
    body = once(b.inline);
  } else {
    body = await b.source.openBlob(d);
  }
  await target.putBlob(d, meter(body, ctx, d.digest, d.size), { knownAbsent: true });
  return { outcome: 'copied', bytes: d.size };
}

/** Repositories of the target store that hold the blob: the source itself when it lives there, then what this run saw. */
function mountCandidates(b: PlannedBlob, ctx: TransferContext): string[] {
  const { target } = ctx;
  const out: string[] = [];
  if (b.source.store.location === target.store.location && b.source.name !== target.name) out.push(b.source.name);
  for (const r of ctx.blobLocations.sourcesFor(target.store.location, b.descriptor.digest, target.name)) {
    if (!out.includes(r)) out.push(r);
  }
  return out;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** Passes chunks through, reporting progress and stopping the upload as soon as the copy is aborted. */
async function* meter(
  source: AsyncIterable<Uint8Array>,
  ctx: TransferContext,
  digest: PlannedBlob['descriptor']['digest'],
  size: number,
): AsyncGenerator<Uint8Array> {
  let done = 0;
  for await (const chunk of source) {
    ctx.signal.throwIfAborted();
    done += chunk.byteLength;
    ctx.onProgress?.({ type: 'blob-bytes', digest, size, done });
    yield chunk;
  }
}
