import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { hexOf, sha256Digest } from '../../src/oci/digest.js';
import { MAX_MANIFEST_BYTES, MediaTypes } from '../../src/oci/mediatypes.js';
import { openLayoutStore } from '../../src/store/layout/store.js';
import { isMountable, type ContentStore } from '../../src/store/types.js';
import { blobOf, chunks, collect, imageManifest, jsonBytes, multiArchImage, pushImage } from '../support/layout-fixtures.js';

let dir: string;
const opened: ContentStore[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-layout-store-'));
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

async function open(path: string, create = true): Promise<ContentStore> {
  const s = await openLayoutStore(path, { kind: 'oci', create });
  opened.push(s);
  return s;
}

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<AirlockError> {
  const e = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AirlockError);
  return e as AirlockError;
}

describe('oci: store', () => {
  it('round-trips a multi-arch image with one layout per repository, readable by tag and by digest', async () => {
    const store = await open(join(dir, 'mirror'));
    const repo = store.repository('fluxcd/source-controller');
    const img = multiArchImage();
    await pushImage(repo, img, 'v1.2.3');

    expect(await repo.listTags()).toEqual(['v1.2.3']);
    const byTag = await repo.getManifest('v1.2.3');
    expect(byTag.descriptor).toEqual(img.index.descriptor);
    expect(Buffer.from(byTag.bytes).equals(img.index.bytes)).toBe(true);
    const child = img.manifests[1]!;
    const byDigest = await repo.getManifest(child.descriptor.digest);
    expect(byDigest.descriptor).toEqual(child.descriptor);
    expect(await repo.headManifest(child.descriptor.digest)).toEqual(child.descriptor);
    expect(await repo.headManifest('v1.2.3')).toEqual(img.index.descriptor);
    expect(await repo.headManifest('nope')).toBeUndefined();
    const layer = child.blobs[1]!;
    expect(await repo.statBlob(layer.descriptor.digest)).toBe(layer.descriptor.size);
    expect((await collect(await repo.openBlob(layer.descriptor))).equals(layer.bytes)).toBe(true);

    const layoutDir = join(dir, 'mirror', 'fluxcd', 'source-controller');
    expect(JSON.parse(await readFile(join(layoutDir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    // The children were pushed untagged and are then reached through the index: only the tag is listed.
    const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8'));
    expect(index.manifests).toEqual([{ ...img.index.descriptor, annotations: { 'org.opencontainers.image.ref.name': 'v1.2.3' } }]);
    expect(await store.listRepositories!()).toEqual(['fluxcd/source-controller']);
    expect(repo.display).toBe(`oci:${join(dir, 'mirror')}/fluxcd/source-controller`);
  });

  it("repository('') is the layout at the root, and a re-tag replaces the tag", async () => {
    const store = await open(dir);
    const repo = store.repository('');
    const a = imageManifest({ os: 'linux', architecture: 'amd64' }, [100]);
    const b = imageManifest({ os: 'linux', architecture: 'arm64' }, [100]);
    for (const img of [a, b]) for (const blob of img.blobs) await repo.putBlob(blob.descriptor, chunks(blob.bytes));
    await repo.putManifest(a.bytes, a.descriptor.mediaType, 'latest');
    await repo.putManifest(b.bytes, b.descriptor.mediaType, 'latest');
    expect((await repo.headManifest('latest'))?.digest).toBe(b.descriptor.digest);
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    expect(index.manifests).toHaveLength(1);
    expect(await store.listRepositories!()).toEqual(['']);
  });

  it('records an untagged standalone manifest (a signature) so it stays reachable, then finds it as a referrer', async () => {
    const store = await open(dir);
    const repo = store.repository('app');
    const img = imageManifest({ os: 'linux', architecture: 'amd64' }, [10]);
    for (const blob of img.blobs) await repo.putBlob(blob.descriptor, chunks(blob.bytes));
    await repo.putManifest(img.bytes, img.descriptor.mediaType, 'v1');
    const empty = blobOf(new TextEncoder().encode('{}'), MediaTypes.ociEmpty);
    const bundle = blobOf(randomBytes(300), MediaTypes.sigstoreBundleV03);
    for (const blob of [empty, bundle]) await repo.putBlob(blob.descriptor, chunks(blob.bytes));
    const sig = jsonBytes({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: MediaTypes.sigstoreBundleV03,
      config: empty.descriptor,
      layers: [bundle.descriptor],
      subject: img.descriptor,
      annotations: { 'dev.sigstore.bundle.predicateType': 'x' },
    });
    const sigDesc = await repo.putManifest(sig, MediaTypes.ociManifest);
    expect(sigDesc.artifactType).toBe(MediaTypes.sigstoreBundleV03);
    const index = JSON.parse(await readFile(join(dir, 'app', 'index.json'), 'utf8'));
    expect(index.manifests.map((e: { digest: string }) => e.digest)).toContain(sigDesc.digest);
    expect(await repo.listTags()).toEqual(['v1']);

    const refs = await repo.referrers(img.descriptor.digest);
    expect(refs).toEqual([{ ...sigDesc, annotations: { 'dev.sigstore.bundle.predicateType': 'x' } }]);
    expect(await repo.referrers(img.descriptor.digest, 'application/other')).toEqual([]);
    expect(await repo.referrers(sigDesc.digest)).toEqual([]);

    // The referrers fallback tag `sha256-<hex>` is read too.
    const other = { mediaType: MediaTypes.ociManifest, digest: sha256Digest('elsewhere'), size: 9, artifactType: 'application/x' };
    const fallback = jsonBytes({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [other] });
    await repo.putManifest(fallback, MediaTypes.ociIndex, `sha256-${hexOf(img.descriptor.digest)}`);
    expect((await repo.referrers(img.descriptor.digest)).map((d) => d.digest).sort()).toEqual([sigDesc.digest, other.digest].sort());
    expect((await repo.referrers(img.descriptor.digest, 'application/x')).map((d) => d.digest)).toEqual([other.digest]);
  });

  it('deleteManifest removes a tag only; a missing tag is NOT_FOUND', async () => {
    const store = await open(dir);
    const repo = store.repository('');
    const img = imageManifest({ os: 'linux', architecture: 'amd64' }, [10]);
    await repo.putManifest(img.bytes, img.descriptor.mediaType, 'v1');
    await repo.deleteManifest!('v1');
    expect(await repo.listTags()).toEqual([]);
    expect((await repo.getManifest(img.descriptor.digest)).descriptor.digest).toBe(img.descriptor.digest);
    expect((await errorOf(repo.deleteManifest!('v1'))).code).toBe('NOT_FOUND');
  });

  it('refuses repository names that could leave the root', async () => {
    const store = await open(dir);
    for (const name of ['..', '../x', 'a/../../b', '/etc', 'a//b', 'A', 'x/blobs', 'index.json', 'a/./b', '.hidden']) {
      const e = await errorOf(() => store.repository(name));
      expect(e.code, name).toBe('BAD_INPUT');
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('a read-only open of a missing path fails; with create it creates nothing until the first write', async () => {
    const missing = join(dir, 'new', 'layout');
    expect((await errorOf(openLayoutStore(missing, { kind: 'oci', create: false }))).exitCode).toBe(8);
    const store = await open(missing, true);
    await store.ping();
    const repo = store.repository('x');
    expect(await repo.headManifest('v1')).toBeUndefined();
    expect(await repo.listTags()).toEqual([]);
    expect(await repo.statBlob(sha256Digest('a'))).toBeUndefined();
    expect((await errorOf(repo.getManifest('v1'))).code).toBe('NOT_FOUND');
    expect(await store.listRepositories!()).toEqual([]);
    await expect(stat(join(dir, 'new'))).rejects.toThrow();
    const blob = blobOf(randomBytes(10), MediaTypes.ociLayerTarGzip);
    await repo.putBlob(blob.descriptor, chunks(blob.bytes));
    expect((await readdir(join(missing, 'x'))).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
  });

  it('a repository of a read-only store that does not exist is LAYOUT_INVALID', async () => {
    const store = await open(dir, false);
    const e = await errorOf(store.repository('absent').listTags());
    expect(e.code).toBe('LAYOUT_INVALID');
    expect(e.message).toMatch(/does not exist/);
  });

  it('refuses a blob whose bytes do not match and leaves nothing in blobs/', async () => {
    const store = await open(dir);
    const repo = store.repository('');
    const good = randomBytes(100_000);
    const desc = blobOf(good, MediaTypes.ociLayerTarGzip).descriptor;
    const bad = Buffer.from(good);
    bad[50_000] = bad[50_000]! ^ 1;
    expect((await errorOf(repo.putBlob(desc, chunks(bad)))).code).toBe('INTEGRITY');
    expect((await errorOf(repo.putBlob(desc, chunks(good.subarray(0, 99_999))))).code).toBe('INTEGRITY');
    expect((await errorOf(repo.putBlob(desc, chunks(Buffer.concat([good, Buffer.from('x')]))))).code).toBe('INTEGRITY');
    expect(await readdir(join(dir, 'blobs'))).toEqual(['sha256']);
    expect(await readdir(join(dir, 'blobs', 'sha256'))).toEqual([]);
    expect(await repo.statBlob(desc.digest)).toBeUndefined();
    await repo.putBlob(desc, chunks(good));
    expect(await readdir(join(dir, 'blobs', 'sha256'))).toEqual([hexOf(desc.digest)]);
  });

  it('does not rewrite an existing blob and closes the source unread', async () => {
    const store = await open(dir);
    const repo = store.repository('');
    const blob = blobOf(randomBytes(1000), MediaTypes.ociLayerTarGzip);
    await repo.putBlob(blob.descriptor, chunks(blob.bytes));
    const before = await stat(join(dir, 'blobs', 'sha256', hexOf(blob.descriptor.digest)));
    let pulled = 0;
    let finished = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        pulled++;
        yield blob.bytes;
      } finally {
        finished = true;
      }
    }
    const gen = source();
    await gen.next(); // started, so return() runs its finally
    await repo.putBlob(blob.descriptor, gen);
    expect(pulled).toBe(1);
    expect(finished).toBe(true);
    expect((await stat(join(dir, 'blobs', 'sha256', hexOf(blob.descriptor.digest)))).ino).toBe(before.ino);
  });

  it('detects a blob corrupted on disk when it is read', async () => {
    const store = await open(dir);
    const repo = store.repository('');
    const blob = blobOf(randomBytes(1000), MediaTypes.ociLayerTarGzip);
    await repo.putBlob(blob.descriptor, chunks(blob.bytes));
    await writeFile(join(dir, 'blobs', 'sha256', hexOf(blob.descriptor.digest)), randomBytes(1000));
    expect((await errorOf(collect(await repo.openBlob(blob.descriptor)))).code).toBe('INTEGRITY');
  });

  it('detects a manifest corrupted on disk (INTEGRITY) and refuses one over 4 MiB before reading it (LIMIT_EXCEEDED)', async () => {
    const store = await open(dir);
    const repo = store.repository('');
    const img = imageManifest({ os: 'linux', architecture: 'amd64' }, [10]);
    await repo.putManifest(img.bytes, img.descriptor.mediaType, 'v1');
    const path = join(dir, 'blobs', 'sha256', hexOf(img.descriptor.digest));
    const tampered = Buffer.from(img.bytes);
    tampered[tampered.length - 2] = 0x20;
    await writeFile(path, tampered);
    expect((await errorOf(repo.getManifest('v1'))).code).toBe('INTEGRITY');
    await writeFile(path, Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20));
    const e = await errorOf(repo.getManifest(img.descriptor.digest));
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(e.exitCode).toBe(7);
    expect((await errorOf(repo.putManifest(Buffer.alloc(MAX_MANIFEST_BYTES + 1), MediaTypes.ociManifest))).code).toBe('LIMIT_EXCEEDED');
  });

  it('mounts a blob from a sibling repository by hard link (a mirror shares base layers)', async () => {
    const store = await open(dir);
    const a = store.repository('a');
    const b = store.repository('b');
    const blob = blobOf(randomBytes(5000), MediaTypes.ociLayerTarGzip);
    await a.putBlob(blob.descriptor, chunks(blob.bytes));
    expect(isMountable(b)).toBe(true);
    if (!isMountable(b)) return;
    expect(await b.mountBlob(blob.descriptor, 'a')).toBe(true);
    const path = (r: string) => join(dir, r, 'blobs', 'sha256', hexOf(blob.descriptor.digest));
    expect((await stat(path('b'))).ino).toBe((await stat(path('a'))).ino);
    expect((await collect(await b.openBlob(blob.descriptor))).equals(blob.bytes)).toBe(true);
    const other = blobOf(randomBytes(10), MediaTypes.ociLayerTarGzip);
    expect(await b.mountBlob(other.descriptor, 'a')).toBe(false);
    expect((await errorOf(b.mountBlob(other.descriptor, '../a'))).code).toBe('BAD_INPUT');
    expect((await readdir(join(dir, 'b', 'blobs'))).sort()).toEqual(['sha256']);
  });

  it('lists nested repositories, not descending into blobs/', async () => {
    const store = await open(dir);
    const img = imageManifest({ os: 'linux', architecture: 'amd64' }, [10]);
    for (const name of ['a', 'fluxcd/b', 'fluxcd/b/c']) await store.repository(name).putManifest(img.bytes, img.descriptor.mediaType, 't');
    await mkdir(join(dir, 'not-a-layout', 'deeper'), { recursive: true });
    expect(await store.listRepositories!()).toEqual(['a', 'fluxcd/b', 'fluxcd/b/c']);
  });

  it('refuses malformed references and tags', async () => {
    const store = await open(dir);
    const repo = store.repository('');
    expect((await errorOf(repo.getManifest('../x'))).code).toBe('BAD_INPUT');
    const img = imageManifest({ os: 'linux', architecture: 'amd64' }, [10]);
    expect((await errorOf(repo.putManifest(img.bytes, img.descriptor.mediaType, 'bad tag'))).code).toBe('BAD_INPUT');
    expect((await errorOf(repo.statBlob('sha256:../../x' as never))).code).toBe('BAD_INPUT');
  });
});
