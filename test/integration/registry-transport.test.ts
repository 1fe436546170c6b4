import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Agent } from 'undici';
import { isAirlockError, type AirlockError } from '../../src/errors.js';
import type { Digest } from '../../src/oci/digest.js';
import type { StoreOptions } from '../../src/store/options.js';
import { failFromResponse, RegistryClient, type Scope } from '../../src/store/registry/client.js';
import { isDroppedConnection } from '../../src/store/registry/network-errors.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { startBlobOrigin, startConnectProxy, startFaultProxy, redirectBlobsTo, type BlobOrigin, type FaultProxy } from '../support/proxies.js';
import { freePort, startRegistry, type RunningRegistry } from '../support/registry.js';
import { createTestCa, type TestCa } from '../support/tls.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';

/**
 * The registry client's HTTP layer against a real docker-registry (distribution 2.8.2): auth modes, TLS,
 * proxies, retries and redirects, driven with raw /v2/ calls through RegistryClient.request().
 */

const REPO = 'airlock/transport';
const rw: Scope[] = [{ repository: REPO, actions: ['pull', 'push'] }];
const ro: Scope[] = [{ repository: REPO, actions: ['pull'] }];
const SECRET = 's3cr3t-Pa55';

function sha256(b: Uint8Array): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** Monolithic upload the way docker-registry 2.8 needs it: POST for a session, then PUT ?digest= with the body. */
async function pushBlob(c: RegistryClient, bytes: Uint8Array, repo = REPO): Promise<string> {
  const digest = sha256(bytes);
  const scope: Scope[] = [{ repository: repo, actions: ['pull', 'push'] }];
  const post = await c.request({ method: 'POST', url: `/v2/${repo}/blobs/uploads/`, scope });
  if (post.status !== 202) await failFromResponse(post, 'upload start');
  await post.body?.cancel();
  const loc = new URL(c.resolveUrl(post.headers.get('location') ?? ''));
  loc.searchParams.set('digest', digest);
  const put = await c.request({ method: 'PUT', url: loc.toString(), scope, headers: { 'content-type': 'application/octet-stream' }, body: bytes });
  if (put.status !== 201) await failFromResponse(put, 'upload finish');
  await put.body?.cancel();
  return digest;
}

async function getBlob(c: RegistryClient, digest: string, extra: { headers?: Record<string, string> } = {}): Promise<Buffer> {
  const res = await c.request({ method: 'GET', url: `/v2/${REPO}/blobs/${digest}`, scope: ro, ...extra });
  if (!res.ok) await failFromResponse(res, `blob ${digest}`);
  return Buffer.from(await res.arrayBuffer());
}

async function caught(p: Promise<unknown>): Promise<AirlockError> {
  try {
    await p;
  } catch (e) {
    if (isAirlockError(e)) return e;
    throw e;
  }
  throw new Error('expected an AirlockError');
}

/** Everything an error exposes: message, details, and the whole cause chain, as text. */
function everythingIn(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 6 && cur; i++) {
    if (cur instanceof Error) {
      parts.push(cur.message, cur.stack ?? '', JSON.stringify((cur as AirlockError).details ?? {}));
      cur = cur.cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join('\n');
}

const fast: StoreOptions = { retryBaseMs: 5, retryMaxWaitMs: 2000 };
const clients: RegistryClient[] = [];
function client(registry: string, options: StoreOptions = {}): RegistryClient {
  const c = new RegistryClient(registry, { ...fast, ...options });
  clients.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  vi.restoreAllMocks();
});

const blob = new TextEncoder().encode('airlock transport test blob\n'.repeat(200));

