import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/**
 * Network middlemen for integration tests, all on 127.0.0.1 with random ports:
 *
 * - `startConnectProxy()`: an HTTP CONNECT proxy (what HTTPS_PROXY points at). Counts tunnels and records their
 *   targets; tunnels only to loopback.
 * - `startFaultProxy(upstreamUrl)`: a reverse proxy in front of a REAL registry that forwards everything
 *   unchanged (Host included, so the registry's upload Locations point back at the proxy) except requests
 *   matching an injected rule, which get a fault: an error status (503, 429 with Retry-After…), a response body
 *   cut after N bytes, or a redirect. Records every request with its Authorization header.
 * - `startBlobOrigin(blobPath)`: a FAKE storage origin (stands in for S3/a CDN behind a registry's redirect) on
 *   another port, serving blob bytes straight from the registry's storage directory and recording the
 *   Authorization header each request carried.
 *
 * Faults are programmable per request:
 *   proxy.inject({ method: 'GET', path: /\/manifests\//, times: 2, fault: { kind: 'status', status: 503 } });
 *   proxy.inject({ path: /\/blobs\/sha256:/, fault: { kind: 'cut', afterBytes: 1000 } });
 *   proxy.inject({ path: /\/blobs\/sha256:/, fault: redirectBlobsTo(origin) });
 */

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function track(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return sockets;
}

// ---------------------------------------------------------------------------------------------------------------
// CONNECT proxy

export interface ConnectProxy {
  /** http://127.0.0.1:PORT — the value for HTTPS_PROXY. */
  url: string;
  port: number;
  /** CONNECT tunnels opened so far. */
  readonly connections: number;
  /** host:port of each tunnel, in order. */
  targets: string[];
  stop(): Promise<void>;
}

const LOOPBACK_TARGET = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/;

export async function startConnectProxy(): Promise<ConnectProxy> {
  const targets: string[] = [];
  const server = createServer((_req, res) => {
    // Only tunnels: undici's ProxyAgent uses CONNECT for http and https targets alike.
    res.writeHead(501).end();
  });
  const sockets = track(server);
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    targets.push(target);
    if (!LOOPBACK_TARGET.test(target)) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const colon = target.lastIndexOf(':');
    const upstream = connect(Number(target.slice(colon + 1)), target.slice(0, colon).replace(/^\[|\]$/g, ''));
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return targets.length;
    },
    targets,
    stop: () => close(server, sockets),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Fault-injecting reverse proxy

export type Fault =
  /** Answer with this status instead of forwarding (e.g. 503, or 429 with `retryAfter: '1'`). */
  | { kind: 'status'; status: number; retryAfter?: string; body?: string; headers?: Record<string, string> }
  /** Close the connection without answering (a dropped connection before any response). */
  | { kind: 'drop' }
  /** Forward, then close the connection after `afterBytes` bytes of the response body. */
  | { kind: 'cut'; afterBytes: number }
  /** Answer with a redirect to `location(path)` (default status 307). */
  | { kind: 'redirect'; location: (path: string) => string; status?: 301 | 302 | 303 | 307 | 308 };

export interface FaultRule {
  /** Upper-case method to match; any when absent. */
  method?: string;
  /** A RegExp tested against path+query, or a substring; any when absent. */
  path?: RegExp | string;
  /** How many matching requests get the fault; default unlimited. */
  times?: number;
  /** Wait this long before handling a matching request (to observe concurrency). */
  delayMs?: number;
  /** The fault; absent = forward unchanged (useful with `delayMs`). */
  fault?: Fault;
}

export interface InjectedRule extends FaultRule {
  /** Requests this rule has been applied to. */
  applied: number;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  /** The fault applied, if any. */
  fault: Fault['kind'] | undefined;
  /** Cookie header, if any. */
  cookie: string | undefined;
  /** ms since epoch, when the request arrived. */
  at: number;
}

export interface FaultProxy {
  url: string;
  /** host:port — use it as the registry name. */
  host: string;
  port: number;
  requests: ProxiedRequest[];
  /** Highest number of requests handled at the same time. */
  readonly maxInFlight: number;
  inject(rule: FaultRule): InjectedRule;
  /** Removes all rules (requests stay recorded). */
  clear(): void;
  stop(): Promise<void>;
}

