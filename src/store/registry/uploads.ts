import { AirlockError } from '../../errors.js';
import { debug } from '../../log.js';
import { DigestVerifier, parseDigest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import { isRepositoryPath } from '../../oci/reference.js';
import { statBlob } from './blobs.js';
import { failFromResponse, type RewindableBody, type Scope } from './client.js';
import { streamed } from './gc-pacer.js';
import { discard, pushScope, type RepoContext } from './manifests.js';

export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;
const OCTET_STREAM = 'application/octet-stream';
const EMPTY = new Uint8Array(0);

/**
 * How a blob goes out that is too large to be read whole first and sent in one PUT (see STREAM_SMALL_BLOB):
 * - `streamed`: POST → one PATCH carrying the whole blob (`Content-Range: 0-END`, `Content-Length: size`),
 *   pulled from the source only as fast as the socket drains and hashed as it goes → PUT ?digest= (no body).
 *   What skopeo (containers/image) and crane do; one round trip per blob instead of one per chunk, no copy.
 * - `chunked`: POST → PATCH chunks of `chunkSize`, stop-and-wait, each replayable → PUT ?digest=. The fallback
 *   when a registry refuses the streamed PATCH (see STREAM_REFUSED), and what an explicit
 *   `StoreOptions.chunkSize` selects (the option says "PATCH chunks of this size").
 * The default is `streamed`, unless `chunkSize` is given; `RegistryTuning.uploadMode` overrides both.
 */
export type UploadMode = 'streamed' | 'chunked';

/** Upload state one store shares between its repositories (and so between concurrent uploads). */
export class UploadState {
  /** Set once a registry refused a streamed PATCH: the rest of this run's uploads to it are chunked. */
  streamRefused = false;
  private readonly spare: Uint8Array[] = [];

  /** A chunk buffer, reused across chunked uploads instead of one fresh allocation per chunk. */
  takeBuffer(size: number): Uint8Array {
    const i = this.spare.findIndex((b) => b.byteLength === size);
    return i >= 0 ? this.spare.splice(i, 1)[0]! : new Uint8Array(size);
  }

  giveBack(buf: Uint8Array): void {
    if (this.spare.length < 4) this.spare.push(buf);
  }
}

/**
 * Answers to a streamed PATCH that say "not like this" rather than "not at all": the upload is started again
 * in chunks (the registry may want a Content-Length per request below some size, or no single request as big
 * as the blob). Only possible while the source has not been read past what the upload keeps (the first chunk):
 * a registry that refuses on the headers is caught in time; one that refuses after reading much is reported.
 */
const STREAM_REFUSED = new Set([400, 405, 411, 413, 415, 416, 501]);

/**
 * Streamed, a blob up to this size is read whole and checked, then sent with the PUT that commits it (two
 * requests, and a wrong blob never starts an upload); a larger one streams, its download and upload overlapping.
 * Chunked, the threshold is the chunk size.
 */
const STREAM_SMALL_BLOB = 1024 * 1024;

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
  if (res.status !== 202) return res.ok ? unexpected(ctx, res, descriptor) : failFromResponse(res, `the upload of the blob ${descriptor.digest} to ${ctx.display}`, { repository: ctx.name });
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
  if (!res.ok) return failFromResponse(res, `a chunk upload to ${ctx.display}`, { repository: ctx.name });
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
    return failFromResponse(res, `the upload of the blob ${descriptor.digest} to ${ctx.display}`, { repository: ctx.name });
  }
  await discard(res);
  const stored = res.headers.get('docker-content-digest')?.trim();
  if (stored && stored !== descriptor.digest) {
    throw new AirlockError('INTEGRITY', `The registry stored the blob ${descriptor.digest} as ${stored}; the registry altered it, so it cannot be trusted as a mirror.`);
  }
}

/** Reads a small body whole (≤ chunkSize, checked by the verifier as it arrives); a single piece is used as is. */
async function readSmall(body: AsyncIterable<Uint8Array>, verifier: DigestVerifier, size: number): Promise<Uint8Array> {
  let only: Uint8Array | undefined;
  let out: Uint8Array | undefined;
  for await (const piece of body) {
    if (piece.byteLength === 0) continue;
    const at = verifier.bytesSeen;
    verifier.update(piece); // throws before an overflowing piece is kept
    if (at === 0 && piece.byteLength === size) {
      only = piece; // any further byte overflows, so this is the whole blob
      continue;
    }
    out ??= new Uint8Array(size);
    out.set(piece, at);
  }
  verifier.finish();
  return only ?? out ?? EMPTY;
}

/**
 * The blob's bytes on their way out: read from the source once, hashed as they are read, and handed to each
 * attempt at sending them. It keeps the first `window` bytes it read (references, no copy), so an attempt
 * refused early — on its headers, by a 401, a 503 from a proxy, a registry that wants chunks — can be sent
 * again from byte 0; past the window it keeps nothing and can no longer rewind.
 *
 * Each attempt holds back the piece it last read until it has read the next one; the last piece is released
 * only after the source ended and the digest and size matched. A blob that does not match therefore never
 * completes a request body (a Content-Length request is cut short, a chunk is never sent), let alone reaches
 * the PUT ?digest= that would commit it.
 */
