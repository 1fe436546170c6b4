import { AirlockError, isAirlockError } from '../../errors.js';
import { debug } from '../../log.js';
import type { StoreOptions } from '../options.js';
import { Authenticator, type Scope } from './auth.js';
import { DispatcherPool } from './dispatchers.js';
import { sendRequest, type WireBody } from './http.js';
import { apiHost, assertSchemeAllowed, hostOf, isLoopbackHost, redactUrl, sameOrigin, schemeFor } from './endpoint.js';
import { isAbortError, isDroppedConnection, unreachable } from './network-errors.js';
import { proxyDisplay, proxyEnvFrom } from './proxy-env.js';
import { discardBody, readBodyLimited } from './response-errors.js';
import { DEFAULT_RETRIES, DEFAULT_RETRY_BASE_MS, DEFAULT_RETRY_MAX_WAIT_MS, isRetryableStatus, sleep, waitFor, type RetryPolicy } from './retry.js';
import { Semaphore } from './semaphore.js';

export type { Scope } from './auth.js';
export { failFromResponse } from './response-errors.js';
export { takeNodeBody } from './http.js';

/**
 * A streamed request body that can be sent again from its first byte for as long as it still holds every byte
 * it has read from its source (uploads keep the first chunk's worth). The client resends it like a Uint8Array
 * body — retries, the replay after a 401, a 307/308 — while `open()` succeeds, and treats it as a one-shot
 * stream once it does not.
 */
export interface RewindableBody {
  /** The body from its first byte, ending any earlier iteration; undefined once that is no longer possible. */
  open(): AsyncIterable<Uint8Array> | undefined;
  /** Whether open() would succeed now. */
  readonly rewindable: boolean;
}

export function isRewindableBody(b: unknown): b is RewindableBody {
  return typeof b === 'object' && b !== null && typeof (b as Partial<RewindableBody>).open === 'function' && 'rewindable' in b;
}

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** Path+query relative to the registry root ("/v2/foo/manifests/latest") or an absolute URL (upload Location). */
  url: string;
  headers?: Record<string, string>;
  /**
   * Uint8Array bodies can be replayed (retries, 401 re-auth); a RewindableBody while it can rewind; other
   * streaming bodies cannot, and are not retried. Streamed bodies are pulled only as fast as the socket drains.
   */
  body?: RequestBody;
  scope?: Scope[];
  /**
   * Default true for GET/HEAD/PUT/DELETE with a Uint8Array, rewindable or no body; false for POST/PATCH. Never
   * for a plain streamed body, nor for a rewindable one that can no longer rewind.
   */
  retry?: boolean;
  /** Follow redirects (default true). Authorization is sent only to the registry's own origin, never across a redirect to another origin (S3 presigned URLs). */
  followRedirects?: boolean;
  signal?: AbortSignal;
}

export type RequestBody = Uint8Array | AsyncIterable<Uint8Array> | RewindableBody;

interface Exchange {
  method: string;
  headers: Record<string, string>;
  /** What the caller gave; each (re)send opens it with bodyToSend(). */
  source: RequestBody | undefined;
  followRedirects: boolean;
  signal: AbortSignal | undefined;
}

/** bodyToSend()'s answer when a body cannot be sent again. */
const SPENT = Symbol('spent');

/** What to put on the wire for a (re)send of `source`; SPENT when it cannot be sent (again). */
function bodyToSend(source: RequestBody | undefined, first: boolean): WireBody | typeof SPENT {
  if (source === undefined || source instanceof Uint8Array) return source;
  if (isRewindableBody(source)) return source.open() ?? SPENT;
  return first ? source : SPENT;
}

/** Whether `source` can be sent again after a first attempt. */
function resendable(source: RequestBody | undefined): boolean {
  if (source === undefined || source instanceof Uint8Array) return true;
  return isRewindableBody(source) && source.rewindable;
}

const MAX_REDIRECTS = 5;
/** Headers that carry credentials: never sent to an origin other than the one they were meant for. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/**
 * The HTTP layer of the registry backend: scheme policy, TLS trust, proxies, authentication, retries, redirects
 * and a per-client concurrency limit, under one `request()`. The protocol (manifests, blobs, uploads…) lives in
 * the modules above it; they see a Response whose body they consume, or a typed AirlockError.
 */
export class RegistryClient {
  readonly registry: string;
  readonly baseUrl: string;
  private readonly origin: URL;
  private readonly pool: DispatcherPool;
  private readonly auth: Authenticator;
  private readonly semaphore: Semaphore;
  private readonly policy: RetryPolicy;
  private closed = false;

