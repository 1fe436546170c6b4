import { spawn } from 'node:child_process';
import { readdir, mkdtemp, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyImage } from '../../src/copy/copy.js';
import { walkGraph } from '../../src/copy/graph.js';
import { copyReferences } from '../../src/copy/references.js';
import { DEFAULT_LIMITS } from '../../src/copy/types.js';
import { isAirlockError } from '../../src/errors.js';
import { hexOf } from '../../src/oci/digest.js';
import type { RegistryRequest } from '../../src/store/registry/client.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import type { Repository } from '../../src/store/types.js';
import { insecureSkipVerify } from '../../src/verify/verdict.js';
import { REPO_ROOT, CLI_DEFAULT_ENV } from '../support/cli.js';
import { imageOf, multiArchOf, pushIndex, pushManifest } from '../support/copy-images.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

function recordRequests(store: RegistryStore): RegistryRequest[] {
  const seen: RegistryRequest[] = [];
  const original = store.client.request.bind(store.client);
  store.client.request = (req: RegistryRequest) => {
    seen.push(req);
    return original(req);
  };
  return seen;
}

/** Blob uploads a registry saw: POST to start, PATCH chunks, PUT ?digest= to commit. */
function uploads(seen: RegistryRequest[]): RegistryRequest[] {
  return seen.filter((r) => (r.method === 'POST' || r.method === 'PATCH' || r.method === 'PUT') && r.url.includes('/blobs/'));
}

/** Every manifest digest under `ref` in `repo`, read back through the store (so the target really holds them). */
async function graphDigests(repo: Repository, ref: string): Promise<string[]> {
  const root = await repo.getManifest(ref);
  const g = await walkGraph(repo, root, DEFAULT_LIMITS);
  return [...g.nodes.keys()].sort();
}

/** The blob files docker-registry holds. */
async function storedBlobs(reg: RunningRegistry): Promise<number> {
  const base = join(reg.storageDir, 'docker/registry/v2/blobs/sha256');
  let n = 0;
  for (const prefix of await readdir(base).catch(() => [])) n += (await readdir(join(base, prefix))).length;
  return n;
}