export class UploadSource implements RewindableBody {
  private readonly it: AsyncIterator<Uint8Array>;
  private readonly kept: Uint8Array[] = [];
  private keptBytes = 0;
  /** Pieces read from the source so far. */
  private pieces = 0;
  /** Read past the window: the kept prefix was dropped. */
  private spilled = false;
  private ended = false;
  private generation = 0;
  /** Reads are serialised: a superseded attempt may still be finishing one when the next attempt starts. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Why the source failed (INTEGRITY from the verifier, or its own read error); rethrown to every attempt. */
  failure: unknown = undefined;

  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly verifier: DigestVerifier,
    private readonly window: number,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  get rewindable(): boolean {
    return !this.spilled && this.failure === undefined;
  }

  /** Every byte was read and matched the descriptor. */
  get complete(): boolean {
    return this.ended && this.failure === undefined;
  }

  get bytesRead(): number {
    return this.verifier.bytesSeen;
  }

  open(): AsyncIterable<Uint8Array> | undefined {
    if (this.generation > 0 && !this.rewindable) return undefined;
    const gen = ++this.generation;
    return this.attempt(gen);
  }

  /** Releases the source (e.g. the download feeding it); the bytes already read stay valid. */
  async close(): Promise<void> {
    this.generation++;
    try {
      await this.it.return?.();
    } catch {
      // The source's own cleanup failed; nothing more will be read from it.
    }
  }

  private async *attempt(gen: number): AsyncGenerator<Uint8Array> {
    let held: Uint8Array | undefined;
    for (let index = 0; ; index++) {
      if (gen !== this.generation) return; // superseded: stop pulling
      const next = await this.piece(index);
      if (gen !== this.generation) return;
      if (held !== undefined) yield held;
      if (next === undefined) return;
      held = next;
    }
  }

  private piece(index: number): Promise<Uint8Array | undefined> {
    const p = this.chain.then(() => this.pieceNow(index));
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async pieceNow(index: number): Promise<Uint8Array | undefined> {
    if (this.failure !== undefined) throw this.failure;
    if (index < this.pieces) {
      const kept = this.spilled ? undefined : this.kept[index];
      if (kept === undefined) throw new AirlockError('REGISTRY_ERROR', 'An upload had to be sent again after its first bytes were released; try again.');
      return kept;
    }
    if (this.ended) return undefined;
    let piece: Uint8Array;
    try {
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        this.verifier.finish();
        return undefined;
      }
      piece = r.value;
      this.verifier.update(piece);
    } catch (e) {
      this.failure = e;
      throw e;
    }
    this.pieces++;
    streamed(piece.byteLength);
    if (!this.spilled) {
      if (this.keptBytes + piece.byteLength <= this.window) {
        this.kept.push(piece);
        this.keptBytes += piece.byteLength;
      } else {
        this.spilled = true;
        this.kept.length = 0;
        this.keptBytes = 0;
      }
    }
    return piece;
  }
}

/** Where an upload currently is: registries may move it on every request (docker-registry always does). */
interface Upload {
  location: string;
}

/** Sends the pieces as PATCH chunks of `chunk.byteLength`, reusing `chunk`; memory holds that one buffer. */
async function sendChunks(ctx: RepoContext, upload: Upload, pieces: AsyncIterable<Uint8Array>, chunk: Uint8Array): Promise<void> {
  const chunkSize = chunk.byteLength;
  let filled = 0;
  let sent = 0;
  for await (const piece of pieces) {
    for (let p = 0; p < piece.byteLength; ) {
      const n = Math.min(chunkSize - filled, piece.byteLength - p);
      chunk.set(piece.subarray(p, p + n), filled);
      filled += n;
      p += n;
      if (filled === chunkSize) {
        // request() has returned once the registry answered, so the buffer is free again.
        upload.location = await patchChunk(ctx, upload.location, chunk, sent);
        sent += filled;
        filled = 0;
      }
    }
  }
  // `pieces` ended only after the digest and size matched, so a wrong blob never gets as far as its last chunk.
  if (filled > 0) upload.location = await patchChunk(ctx, upload.location, chunk.subarray(0, filled), sent);
}

async function sendChunked(ctx: RepoContext, upload: Upload, pieces: AsyncIterable<Uint8Array>, chunkSize: number): Promise<void> {
  const state = ctx.uploads;
  const chunk = state ? state.takeBuffer(chunkSize) : new Uint8Array(chunkSize);
  try {
    await sendChunks(ctx, upload, pieces, chunk);
  } finally {
    state?.giveBack(chunk);
  }
}

/**
 * The whole blob in one PATCH, streamed from `src` with backpressure. Falls back to chunks (a new upload) when
 * the registry refuses the streamed PATCH in time to rewind; remembers that for the store's later uploads.
 */