  constructor(registry: string /* host[:port], 'docker.io' maps to registry-1.docker.io */, private readonly options: StoreOptions) {
    if (!/^[A-Za-z0-9.[\]:-]+$/.test(registry) || registry.includes('/')) {
      throw new AirlockError('BAD_INPUT', `"${registry.slice(0, 100)}" is not a registry host[:port]; write e.g. ghcr.io or 127.0.0.1:5000.`);
    }
    this.registry = registry;
    this.baseUrl = `${schemeFor(registry, options)}://${apiHost(registry).toLowerCase()}`;
    this.origin = new URL(this.baseUrl);
    this.pool = new DispatcherPool(options, proxyEnvFrom(process.env));
    this.auth = new Authenticator(registry, options, (url, init) =>
      // The realm's own origin is the only one that may see the Basic credentials in init.headers.
      this.exchange(url, url, { method: init.method, headers: init.headers, source: init.body, followRedirects: true, signal: undefined }, init.body, undefined, true, 'token service'),
    );
    this.semaphore = new Semaphore(Math.max(1, Math.floor(options.maxConcurrentRequests ?? 6)));
    this.policy = {
      retries: Math.max(0, options.retries ?? DEFAULT_RETRIES),
      baseMs: options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS,
      maxWaitMs: options.retryMaxWaitMs ?? DEFAULT_RETRY_MAX_WAIT_MS,
    };
  }

  /** Resolves a Location header against `relativeTo` (default: the registry root). */
  resolveUrl(location: string, relativeTo?: string): string {
    return new URL(location, relativeTo ?? `${this.baseUrl}/`).toString();
  }

