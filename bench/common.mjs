/* global process, fetch, setTimeout */
// Shared by bench/copy.mjs, bench/sync.mjs and bench/noop.mjs: local docker-registry instances with their access log
// (every HTTP request counted by the registry itself), the generated signed Flux upstream (the test kit's Sigstore,
// the FAKE GitHub, images pushed into a REAL docker-registry), timed child processes, results and clean-up. Runs the
// built code in dist/.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const MIB = 1024 * 1024;
export const log = (s) => process.stderr.write(`${s}\n`);
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
export const load = () => loadavg().map((x) => Number(x.toFixed(2)));

/** Exits 2 unless the built CLI (dist/commands/COMMAND.js) is there. */
export function requireBuild(script, command = 'sync') {
  if (!existsSync(join(ROOT, 'dist', 'commands', `${command}.js`))) {
    process.stderr.write(`${script} runs the built CLI: run \`npm run build\` first.\n`);
    process.exit(2);
  }
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A docker-registry with its access log on stdout: `reg.requests` holds `METHOD PATH` of every request. */
async function startRegistry(base) {
  const dir = await mkdtemp(join(base, 'registry-'));
  const port = await freePort();
  const cfg = join(dir, 'config.yml');
  await writeFile(cfg, ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: false', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'storage')}`, 'http:', `  addr: 127.0.0.1:${port}`, '  secret: bench', ''].join('\n'));
  const child = spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', 'pipe', 'ignore'] });
  const reg = { host: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}`, dir, storageDir: join(dir, 'storage'), child, requests: [] };
  let partial = '';
  child.stdout.on('data', (d) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop();
    for (const l of lines) {
      const m = /"([A-Z]+) (\S+) HTTP/.exec(l);
      if (m) reg.requests.push(`${m[1]} ${m[2]}`);
    }
  });
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`http://${reg.host}/v2/`);
      if (r.ok) {
        await new Promise((r) => setTimeout(r, 50));
        reg.requests.length = 0;
        return reg;
      }
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('docker-registry did not start');
}

async function stopRegistry(reg) {
  if (reg.child.exitCode === null) {
    await new Promise((resolve) => {
      reg.child.once('exit', resolve);
      reg.child.kill('SIGTERM');
    });
  }
  await rm(reg.dir, { recursive: true, force: true });
}

/** Lets the access log catch up with the last request. */
export const settle = () => new Promise((r) => setTimeout(r, 100));

export const RELEASE = 'v2.9.4';
export const CONTROLLERS = { 'source-controller': 'v1.9.4', 'kustomize-controller': 'v1.9.1', 'helm-controller': 'v1.6.3', 'notification-controller': 'v1.9.2' };

/**
 * The generated signed Flux release v2.9.4 (src/demo/flux-upstream.ts): four controllers (three platforms each,
 * BuildKit attestation manifests, cosign .sig and SLSA .att), flux-cli, the flux-manifests artifact; its images
 * pushed into `src` (a real docker-registry), its files on the FAKE GitHub, signed by the local Sigstore kit.
 */
export async function publishUpstream(base, src, layerSizes) {
  const { startLocalSigstore } = await import(join(ROOT, 'dist/src/testkit/sigstore.js'));
  const { startFakeGitHub } = await import(join(ROOT, 'dist/src/demo/fake-github.js'));
  const { publishRelease, controllers } = await import(join(ROOT, 'dist/src/demo/flux-upstream.js'));
  const { RegistryStore } = await import(join(ROOT, 'dist/src/store/registry/store.js'));
  const kit = await startLocalSigstore({ stateDir: join(base, 'kit') });
  const github = await startFakeGitHub('fluxcd/flux2');
  const store = new RegistryStore(src.host, {});
  const published = await publishRelease(kit, github, store, 'fluxcd', {
    tag: RELEASE,
    images: [...controllers(CONTROLLERS), { name: 'flux-cli', tag: RELEASE, kind: 'extra' }, { name: 'flux-manifests', tag: RELEASE, kind: 'extra' }],
    layerSizes,
  });
  await store.close();
  return {
    kit,
    github,
    published,
    repositories: [...published.digests.keys()].map((n) => `fluxcd/${n}`),
    async stop() {
      await github.stop();
      await kit.close();
    },
  };
}

/** A config + ledger place for one sync (key under its own XDG_CONFIG_HOME, apart from the ledger). */
export async function syncHome(base, name) {
  const dir = join(base, name);
  await mkdir(join(dir, 'etc'), { recursive: true });
  const config = join(dir, 'etc', 'airlock.yaml');
  await writeFile(config, 'upstream:\n  token_env: null\nledger:\n  path: airlock.db\n');
  return { dir, config, ledgerPath: join(dir, 'etc', 'airlock.db'), env: { XDG_CONFIG_HOME: join(dir, 'config'), XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') } };
}

export function syncArgs(up, home, srcHost, targetHost) {
  return ['sync', '--config', home.config, '--github-api', up.github.apiBase, '--source', `${srcHost}/fluxcd`, '--trusted-root', up.kit.trustedRootPath, '--rekor-url', up.kit.rekorUrl, '--release', RELEASE, '--target', `${targetHost}/mirror`, '--json'];
}

let timeFile;
/** Runs a command; with `cpu`, under /usr/bin/time, adding its user+system CPU milliseconds (`cpuMs`). */
export async function run(cmd, args, { env = {}, cpu = false, okCodes = [0] } = {}) {
  if (!cpu) return runPlain(cmd, args, { env, okCodes });
  timeFile ??= join(await mkdtemp(join(tmpdir(), 'airlock-bench-time-')), 'time.txt');
  const r = await runPlain('/usr/bin/time', ['-o', timeFile, '-f', '%U %S', cmd, ...args], { env, okCodes });
  const [user, sys] = (await readFile(timeFile, 'utf8')).trim().split(/\s+/).map(Number);
  return { ...r, cpuMs: Math.round((user + sys) * 1000) };
}

function runPlain(cmd, args, { env, okCodes }) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (!okCodes.includes(code)) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ ms, code, stdout, stderr });
    });
  });
}