async function sendStreamed(ctx: RepoContext, upload: Upload, src: UploadSource, descriptor: Descriptor, chunkSize: number): Promise<void> {
  const size = descriptor.size;
  const res = await ctx.client.request({
    method: 'PATCH',
    url: upload.location,
    headers: { 'Content-Type': OCTET_STREAM, 'Content-Range': `0-${size - 1}`, 'Content-Length': String(size) },
    body: src,
    scope: pushScope(ctx),
    retry: true,
  });
  if (src.failure !== undefined) {
    await discard(res);
    throw src.failure;
  }
  if (res.ok) {
    await discard(res);
    if (!src.complete) {
      throw new AirlockError('REGISTRY_ERROR', `The registry accepted an upload to ${ctx.display} after ${src.bytesRead} of its ${size} bytes; it is not speaking the distribution protocol correctly.`);
    }
    const got = uploadRangeEnd(res.headers.get('range'));
    if (got !== undefined && got !== size - 1) {
      throw new AirlockError('REGISTRY_ERROR', `The registry holds bytes 0-${got} of an upload to ${ctx.display} where 0-${size - 1} were sent; try again.`);
    }
    upload.location = nextLocation(ctx, res, upload.location);
    return;
  }
  const pieces = STREAM_REFUSED.has(res.status) ? src.open() : undefined;
  if (ctx.uploads && STREAM_REFUSED.has(res.status)) ctx.uploads.streamRefused = true;
  if (!pieces) return failFromResponse(res, `the upload of the blob ${descriptor.digest} to ${ctx.display}`, { repository: ctx.name });
  await discard(res);
  debug(ctx.options.logger, 'the registry refused a streamed upload; sending it in chunks', { repository: ctx.display, status: res.status, digest: descriptor.digest });
  await cancelUpload(ctx, upload.location);
  upload.location = await startUpload(ctx, descriptor);
  await sendChunked(ctx, upload, pieces, chunkSize);
}

function uploadModeOf(ctx: RepoContext): UploadMode {
  if (ctx.uploads?.streamRefused) return 'chunked';
  return ctx.uploadMode ?? (ctx.options.chunkSize !== undefined ? 'chunked' : 'streamed');
}

async function closeQuietly(body: AsyncIterable<Uint8Array>): Promise<void> {
  try {
    await body[Symbol.asyncIterator]().return?.();
  } catch {
    // The source's own cleanup failed; nothing was read from it, so nothing is lost.
  }
}

export interface PutBlobOptions {
  /** The caller has just checked that the blob is absent (the copy engine's HEAD): do not HEAD it again. */
  knownAbsent?: boolean;
}

/**
 * POST → PUT with the body for a small blob (see STREAM_SMALL_BLOB); a larger one POST → one streamed PATCH (or
 * PATCH chunks, see UploadMode) → PUT ?digest=. The bytes are hashed as they stream and the final PUT is sent
 * only when digest and size match; otherwise the upload is cancelled (DELETE) and no blob becomes visible.
 * `knownAbsent` skips the HEAD that otherwise makes putting a blob that is already there a no-op.
 */
export async function putBlob(ctx: RepoContext, descriptor: Descriptor, body: AsyncIterable<Uint8Array>, opts: PutBlobOptions = {}): Promise<void> {
  parseDigest(descriptor.digest, 'blob digest');
  if (!opts.knownAbsent && (await statBlob(ctx, descriptor.digest)) === descriptor.size) {
    debug(ctx.options.logger, 'blob already present', { repository: ctx.display, digest: descriptor.digest });
    return closeQuietly(body);
  }
  const chunkSize = Math.max(1, ctx.options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const streamed = uploadModeOf(ctx) === 'streamed';
  const verifier = new DigestVerifier(descriptor.digest, descriptor.size, 'blob');
  // Streamed, only what is small enough to hold cheaply is read first (no download/upload overlap otherwise).
  if (descriptor.size <= (streamed ? Math.min(chunkSize, STREAM_SMALL_BLOB) : chunkSize)) {
    // A small blob is read and checked before anything is sent: a wrong one never even starts an upload.
    const small = await readSmall(body, verifier, descriptor.size);
    const location = await startUpload(ctx, descriptor);
    try {
      await finishUpload(ctx, location, descriptor, small);
    } catch (e) {
      await cancelUpload(ctx, location);
      throw e;
    }
    return;
  }
  // Streamed, the first chunk's worth is kept so a refused PATCH can be sent again or in chunks.
  const src = new UploadSource(body, verifier, streamed ? chunkSize : 0);
  try {
    const upload: Upload = { location: await startUpload(ctx, descriptor) };
    try {
      if (streamed) await sendStreamed(ctx, upload, src, descriptor, chunkSize);
      else await sendChunked(ctx, upload, src.open()!, chunkSize);
      await finishUpload(ctx, upload.location, descriptor, EMPTY);
    } catch (e) {
      await cancelUpload(ctx, upload.location);
      // The source's own failure (a blob that does not match, a download that broke) is the real cause.
      throw src.failure ?? e;
    }
  } finally {
    await src.close();
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
  return failFromResponse(res, `the mount of the blob ${descriptor.digest} into ${ctx.display}`, { repository: ctx.name });
}
