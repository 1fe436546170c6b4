import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';

/**
 * A reverse proxy in front of a REAL registry that kills a process at a named point of the protocol — the crash
 * tests' hand on the power switch. Everything is forwarded unchanged (Host included, so upload Locations point back
 * here) and recorded (method, path, status, request body bytes). One kill rule at a time, decided per request by
 * `decide`, which sees the request and how many requests of its class came before:
 *
 *  - `{ afterBodyBytes: N }`: forward the request body until N bytes have reached the registry, then kill, then
 *    drop both connections (a blob upload cut in the middle);
 *  - `{ beforeRelay: true }`: forward the request whole, and when the registry has answered 2xx, kill before
 *    relaying the answer (the registry holds the write, the killed process never saw it succeed).
 *
 * `kill` is the test's: it SIGKILLs the child and resolves once it is gone, so nothing of the process runs after
 * the point. Nothing in the product knows about any of this.
 */
export interface SeenRequest {
  method: string;
  path: string;
  status: number | undefined;
  /** Request body bytes forwarded to the registry. */
  bodyBytes: number;
  killed: boolean;
}

export type KillAction = { afterBodyBytes: number } | { beforeRelay: true } | undefined;

export interface KillProxy {
  host: string;
  requests: SeenRequest[];
  /** Decides per request; `undefined` (the default) forwards everything. Cleared after the first kill. */
  decide: ((req: { method: string; path: string; contentLength: number | undefined }) => KillAction) | undefined;
  /** Called at the kill point; must resolve once the process is dead. */
  kill: (() => Promise<void>) | undefined;
  /** While set, every request waits for it before being forwarded (a gate the test opens). */
  gate: Promise<void> | undefined;
  /** Called with each request as it arrives, before the gate. */
  onRequest: ((req: SeenRequest) => void) | undefined;
  /** Set once a kill happened (and what it was). */
  killedAt: { method: string; path: string; bytes?: number } | undefined;
  stop(): Promise<void>;
}

export async function startKillProxy(upstreamUrl: string): Promise<KillProxy> {
  const upstream = new URL(upstreamUrl);
  const sockets = new Set<Socket>();
  const proxy: KillProxy = {
    host: '',
    requests: [],
    decide: undefined,
    kill: undefined,
    gate: undefined,
    onRequest: undefined,
    killedAt: undefined,
    stop: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const fire = async (what: { method: string; path: string; bytes?: number }): Promise<void> => {
    proxy.killedAt = what;
    proxy.decide = undefined;
    await proxy.kill?.();
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const seen: SeenRequest = { method: req.method ?? 'GET', path: req.url ?? '/', status: undefined, bodyBytes: 0, killed: false };
    proxy.requests.push(seen);
    proxy.onRequest?.(seen);
    if (proxy.gate) {
      req.pause();
      void proxy.gate.then(() => forward(req, res, seen));
    } else forward(req, res, seen);
  });

  const forward = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest): void => {
    const { method, path } = seen;
    const cl = req.headers['content-length'];
    const action = proxy.kill ? proxy.decide?.({ method, path, contentLength: cl === undefined ? undefined : Number(cl) }) : undefined;
    const up = httpRequest({ host: upstream.hostname, port: upstream.port, method, path, headers: req.headers }, (upRes) => {
      seen.status = upRes.statusCode;
      if (action && 'beforeRelay' in action && (upRes.statusCode ?? 500) < 300) {
        seen.killed = true;
        upRes.resume();
        void fire({ method, path }).then(() => res.socket?.destroy());
        return;
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent && !res.destroyed) res.writeHead(502);
      res.end();
    });
    if (action && 'afterBodyBytes' in action) {
      const limit = action.afterBodyBytes;
      let killing = false;
      req.on('data', (chunk: Buffer) => {
        if (killing) return;
        const part = chunk.subarray(0, Math.max(0, limit - seen.bodyBytes));
        seen.bodyBytes += part.length;
        const reached = seen.bodyBytes >= limit;
        if (part.length > 0) up.write(part);
        if (reached) {
          killing = true;
          seen.killed = true;
          // Let the bytes reach the registry, then kill, then cut the upload off.
          up.write('', () => void fire({ method, path, bytes: seen.bodyBytes }).then(() => {
            up.destroy();
            req.socket.destroy();
          }));
        }
      });
      req.on('end', () => {
        if (!killing) up.end();
      });
      return;
    }
    req.on('data', (chunk: Buffer) => {
      seen.bodyBytes += chunk.length;
    });
    req.pipe(up);
  };
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
