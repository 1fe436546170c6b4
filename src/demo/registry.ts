/**
 * A STAND-IN for ghcr.io in `airlock demo`: a READ-ONLY OCI Distribution registry on loopback serving a content
 * store (the demo's generated images, kept as OCI layouts in the demo directory). It answers what a puller asks —
 * `/v2/`, GET/HEAD manifests and blobs, tags list — and refuses every write (405), so the demo's upstream can
 * only be read, as a real upstream is for a mirror. No referrers API (404), so clients use cosign's tag scheme.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AirlockError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { ContentStore } from '../store/types.js';

export interface ReadOnlyRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  stop(): Promise<void>;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function error(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ errors: [{ code, message }] });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

const notFound = (e: unknown): boolean => e instanceof AirlockError && e.code === 'NOT_FOUND';

export async function startReadOnlyRegistry(store: ContentStore): Promise<ReadOnlyRegistry> {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://registry.local');
    const path = decodeURIComponent(url.pathname);
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) return error(res, 405, 'UNSUPPORTED', 'this stand-in registry is read-only');
    if (path === '/v2/' || path === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' }).end(head ? undefined : '{}');
      return;
    }
    const tags = /^\/v2\/(.+)\/tags\/list$/.exec(path);
    if (tags) {
      const list = await store.repository(tags[1]!).listTags().catch(() => [] as string[]);
      if (list.length === 0) return error(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
      const body = JSON.stringify({ name: tags[1], tags: [...list].sort() });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(head ? undefined : body);
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/.exec(path);
    if (!m) return error(res, 404, 'NOT_FOUND', 'not found');
    const [, name, kind, ref] = m as unknown as [string, string, string, string];
    let repo;
    try {
      repo = store.repository(name);
    } catch {
      return error(res, 404, 'NAME_INVALID', 'invalid repository name');
    }
    if (kind === 'referrers') return error(res, 404, 'NOT_FOUND', 'no referrers API');
    if (kind === 'manifests') {
      try {
        const got = await repo.getManifest(ref);
        res.writeHead(200, { 'content-type': got.descriptor.mediaType, 'content-length': got.bytes.byteLength, 'docker-content-digest': got.descriptor.digest });
        res.end(head ? undefined : Buffer.from(got.bytes));
      } catch (e) {
        if (notFound(e)) return error(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
        throw e;
      }
      return;
    }
    if (!DIGEST.test(ref)) return error(res, 400, 'DIGEST_INVALID', 'bad digest');
    const size = await repo.statBlob(ref as Digest);
    if (size === undefined) return error(res, 404, 'BLOB_UNKNOWN', 'blob unknown');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size, 'docker-content-digest': ref });
    if (head) return void res.end();
    for await (const chunk of await repo.openBlob({ mediaType: 'application/octet-stream', digest: ref as Digest, size })) {
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) error(res, 500, 'UNKNOWN', e instanceof Error ? e.message : String(e));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
