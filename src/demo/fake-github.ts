import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A FAKE GitHub — a stand-in, never the real one: the tests' and `airlock demo`'s releases API. For what no real GitHub can give a test on loopback: a Releases API (GitHub Enterprise-style
 * base `/api/v3`, Link pagination, ETags with 304 on If-None-Match, rate-limit answers on demand) on one origin,
 * and asset downloads on a SECOND origin reached through a redirect, as github.com redirects to its storage hosts.
 * Every request is recorded with the Authorization header it carried and the origin it reached, so a test can
 * prove the token went to the API origin and nowhere else.
 *
 * Asset URLs follow GitHub's shape: `{apiOrigin}/{owner}/{repo}/releases/download/{tag}/{name}` answers 302 to
 * `{downloadOrigin}/storage/{tag}/{name}?X-Fake-Signature=…` (a presigned-looking URL).
 */
export interface FakeAsset {
  name: string;
  bytes: Uint8Array;
  /** GitHub's digest as listed; default the bytes' sha256, null for an asset without one. */
  digest?: string | null;
  /** Size as listed; default the bytes' length. */
  size?: number;
  state?: string;
  /** browser_download_url as listed; default the GitHub-shaped URL on the API origin. */
  url?: string;
  /** Bytes served instead of `bytes` (tampering in storage). */
  served?: Uint8Array;
  /** Serve without Content-Length (chunked), as a hostile server streaming more than it declared would. */
  chunked?: boolean;
}

export interface FakeRelease {
  tag: string;
  draft?: boolean;
  prerelease?: boolean;
  publishedAt?: string | null;
  assets: FakeAsset[];
}

export interface RecordedRequest {
  origin: 'api' | 'download';
  method: string;
  path: string;
  authorization: string | undefined;
  ifNoneMatch: string | undefined;
  status: number;
}

