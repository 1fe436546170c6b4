/**
 * A GitHub Releases client on the built-in fetch: list a repository's releases (Link pagination, bounded) and
 * read one by tag, with ETag revalidation through a caller's cache, and stream asset downloads (download.ts).
 * Works with GitHub Enterprise (`https://ghe.example/api/v3`).
 *
 * The token (read from an environment variable the caller names) goes only to the API origin: API redirects are
 * followed by hand and only within that origin, pagination links that leave it are refused, and downloads never
 * carry it (download.ts). It never appears in errors, logs or the cache.
 */
import { AirlockError } from '../errors.js';
import { debug, type Logger } from '../log.js';
import { downloadAsset, DEFAULT_MAX_ASSET_BYTES, type AssetDownload } from './download.js';
import {
  discard,
  fetchOnce,
  githubMessage,
  isRedirect,
  MAX_REDIRECTS,
  rateLimitError,
  readCapped,
  redactUrl,
  sameOrigin,
  toApiBase,
  USER_AGENT,
} from './http.js';
import { refusalReasonOf, safeDetail, shown, upstreamError, type UpstreamRefusalReason } from './refusal.js';
import { defaultDownloadHosts, PUBLIC_GITHUB_DOWNLOAD_HOSTS, toUnverifiedRelease, type UnverifiedAsset, type UnverifiedRelease } from './release.js';
import { isTag } from '../oci/reference.js';

/** A response body kept with its ETag, so a 304 can reuse it (sync's idempotency and GitHub's rate limit). */
export interface CachedResponse {
  etag: string;
  body: string;
  /** The `Link` header that came with it (a 304 need not repeat it). */
  link?: string;
}

/** The caller's cache, keyed by request URL; it may be synchronous or not. Never holds the token. */
export interface ResponseCache {
  get(url: string): CachedResponse | undefined | Promise<CachedResponse | undefined>;
  set(url: string, entry: CachedResponse): void | Promise<void>;
}

export interface GitHubClientOptions {
  /** Default https://api.github.com. */
  apiBase?: string;
  /** `owner/repo`, e.g. `fluxcd/flux2`. */
  repository: string;
  /** Name of the environment variable holding the token; unset or empty means anonymous. */
  tokenEnv?: string;
  /** Where `tokenEnv` is read; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  cache?: ResponseCache;
  /** Pages of 100 releases read at most (default 10). */
  maxPages?: number;
  perPage?: number;
  /** Bytes per API answer (default 32 MiB). */
  maxResponseBytes?: number;
  /** Hosts asset URLs may point at; default github.com's, or the API host for GitHub Enterprise. */
  downloadHosts?: readonly string[];
  /** Hosts downloads may be redirected to; default github.com's storage hosts, or 'any' for Enterprise. */
  redirectHosts?: readonly string[] | 'any';
  maxAssetBytes?: number;
  /** Per API request (default 30 s). */
  timeoutMs?: number;
  logger?: Logger;
}

export interface RefusedRelease {
  /** The release's tag_name when it had a string one (neutralised), for the record. */
  tag: string | undefined;
  reason: UpstreamRefusalReason;
  error: AirlockError;
}

export interface ReleaseListing {
  /** In the API's order (newest first). */
  releases: UnverifiedRelease[];
  /** Releases whose JSON was refused (hostile names, foreign download hosts…): sync records them. */
  refused: RefusedRelease[];
  pages: number;
  /** Pages answered 304 from the cache. */
  notModified: number;
  /** More pages existed beyond maxPages. */
  truncated: boolean;
}

const REPOSITORY_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

export class GitHubReleases {
  readonly apiBase: URL;
  readonly repository: string;
  readonly downloadHosts: readonly string[];
  // True private fields: not enumerable, so neither the token nor the environment it came from can leak through
  // JSON.stringify, a logger dumping the client, or util.inspect.
  readonly #token: string | undefined;
  readonly #o: Omit<GitHubClientOptions, 'env'>;

