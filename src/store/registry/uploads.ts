import { AirlockError } from '../../errors.js';
import { debug } from '../../log.js';
import { DigestVerifier, parseDigest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import { isRepositoryPath } from '../../oci/reference.js';
import { statBlob } from './blobs.js';
import { failFromResponse, type Scope } from './client.js';
import { discard, pushScope, type RepoContext } from './manifests.js';

export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;
const OCTET_STREAM = 'application/octet-stream';

/** Appends `digest=` to an upload URL without re-encoding the registry's own (often opaque, signed) query. */
export function withDigestParam(url: string, digest: string): string {
  const hash = url.indexOf('#');
  const base = hash >= 0 ? url.slice(0, hash) : url;
  return `${base}${base.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

/** The end offset of an upload's `Range: 0-END` header (inclusive), or undefined. */
export function uploadRangeEnd(header: string | null): number | undefined {
  const m = /^\s*(?:bytes=)?0-(\d+)\s*$/.exec(header ?? '');
  return m ? Number(m[1]) : undefined;
}

function locationOf(ctx: RepoContext, res: Response, what: string): string {
  const loc = res.headers.get('location');
  if (!loc) {
    throw new AirlockError('REGISTRY_ERROR', `The registry gave no upload location for ${what} in ${ctx.display}; it is not speaking the distribution protocol correctly.`);
  }
  return ctx.client.resolveUrl(loc);
}

async function startUpload(ctx: RepoContext, descriptor: Descriptor): Promise<string> {
  // No body on the POST: docker-registry ignores a monolithic POST-with-body, so every upload is POST → PUT.
  const res = await ctx.client.request({ method: 'POST', url: `/v2/${ctx.name}/blobs/uploads/`, scope: pushScope(ctx), retry: true });
  if (res.status !== 202) return res.ok ? unexpected(ctx, res, descriptor) : failFromResponse(res, `the upload of the blob ${descriptor.digest} to ${ctx.display}`);
  await discard(res);
  return locationOf(ctx, res, `the blob ${descriptor.digest}`);
}

async function unexpected(ctx: RepoContext, res: Response, descriptor: Descriptor): Promise<never> {
  await discard(res);
  throw new AirlockError('REGISTRY_ERROR', `The registry answered ${res.status} when an upload of the blob ${descriptor.digest} to ${ctx.display} was started; it is not speaking the distribution protocol correctly.`);
}

/** Best effort: an abandoned upload is garbage-collected by the registry anyway. */
async function cancelUpload(ctx: RepoContext, location: string): Promise<void> {
  try {
    const res = await ctx.client.request({ method: 'DELETE', url: location, scope: pushScope(ctx), retry: false });
    await discard(res);
  } catch {
    // Nothing to do: the upload was never committed, so no blob became visible.
  }
}

/** The Location to continue an upload at: the one the registry just sent, else the current one. */
function nextLocation(ctx: RepoContext, res: Response, current: string): string {
  const loc = res.headers.get('location');
  return loc ? ctx.client.resolveUrl(loc) : current;
}

/**
 * Sends one chunk and returns the next Location (registries may change it on every PATCH; docker-registry signs
 * the upload state into it). On a conformant registry a retried PATCH whose first attempt did land gets 416:
 * the upload's status then tells whether this chunk is in, and the upload carries on from there.
 * docker-registry instead invalidates a stale Location (404 BLOB_UPLOAD_INVALID): that upload fails, and the
 * blob has to be copied again from its source.
 */
async function patchChunk(ctx: RepoContext, location: string, chunk: Uint8Array, start: number): Promise<string> {
  const end = start + chunk.byteLength - 1;
  const res = await ctx.client.request({
    method: 'PATCH',
    url: location,
    headers: { 'Content-Type': OCTET_STREAM, 'Content-Range': `${start}-${end}` },
    body: chunk,
    scope: pushScope(ctx),
    retry: true,
  });
  if (res.status === 416) {
    await discard(res);
    return uploadStatus(ctx, location, end);
  }
  if (!res.ok) return failFromResponse(res, `a chunk upload to ${ctx.display}`);
  await discard(res);
  const got = uploadRangeEnd(res.headers.get('range'));
  if (got !== undefined && got !== end) {
    throw new AirlockError('REGISTRY_ERROR', `The registry holds bytes 0-${got} of an upload to ${ctx.display} where 0-${end} were sent; try again.`);
  }
  return nextLocation(ctx, res, location);
}

async function uploadStatus(ctx: RepoContext, location: string, expectedEnd: number): Promise<string> {
  const res = await ctx.client.request({ method: 'GET', url: location, scope: pushScope(ctx), retry: true });
  await discard(res);
  if (res.ok && uploadRangeEnd(res.headers.get('range')) === expectedEnd) return nextLocation(ctx, res, location);
  throw new AirlockError('REGISTRY_ERROR', `The registry refused a chunk of an upload to ${ctx.display} as out of order; try again.`);
}

/** Commits the upload; only called once the streamed bytes matched the descriptor's digest and size. */
async function finishUpload(ctx: RepoContext, location: string, descriptor: Descriptor, last: Uint8Array): Promise<void> {
  const res = await ctx.client.request({
    method: 'PUT',
    url: withDigestParam(location, descriptor.digest),
    headers: { 'Content-Type': OCTET_STREAM },
    body: last,
    scope: pushScope(ctx),
    retry: true,
  });
  if (!res.ok) {
    // A retried PUT whose first attempt committed finds no upload any more: the blob itself says whether it landed.
    if ((await statBlob(ctx, descriptor.digest)) === descriptor.size) return discard(res);
    return failFromResponse(res, `the upload of the blob ${descriptor.digest} to ${ctx.display}`);
  }
  await discard(res);
  const stored = res.headers.get('docker-content-digest')?.trim();
  if (stored && stored !== descriptor.digest) {
    throw new AirlockError('INTEGRITY', `The registry stored the blob ${descriptor.digest} as ${stored}; the registry altered it, so it cannot be trusted as a mirror.`);
  }
}

/** Reads a small body whole (≤ chunkSize, checked by the verifier as it arrives). */
async function readSmall(body: AsyncIterable<Uint8Array>, verifier: DigestVerifier, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  for await (const piece of body) {
    const at = verifier.bytesSeen;
    verifier.update(piece); // throws before an overflowing piece is copied
    out.set(piece, at);
  }
  verifier.finish();
  return out;
}

/** Streams a large body as PATCH chunks of `chunkSize`; memory holds one chunk. Returns the latest Location. */
async function sendChunks(ctx: RepoContext, location: string, body: AsyncIterable<Uint8Array>, verifier: DigestVerifier, chunkSize: number): Promise<string> {
  let buf = new Uint8Array(chunkSize);
  let filled = 0;
  let sent = 0;
  for await (const piece of body) {
    verifier.update(piece);
    for (let p = 0; p < piece.byteLength; ) {
      const n = Math.min(chunkSize - filled, piece.byteLength - p);
      buf.set(piece.subarray(p, p + n), filled);
      filled += n;
      p += n;
      if (filled === chunkSize) {
        location = await patchChunk(ctx, location, buf, sent);
        sent += filled;
        buf = new Uint8Array(chunkSize);
        filled = 0;
      }
    }
  }
  // Checked before the last chunk goes out, so a wrong blob never gets as far as the final PUT.
  verifier.finish();
  if (filled > 0) location = await patchChunk(ctx, location, buf.subarray(0, filled), sent);
  return location;
}

async function closeQuietly(body: AsyncIterable<Uint8Array>): Promise<void> {
  try {
    await body[Symbol.asyncIterator]().return?.();
  } catch {
    // The source's own cleanup failed; nothing was read from it, so nothing is lost.
  }
}

/**
 * POST → PUT with the body (up to chunkSize), or POST → PATCH chunks → PUT ?digest=. The bytes are hashed as they stream and the final
 * PUT is sent only when digest and size match; otherwise the upload is cancelled and no blob becomes visible.
 */
export async function putBlob(ctx: RepoContext, descriptor: Descriptor, body: AsyncIterable<Uint8Array>): Promise<void> {
  parseDigest(descriptor.digest, 'blob digest');
  if ((await statBlob(ctx, descriptor.digest)) === descriptor.size) {
    debug(ctx.options.logger, 'blob already present', { repository: ctx.display, digest: descriptor.digest });
    return closeQuietly(body);
  }
  const chunkSize = Math.max(1, ctx.options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const verifier = new DigestVerifier(descriptor.digest, descriptor.size, 'blob');
  // A small blob is read and checked before anything is sent: a wrong one never even starts an upload.
  const small = descriptor.size <= chunkSize ? await readSmall(body, verifier, descriptor.size) : undefined;
  let location = await startUpload(ctx, descriptor);
  try {
    if (small) {
      await finishUpload(ctx, location, descriptor, small);
    } else {
      location = await sendChunks(ctx, location, body, verifier, chunkSize);
      await finishUpload(ctx, location, descriptor, new Uint8Array(0));
    }
  } catch (e) {
    await cancelUpload(ctx, location);
    throw e;
  }
}

/**
 * Cross-repository mount. 201: the registry linked the blob, true. 202: it started an ordinary upload instead
 * (docker-registry does when the source lacks the blob or the token has no pull on it): cancelled, false.
 */
export async function mountBlob(ctx: RepoContext, descriptor: Descriptor, fromRepository: string): Promise<boolean> {
  parseDigest(descriptor.digest, 'blob digest');
  if (!isRepositoryPath(fromRepository)) {
    throw new AirlockError('BAD_INPUT', `"${fromRepository.slice(0, 140)}" is not a valid repository path to mount a blob from.`);
  }
  const scope: Scope[] = [...pushScope(ctx), { repository: fromRepository, actions: ['pull'] }];
  const query = `mount=${encodeURIComponent(descriptor.digest)}&from=${encodeURIComponent(fromRepository)}`;
  const res = await ctx.client.request({ method: 'POST', url: `/v2/${ctx.name}/blobs/uploads/?${query}`, scope, retry: true });
  if (res.status === 201) {
    await discard(res);
    const stored = res.headers.get('docker-content-digest')?.trim();
    if (stored && stored !== descriptor.digest) {
      throw new AirlockError('INTEGRITY', `The registry mounted ${stored} when asked for ${descriptor.digest} in ${ctx.display}; it cannot be trusted as a mirror.`);
    }
    return true;
  }
  if (res.status === 202) {
    await discard(res);
    const loc = res.headers.get('location');
    if (loc) await cancelUpload(ctx, ctx.client.resolveUrl(loc));
    return false;
  }
  return failFromResponse(res, `the mount of the blob ${descriptor.digest} into ${ctx.display}`);
}