export interface FakeGitHub {
  repository: string;
  /** `http://127.0.0.1:A/api/v3`. */
  apiBase: string;
  apiOrigin: string;
  apiHost: string;
  downloadOrigin: string;
  downloadHost: string;
  requests: RecordedRequest[];
  /** Releases per page at most (the client's per_page still applies). Default 100. */
  pageSize: number;
  /** Replaces the `rel="next"` link of list pages (to test a link that leaves the API). */
  nextLinkOverride: string | undefined;
  /** When set, API requests answer 301 to this URL (a renamed repository redirects so; the client must stay on the origin). */
  apiRedirect: string | undefined;
  /** When set, API requests without `Authorization: Bearer <it>` answer 401 Bad credentials. */
  acceptToken: string | undefined;
  /** Where the download endpoint redirects an asset; default the download origin's storage URL. */
  redirectFor: ((tag: string, name: string) => string) | undefined;
  /** Adds a release; the most recently added is listed first, as GitHub lists newest first. */
  addRelease(r: FakeRelease): void;
  /** Replaces the JSON of a release in listings and tag lookups (hostile release JSON). */
  rawRelease(tag: string, json: unknown): void;
  /** The next `n` API requests answer as rate-limited (403 with x-ratelimit-remaining: 0, or 429 with retry-after). */
  rateLimit(n: number, status?: 403 | 429): void;
  /** The JSON the fake serves for a release. */
  releaseJson(tag: string): unknown;
  stop(): Promise<void>;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function startFakeGitHub(repository = 'fluxcd/flux2'): Promise<FakeGitHub> {
  const releases: FakeRelease[] = [];
  const raw = new Map<string, unknown>();
  let limited = 0;
  let limitStatus: 403 | 429 = 403;

  const apiServer = createServer();
  const downloadServer = createServer();
  const apiHost = await listen(apiServer);
  const downloadHost = await listen(downloadServer);

  const fake: FakeGitHub = {
    repository,
    apiBase: `http://${apiHost}/api/v3`,
    apiOrigin: `http://${apiHost}`,
    apiHost,
    downloadOrigin: `http://${downloadHost}`,
    downloadHost,
    requests: [],
    pageSize: 100,
    nextLinkOverride: undefined,
    acceptToken: undefined,
    apiRedirect: undefined,
    redirectFor: undefined,
    addRelease: (r) => void releases.unshift(r),
    rawRelease: (tag, json) => void raw.set(tag, json),
    rateLimit(n, status = 403) {
      limited = n;
      limitStatus = status;
    },
    releaseJson: (tag) => {
      const r = releases.find((x) => x.tag === tag);
      return raw.get(tag) ?? (r ? toJson(r) : undefined);
    },
    stop: async () => {
      apiServer.closeAllConnections();
      downloadServer.closeAllConnections();
      await Promise.all([new Promise((r) => apiServer.close(r)), new Promise((r) => downloadServer.close(r))]);
    },
  };

  function toJson(r: FakeRelease): unknown {
    return {
      id: releases.indexOf(r) + 1,
      tag_name: r.tag,
      name: r.tag,
      draft: r.draft ?? false,
      prerelease: r.prerelease ?? false,
      published_at: r.publishedAt === undefined ? '2026-08-07T10:00:00Z' : r.publishedAt,
      body: 'release notes',
      assets: r.assets.map((a, i) => ({
        id: 1000 + i,
        name: a.name,
        state: a.state ?? 'uploaded',
        size: a.size ?? a.bytes.byteLength,
        digest: a.digest === undefined ? `sha256:${sha256(a.bytes)}` : a.digest,
        content_type: 'application/octet-stream',
        browser_download_url: a.url ?? `${fake.apiOrigin}/${repository}/releases/download/${encodeURIComponent(r.tag)}/${encodeURIComponent(a.name)}`,
      })),
    };
  }

  const record = (origin: 'api' | 'download', req: IncomingMessage, status: number): void => {
    fake.requests.push({
      origin,
      method: req.method ?? 'GET',
      path: req.url ?? '',
      authorization: req.headers.authorization,
      ifNoneMatch: req.headers['if-none-match'] as string | undefined,
      status,
    });
  };

  const sendJson = (req: IncomingMessage, res: ServerResponse, json: unknown, link?: string): void => {
    const body = Buffer.from(JSON.stringify(json));
    const etag = `"${sha256(body).slice(0, 32)}"`;
    if (req.headers['if-none-match'] === etag) {
      // GitHub does not promise to repeat Link on a 304; neither does the fake, so clients must cache it.
      record('api', req, 304);
      res.writeHead(304, { etag }).end();
      return;
    }
    record('api', req, 200);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, etag, ...(link ? { link } : {}) }).end(body);
  };

  const notFound = (origin: 'api' | 'download', req: IncomingMessage, res: ServerResponse): void => {
    record(origin, req, 404);
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Not Found' }));
  };

  const apiPrefix = `/api/v3/repos/${repository}/releases`;
  apiServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', fake.apiOrigin);
    if (url.pathname.startsWith('/api/v3/') && limited > 0) {
      limited--;
      record('api', req, limitStatus);
      const headers: Record<string, string> =
        limitStatus === 403
          ? { 'x-ratelimit-remaining': '0', 'x-ratelimit-limit': '60', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 1800) }
          : { 'retry-after': '60' };
      res.writeHead(limitStatus, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ message: 'API rate limit exceeded for 127.0.0.1.' }));
      return;
    }
    if (url.pathname.startsWith('/api/v3/') && fake.apiRedirect !== undefined && !url.pathname.startsWith('/api/v3/moved/')) {
      record('api', req, 301);
      res.writeHead(301, { location: fake.apiRedirect }).end();
      return;
    }
    if (url.pathname.startsWith('/api/v3/moved/')) {
      // The target of a same-origin redirect: answers as the release list would.
      url.pathname = apiPrefix;
    }
    if (url.pathname.startsWith('/api/v3/') && fake.acceptToken !== undefined && req.headers.authorization !== `Bearer ${fake.acceptToken}`) {
      record('api', req, 401);
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Bad credentials' }));
      return;
    }
    if (url.pathname === apiPrefix) {
      const perPage = Math.min(Number(url.searchParams.get('per_page') ?? '30'), fake.pageSize);
      const page = Number(url.searchParams.get('page') ?? '1');
      const slice = releases.slice((page - 1) * perPage, page * perPage);
      const hasNext = page * perPage < releases.length;
      const link = hasNext
        ? (fake.nextLinkOverride ?? `<${fake.apiBase}/repos/${repository}/releases?per_page=${perPage}&page=${page + 1}>; rel="next", <${fake.apiBase}/repos/${repository}/releases?per_page=${perPage}&page=${Math.ceil(releases.length / perPage)}>; rel="last"`)
        : undefined;
      sendJson(req, res, slice.map((r) => raw.get(r.tag) ?? toJson(r)), link);
      return;
    }
    if (url.pathname.startsWith(`${apiPrefix}/tags/`)) {
      const tag = decodeURIComponent(url.pathname.slice(`${apiPrefix}/tags/`.length));
      const r = releases.find((x) => x.tag === tag && !x.draft);
      if (!r) return notFound('api', req, res);
      sendJson(req, res, raw.get(tag) ?? toJson(r));
      return;
    }
    const dl = new RegExp(`^/${repository}/releases/download/([^/]+)/([^/]+)$`).exec(url.pathname);
    if (dl) {
      const tag = decodeURIComponent(dl[1]!);
      const name = decodeURIComponent(dl[2]!);
      const location = fake.redirectFor?.(tag, name) ?? `${fake.downloadOrigin}/storage/${encodeURIComponent(tag)}/${encodeURIComponent(name)}?X-Fake-Signature=${sha256(Buffer.from(name)).slice(0, 16)}`;
      record('api', req, 302);
      res.writeHead(302, { location }).end();
      return;
    }
    notFound('api', req, res);
  });

  downloadServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', fake.downloadOrigin);
    const m = /^\/storage\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    const asset = m ? releases.find((r) => r.tag === decodeURIComponent(m[1]!))?.assets.find((a) => a.name === decodeURIComponent(m[2]!)) : undefined;
    if (!asset) return notFound('download', req, res);
    record('download', req, 200);
    const bytes = asset.served ?? asset.bytes;
    res.writeHead(200, { 'content-type': 'application/octet-stream', ...(asset.chunked ? {} : { 'content-length': bytes.byteLength }) });
    // Several writes, so a client sees the body arrive in pieces (as over a real network).
    const step = Math.max(1, Math.ceil(bytes.byteLength / 4));
    for (let i = 0; i < bytes.byteLength; i += step) res.write(bytes.subarray(i, i + step));
    res.end();
  });

  return fake;
}