function matches(rule: InjectedRule, method: string, path: string): boolean {
  if (rule.times !== undefined && rule.applied >= rule.times) return false;
  if (rule.method && rule.method !== method) return false;
  if (rule.path instanceof RegExp) return rule.path.test(path);
  if (typeof rule.path === 'string') return path.includes(rule.path);
  return true;
}

/** Starts a reverse proxy in front of `upstreamUrl` (a plain-HTTP registry, e.g. `RunningRegistry.url`). */
export async function startFaultProxy(upstreamUrl: string): Promise<FaultProxy> {
  const upstream = new URL(upstreamUrl);
  let rules: InjectedRule[] = [];
  const requests: ProxiedRequest[] = [];

  let inFlight = 0;
  let maxInFlight = 0;

  const handle = (req: IncomingMessage, res: ServerResponse, fault: Fault | undefined) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      req.resume();
      const headers: Record<string, string> = { 'content-type': 'application/json', ...fault.headers };
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      res.writeHead(fault.status, headers);
      res.end(fault.body ?? JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: `injected ${fault.status}` }] }));
      return;
    }
    if (fault?.kind === 'redirect') {
      req.resume();
      res.writeHead(fault.status ?? 307, { location: fault.location(path) });
      res.end();
      return;
    }
    const up = httpRequest(
      { host: upstream.hostname, port: upstream.port, method, path, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (fault?.kind !== 'cut') {
          upRes.pipe(res);
          return;
        }
        let sent = 0;
        upRes.on('data', (chunk: Buffer) => {
          if (sent >= fault.afterBytes) return;
          const part = chunk.subarray(0, fault.afterBytes - sent);
          sent += part.length;
          res.write(part);
          if (sent >= fault.afterBytes) {
            upRes.destroy();
            // Flush what was written, then drop the connection mid-body.
            res.socket?.end(() => res.socket?.destroy());
          }
        });
        upRes.on('end', () => res.end());
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const rule = rules.find((r) => matches(r, method, path));
    if (rule) rule.applied++;
    requests.push({ method, path, authorization: req.headers.authorization, cookie: req.headers.cookie, fault: rule?.fault?.kind, at: Date.now() });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let counted = true;
    const done = () => {
      if (counted) inFlight--;
      counted = false;
    };
    res.once('close', done);
    if (rule?.delayMs) setTimeout(() => handle(req, res, rule.fault), rule.delayMs);
    else handle(req, res, rule?.fault);
  });
  const sockets = track(server);
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    requests,
    get maxInFlight() {
      return maxInFlight;
    },
    inject(rule: FaultRule): InjectedRule {
      const r: InjectedRule = { ...rule, applied: 0 };
      rules.push(r);
      return r;
    },
    clear() {
      rules = [];
    },
    stop: () => close(server, sockets),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Fake storage origin for redirected blob downloads

export interface BlobOrigin {
  url: string;
  port: number;
  /** Every request, with the Authorization and Cookie headers it carried (undefined when none). */
  requests: { method: string; path: string; authorization: string | undefined; cookie: string | undefined }[];
  stop(): Promise<void>;
}

/**
 * A FAKE storage origin: `GET|HEAD /blobs/sha256:<hex>` answers with the bytes at `blobPath(digest)` (give it
 * `RunningRegistry.blobPath`). Any query (a presigned signature) is ignored.
 */
export async function startBlobOrigin(blobPath: (digest: string) => string): Promise<BlobOrigin> {
  const requests: BlobOrigin['requests'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://origin.local');
    requests.push({ method: req.method ?? 'GET', path: url.pathname, authorization: req.headers.authorization, cookie: req.headers.cookie });
    const m = /^\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (!m?.[1]) return void res.writeHead(404).end();
    const file = blobPath(m[1]);
    stat(file).then(
      (st) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(st.size) });
        if (req.method === 'HEAD') return void res.end();
        createReadStream(file).pipe(res);
      },
      () => void res.writeHead(404).end(),
    );
  });
  const sockets = track(server);
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, port, requests, stop: () => close(server, sockets) };
}

/** A redirect fault sending `/v2/<name>/blobs/sha256:<hex>` to the blob origin, S3-style with a fake signature. */
export function redirectBlobsTo(origin: { url: string }): Fault {
  return {
    kind: 'redirect',
    location: (path) => {
      const m = /\/blobs\/(sha256:[0-9a-f]{64})/.exec(path);
      return `${origin.url}/blobs/${m?.[1] ?? 'missing'}?X-Amz-Signature=fake-signature`;
    },
  };
}
