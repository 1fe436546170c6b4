import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { IssuedCert } from './tls.js';

/**
 * A real Debian `docker-registry` (distribution 2.8.2) on 127.0.0.1, random port, temp storage.
 *
 *   const reg = await startRegistry();                                  // anonymous, plain HTTP
 *   const reg = await startRegistry({ htpasswd: { alice: 'secret' } }); // Basic auth (bcrypt htpasswd)
 *   const reg = await startRegistry({ token: await startTokenServer({ users }) }); // bearer-token auth
 *   const reg = await startRegistry({ tls: await ca.issue() });         // HTTPS; trust it with reg.caFile
 *   … await reg.stop();
 */
export interface RunningRegistry {
  /** host:port */
  host: string;
  port: number;
  /** http(s)://host:port */
  url: string;
  storageDir: string;
  dir: string;
  /** With `tls`: the PEM CA file that signed the registry's certificate (for `caFiles`). */
  caFile?: string;
  /** Where the registry's filesystem driver keeps a blob's bytes (for fakes that serve blobs from "storage"). */
  blobPath(digest: string): string;
  stop(): Promise<void>;
}

export interface RegistryConfigExtras {
  /** YAML lines appended under `auth:` (htpasswd / token), already indented by two spaces. */
  auth?: string;
  /** YAML lines appended under `http:` (tls), already indented by two spaces. */
  http?: string;
}

/** What token auth needs from a token server (a `TokenServer` from token-server.ts fits). */
export interface TokenAuthConfig {
  realm: string;
  service: string;
  issuer: string;
  rootCertBundle: string;
}

export interface RegistryOptions extends RegistryConfigExtras {
  /** Basic auth: user → password, written with `htpasswd -Bbn` (the registry accepts bcrypt only). */
  htpasswd?: Record<string, string>;
  /** Bearer-token auth against a token server. */
  token?: TokenAuthConfig;
  /** Serve HTTPS with this certificate (its `ca.certFile` becomes `caFile`). */
  tls?: IssuedCert;
}

const run = promisify(execFile);

async function htpasswdFile(dir: string, users: Record<string, string>): Promise<string> {
  const lines: string[] = [];
  for (const [user, pass] of Object.entries(users)) {
    const { stdout } = await run('htpasswd', ['-Bbn', user, pass]);
    lines.push(stdout.trim());
  }
  const path = join(dir, 'htpasswd');
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

async function configExtras(dir: string, opts: RegistryOptions): Promise<{ auth: string[]; http: string[] }> {
  const auth: string[] = [];
  const http: string[] = [];
  if (opts.auth) auth.push(opts.auth);
  if (opts.http) http.push(opts.http);
  if (opts.htpasswd) {
    auth.push('  htpasswd:', '    realm: airlock-test', `    path: ${await htpasswdFile(dir, opts.htpasswd)}`);
  }
  if (opts.token) {
    auth.push(
      '  token:',
      `    realm: ${opts.token.realm}`,
      `    service: ${opts.token.service}`,
      `    issuer: ${opts.token.issuer}`,
      `    rootcertbundle: ${opts.token.rootCertBundle}`,
    );
  }
  if (opts.tls) http.push('  tls:', `    certificate: ${opts.tls.certFile}`, `    key: ${opts.tls.keyFile}`);
  return { auth, http };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
let reaperInstalled = false;
/** A test worker that exits without running afterAll must not leave registries running. */
function reapOnExit(child: ChildProcess): void {
  if (!reaperInstalled) {
    reaperInstalled = true;
    process.once('exit', () => live.forEach((c) => c.kill('SIGKILL')));
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** Starts a registry; `scheme` defaults to https when `tls` is given (kept for callers passing raw `http` extras). */
export async function startRegistry(opts: RegistryOptions = {}, scheme: 'http' | 'https' = opts.tls ? 'https' : 'http'): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-registry-'));
  const storageDir = join(dir, 'storage');
  const extras = await configExtras(dir, opts);
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const cfg = [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storageDir}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: airlock-test-secret',
      ...extras.http,
      ...(extras.auth.length ? ['auth:', ...extras.auth] : []),
      '',
    ].join('\n');
    const cfgPath = join(dir, 'config.yml');
    await writeFile(cfgPath, cfg);
    const child = spawn('docker-registry', ['serve', cfgPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    reapOnExit(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const url = `${scheme}://127.0.0.1:${port}`;
    const up = await waitForPort(port, child);
    if (!up) {
      child.kill('SIGKILL');
      if (/address already in use/.test(stderr)) continue;
      await rm(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start: ${stderr.slice(0, 500)}`);
    }
    return {
      host: `127.0.0.1:${port}`,
      port,
      url,
      storageDir,
      dir,
      ...(opts.tls ? { caFile: opts.tls.ca.certFile } : {}),
      blobPath(digest: string) {
        const hex = digest.replace(/^sha256:/, '');
        return join(storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
      },
      async stop() {
        await stopChild(child);
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  throw new Error('docker-registry: no free port after 5 attempts');
}

async function waitForPort(port: number, child: ChildProcess): Promise<boolean> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 2000).unref();
  });
}