const SKOPEO_CACHES = [join(homedir(), '.local/share/containers/cache/blob-info-cache-v1.boltdb'), '/var/lib/containers/cache/blob-info-cache-v1.boltdb'];
/** skopeo's blob-info cache, dropped before each timed skopeo run so that it starts as cold as airlock. */
export const dropSkopeoCache = () => Promise.all(SKOPEO_CACHES.map((f) => rm(f, { force: true })));

/** Writes a bench's figures to bench/results/NAME.json. */
export async function writeResults(name, figures) {
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(ROOT, 'bench', 'results', `${name}.json`), `${JSON.stringify(figures, null, 2)}\n`);
}

/**
 * A bench's work directory (`base`, under the system temp directory) and the docker-registry instances it starts
 * there: `registry()` starts one, `stop(reg)` stops one, `close(stopUpstream)` stops what still runs and the
 * upstream (when given), and removes `base` and the time file.
 */
export async function benchSpace(name) {
  const base = await mkdtemp(join(tmpdir(), `airlock-bench-${name}-`));
  const running = [];
  return {
    base,
    async registry() {
      const reg = await startRegistry(base);
      running.push(reg);
      return reg;
    },
    async stop(reg) {
      await stopRegistry(reg);
      running.splice(running.indexOf(reg), 1);
    },
    async close(stopUpstream) {
      for (const r of running) await stopRegistry(r).catch(() => undefined);
      await stopUpstream?.();
      if (timeFile) await rm(dirname(timeFile), { recursive: true, force: true });
      await rm(base, { recursive: true, force: true });
    },
  };
}

/** Groups `METHOD PATH` access-log lines by what they ask for. */
export function byKind(lines) {
  const out = {};
  for (const l of lines) {
    const [method, path] = l.split(' ');
    const what = /\/manifests\/sha256:/.test(path)
      ? 'manifest by digest'
      : /\/manifests\/sha256-/.test(path)
        ? 'signature tag'
        : /\/manifests\//.test(path)
          ? 'manifest by tag'
          : /\/blobs\/uploads\//.test(path)
            ? 'blob upload'
            : /\/blobs\//.test(path)
              ? 'blob'
              : /\/referrers\//.test(path)
                ? 'referrers'
                : /\/tags\/list/.test(path)
                  ? 'tags list'
                  : path;
    const k = `${method} ${what}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