describe('anonymous registry', () => {
  let reg: RunningRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(() => reg.stop());

  it('pings, pushes a blob and reads it back over plain HTTP on loopback', async () => {
    const c = client(reg.host);
    expect(c.baseUrl).toBe(`http://${reg.host}`);
    const ping = await c.request({ method: 'GET', url: '/v2/' });
    expect(ping.status).toBe(200);
    await ping.body?.cancel();
    const d = await pushBlob(c, blob);
    expect(await getBlob(c, d)).toEqual(Buffer.from(blob));
  });

  it('maps a missing blob to NOT_FOUND through failFromResponse', async () => {
    const c = client(reg.host);
    const e = await caught(getBlob(c, sha256(new TextEncoder().encode('absent'))));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.exitCode).toBe(3);
    expect(e.message).toMatch(/BLOB_UNKNOWN/);
  });

  it('keeps at most maxConcurrentRequests requests in flight', async () => {
    const proxy = await startFaultProxy(reg.url);
    try {
      const c = client(proxy.host, { maxConcurrentRequests: 2 });
      proxy.inject({ path: '/v2/', delayMs: 150 });
      const all = await Promise.all(Array.from({ length: 6 }, () => c.request({ method: 'GET', url: '/v2/' })));
      await Promise.all(all.map((r) => r.body?.cancel()));
      expect(all.every((r) => r.status === 200)).toBe(true);
      expect(proxy.maxInFlight).toBe(2);
    } finally {
      await proxy.stop();
    }
  });
});

describe('basic auth (htpasswd)', () => {
  let reg: RunningRegistry;
  let dir: string;
  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: { alice: SECRET } });
    dir = await mkdtemp(join(tmpdir(), 'airlock-creds-'));
  });
  afterAll(async () => {
    await reg.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('authenticates with given credentials, and sends them up front after the first challenge', async () => {
    const proxy = await startFaultProxy(reg.url);
    try {
      const c = client(proxy.host, { credentials: { [proxy.host]: { username: 'alice', password: SECRET } } });
      const d = await pushBlob(c, blob);
      expect(await getBlob(c, d)).toEqual(Buffer.from(blob));
      // Only the very first request went out anonymously.
      expect(proxy.requests.filter((r) => r.authorization === undefined)).toHaveLength(1);
    } finally {
      await proxy.stop();
    }
  });

  it('refuses bad credentials with AUTH_FAILED (exit 4), naming the source but never the secret', async () => {
    const wrong = 'wrong-' + SECRET;
    const c = client(reg.host, { credentials: { [reg.host]: { username: 'alice', password: wrong } } });
    const e = await caught(c.request({ method: 'GET', url: `/v2/${REPO}/tags/list`, scope: ro }));
    expect(e.code).toBe('AUTH_FAILED');
    expect(e.exitCode).toBe(4);
    expect(e.message).toBe(`Registry ${reg.host} refused the credentials for ${REPO} (401); check the username/password in the credentials given for ${reg.host}.`);
    expect(everythingIn(e)).not.toContain(wrong);
    expect(everythingIn(e)).not.toContain(Buffer.from(`alice:${wrong}`).toString('base64'));
  });

  it('says credentials are needed when there are none', async () => {
    const c = client(reg.host, { authFile: join(dir, 'absent-but-default.json') });
    // An explicit auth file that does not exist is a BAD_INPUT; with no file at all it is anonymous.
    expect((await caught(c.request({ method: 'GET', url: '/v2/' }))).code).toBe('BAD_INPUT');
    const anon = client(reg.host, {});
    const saved = { HOME: process.env.HOME, DOCKER_CONFIG: process.env.DOCKER_CONFIG, REGISTRY_AUTH_FILE: process.env.REGISTRY_AUTH_FILE };
    process.env.DOCKER_CONFIG = dir; // holds no config.json
    delete process.env.REGISTRY_AUTH_FILE;
    try {
      const e = await caught(anon.request({ method: 'GET', url: '/v2/' }));
      expect(e.code).toBe('AUTH_FAILED');
      expect(e.message).toMatch(/requires credentials .* none were found/);
    } finally {
      restoreEnv(saved);
    }
  });

  it('reads credentials from a docker config.json `auths` entry (https:// key, base64 auth)', async () => {
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ auths: { [`https://${reg.host}`]: { auth: Buffer.from(`alice:${SECRET}`).toString('base64') } } }));
    const c = client(reg.host, { authFile: file });
    const res = await c.request({ method: 'GET', url: '/v2/' });
    expect(res.status).toBe(200);
    await res.body?.cancel();
    // $REGISTRY_AUTH_FILE is honoured the same way.
    const saved = { REGISTRY_AUTH_FILE: process.env.REGISTRY_AUTH_FILE };
    process.env.REGISTRY_AUTH_FILE = file;
    try {
      const c2 = client(reg.host);
      const r2 = await c2.request({ method: 'GET', url: '/v2/' });
      expect(r2.status).toBe(200);
      await r2.body?.cancel();
    } finally {
      restoreEnv(saved);
    }
  });

  it('reads credentials from a credHelpers helper on PATH, and from credsStore', async () => {
    const bin = join(dir, 'bin');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(bin, { recursive: true });
    const log = join(dir, 'helper.log');
    // A tiny docker-credential-test: answers for our registry only, logs what it was asked.
    const script = `#!/bin/sh
read server
echo "$1 $server" >> '${log}'
if [ "$server" = '${reg.host}' ]; then
  printf '{"ServerURL":"%s","Username":"alice","Secret":"${SECRET}"}' "$server"
else
  echo "credentials not found in native keychain"; exit 1
fi
`;
    await writeFile(join(bin, 'docker-credential-test'), script);
    await chmod(join(bin, 'docker-credential-test'), 0o755);
    const saved = { PATH: process.env.PATH };
    process.env.PATH = `${bin}:${process.env.PATH ?? ''}`;
    try {
      const helpers = join(dir, 'helpers.json');
      await writeFile(helpers, JSON.stringify({ credHelpers: { [reg.host]: 'test' } }));
      const r1 = await client(reg.host, { authFile: helpers }).request({ method: 'GET', url: '/v2/' });
      expect(r1.status).toBe(200);
      await r1.body?.cancel();
      const store = join(dir, 'store.json');
      await writeFile(store, JSON.stringify({ credsStore: 'test', auths: { [reg.host]: {} } }));
      const r2 = await client(reg.host, { authFile: store }).request({ method: 'GET', url: '/v2/' });
      expect(r2.status).toBe(200);
      await r2.body?.cancel();
      expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual([`get ${reg.host}`, `get ${reg.host}`]);
    } finally {
      restoreEnv(saved);
    }
  });
});

