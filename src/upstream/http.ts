/**
 * HTTP plumbing shared by the GitHub API client and asset downloads: which URLs may be contacted, bounded reads,
 * and GitHub's rate-limit answers. Plain http carries the token and content unprotected, so it is allowed only to
 * loopback addresses (the test fake and a local demo); every URL is checked before any connection is made.
 */
import { isLoopbackHost } from '../loopback.js';
import { AirlockError, messageOf } from '../errors.js';
import { safeDetail, shown, upstreamError } from './refusal.js';

export const USER_AGENT = 'airlock (+https://github.com/fluxcd/flux2 mirror)';
export const MAX_REDIRECTS = 5;

export { isLoopbackHost } from '../loopback.js';

/** https anywhere; http only to loopback. */
export function isAllowedScheme(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

export function sameOrigin(a: URL, b: URL): boolean {
  return a.origin === b.origin;
}

/** A URL for messages and logs: origin and path only (a presigned download URL's query is a credential). */
export function redactUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * Parses the API base (`https://api.github.com`, or `https://ghe.example/api/v3` for GitHub Enterprise). No
 * credentials, query or fragment: the base is joined with paths and its origin decides where the token may go.
 */
export function toApiBase(input: string): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch (e) {
    throw new AirlockError('BAD_INPUT', `The GitHub API base ${shown(input)} is not a URL; give e.g. https://api.github.com or https://ghe.example/api/v3.`, { cause: e });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AirlockError('BAD_INPUT', `The GitHub API base must be an https URL, not ${shown(url.protocol)}.`);
  }
  if (!isAllowedScheme(url)) {
    throw new AirlockError('INSECURE_REFUSED', `Refusing plain http to the GitHub API at ${shown(url.host)}: use https (plain http is allowed only to loopback addresses).`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new AirlockError('BAD_INPUT', 'The GitHub API base must not carry credentials, a query or a fragment; give the token through its environment variable.');
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** Reads a body up to `max` bytes, failing as soon as it is exceeded (a hostile server may stream forever). */
export async function readCapped(res: Response, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) {
    await discard(res);
    throw upstreamError('LIMIT_EXCEEDED', 'api-response-too-large', `The answer to ${what} is ${declared} bytes, over the ${max}-byte limit.`, { limit: max });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      size += chunk.byteLength;
      if (size > max) {
        throw upstreamError('LIMIT_EXCEEDED', 'api-response-too-large', `The answer to ${what} exceeds the ${max}-byte limit.`, { limit: max });
      }
      chunks.push(Buffer.from(chunk));
    }
  }
  return Buffer.concat(chunks);
}

export async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // already closed or errored: nothing left to release
  }
}

/**
 * GitHub's rate limits answer 403 or 429: the primary limit with `x-ratelimit-remaining: 0` (and the reset time
 * in `x-ratelimit-reset`, epoch seconds), secondary limits with `retry-after`. A 403 with neither is a plain
 * permission problem and is not reported as a rate limit.
 */
export function rateLimitError(res: Response, host: string, tokenEnv: string | undefined, hasToken: boolean): AirlockError | undefined {
  if (res.status !== 403 && res.status !== 429) return undefined;
  const remaining = res.headers.get('x-ratelimit-remaining');
  const retryAfter = res.headers.get('retry-after');
  if (res.status === 403 && remaining !== '0' && retryAfter === null) return undefined;
  const reset = Number(res.headers.get('x-ratelimit-reset'));
  const retrySeconds = Number(retryAfter);
  const until =
    retryAfter !== null && Number.isFinite(retrySeconds)
      ? new Date(Date.now() + retrySeconds * 1000)
      : Number.isFinite(reset) && reset > 0
        ? new Date(reset * 1000)
        : undefined;
  const when = until ? ` until ${until.toISOString()}` : '';
  const advice = hasToken ? 'wait and run again' : `set a GitHub token in ${tokenEnv ? `$${tokenEnv}` : 'the configured token variable'} (5000 requests an hour instead of 60) or wait`;
  return upstreamError('UNREACHABLE', 'rate-limited', `GitHub's API at ${safeDetail(host)} refuses more requests${when} (rate limit); ${advice}.`, {
    status: res.status,
    ...(until ? { retryAt: until.toISOString() } : {}),
    authenticated: hasToken,
  });
}

/** fetch, with network failures mapped to UNREACHABLE (the cause kept: it holds no headers, so no token). */
export async function fetchOnce(url: URL, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'manual' });
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') throw e; // the caller cancelled: not a network failure
    if (e instanceof Error && e.name === 'TimeoutError') {
      throw new AirlockError('UNREACHABLE', `${what} at ${safeDetail(url.host)} did not answer in time (${messageOf(e)}).`, { cause: e });
    }
    throw new AirlockError('UNREACHABLE', `${what} at ${safeDetail(url.host)} could not be reached (${messageOf(e)}); check the URL and the network.`, { cause: e });
  }
}

export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** The message GitHub put in an error answer, made safe to show (its API answers `{"message": …}`). */
export function githubMessage(body: Buffer): string | undefined {
  try {
    const json: unknown = JSON.parse(body.toString('utf8'));
    if (json && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') {
      return safeDetail((json as { message: string }).message, 200);
    }
  } catch {
    // not JSON: nothing to show
  }
  return undefined;
}
