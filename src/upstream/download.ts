/**
 * Streaming download of one release asset from its `browser_download_url`.
 *
 * The GitHub token is never sent here — not to the first URL (which on GitHub Enterprise is the API's own host),
 * not across redirects: public release assets need no credentials, and a download is redirected to storage hosts
 * that must never see the token. Redirects are followed by hand so that each hop is checked before it is
 * contacted: https only (http only on loopback), at most MAX_REDIRECTS hops, and — when configured — only to the
 * listed hosts.
 *
 * The bytes are counted and hashed as they pass. More bytes than the asset's size fail at once (so the size bound
 * also bounds a hostile endless body); at the end, size and GitHub's `digest` must match. The last chunk is held
 * back until those checks pass, so a consumer that writes chunks as they come never holds the complete file
 * unless it matched. The checksums file remains the authority: GitHub's digest only proves the bytes are the ones
 * GitHub stored, so sync still checks each asset against the verified checksums.
 */
import { createHash } from 'node:crypto';
import { algorithmOf, type Digest } from '../oci/digest.js';
import { debug, type Logger } from '../log.js';
import { discard, fetchOnce, isAllowedScheme, isRedirect, MAX_REDIRECTS, redactUrl, USER_AGENT } from './http.js';
import { safeDetail, shown, upstreamError } from './refusal.js';
import type { UnverifiedAsset } from './release.js';

export const DEFAULT_MAX_ASSET_BYTES = 512 * 1024 * 1024;

export interface DownloadOptions {
  /** Default DEFAULT_MAX_ASSET_BYTES. */
  maxBytes?: number;
  /** Hosts the asset URL itself may be on (`host[:port]`). */
  downloadHosts: readonly string[];
  /** Hosts a redirect may lead to, or 'any' (still https-only). */
  redirectHosts: readonly string[] | 'any';
  signal?: AbortSignal;
  logger?: Logger;
}

export interface AssetDownload {
  readonly name: string;
  /** The asset's size; the stream yields exactly this many bytes or throws. */
  readonly size: number;
  /** GitHub's digest, checked while streaming; undefined for assets uploaded before GitHub recorded digests. */
  readonly digest: Digest | undefined;
  /** Iterate once. Throws INTEGRITY if the bytes do not match size or digest (before yielding the last chunk). */
  readonly stream: AsyncIterable<Uint8Array>;
  /** Releases the connection when the stream will not be read to its end. */
  cancel(): Promise<void>;
}

function hostAllowed(url: URL, hosts: readonly string[]): boolean {
  return hosts.some((h) => h.toLowerCase() === url.host.toLowerCase());
}

