import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A FAKE registry, in memory, for what the real docker-registry cannot do here: the OCI 1.1 referrers API, and
 * misbehaviour on demand (wrong bytes for a digest, oversized or endless manifests, blob bodies cut mid-way).
 * It speaks just enough of the distribution protocol for those tests; everything else is tested on the real one.
 */
export interface FakeManifestOverride {
  status?: number;
  headers?: Record<string, string>;
  /** A fixed body, or 'endless': bytes streamed without Content-Length until the client hangs up (capped). */
  body?: Uint8Array | 'endless';
}

export interface FakeBlobFault {
  /** The body is cut (socket destroyed) after this many bytes… */
  cutAfter: number;
  /** …on this many GETs, then served whole. */
  times: number;
  /** Whether a `Range: bytes=N-` request gets 206 (true) or the whole blob with 200 (false). */
  honourRange: boolean;
}

export interface FakeReferrersRegistry {
  host: string;
  url: string;
  /** Method and path of every request, in order. */
  requests: string[];
  /** Bytes the fake wrote for endless bodies (to prove a client stopped reading). */
  endlessBytesSent: number;
  /** Whether the referrers endpoint applies the artifactType filter itself (and says so). Default true. */
  applyFilter: boolean;
  /** Referrers per page (Link pagination). Default 100. */
  referrersPageSize: number;
  /** Whether the referrers API exists at all (false: 404, as on docker-registry). Default true. */
  referrersApi: boolean;
  putManifest(repo: string, bytes: Uint8Array, mediaType: string, tag?: string): string;
  putBlob(repo: string, bytes: Uint8Array): string;
  overrideManifest(repo: string, reference: string, o: FakeManifestOverride): void;
  blobFault(digest: string, f: FakeBlobFault): void;
  stop(): Promise<void>;
}