  /**
   * Sends a request and returns the response with its body unconsumed. A 401 is handled here (challenge →
   * credentials → one replay) and never returned: a 401 that persists throws AUTH_FAILED. Retryable statuses
   * are retried; when retries run out the last response is returned for `failFromResponse`.
   */
  async request(req: RegistryRequest): Promise<Response> {
    if (this.closed) throw new AirlockError('INTERNAL', `The client for ${this.registry} was used after close().`);
    const url = new URL(this.resolveUrl(req.url));
    assertSchemeAllowed(url, this.options, `registry ${this.registry}`);
    const replayable = req.body === undefined || req.body instanceof Uint8Array;
    const idempotent = req.method === 'GET' || req.method === 'HEAD' || req.method === 'PUT' || req.method === 'DELETE';
    const retry = (replayable || isRewindableBody(req.body)) && (req.retry ?? idempotent);
    // A streamed body may not be replayable after a 401, so learn the registry's auth scheme first.
    if (!replayable && this.auth.unknown) await this.prime(req.signal);
    const ex: Exchange = { method: req.method, headers: req.headers ?? {}, source: req.body, followRedirects: req.followRedirects ?? true, signal: req.signal };
    let body = bodyToSend(req.body, true);
    if (body === SPENT) throw new AirlockError('INTERNAL', `A request body for ${redactUrl(url)} was already consumed.`);
    for (let authAttempt = 0; ; authAttempt++) {
      const authorization = await this.auth.headerFor(req.scope);
      const res = await this.exchange(url, this.origin, ex, body, authorization, retry, 'registry');
      if (res.status !== 401 || !sameOrigin(new URL(res.url || url.href), this.origin)) {
        if (authorization === undefined && res.status < 400) this.auth.noteAnonymousSuccess();
        return res;
      }
      const again = authAttempt === 0 && resendable(req.body) ? bodyToSend(req.body, false) : SPENT;
      if (again === SPENT) {
        await discardBody(res);
        throw await this.auth.failure(req.scope);
      }
      try {
        await this.auth.onUnauthorized(res, req.scope, authorization);
      } finally {
        await discardBody(res);
      }
      body = again;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
  }

  private async prime(signal: AbortSignal | undefined): Promise<void> {
    const res = await this.request({ method: 'GET', url: '/v2/', ...(signal ? { signal } : {}) });
    await discardBody(res);
  }

  /** One logical exchange: retries (when allowed, and while the body can be resent) around a redirect-following send. */
  private async exchange(url: URL, credentialOrigin: URL, ex: Exchange, body: WireBody, authorization: string | undefined, retry: boolean, what: string): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.policy.retries || !retry;
      let res: Response;
      try {
        res = await this.follow(url, credentialOrigin, ex, body, authorization, what);
      } catch (e) {
        if (!last && isDroppedConnection(e) && resendable(ex.source)) {
          const again = bodyToSend(ex.source, false);
          if (again !== SPENT) {
            const wait = waitFor(undefined, attempt, this.policy);
            debug(this.options.logger, 'retrying after a dropped connection', { url: redactUrl(url), wait });
            await sleep(wait, ex.signal);
            body = again;
            continue;
          }
        }
        throw e;
      }
      if (last || !isRetryableStatus(res.status, ex.method) || !resendable(ex.source)) return res;
      // Opened before the wait: a streamed body's earlier attempt stops pulling from its source now.
      const again = bodyToSend(ex.source, false);
      if (again === SPENT) return res;
      const wait = waitFor(res, attempt, this.policy);
      debug(this.options.logger, 'retrying after a retryable status', { url: redactUrl(url), status: res.status, wait });
      await discardBody(res);
      await sleep(wait, ex.signal);
      body = again;
    }
  }

  /**
   * Sends, following redirects itself so credentials never cross origins and https never downgrades.
   * `authorization` and credential headers in `ex.headers` go only to `credentialOrigin` — also on the first
   * hop, since an absolute URL (an upload Location) may already point elsewhere.
   */
  private async follow(start: URL, credentialOrigin: URL, ex: Exchange, first: WireBody, authorization: string | undefined, what: string): Promise<Response> {
    let url = start;
    let method = ex.method;
    let body = first;
    for (let hop = 0; ; hop++) {
      if (hop > 0) assertSchemeAllowed(url, this.options, `a redirect from ${this.registry}`);
      const headers: Record<string, string> = {};
      const crossOrigin = !sameOrigin(url, credentialOrigin);
      for (const [k, v] of Object.entries(ex.headers)) if (!(crossOrigin && CREDENTIAL_HEADERS.has(k.toLowerCase()))) headers[k] = v;
      if (authorization !== undefined && !crossOrigin) headers.authorization = authorization;
      const res = await this.send(url, method, headers, body, ex.signal, crossOrigin ? 'storage host' : what);
      const location = res.headers.get('location');
      if (!ex.followRedirects || ![301, 302, 303, 307, 308].includes(res.status) || location === null) return res;
      await discardBody(res);
      if (hop >= MAX_REDIRECTS) {
        throw new AirlockError('REGISTRY_ERROR', `Registry ${this.registry} redirected more than ${MAX_REDIRECTS} times for ${url.pathname}; check the registry's storage configuration.`);
      }
      const next = new URL(location, url);
      if (url.protocol === 'https:' && next.protocol === 'http:' && !isLoopbackHost(next.hostname)) {
        throw new AirlockError('INSECURE_REFUSED', `Refusing a redirect from HTTPS to plain HTTP (${hostOf(next)}) sent by registry ${this.registry}; its storage must be served over HTTPS.`);
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      } else if (body !== undefined && !(body instanceof Uint8Array)) {
        const again = resendable(ex.source) ? bodyToSend(ex.source, false) : SPENT;
        if (again === SPENT) {
          throw new AirlockError('REGISTRY_ERROR', `Registry ${this.registry} redirected a streamed upload (${res.status}), which cannot be resent; upload to the redirect target directly.`);
        }
        body = again;
      }
      url = next;
    }
  }

  /** One HTTP round trip under the concurrency limit, network failures mapped to UNREACHABLE. */
  private async send(url: URL, method: string, headers: Record<string, string>, body: WireBody, signal: AbortSignal | undefined, what: string): Promise<Response> {
    const { dispatcher, proxy } = this.pool.forUrl(url);
    const release = await this.semaphore.acquire();
    let res: Response;
    try {
      const sent = sendRequest(dispatcher, url, method, headers, body, signal);
      // A streamed body holds its request open until its last byte is sent, and its source may need this client
      // too (a cut download resumed from the same registry): it takes a slot to start, not for its whole length.
      if (body !== undefined && !(body instanceof Uint8Array)) release();
      res = await sent;
    } catch (e) {
      // A streamed body's own failure (INTEGRITY from the hashing upload, a source that could not be read) and
      // an abort are not network failures of this registry.
      if (isAbortError(e) || isAirlockError(e)) throw e;
      // Still recognisable as a dropped connection (through `cause`), so exchange() can retry it.
      throw unreachable(e, hostOf(url), what, proxy ? proxyDisplay(proxy) : undefined);
    } finally {
      // Released once the headers are in: a caller that never reads a body must not starve the others.
      release();
    }
    await this.rejectHttpToHttps(res, url);
    return res;
  }

  /**
   * A TLS server spoken to in plain HTTP (a loopback registry with TLS and no --registry-ca) answers a bare
   * 400 without headers; say what to do instead of reporting a protocol error.
   */
  private async rejectHttpToHttps(res: Response, url: URL): Promise<void> {
    if (res.status !== 400 || url.protocol !== 'http:' || res.headers.has('content-type')) return;
    const clone = res.clone();
    const bytes = await readBodyLimited(clone, 4096).catch(() => undefined);
    if (bytes && /HTTP request to an HTTPS server/i.test(Buffer.from(bytes).toString('utf8'))) {
      await discardBody(res);
      throw new AirlockError('UNREACHABLE', `Cannot reach registry ${hostOf(url)} over plain HTTP: it serves HTTPS; pass --registry-ca ${hostOf(url)}=FILE with the CA certificate (PEM) that signed it.`);
    }
  }
}