  constructor(options: GitHubClientOptions) {
    const { env, ...o } = options;
    this.#o = o;
    this.apiBase = toApiBase(o.apiBase ?? 'https://api.github.com');
    if (!REPOSITORY_RE.test(o.repository) || /\/\.\.?$/.test(o.repository)) {
      throw new AirlockError('BAD_INPUT', `The repository ${shown(o.repository)} is not a GitHub owner/name such as fluxcd/flux2.`);
    }
    this.repository = o.repository;
    this.downloadHosts = o.downloadHosts ?? defaultDownloadHosts(this.apiBase);
    const raw = o.tokenEnv === undefined ? undefined : (env ?? process.env)[o.tokenEnv];
    if (raw !== undefined && raw !== '' && !/^[\x21-\x7e]+$/.test(raw)) {
      // Do not echo the value: it is a secret, even when malformed.
      throw new AirlockError('BAD_INPUT', `The token in $${o.tokenEnv} contains spaces or control characters; set it to the bare token.`);
    }
    this.#token = raw === '' ? undefined : raw;
  }

  /** Every release, following `Link: rel="next"` up to maxPages. */
  async listReleases(): Promise<ReleaseListing> {
    const maxPages = this.#o.maxPages ?? 10;
    const perPage = Math.min(Math.max(this.#o.perPage ?? 100, 1), 100);
    let url: URL | undefined = this.apiUrl(`/repos/${this.repository}/releases?per_page=${perPage}`);
    const out: ReleaseListing = { releases: [], refused: [], pages: 0, notModified: 0, truncated: false };
    while (url !== undefined) {
      if (out.pages >= maxPages) {
        out.truncated = true;
        break;
      }
      const page = await this.getJson(url, 'the release list');
      out.pages++;
      if (page.notModified) out.notModified++;
      if (!Array.isArray(page.json)) {
        throw upstreamError('REGISTRY_ERROR', 'api-response-invalid', `GitHub's release list for ${this.repository} is not a JSON array.`);
      }
      for (const item of page.json) {
        try {
          out.releases.push(toUnverifiedRelease(item, { downloadHosts: this.downloadHosts, repository: this.repository }));
        } catch (e) {
          const reason = refusalReasonOf(e);
          if (reason === undefined) throw e;
          const tag = (item as { tag_name?: unknown } | null)?.tag_name;
          out.refused.push({ tag: typeof tag === 'string' ? safeDetail(tag, 128) : undefined, reason, error: e as AirlockError });
        }
      }
      url = page.json.length === 0 ? undefined : this.nextPage(page.link);
    }
    return out;
  }

  /** One release by tag; NOT_FOUND when there is none (drafts have no tag yet and are never found). */
  async getRelease(tag: string): Promise<UnverifiedRelease> {
    if (!isTag(tag)) throw new AirlockError('BAD_INPUT', `${shown(tag)} is not a release tag such as v2.9.4.`);
    const page = await this.getJson(this.apiUrl(`/repos/${this.repository}/releases/tags/${encodeURIComponent(tag)}`), `release ${tag}`);
    const release = toUnverifiedRelease(page.json, { downloadHosts: this.downloadHosts, repository: this.repository });
    if (release.tag !== tag) {
      throw upstreamError('REGISTRY_ERROR', 'release-tag-mismatch', `GitHub answered the request for release ${shown(tag)} with release ${shown(release.tag)}.`, { tag });
    }
    return release;
  }

  /** Streams an asset (never with the token); see download.ts. */
  downloadAsset(asset: UnverifiedAsset, opts: { signal?: AbortSignal; maxBytes?: number } = {}): Promise<AssetDownload> {
    const publicGitHub = this.apiBase.host.toLowerCase() === 'api.github.com';
    return downloadAsset(asset, {
      maxBytes: opts.maxBytes ?? this.#o.maxAssetBytes ?? DEFAULT_MAX_ASSET_BYTES,
      downloadHosts: this.downloadHosts,
      redirectHosts: this.#o.redirectHosts ?? (publicGitHub ? PUBLIC_GITHUB_DOWNLOAD_HOSTS : 'any'),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(this.#o.logger ? { logger: this.#o.logger } : {}),
    });
  }

  private apiUrl(pathAndQuery: string): URL {
    return new URL(`${this.apiBase.href.replace(/\/+$/, '')}${pathAndQuery}`);
  }

  /**
   * The `rel="next"` URL of a Link header. It must stay on the API origin under the API base path: the token is
   * sent with it, so a link elsewhere would hand the token to whoever it names.
   */
  private nextPage(link: string | undefined): URL | undefined {
    if (!link) return undefined;
    for (const part of link.split(',')) {
      const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
      if (!m || !/(?:^|;)\s*rel="?next"?\s*(?:;|$)/.test(m[2]!)) continue;
      let next: URL;
      try {
        next = new URL(m[1]!, this.apiBase);
      } catch (e) {
        throw upstreamError('REGISTRY_ERROR', 'api-response-invalid', "GitHub's pagination link is not a URL.", {}, e);
      }
      const base = this.apiBase.pathname.replace(/\/+$/, '');
      if (!sameOrigin(next, this.apiBase) || !next.pathname.startsWith(`${base}/`) || next.username || next.password) {
        throw upstreamError('INSECURE_REFUSED', 'pagination-cross-origin', `GitHub's pagination link points at ${shown(next.host)}${shown(next.pathname, 60)}, outside the API; refusing to send the token there.`, {
          host: safeDetail(next.host),
        });
      }
      return next;
    }
    return undefined;
  }

  /** GET with the token, ETag revalidation and same-origin redirects; JSON out. */
  private async getJson(start: URL, what: string): Promise<{ json: unknown; link: string | undefined; notModified: boolean }> {
    const key = start.href;
    const cached = await this.#o.cache?.get(key);
    let url = start;
    let res: Response;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'user-agent': USER_AGENT };
      // Only ever on the API origin: redirects that leave it are refused below, before they are followed.
      if (this.#token !== undefined && sameOrigin(url, this.apiBase)) headers.authorization = `Bearer ${this.#token}`;
      if (cached) headers['if-none-match'] = cached.etag;
      res = await fetchOnce(url, { headers, signal: AbortSignal.timeout(this.#o.timeoutMs ?? 30_000) }, "GitHub's API");
      debug(this.#o.logger, 'github api', { url: redactUrl(url), status: res.status });
      const location = res.headers.get('location');
      if (!isRedirect(res.status) || location === null) break;
      await discard(res);
      const next = new URL(location, url);
      if (!sameOrigin(next, this.apiBase)) {
        throw upstreamError('INSECURE_REFUSED', 'api-redirect-cross-origin', `GitHub's API redirected ${what} to ${shown(next.host)}, another origin; refusing to follow it with the token.`, {
          host: safeDetail(next.host),
        });
      }
      if (hop >= MAX_REDIRECTS) throw upstreamError('REGISTRY_ERROR', 'redirect-loop', `GitHub's API redirected ${what} more than ${MAX_REDIRECTS} times.`);
      url = next;
    }
    if (res.status === 304) {
      await discard(res);
      if (!cached) throw upstreamError('REGISTRY_ERROR', 'api-response-invalid', `GitHub's API answered 304 Not Modified for ${what} without a cached copy to reuse.`);
      return { json: this.parse(cached.body, what), link: res.headers.get('link') ?? cached.link, notModified: true };
    }
    const limited = rateLimitError(res, this.apiBase.host, this.#o.tokenEnv, this.#token !== undefined);
    if (limited) {
      await discard(res);
      throw limited;
    }
    const body = await readCapped(res, this.#o.maxResponseBytes ?? 32 * 1024 * 1024, what);
    if (!res.ok) throw this.statusError(res.status, what, body);
    const text = body.toString('utf8');
    const json = this.parse(text, what);
    const etag = res.headers.get('etag');
    const link = res.headers.get('link') ?? undefined;
    if (etag && this.#o.cache) await this.#o.cache.set(key, { etag, body: text, ...(link ? { link } : {}) });
    return { json, link, notModified: false };
  }

  private parse(text: string, what: string): unknown {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw upstreamError('REGISTRY_ERROR', 'api-response-invalid', `GitHub's API answered ${what} with something that is not JSON.`, {}, e);
    }
  }

  private statusError(status: number, what: string, body: Buffer): AirlockError {
    const message = githubMessage(body);
    const details = { status, ...(message ? { githubMessage: message } : {}) };
    if (status === 401) {
      return new AirlockError('AUTH_FAILED', `GitHub's API refused the token in $${this.#o.tokenEnv ?? 'the token variable'} (401); set a valid token or unset it.`, { details });
    }
    if (status === 404) {
      return new AirlockError('NOT_FOUND', `GitHub's API has no ${what} in ${this.repository} (404); check the repository, the tag and, for a private repository, the token.`, { details });
    }
    return new AirlockError('REGISTRY_ERROR', `GitHub's API answered ${status} for ${what} in ${this.repository}.`, { details });
  }
}
