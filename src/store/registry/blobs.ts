import { AirlockError, isAirlockError } from '../../errors.js';
import { debug } from '../../log.js';
import { DigestVerifier, parseDigest, type Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import { failFromResponse, takeNodeBody } from './client.js';
import { streamed } from './gc-pacer.js';
import { discard, pullScope, type RepoContext } from './manifests.js';

function blobUrl(ctx: RepoContext, digest: Digest): string {
  return `/v2/${ctx.name}/blobs/${digest}`;
}

function blobNotFound(ctx: RepoContext, digest: Digest): AirlockError {
  return new AirlockError('NOT_FOUND', `The blob ${digest} does not exist in ${ctx.display}; the registry is missing content its manifest points to.`);
}

export async function statBlob(ctx: RepoContext, digest: Digest): Promise<number | undefined> {
  parseDigest(digest, 'blob digest');
  const res = await ctx.client.request({ method: 'HEAD', url: blobUrl(ctx, digest), scope: pullScope(ctx), retry: true });
  await discard(res);
  if (res.status === 404) return undefined;
  if (!res.ok) return failFromResponse(res, `the blob ${digest} in ${ctx.display}`);
  const size = Number(res.headers.get('content-length') ?? NaN);
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new AirlockError('REGISTRY_ERROR', `The registry did not say the size of the blob ${digest} in ${ctx.display}; it is not speaking the distribution protocol correctly.`);
  }
  return size;
}

/**
 * The first byte a `Content-Range: bytes START-END/TOTAL` header says a 206 body starts at, or undefined when
 * the header is missing or malformed (the body then cannot be placed and is not used).
 */
export function contentRangeStart(header: string | null): number | undefined {
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  return Number.isSafeInteger(start) && Number.isSafeInteger(end) && start <= end ? start : undefined;
}

async function requestBlob(ctx: RepoContext, descriptor: Descriptor, offset: number): Promise<Response> {
  const res = await ctx.client.request({
    method: 'GET',
    url: blobUrl(ctx, descriptor.digest),
    headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
    scope: pullScope(ctx),
    retry: true,
  });
  if (res.status === 404) {
    await discard(res);
    throw blobNotFound(ctx, descriptor.digest);
  }
  return res;
}

/** A body to continue from `offset`, with how many of its leading bytes were already delivered (to skip). */
interface Continuation {
  res: Response;
  skip: number;
}

/**
 * Asks for the rest of a blob after a cut. 206 at or before the offset continues it (the overlap is skipped);
 * 200 restarts it from byte 0 and the bytes already delivered are skipped; 416 means the blob is shorter than
 * its descriptor says, which the caller reports as INTEGRITY.
 */
async function resume(ctx: RepoContext, descriptor: Descriptor, offset: number): Promise<Continuation | undefined> {
  const res = await requestBlob(ctx, descriptor, offset);
  if (res.status === 416) {
    await discard(res);
    return undefined;
  }
  if (res.status === 206) {
    const start = contentRangeStart(res.headers.get('content-range'));
    if (start === undefined || start > offset) {
      await discard(res);
      throw new AirlockError('REGISTRY_ERROR', `The registry answered a resumed download of the blob ${descriptor.digest} with the wrong range; try again later.`);
    }
    return { res, skip: offset - start };
  }
  if (res.ok) return { res, skip: offset };
  return failFromResponse(res, `the blob ${descriptor.digest} in ${ctx.display}`);
}

/**
 * Streams a blob, hashing every byte delivered. A body cut mid-way (a connection reset, or a clean end short of
 * the size) is resumed with a Range request or restarted, a bounded number of times; the hash carries on
 * across resumes, so what is verified at the end is exactly what was delivered. Never buffers the blob.
 */
async function* streamVerified(ctx: RepoContext, descriptor: Descriptor, first: Response): AsyncGenerator<Uint8Array> {
  const verifier = new DigestVerifier(descriptor.digest, descriptor.size, 'blob');
  const maxResumes = Math.max(1, ctx.options.retries ?? 4);
  let current: Continuation = { res: first, skip: 0 };
  for (let resumes = 0; ; resumes++) {
    let cut: unknown;
    try {
      // undici's own body (Node Buffers as the socket read them), not the web stream over it.
      const body = takeNodeBody(current.res) ?? current.res.body;
      if (body) {
        for await (const raw of body) {
          let chunk: Uint8Array = raw;
          if (current.skip > 0) {
            const n = Math.min(current.skip, chunk.byteLength);
            current.skip -= n;
            chunk = chunk.subarray(n);
            if (chunk.byteLength === 0) continue;
          }
          verifier.update(chunk);
          streamed(chunk.byteLength);
          yield chunk;
        }
      }
    } catch (e) {
      if (isAirlockError(e)) throw e;
      cut = e;
    }
    if (cut === undefined && verifier.bytesSeen >= descriptor.size) break;
    if (resumes >= maxResumes) {
      if (cut === undefined) break; // ended short every time: finish() reports it as INTEGRITY
      throw new AirlockError(
        'UNREACHABLE',
        `The download of the blob ${descriptor.digest} from ${ctx.display} was cut ${resumes + 1} times; check the network and try again.`,
        { cause: cut },
      );
    }
    debug(ctx.options.logger, 'resuming blob download', { digest: descriptor.digest, offset: verifier.bytesSeen, attempt: resumes + 1 });
    await discard(current.res);
    const next = await resume(ctx, descriptor, verifier.bytesSeen);
    if (!next) break;
    current = next;
  }
  verifier.finish();
}

export async function openBlob(ctx: RepoContext, descriptor: Descriptor): Promise<AsyncIterable<Uint8Array>> {
  parseDigest(descriptor.digest, 'blob digest');
  const first = await requestBlob(ctx, descriptor, 0);
  if (!first.ok) return failFromResponse(first, `the blob ${descriptor.digest} in ${ctx.display}`);
  const stream = streamVerified(ctx, descriptor, first);
  // A generator that was never started does not run its cleanup on return(): release the first response here,
  // so a caller that decides not to read (the blob already exists in the target) leaks no connection.
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => stream.next(),
      return: async (value?: unknown) => {
        await discard(first);
        return stream.return(value);
      },
    }),
  };
}