interface Stored {
  bytes: Uint8Array;
  mediaType: string;
}

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function startFakeReferrersRegistry(): Promise<FakeReferrersRegistry> {
  const manifests = new Map<string, Stored>(); // repo@digest
  const tags = new Map<string, string>(); // repo:tag → digest
  const blobs = new Map<string, Uint8Array>(); // repo@digest
  const overrides = new Map<string, FakeManifestOverride>();
  const faults = new Map<string, FakeBlobFault>();

  const fake: FakeReferrersRegistry = {
    host: '',
    url: '',
    requests: [],
    endlessBytesSent: 0,
    applyFilter: true,
    referrersPageSize: 100,
    referrersApi: true,
    putManifest(repo, bytes, mediaType, tag) {
      const d = sha256(bytes);
      manifests.set(`${repo}@${d}`, { bytes, mediaType });
      if (tag) tags.set(`${repo}:${tag}`, d);
      return d;
    },
    putBlob(repo, bytes) {
      const d = sha256(bytes);
      blobs.set(`${repo}@${d}`, bytes);
      return d;
    },
    overrideManifest(repo, reference, o) {
      overrides.set(`${repo}/${reference}`, o);
    },
    blobFault(digest, f) {
      faults.set(digest, { ...f });
    },
    stop: async () => undefined,
  };

  function serveManifest(req: IncomingMessage, res: ServerResponse, repo: string, ref: string): void {
    const o = overrides.get(`${repo}/${ref}`);
    if (o) {
      res.writeHead(o.status ?? 200, o.headers ?? {});
      if (o.body === 'endless') return void streamEndless(res);
      return void res.end(req.method === 'HEAD' ? undefined : o.body);
    }
    const digest = ref.startsWith('sha256:') ? ref : tags.get(`${repo}:${ref}`);
    const m = digest ? manifests.get(`${repo}@${digest}`) : undefined;
    if (!m || !digest) return void res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
    res.writeHead(200, { 'Content-Type': m.mediaType, 'Content-Length': m.bytes.byteLength, 'Docker-Content-Digest': digest });
    res.end(req.method === 'HEAD' ? undefined : m.bytes);
  }

  function streamEndless(res: ServerResponse): void {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = (): void => {
      while (!res.destroyed && fake.endlessBytesSent < 64 * 1024 * 1024) {
        fake.endlessBytesSent += chunk.byteLength;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  }

  function serveReferrers(res: ServerResponse, repo: string, subject: string, query: URLSearchParams): void {
    if (!fake.referrersApi) return void res.writeHead(404).end();
    const artifactType = query.get('artifactType');
    let list = [...manifests.entries()]
      .filter(([k]) => k.startsWith(`${repo}@`))
      .flatMap(([k, m]) => {
        const doc = JSON.parse(Buffer.from(m.bytes).toString()) as { subject?: { digest: string }; artifactType?: string; config?: { mediaType: string }; annotations?: Record<string, string> };
        if (doc.subject?.digest !== subject) return [];
        const d: Record<string, unknown> = { mediaType: m.mediaType, digest: k.slice(repo.length + 1), size: m.bytes.byteLength };
        d.artifactType = doc.artifactType ?? doc.config?.mediaType;
        if (doc.annotations) d.annotations = doc.annotations;
        return [d];
      });
    const headers: Record<string, string> = { 'Content-Type': 'application/vnd.oci.image.index.v1+json' };
    if (artifactType && fake.applyFilter) {
      list = list.filter((d) => d.artifactType === artifactType);
      headers['OCI-Filters-Applied'] = 'artifactType';
    }
    const page = Number(query.get('page') ?? '0');
    const size = fake.referrersPageSize;
    if ((page + 1) * size < list.length) {
      const next = new URLSearchParams(query);
      next.set('page', String(page + 1));
      headers.Link = `</v2/${repo}/referrers/${subject}?${next.toString()}>; rel="next"`;
    }
    const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: list.slice(page * size, (page + 1) * size) });
    res.writeHead(200, headers).end(body);
  }

  /** Tag listing with `n`/`last` and a Link to the next page (docker-registry 2.8 ignores `n` on tags). */
  function serveTags(res: ServerResponse, repo: string, query: URLSearchParams): void {
    const all = [...tags.keys()].filter((k) => k.startsWith(`${repo}:`)).map((k) => k.slice(repo.length + 1)).sort();
    if (all.length === 0) return void res.writeHead(404).end('{"errors":[{"code":"NAME_UNKNOWN"}]}');
    const last = query.get('last');
    const n = Number(query.get('n') ?? all.length);
    const rest = last ? all.filter((t) => t > last) : all;
    const page = rest.slice(0, n);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (rest.length > n) headers.Link = `</v2/${repo}/tags/list?n=${n}&last=${page.at(-1) ?? ''}>; rel="next"`;
    res.writeHead(200, headers).end(JSON.stringify({ name: repo, tags: page }));
  }

  function serveBlob(req: IncomingMessage, res: ServerResponse, repo: string, digest: string): void {
    const b = blobs.get(`${repo}@${digest}`);
    if (!b) return void res.writeHead(404).end();
    const fault = faults.get(digest);
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    if (range && fault?.honourRange !== false) start = Number(range[1]);
    if (start > 0 && start >= b.byteLength) return void res.writeHead(416, { 'Content-Range': `bytes */${b.byteLength}` }).end();
    const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream', 'Content-Length': b.byteLength - start, 'Docker-Content-Digest': digest };
    if (start > 0) headers['Content-Range'] = `bytes ${start}-${b.byteLength - 1}/${b.byteLength}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    if (req.method === 'HEAD') return void res.end();
    const body = b.subarray(start);
    if (fault && fault.times > 0 && req.method === 'GET') {
      fault.times--;
      res.write(body.subarray(0, fault.cutAfter), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(body);
  }

  async function readBody(req: IncomingMessage): Promise<Uint8Array> {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    return Buffer.concat(parts);
  }

  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://fake');
    fake.requests.push(`${req.method} ${u.pathname}${u.search}`);
    if (u.pathname === '/v2/' || u.pathname === '/v2') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    let m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(u.pathname);
    if (m?.[1] && m[2]) {
      const [repo, ref] = [m[1], m[2]];
      if (req.method === 'PUT') {
        void readBody(req).then((bytes) => {
          const d = fake.putManifest(repo, bytes, req.headers['content-type'] ?? '', ref.startsWith('sha256:') ? undefined : ref);
          res.writeHead(201, { 'Docker-Content-Digest': d, Location: `/v2/${repo}/manifests/${d}` }).end();
        });
        return;
      }
      return serveManifest(req, res, repo, ref);
    }
    m = /^\/v2\/(.+)\/tags\/list$/.exec(u.pathname);
    if (m?.[1]) return serveTags(res, m[1], u.searchParams);
    m = /^\/v2\/(.+)\/referrers\/([^/]+)$/.exec(u.pathname);
    if (m?.[1] && m[2]) return serveReferrers(res, m[1], m[2], u.searchParams);
    m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(u.pathname);
    if (m?.[1] && m[2]) return serveBlob(req, res, m[1], m[2]);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  fake.host = `127.0.0.1:${port}`;
  fake.url = `http://${fake.host}`;
  fake.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