export async function downloadAsset(asset: UnverifiedAsset, o: DownloadOptions): Promise<AssetDownload> {
  const max = o.maxBytes ?? DEFAULT_MAX_ASSET_BYTES;
  const details = { asset: asset.name };
  if (asset.state !== 'uploaded') {
    throw upstreamError('REGISTRY_ERROR', 'asset-not-uploaded', `The asset ${shown(asset.name)} is not completely uploaded (state ${shown(asset.state)}); try again later.`, details);
  }
  if (asset.size > max) {
    throw upstreamError('LIMIT_EXCEEDED', 'asset-too-large', `The asset ${shown(asset.name)} is ${asset.size} bytes, over the ${max}-byte download limit.`, { ...details, limit: max });
  }
  let url = new URL(asset.url);
  if (!isAllowedScheme(url)) {
    throw upstreamError('INSECURE_REFUSED', 'asset-url-insecure', `Refusing to download ${shown(asset.name)} over plain http from ${shown(url.host)}.`, details);
  }
  if (!hostAllowed(url, o.downloadHosts)) {
    throw upstreamError('REGISTRY_ERROR', 'asset-url-host', `The asset ${shown(asset.name)} points at ${shown(url.host)}, which is not an expected download host.`, details);
  }

  let res: Response;
  for (let hop = 0; ; hop++) {
    // No Authorization header, ever: see the module comment.
    res = await fetchOnce(url, { headers: { accept: 'application/octet-stream', 'accept-encoding': 'identity', 'user-agent': USER_AGENT }, signal: o.signal ?? null }, 'The download host');
    debug(o.logger, 'asset download', { asset: asset.name, url: redactUrl(url), status: res.status });
    const location = res.headers.get('location');
    if (!isRedirect(res.status) || location === null) break;
    await discard(res);
    if (hop >= MAX_REDIRECTS) {
      throw upstreamError('REGISTRY_ERROR', 'redirect-loop', `The download of ${shown(asset.name)} was redirected more than ${MAX_REDIRECTS} times.`, details);
    }
    const next = new URL(location, url);
    if (!isAllowedScheme(next)) {
      throw upstreamError('INSECURE_REFUSED', 'redirect-insecure', `Refusing a redirect of ${shown(asset.name)} to ${shown(`${next.protocol}//${next.host}`)}: only https is allowed (plain http only on loopback).`, {
        ...details,
        host: safeDetail(next.host),
      });
    }
    if (o.redirectHosts !== 'any' && !hostAllowed(next, o.redirectHosts)) {
      throw upstreamError('REGISTRY_ERROR', 'redirect-host', `Refusing a redirect of ${shown(asset.name)} to ${shown(next.host)}, which is not an expected download host.`, {
        ...details,
        host: safeDetail(next.host),
      });
    }
    url = next;
  }
  if (res.status !== 200) {
    await discard(res);
    const code = res.status === 404 ? 'NOT_FOUND' : 'REGISTRY_ERROR';
    throw upstreamError(code, 'api-response-invalid', `Downloading ${shown(asset.name)} from ${safeDetail(url.host)} answered ${res.status}.`, { ...details, status: res.status });
  }
  const encoding = res.headers.get('content-encoding');
  if (encoding !== null && encoding.toLowerCase() !== 'identity') {
    // fetch would decode it, and the bytes we hash would no longer be the file.
    await discard(res);
    throw upstreamError('REGISTRY_ERROR', 'asset-encoding', `The download host served ${shown(asset.name)} with content-encoding ${shown(encoding)}; refusing bytes that are not the file itself.`, details);
  }
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) !== asset.size) {
    await discard(res);
    throw upstreamError('INTEGRITY', 'asset-size-mismatch', `The download of ${shown(asset.name)} declares ${Number(declared)} bytes where the release says ${asset.size}.`, details);
  }
  const body = res.body;
  return {
    name: asset.name,
    size: asset.size,
    digest: asset.digest,
    stream: verifiedChunks(body, asset),
    cancel: () => discard(res),
  };
}

async function* verifiedChunks(body: ReadableStream<Uint8Array> | null, asset: UnverifiedAsset): AsyncGenerator<Uint8Array> {
  const details = { asset: asset.name };
  const hash = asset.digest ? createHash(algorithmOf(asset.digest)) : undefined;
  let seen = 0;
  let held: Uint8Array | undefined;
  if (body) {
    for await (const chunk of body) {
      seen += chunk.byteLength;
      if (seen > asset.size) {
        throw upstreamError('INTEGRITY', 'asset-size-mismatch', `The download of ${shown(asset.name)} is longer than the ${asset.size} bytes the release says; stopped reading.`, details);
      }
      hash?.update(chunk);
      if (held) yield held;
      held = chunk;
    }
  }
  if (seen !== asset.size) {
    throw upstreamError('INTEGRITY', 'asset-size-mismatch', `The download of ${shown(asset.name)} ended after ${seen} of ${asset.size} bytes.`, details);
  }
  if (hash && asset.digest) {
    const actual = `${algorithmOf(asset.digest)}:${hash.digest('hex')}`;
    if (actual !== asset.digest) {
      throw upstreamError('INTEGRITY', 'asset-digest-mismatch', `The download of ${shown(asset.name)} hashes to ${actual}, not to GitHub's ${asset.digest}; refusing it.`, {
        ...details,
        expected: asset.digest,
        actual,
      });
    }
  }
  if (held) yield held;
}
