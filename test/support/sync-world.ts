import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Ledger } from '../../src/ledger/ledger.js';
import type { LedgerEntry } from '../../src/ledger/events.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { CLI_DEFAULT_ENV, REPO_ROOT } from './cli.js';
import { startFakeGitHub, type FakeGitHub } from './fake-github.js';
import { controllers, publishRelease, type PublishedRelease } from './flux-upstream.js';
import { startRegistry, type RunningRegistry } from './registry.js';

/**
 * A whole signed Flux upstream for sync tests through the built CLI: the kit's Sigstore, the FAKE GitHub with
 * release v2.9.4, and its images in a REAL docker-registry (two controllers with provenance, flux-cli and the
 * flux-manifests artifact, every one signed as upstream signs it), layers large enough that an upload can be cut in
 * the middle. Plus: a sync's own state directory (config, ledger, key), the CLI spawned as a child the test can
 * kill, and snapshots of a target registry's storage and of a ledger that two runs can be compared by.
 */
export interface Upstream {
  kit: LocalSigstore;
  github: FakeGitHub;
  src: RunningRegistry;
  published: PublishedRelease;
  stop(): Promise<void>;
}

export const RELEASE = 'v2.9.4';

export async function startUpstream(dir: string, o: { layerSizes?: number[] } = {}): Promise<Upstream> {
  const kit = await startLocalSigstore({ stateDir: join(dir, 'kit') });
  const src = await startRegistry();
  const store = new RegistryStore(src.host);
  const github = await startFakeGitHub('fluxcd/flux2');
  const published = await publishRelease(kit, github, store, 'fluxcd', {
    tag: RELEASE,
    images: [...controllers({ 'source-controller': 'v1.9.4', 'kustomize-controller': 'v1.9.1' }), { name: 'flux-cli', tag: RELEASE, kind: 'extra' }, { name: 'flux-manifests', tag: RELEASE, kind: 'extra' }],
    layerSizes: o.layerSizes ?? [40_000, 90_000],
  });
  await store.close();
  return {
    kit,
    github,
    src,
    published,
    stop: async () => {
      await Promise.all([src.stop(), github.stop()]);
      await kit.close();
    },
  };
}

export interface SyncHome {
  dir: string;
  config: string;
  ledgerPath: string;
  env: NodeJS.ProcessEnv;
}

/** A fresh config + ledger place (the key under its own XDG_CONFIG_HOME, apart from the ledger). */
export function syncHome(dir: string): SyncHome {
  mkdirSync(join(dir, 'etc'), { recursive: true });
  const config = join(dir, 'etc', 'airlock.yaml');
  writeFileSync(config, 'upstream:\n  token_env: null\nledger:\n  path: airlock.db\n');
  return { dir, config, ledgerPath: join(dir, 'etc', 'airlock.db'), env: { ...CLI_DEFAULT_ENV, XDG_CONFIG_HOME: join(dir, 'config'), XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') } };
}

export function syncArgs(up: Upstream, home: SyncHome, targetHost: string, sourceHost: string = up.src.host): string[] {
  return [
    'sync',
    '--config', home.config,
    '--github-api', up.github.apiBase,
    '--source', `${sourceHost}/fluxcd`,
    '--trusted-root', up.kit.trustedRootPath,
    '--rekor-url', up.kit.rekorUrl,
    '--release', RELEASE,
    '--target', `${targetHost}/mirror`,
    '--json',
  ];
}

export interface Spawned {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }>;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
}

/** The built CLI (`node bin/run.js …`) as a child the caller can kill. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv): Spawned {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    done,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

// ---- the target registry's storage, as the registry keeps it --------------------------------------------------

export interface TargetSnapshot {
  /** repository → tag → digest. */
  tags: Record<string, Record<string, string>>;
  /** repository → sorted digests linked into it (blobs and manifests), every one with its data present. */
  linked: Record<string, string[]>;
  /** Every blob whose data the registry holds. */
  blobs: string[];
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

const V2 = (storageDir: string): string => join(storageDir, 'docker', 'registry', 'v2');

/**
 * What a target holds, read from docker-registry's filesystem storage: tags, the digests linked into each
 * repository (what a client can reach there), and the blobs. Uploads in progress (`_uploads`, what a killed
 * upload leaves; never visible to a client, collected by the registry) are not content.
 */
export async function snapshotTarget(storageDir: string): Promise<TargetSnapshot> {
  const v2 = V2(storageDir);
  const repos = join(v2, 'repositories');
  const tags: TargetSnapshot['tags'] = {};
  const linked: Record<string, Set<string>> = {};
  for (const file of await walk(repos)) {
    const rel = relative(repos, file).split('/');
    const at = rel.indexOf('_manifests') >= 0 ? rel.indexOf('_manifests') : rel.indexOf('_layers');
    if (at < 0 || !file.endsWith('/link')) continue;
    const repo = rel.slice(0, at).join('/');
    const digest = (await readFile(file, 'utf8')).trim();
    if (rel[at] === '_manifests' && rel[at + 1] === 'tags' && rel[at + 3] === 'current') (tags[repo] ??= {})[rel[at + 2]!] = digest;
    if ((rel[at] === '_manifests' && rel[at + 1] === 'revisions') || rel[at] === '_layers') (linked[repo] ??= new Set()).add(digest);
  }
  const blobs = (await walk(join(v2, 'blobs'))).filter((f) => f.endsWith('/data')).map((f) => `sha256:${f.split('/').at(-2)!}`);
  const held = new Set(blobs);
  for (const [repo, set] of Object.entries(linked)) for (const d of set) if (!held.has(d)) throw new Error(`${repo} links ${d}, whose data the registry does not hold`);
  return { tags, linked: Object.fromEntries(Object.entries(linked).map(([k, v]) => [k, [...v].sort()])), blobs: blobs.sort() };
}

/** A hash of every file under the storage directory: path, size and bytes (a write of any kind changes it). */
export async function hashTree(dir: string): Promise<{ files: number; bytes: number; sha256: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  const files = (await walk(dir)).sort();
  for (const f of files) {
    const b = await readFile(f);
    const st = await stat(f);
    bytes += b.length;
    h.update(`${relative(dir, f)}\0${st.size}\0`).update(b);
  }
  return { files: files.length, bytes, sha256: h.digest('hex') };
}

// ---- the ledger ------------------------------------------------------------------------------------------------

export function readLedger(path: string): LedgerEntry[] {
  const ledger = Ledger.open(path, { readOnly: true });
  try {
    return ledger.list({ limit: 100_000, order: 'asc' });
  } finally {
    ledger.close();
  }
}

export function latestCheckpoint(path: string): { size: number; note: string } | undefined {
  const ledger = Ledger.open(path, { readOnly: true });
  try {
    return ledger.latestCheckpoint();
  } finally {
    ledger.close();
  }
}

/** An event as two runs can agree on it: no time, run, sequence number or body. */
export function eventKey(e: LedgerEntry): string {
  return JSON.stringify([e.kind, e.image, e.digest, e.subject, e.release, e.status]);
}

export function multiset(keys: readonly string[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const k of keys) m[k] = (m[k] ?? 0) + 1;
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => a.localeCompare(b)));
}