describe('copy between real docker-registry instances', () => {
  let a: RunningRegistry;
  let b: RunningRegistry;
  let storeA: RegistryStore;
  let storeB: RegistryStore;
  let dir: string;

  beforeAll(async () => {
    [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    storeA = new RegistryStore(a.host);
    storeB = new RegistryStore(b.host);
    dir = await mkdtemp(join(tmpdir(), 'airlock-copy-it-'));
  });
  afterAll(async () => {
    await storeA?.close();
    await storeB?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('copies a multi-arch index (3 platforms + attestation manifests) with identical digests, the tag last', async () => {
    const idx = multiArchOf({ layerSizes: [300_000, 20_000], attestations: true });
    await pushIndex(storeA.repository('fluxcd/source-controller'), idx, 'v1.9.4');
    const seen = recordRequests(storeB);
    const r = await copyImage({
      source: storeA.repository('fluxcd/source-controller'),
      sourceReference: 'v1.9.4',
      target: storeB.repository('mirror/fluxcd/source-controller'),
      targetTag: 'v1.9.4',
      subject: insecureSkipVerify(),
    });
    expect(r).toMatchObject({ digest: idx.descriptor.digest, tagged: true, unverified: true, blobsSkipped: 0 });
    expect(r.manifestsWritten).toHaveLength(7);
    expect(r.blobsCopied).toHaveLength(3 * 3 + 3 * 2);
    const target = storeB.repository('mirror/fluxcd/source-controller');
    expect((await target.headManifest('v1.9.4'))?.digest).toBe(idx.descriptor.digest);
    expect(await graphDigests(target, 'v1.9.4')).toEqual(await graphDigests(storeA.repository('fluxcd/source-controller'), 'v1.9.4'));
    // The tag was the last manifest write.
    const manifestPuts = seen.filter((q) => q.method === 'PUT' && q.url.includes('/manifests/'));
    expect(manifestPuts.at(-1)?.url).toMatch(/\/manifests\/v1\.9\.4$/);
    expect(manifestPuts.filter((q) => /\/manifests\/v1\.9\.4$/.test(q.url))).toHaveLength(1);

    // Warm: nothing transferred, a couple of requests.
    seen.length = 0;
    const warm = await copyImage({
      source: storeA.repository('fluxcd/source-controller'),
      sourceReference: 'v1.9.4',
      target: target,
      targetTag: 'v1.9.4',
      subject: insecureSkipVerify(),
    });
    expect(warm).toMatchObject({ alreadyPresent: true, bytesMoved: 0, manifestsWritten: [] });
    expect(seen.filter((q) => q.method !== 'HEAD' && q.method !== 'GET')).toEqual([]);
    expect(seen.length).toBeLessThanOrEqual(2);
  });

  it('round-trips registry → oci: layout dir → oci-archive: tar → registry with identical digests', async () => {
    const idx = multiArchOf({ layerSizes: [100_000], attestations: true });
    await pushIndex(storeA.repository('fluxcd/helm-controller'), idx, 'v1.6.3');
    const layoutDir = join(dir, 'layout');
    const archive = join(dir, 'helm.tar');
    const hops = [
      [`${a.host}/fluxcd/helm-controller:v1.6.3`, `oci:${layoutDir}`],
      [`oci:${layoutDir}:v1.6.3`, `oci-archive:${archive}`],
      [`oci-archive:${archive}:v1.6.3`, `${b.host}/roundtrip/helm-controller`],
    ] as const;
    for (const [src, dst] of hops) {
      const r = await copyReferences({ source: src, target: dst, insecureSkipVerify: true });
      expect(r).toMatchObject({ digest: idx.descriptor.digest, tagged: true, tag: 'v1.6.3', unverified: true });
    }
    expect((await stat(archive)).size).toBeGreaterThan(300_000);
    const back = storeB.repository('roundtrip/helm-controller');
    expect((await back.headManifest('v1.6.3'))?.digest).toBe(idx.descriptor.digest);
    expect(await graphDigests(back, 'v1.6.3')).toEqual(await graphDigests(storeA.repository('fluxcd/helm-controller'), 'v1.6.3'));
  });

  it('a blob whose bytes do not match its digest fails the copy and leaves no tag', async () => {
    const idx = multiArchOf({ layerSizes: [200_000] });
    await pushIndex(storeA.repository('corrupt/image'), idx, 'v1');
    // Flip bytes in the registry's own storage: docker-registry serves its files without checking them.
    const victim = idx.images[2]!.blobs[1]!.descriptor;
    const hex = hexOf(victim.digest);
    const file = join(a.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const evil = Buffer.from(idx.images[2]!.blobs[1]!.bytes);
    evil[1000]! ^= 0xff;
    await writeFile(file, evil);
    const e = await copyImage({
      source: storeA.repository('corrupt/image'),
      sourceReference: 'v1',
      target: storeB.repository('corrupt/image'),
      targetTag: 'v1',
      subject: insecureSkipVerify(),
    }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isAirlockError(e, 'INTEGRITY')).toBe(true);
    expect((e as Error).message).toContain(victim.digest);
    const target = storeB.repository('corrupt/image');
    expect(await target.headManifest('v1')).toBeUndefined();
    expect(await target.headManifest(idx.descriptor.digest)).toBeUndefined();
    expect(await target.statBlob(victim.digest)).toBeUndefined();
  });

  it('a copy killed mid-way (SIGKILL) and run again completes without re-sending the blobs already there', async () => {
    const img = imageOf({ layerSizes: Array.from({ length: 48 }, () => 2 * 1024 * 1024) });
    await pushManifest(storeA.repository('big/image'), img, 'v1');
    const c = await mkdtemp(join(tmpdir(), 'airlock-copy-kill-'));
    const before = await storedBlobs(b);
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), 'copy', `${a.host}/big/image:v1`, `${b.host}/big/image`, '--insecure-skip-verify', '--concurrency', '1', '--json'], {
      cwd: c,
      env: { ...process.env, ...CLI_DEFAULT_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Kill it once a few blobs have landed in the target registry's storage.
    const deadline = Date.now() + 30_000;
    while ((await storedBlobs(b)) - before < 6) {
      if (child.exitCode !== null) throw new Error(`the copy ended before it could be killed: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`no blob landed in time: ${stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    await exited;
    await rm(c, { recursive: true, force: true });
    const target = storeB.repository('big/image');
    expect(await target.headManifest('v1')).toBeUndefined();
    let present = 0;
    for (const blob of img.blobs) if ((await target.statBlob(blob.descriptor.digest)) !== undefined) present++;
    expect(present).toBeGreaterThanOrEqual(5);
    expect(present).toBeLessThan(img.blobs.length);

    const seen = recordRequests(storeB);
    const r = await copyImage({ source: storeA.repository('big/image'), sourceReference: 'v1', target, targetTag: 'v1', subject: insecureSkipVerify() });
    expect(r.blobsSkipped).toBe(present);
    expect(r.blobsCopied).toHaveLength(img.blobs.length - present);
    // One upload session (POST … PUT ?digest=) per missing blob, none for those already there.
    const commits = uploads(seen).filter((q) => q.method === 'PUT');
    expect(commits).toHaveLength(img.blobs.length - present);
    const present2 = new Set(img.blobs.map((x) => x.descriptor.digest));
    for (const q of commits) expect(present2.has(decodeURIComponent(/digest=([^&]+)/.exec(q.url)![1]!) as never)).toBe(true);
    expect((await target.headManifest('v1'))?.digest).toBe(img.descriptor.digest);
  });

  it('mounts blobs from another repository of the same registry instead of sending them', async () => {
    const img = imageOf({ layerSizes: [500_000, 1000] });
    await pushManifest(storeB.repository('mount/from'), img, 'v1');
    const seen = recordRequests(storeB);
    const r = await copyImage({ source: storeB.repository('mount/from'), sourceReference: 'v1', target: storeB.repository('mount/to'), targetTag: 'v1', subject: insecureSkipVerify() });
    expect(r).toMatchObject({ blobsMounted: 3, bytesMoved: 0, blobsCopied: [] });
    expect(seen.filter((q) => q.method === 'PATCH')).toEqual([]);
    expect(seen.filter((q) => q.method === 'GET' && q.url.includes('/blobs/'))).toEqual([]);
  });
});