describe('token auth', () => {
  let ts: TokenServer;
  let reg: RunningRegistry;
  beforeAll(async () => {
    ts = await startTokenServer({ users: { bob: SECRET }, refreshTokens: { 'refresh-123': 'bob' } });
    reg = await startRegistry({ token: ts });
  });
  afterAll(async () => {
    await reg.stop();
    await ts.stop();
  });

  it('gets a token per scope set, caches it, and shares one fetch between concurrent requests', async () => {
    const c = client(reg.host, { credentials: { [reg.host]: { username: 'bob', password: SECRET } } });
    const before = ts.hits;
    const d = await pushBlob(c, blob); // POST + PUT with the push scope: one token
    const pushHits = ts.hits - before;
    expect(pushHits).toBe(1);
    const reads = await Promise.all(Array.from({ length: 5 }, () => getBlob(c, d)));
    expect(reads.every((b) => b.equals(Buffer.from(blob)))).toBe(true);
    await getBlob(c, d);
    expect(ts.hits - before).toBe(2); // + one pull-scoped token for six reads
    const last = ts.requests.at(-1);
    expect(last?.user).toBe('bob');
    expect(last?.scopes).toEqual([`repository:${REPO}:pull`]);
  });

  it('fetches a fresh token when the registry answers 401 to a cached one', async () => {
    const proxy = await startFaultProxy(reg.url);
    try {
      const c = client(proxy.host, { credentials: { [proxy.host]: { username: 'bob', password: SECRET } } });
      const d = await pushBlob(c, blob);
      await getBlob(c, d);
      const before = ts.hits;
      const challenge = `Bearer realm="${ts.realm}",service="${ts.service}",scope="repository:${REPO}:pull",error="invalid_token"`;
      proxy.inject({ method: 'GET', path: '/blobs/', times: 1, fault: { kind: 'status', status: 401, headers: { 'www-authenticate': challenge } } });
      expect(await getBlob(c, d)).toEqual(Buffer.from(blob));
      expect(ts.hits - before).toBe(1);
    } finally {
      await proxy.stop();
    }
  });

  it('re-authenticates a streamed upload answered 401 and sends its body again from byte 0 (a RewindableBody)', async () => {
    const proxy = await startFaultProxy(reg.url);
    try {
      const store = new RegistryStore(proxy.host, { ...fast, credentials: { [proxy.host]: { username: 'bob', password: SECRET } } });
      const repo = store.repository(REPO);
      const bytes = randomBytes(9 * 1024 * 1024 + 1);
      const d = { mediaType: 'application/octet-stream', digest: sha256(bytes) as Digest, size: bytes.byteLength };
      const challenge = `Bearer realm="${ts.realm}",service="${ts.service}",scope="repository:${REPO}:pull,push",error="invalid_token"`;
      proxy.inject({ method: 'PATCH', times: 1, fault: { kind: 'status', status: 401, headers: { 'www-authenticate': challenge } } });
      const before = ts.hits;
      async function* pieces(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < bytes.byteLength; i += 65536) yield bytes.subarray(i, i + 65536);
      }
      await repo.putBlob(d, pieces());
      expect(ts.hits - before).toBe(3); // pull (HEAD), push (POST), then a fresh push token after the PATCH's 401
      expect(proxy.requests.filter((r) => r.method === 'PATCH').map((r) => r.fault ?? 'ok')).toEqual(['status', 'ok']);
      expect(await repo.statBlob(d.digest)).toBe(bytes.byteLength);
      await store.close();
    } finally {
      await proxy.stop();
    }
  });

  it('refuses bad credentials at the token service with AUTH_FAILED', async () => {
    const c = client(reg.host, { credentials: { [reg.host]: { username: 'bob', password: 'nope' } } });
    const e = await caught(c.request({ method: 'GET', url: `/v2/${REPO}/tags/list`, scope: ro }));
    expect(e.code).toBe('AUTH_FAILED');
    expect(e.message).toBe(`Registry ${reg.host} refused the credentials for ${REPO} (401); check the username/password in the credentials given for ${reg.host}.`);
    expect(everythingIn(e)).not.toContain('nope');
  });

  it('says credentials are needed when the anonymous token lacks the scope', async () => {
    // DOCKER_CONFIG pointing at an empty directory: no auth file at all, so truly anonymous.
    const empty = await mkdtemp(join(tmpdir(), 'airlock-empty-'));
    const saved = { DOCKER_CONFIG: process.env.DOCKER_CONFIG, REGISTRY_AUTH_FILE: process.env.REGISTRY_AUTH_FILE };
    process.env.DOCKER_CONFIG = empty;
    delete process.env.REGISTRY_AUTH_FILE;
    try {
      const e = await caught(client(reg.host).request({ method: 'GET', url: `/v2/${REPO}/tags/list`, scope: ro }));
      expect(e.code).toBe('AUTH_FAILED');
      expect(e.message).toMatch(/requires credentials for airlock\/transport/);
    } finally {
      restoreEnv(saved);
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('exchanges a docker identity token (refresh token) with the OAuth2 POST form', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-idtok-'));
    try {
      const file = join(dir, 'config.json');
      await writeFile(file, JSON.stringify({ auths: { [reg.host]: { identitytoken: 'refresh-123' } } }));
      const c = client(reg.host, { authFile: file });
      const res = await c.request({ method: 'GET', url: `/v2/${REPO}/tags/list`, scope: ro });
      expect([200, 404]).toContain(res.status);
      await res.body?.cancel();
      expect(ts.requests.at(-1)).toMatchObject({ method: 'POST', user: 'bob', status: 200 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('TLS', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let reg: RunningRegistry;
  beforeAll(async () => {
    ca = await createTestCa();
    otherCa = await createTestCa('attacker CA');
    reg = await startRegistry({ tls: await ca.issue() });
  });
  afterAll(async () => {
    await reg.stop();
    await ca.dispose();
    await otherCa.dispose();
  });

  it('speaks HTTPS to a loopback registry whose CA file is given, and trusts it', async () => {
    const c = client(reg.host, { caFiles: { [reg.host]: reg.caFile! } });
    expect(c.baseUrl).toBe(`https://${reg.host}`);
    const d = await pushBlob(c, blob);
    expect(await getBlob(c, d)).toEqual(Buffer.from(blob));
  });

  it('rejects a certificate from a CA it was not told to trust (a MITM), naming --registry-ca', async () => {
    const c = client(reg.host, { caFiles: { [reg.host]: otherCa.certFile } });
    const e = await caught(c.request({ method: 'GET', url: '/v2/' }));
    expect(e.code).toBe('UNREACHABLE');
    expect(e.exitCode).toBe(5);
    expect(e.message).toContain(`--registry-ca ${reg.host}=FILE`);
    expect(e.message).toMatch(/not trusted/);
  });

  it('does not trust a CA given for another host', async () => {
    const c = client(reg.host, { caFiles: { [reg.host]: otherCa.certFile, 'other.example:443': ca.certFile } });
    expect((await caught(c.request({ method: 'GET', url: '/v2/' }))).code).toBe('UNREACHABLE');
  });

  it('rejects a certificate issued by the trusted CA for another name', async () => {
    const wrongName = await ca.issue({ san: ['DNS:registry.example.com'] });
    const other = await startRegistry({ tls: wrongName });
    try {
      const c = client(other.host, { caFiles: { [other.host]: ca.certFile } });
      const e = await caught(c.request({ method: 'GET', url: '/v2/' }));
      expect(e.code).toBe('UNREACHABLE');
      expect(e.message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
    } finally {
      await other.stop();
    }
  });

  it('without a CA file it uses plain HTTP for loopback and says to pass --registry-ca', async () => {
    const c = client(reg.host);
    expect(c.baseUrl).toBe(`http://${reg.host}`);
    const e = await caught(c.request({ method: 'GET', url: '/v2/' }));
    expect(e.code).toBe('UNREACHABLE');
    expect(e.message).toContain(`--registry-ca ${reg.host}=FILE`);
  });

  it('refuses an https→http redirect to a non-loopback host before contacting it', async () => {
    // A FAKE https registry (the real one cannot be told to redirect) that sends blob GETs to plain HTTP.
    const leaf = await ca.issue();
    const fake = createHttpsServer({ cert: leaf.certPem, key: leaf.keyPem }, (_req, res) => {
      res.writeHead(307, { location: 'http://storage.example.invalid/blob?sig=1' }).end();
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(fake.address() as AddressInfo).port}`;
    const spy = vi.spyOn(globalThis, 'fetch');
    try {
      const c = client(host, { caFiles: { [host]: ca.certFile } });
      const e = await caught(c.request({ method: 'GET', url: `/v2/${REPO}/blobs/${sha256(blob)}` }));
      expect(e.code).toBe('INSECURE_REFUSED');
      expect(spy.mock.calls.map((call) => String(call[0]))).not.toContainEqual(expect.stringContaining('storage.example.invalid'));
    } finally {
      fake.closeAllConnections();
      await new Promise<void>((r) => fake.close(() => r()));
    }
  });

  it('refuses a plain-HTTP token realm for an HTTPS registry (the password would travel in clear)', async () => {
    const tsFar = { realm: 'http://auth.example.invalid/token', service: 's', issuer: 'i', rootCertBundle: ca.certFile };
    const tokenReg = await startRegistry({ tls: await ca.issue(), token: tsFar });
    const spy = vi.spyOn(globalThis, 'fetch');
    try {
      const c = client(tokenReg.host, { caFiles: { [tokenReg.host]: ca.certFile }, credentials: { [tokenReg.host]: { username: 'u', password: SECRET } } });
      const e = await caught(c.request({ method: 'GET', url: '/v2/' }));
      expect(e.code).toBe('INSECURE_REFUSED');
      expect(e.message).toMatch(/auth\.example\.invalid/);
      expect(spy.mock.calls.map((call) => String(call[0]))).not.toContainEqual(expect.stringContaining('auth.example.invalid'));
    } finally {
      await tokenReg.stop();
    }
  });

  it('accepts a loopback plain-HTTP token realm for an HTTPS registry', async () => {
    const ts = await startTokenServer({ users: { bob: SECRET } });
    const tokenReg = await startRegistry({ tls: await ca.issue(), token: ts });
    try {
      const c = client(tokenReg.host, { caFiles: { [tokenReg.host]: ca.certFile }, credentials: { [tokenReg.host]: { username: 'bob', password: SECRET } } });
      const d = await pushBlob(c, blob);
      expect(await getBlob(c, d)).toEqual(Buffer.from(blob));
      expect(ts.hits).toBeGreaterThan(0);
    } finally {
      await tokenReg.stop();
      await ts.stop();
    }
  });

  describe('through HTTPS_PROXY', () => {
    const saved: Record<string, string | undefined> = {};
    afterEach(() => restoreEnv(saved));
    const setEnv = (vars: Record<string, string | undefined>) => {
      for (const [k, v] of Object.entries(vars)) {
        if (!(k in saved)) saved[k] = process.env[k];
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    };

    it('tunnels through the CONNECT proxy, TLS still verified with the CA file', async () => {
      const proxy = await startConnectProxy();
      try {
        setEnv({ HTTPS_PROXY: proxy.url, https_proxy: undefined, NO_PROXY: undefined, no_proxy: undefined });
        const c = client(reg.host, { caFiles: { [reg.host]: reg.caFile! } });
        const d = await pushBlob(c, blob);
        expect(await getBlob(c, d)).toEqual(Buffer.from(blob));
        expect(proxy.connections).toBeGreaterThanOrEqual(1);
        expect(proxy.targets).toContain(reg.host);
        // Through the tunnel, a certificate from an untrusted CA is still refused.
        const bad = client(reg.host, { caFiles: { [reg.host]: otherCa.certFile } });
        expect((await caught(bad.request({ method: 'GET', url: '/v2/' }))).message).toMatch(/through proxy 127\.0\.0\.1:\d+: its TLS certificate is not trusted/);
      } finally {
        await proxy.stop();
      }
    });

    it('bypasses the proxy for hosts in NO_PROXY (loopback included, as curl does)', async () => {
      const proxy = await startConnectProxy();
      try {
        setEnv({ HTTPS_PROXY: proxy.url, https_proxy: undefined, NO_PROXY: 'example.com,127.0.0.1', no_proxy: undefined });
        const c = client(reg.host, { caFiles: { [reg.host]: reg.caFile! } });
        const res = await c.request({ method: 'GET', url: '/v2/' });
        expect(res.status).toBe(200);
        await res.body?.cancel();
        expect(proxy.connections).toBe(0);
      } finally {
        await proxy.stop();
      }
    });

    it('uses HTTP_PROXY for a plain-HTTP registry', async () => {
      const proxy = await startConnectProxy();
      const plain = await startRegistry();
      try {
        setEnv({ HTTP_PROXY: proxy.url, http_proxy: undefined, NO_PROXY: undefined, no_proxy: undefined });
        const res = await client(plain.host).request({ method: 'GET', url: '/v2/' });
        expect(res.status).toBe(200);
        await res.body?.cancel();
        expect(proxy.targets).toEqual([plain.host]);
      } finally {
        await plain.stop();
        await proxy.stop();
      }
    });
  });
});

describe('faults through a proxy in front of the real registry', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  let origin: BlobOrigin;
  let digest: string;
  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: { alice: SECRET } });
    proxy = await startFaultProxy(reg.url);
    origin = await startBlobOrigin((d) => reg.blobPath(d));
    digest = await pushBlob(new RegistryClient(reg.host, { credentials: { [reg.host]: { username: 'alice', password: SECRET } } }), blob);
  });
  afterAll(async () => {
    await proxy.stop();
    await origin.stop();
    await reg.stop();
  });
  afterEach(() => proxy.clear());
  const creds = (): StoreOptions => ({ credentials: { [proxy.host]: { username: 'alice', password: SECRET } } });
  const since = (n: number) => proxy.requests.slice(n);

  it('retries 503 and succeeds', async () => {
    const c = client(proxy.host, creds());
    await getBlob(c, digest); // learn the auth scheme first
    const n = proxy.requests.length;
    proxy.inject({ method: 'GET', path: '/blobs/', times: 2, fault: { kind: 'status', status: 503 } });
    expect(await getBlob(c, digest)).toEqual(Buffer.from(blob));
    expect(since(n).map((r) => r.fault ?? 'ok')).toEqual(['status', 'status', 'ok']);
  });

  it('retries 503 and 429 on the upload side too (PUT with a replayable body)', async () => {
    const c = client(proxy.host, creds());
    await getBlob(c, digest);
    proxy.inject({ method: 'PUT', times: 1, fault: { kind: 'status', status: 503 } });
    proxy.inject({ method: 'PUT', times: 1, fault: { kind: 'status', status: 429, retryAfter: '0' } });
    const n = proxy.requests.length;
    const other = new TextEncoder().encode('upload-side retry');
    const d = await pushBlob(c, other);
    expect(await getBlob(c, d)).toEqual(Buffer.from(other));
    expect(since(n).filter((r) => r.method === 'PUT').map((r) => r.fault ?? 'ok')).toEqual(['status', 'status', 'ok']);
  });

  it('honours Retry-After on 429', async () => {
    const c = client(proxy.host, creds());
    await getBlob(c, digest);
    proxy.inject({ method: 'GET', path: '/blobs/', times: 1, fault: { kind: 'status', status: 429, retryAfter: '1' } });
    const n = proxy.requests.length;
    const t0 = Date.now();
    expect(await getBlob(c, digest)).toEqual(Buffer.from(blob));
    const [first, second] = since(n);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('gives up after the configured retries and reports REGISTRY_ERROR', async () => {
    const c = client(proxy.host, { ...creds(), retries: 2 });
    proxy.inject({ method: 'GET', path: '/blobs/', fault: { kind: 'status', status: 503 } });
    const n = proxy.requests.length;
    const e = await caught(getBlob(c, digest));
    expect(e.code).toBe('REGISTRY_ERROR');
    expect(e.message).toMatch(/server error \(503 UNAVAILABLE: injected 503\) after retries/);
    expect(since(n).filter((r) => r.fault === 'status')).toHaveLength(3);
  });

  it('retries a connection dropped before the answer', async () => {
    const c = client(proxy.host, creds());
    await getBlob(c, digest);
    proxy.inject({ method: 'GET', path: '/blobs/', times: 1, fault: { kind: 'drop' } });
    expect(await getBlob(c, digest)).toEqual(Buffer.from(blob));
  });

  it('never retries a streamed body, nor a POST by default', async () => {
    const c = client(proxy.host, creds());
    await getBlob(c, digest);
    proxy.inject({ method: 'PUT', fault: { kind: 'status', status: 503 } });
    proxy.inject({ method: 'POST', fault: { kind: 'status', status: 503 } });
    const n = proxy.requests.length;
    async function* stream() {
      yield blob;
    }
    const put = await c.request({ method: 'PUT', url: `/v2/${REPO}/blobs/uploads/x?digest=${digest}`, scope: rw, body: stream() });
    expect(put.status).toBe(503);
    await put.body?.cancel();
    const post = await c.request({ method: 'POST', url: `/v2/${REPO}/blobs/uploads/`, scope: rw });
    expect(post.status).toBe(503);
    await post.body?.cancel();
    expect(since(n)).toHaveLength(2);
  });

  it('surfaces a body cut mid-blob as a dropped connection the caller can resume', async () => {
    const c = client(proxy.host, creds());
    await getBlob(c, digest); // authenticated from now on, so the cut hits the 200, not a 401
    proxy.inject({ method: 'GET', path: '/blobs/', times: 1, fault: { kind: 'cut', afterBytes: 1000 } });
    const res = await c.request({ method: 'GET', url: `/v2/${REPO}/blobs/${digest}`, scope: ro });
    expect(res.status).toBe(200);
    const err = await res.arrayBuffer().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    expect(isDroppedConnection(err)).toBe(true);
  });

  it('does not send Authorization (or cookies) to another origin a blob GET redirects to', async () => {
    const c = client(proxy.host, creds());
    await getBlob(c, digest);
    proxy.inject({ method: 'GET', path: '/blobs/', times: 1, fault: redirectBlobsTo(origin) });
    const n = proxy.requests.length;
    const got = await getBlob(c, digest, { headers: { Cookie: 'session=registry-only' } });
    expect(got).toEqual(Buffer.from(blob));
    expect(since(n)[0]?.authorization).toMatch(/^Basic /);
    expect(since(n)[0]?.cookie).toBe('session=registry-only');
    expect(origin.requests.at(-1)).toMatchObject({ method: 'GET', authorization: undefined, cookie: undefined });
  });

  it('does not send Authorization to an absolute URL on another origin (a Location pointing elsewhere)', async () => {
    const c = client(proxy.host, creds());
    await getBlob(c, digest);
    const res = await c.request({ method: 'GET', url: `${origin.url}/blobs/${digest}`, scope: ro });
    expect(res.status).toBe(200);
    await res.body?.cancel();
    expect(origin.requests.at(-1)?.authorization).toBeUndefined();
  });

  it('keeps Authorization on a same-origin redirect', async () => {
    const c = client(proxy.host, creds());
    await getBlob(c, digest);
    proxy.inject({ method: 'GET', path: /\/blobs\/sha256:[0-9a-f]+$/, times: 1, fault: { kind: 'redirect', location: (p) => `${p}?hop=1` } });
    const n = proxy.requests.length;
    expect(await getBlob(c, digest)).toEqual(Buffer.from(blob));
    const [first, second] = since(n);
    expect(first?.fault).toBe('redirect');
    expect(second?.path).toMatch(/\?hop=1$/);
    expect(second?.authorization).toMatch(/^Basic /);
  });

  it('refuses a redirect from a loopback registry to plain HTTP elsewhere, without contacting it', async () => {
    const c = client(proxy.host, creds());
    proxy.inject({ method: 'GET', path: '/blobs/', times: 1, fault: { kind: 'redirect', location: () => 'http://evil.example.invalid/steal' } });
    const spy = vi.spyOn(Agent.prototype, 'dispatch');
    const e = await caught(getBlob(c, digest));
    expect(e.code).toBe('INSECURE_REFUSED');
    expect(e.exitCode).toBe(15);
    const origins = spy.mock.calls.map((call) => String(call[0].origin));
    expect(origins).toContain(`http://${proxy.host}`); // the redirect itself was fetched through this spy
    expect(origins).not.toContainEqual(expect.stringContaining('evil.example.invalid'));
  });

  it('stops after 5 redirects', async () => {
    const c = client(proxy.host, creds());
    proxy.inject({ method: 'GET', path: '/blobs/', fault: { kind: 'redirect', location: (p) => p } });
    const e = await caught(getBlob(c, digest));
    expect(e.code).toBe('REGISTRY_ERROR');
    expect(e.message).toMatch(/redirected more than 5 times/);
  });
});

describe('unreachable and insecure', () => {
  it('reports a registry that is not listening as UNREACHABLE (exit 5) in one sentence', async () => {
    const port = await freePort();
    const c = client(`127.0.0.1:${port}`);
    const e = await caught(c.request({ method: 'GET', url: '/v2/' }));
    expect(e.code).toBe('UNREACHABLE');
    expect(e.exitCode).toBe(5);
    expect(e.message).toBe(`Cannot reach registry 127.0.0.1:${port}: connection refused; check the address and that the registry is running.`);
  });

  it('refuses plain HTTP to a non-loopback host without any network attempt', async () => {
    const spy = vi.spyOn(Agent.prototype, 'dispatch');
    const c = client('registry.example.com');
    expect(c.baseUrl).toBe('https://registry.example.com');
    const e = await caught(c.request({ method: 'GET', url: 'http://registry.example.com/v2/' }));
    expect(e.code).toBe('INSECURE_REFUSED');
    expect(e.message).toContain('--insecure-registry registry.example.com');
    expect(spy).not.toHaveBeenCalled();
  });

  it('maps docker.io to registry-1.docker.io over HTTPS', () => {
    const c = client('docker.io');
    expect(c.registry).toBe('docker.io');
    expect(c.baseUrl).toBe('https://registry-1.docker.io');
  });
});

function restoreEnv(saved: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}
