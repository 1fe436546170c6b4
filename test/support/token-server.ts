import { randomUUID, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestCa, type IssuedCert, type TestCa } from './tls.js';

/**
 * A small token server for docker-registry's `auth: token:` mode (the distribution token-auth spec), on
 * 127.0.0.1 with a random port. It checks Basic credentials against `users`, grants the requested actions (all
 * of them to a known user, `anonymous` ones to everybody else) and returns a JWT signed with ES256 by a key
 * whose certificate chains to the CA in `rootCertBundle`; the JWT carries that certificate in `x5c`, which is
 * how distribution 2.8 finds and verifies the signing key. Also answers the OAuth2 POST form (grant_type
 * `password` and `refresh_token`, for docker identity tokens). Records every request for assertions.
 *
 *   const ts = await startTokenServer({ users: { alice: 'secret' } });
 *   const reg = await startRegistry({ token: ts });
 *   … ts.hits, ts.requests …
 */
export interface TokenServerOptions {
  users?: Record<string, string>;
  /** Actions granted without (valid) credentials; default none: anonymous callers get a token with no access. */
  anonymous?: ('pull' | 'push')[];
  /** Per-user restriction: actions a user may have on a repository (default: all requested). */
  grant?: (user: string, repository: string, requested: string[]) => string[];
  /** Refresh tokens accepted by the POST form (`grant_type=refresh_token`), mapped to the user they stand for. */
  refreshTokens?: Record<string, string>;
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number;
  service?: string;
  issuer?: string;
}

export interface TokenRequestRecord {
  method: string;
  user: string | undefined;
  /** The `scope` values asked for. */
  scopes: string[];
  status: number;
}

export interface TokenServer {
  url: string;
  /** The realm the registry sends clients to. */
  realm: string;
  service: string;
  issuer: string;
  /** PEM file with the CA that signs the token signing certificate (registry `rootcertbundle`). */
  rootCertBundle: string;
  /** Number of token requests answered (any outcome). */
  readonly hits: number;
  requests: TokenRequestRecord[];
  stop(): Promise<void>;
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/** Parses `type:name:actions`; names may not contain ':' in our tests, but actions are after the last one. */
function parseScope(s: string): { type: string; name: string; actions: string[] } | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  return { type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter((a) => a) };
}

function basicUser(req: IncomingMessage, users: Record<string, string>): { user?: string; bad: boolean } {
  const h = req.headers.authorization;
  if (!h) return { bad: false };
  const m = /^Basic (.+)$/i.exec(h);
  if (!m?.[1]) return { bad: true };
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = decoded.slice(0, colon);
  const pass = decoded.slice(colon + 1);
  return users[user] !== undefined && users[user] === pass ? { user, bad: false } : { bad: true };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startTokenServer(opts: TokenServerOptions = {}): Promise<TokenServer> {
  const ca: TestCa = await createTestCa('airlock test token CA');
  const signer: IssuedCert = await ca.issue({ cn: 'airlock test token signer', san: [], eku: 'codeSigning' });
  const service = opts.service ?? 'airlock-test-registry';
  const issuer = opts.issuer ?? 'airlock-test-token-issuer';
  const users = opts.users ?? {};
  const requests: TokenRequestRecord[] = [];

  const issue = (user: string | undefined, scopes: string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((s) => {
      const p = parseScope(s);
      if (!p || p.type !== 'repository') return [];
      const allowed = user !== undefined ? (opts.grant ? opts.grant(user, p.name, p.actions) : p.actions) : p.actions.filter((a) => (opts.anonymous ?? []).includes(a as 'pull'));
      return allowed.length ? [{ type: p.type, name: p.name, actions: allowed }] : [];
    });
    const header = { typ: 'JWT', alg: 'ES256', x5c: [signer.derBase64] };
    // `aud` is a plain string: distribution 2.8's claim set declares it so.
    const claims = { iss: issuer, sub: user ?? '', aud: service, exp: now + (opts.expiresIn ?? 300), nbf: now - 5, iat: now, jti: randomUUID(), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key: signer.keyPem, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(sig)}`;
  };

  const reply = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...extra });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://token.local');
      if (url.pathname !== '/token') return reply(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'no such endpoint' }] });
      const record: TokenRequestRecord = { method: req.method ?? 'GET', user: undefined, scopes: [], status: 0 };
      requests.push(record);
      const done = (status: number, body: unknown, extra?: Record<string, string>) => {
        record.status = status;
        reply(res, status, body, extra);
      };
      if (req.method === 'POST') {
        const form = new URLSearchParams(await readBody(req));
        record.scopes = (form.get('scope') ?? '').split(' ').filter((s) => s);
        let user: string | undefined;
        if (form.get('grant_type') === 'refresh_token') user = opts.refreshTokens?.[form.get('refresh_token') ?? ''];
        else if (form.get('grant_type') === 'password') {
          const u = form.get('username') ?? '';
          if (users[u] !== undefined && users[u] === form.get('password')) user = u;
        }
        if (user === undefined) return done(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid grant' }] });
        record.user = user;
        return done(200, { access_token: issue(user, record.scopes), expires_in: opts.expiresIn ?? 300, scope: record.scopes.join(' ') });
      }
      record.scopes = url.searchParams.getAll('scope');
      if (url.searchParams.get('service') !== service) return done(400, { errors: [{ code: 'BAD_SERVICE', message: 'unknown service' }] });
      const { user, bad } = basicUser(req, users);
      if (bad) return done(401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }, { 'www-authenticate': 'Basic realm="airlock-test"' });
      record.user = user;
      return done(200, { token: issue(user, record.scopes), expires_in: opts.expiresIn ?? 300, issued_at: new Date().toISOString() });
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    realm: `${url}/token`,
    service,
    issuer,
    rootCertBundle: ca.certFile,
    get hits() {
      return requests.length;
    },
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ca.dispose();
    },
  };
}
