import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors.js';
import { sha256Digest, type Digest } from '../../src/oci/digest.js';
import type { Descriptor } from '../../src/oci/manifest.js';
import { MAX_MANIFEST_BYTES, MediaTypes } from '../../src/oci/mediatypes.js';
import { RegistryStore, type RegistryRepository } from '../../src/store/registry/store.js';
import type { RegistryRequest } from '../../src/store/registry/client.js';
import { signatureTag } from '../../src/store/types.js';
import { startFakeReferrersRegistry, type FakeReferrersRegistry } from '../support/fake-referrers-registry.js';
import { startFaultProxy, type FaultProxy } from '../support/proxies.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

async function* chunksOf(bytes: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

async function readAll(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

async function expectCode(p: Promise<unknown>, code: string): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isAirlockError(e), `expected AirlockError ${code}, got ${String(e)}`).toBe(true);
  expect((e as { code: string }).code).toBe(code);
  return e as Error;
}

/** Records every request the store's client makes (method and url), without changing them. */
function recordRequests(store: RegistryStore): RegistryRequest[] {
  const seen: RegistryRequest[] = [];
  const original = store.client.request.bind(store.client);
  store.client.request = (req: RegistryRequest) => {
    seen.push(req);
    return original(req);
  };
  return seen;
}

async function pushBlob(repo: RegistryRepository, bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
  const d: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength };
  await repo.putBlob(d, chunksOf(bytes));
  return d;
}

/** A random single-platform image (config + 2 random layers), pushed by digest. */
async function pushImage(repo: RegistryRepository, platform: { os: string; architecture: string; variant?: string }): Promise<{ desc: Descriptor; layers: Uint8Array[] }> {
  const layers = [randomBytes(50_000 + Math.floor(Math.random() * 50_000)), randomBytes(1000)];
  const layerDescs = [];
  for (const l of layers) layerDescs.push(await pushBlob(repo, l, MediaTypes.ociLayerTarGzip));
  const config = await pushBlob(repo, enc({ ...platform, rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }), MediaTypes.ociConfig);
  const manifest = enc({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers: layerDescs });
  const desc = await repo.putManifest(manifest, MediaTypes.ociManifest);
  return { desc: { ...desc, platform }, layers };
}

describe('RegistryStore against a real docker-registry', () => {
  let reg: RunningRegistry;
  let store: RegistryStore;

  beforeAll(async () => {
    reg = await startRegistry();
    store = new RegistryStore(reg.host, { chunkSize: 4 * 1024 * 1024 });
  });
  afterAll(async () => {
    await store?.close();
    await reg?.stop();
  });

  it('pings, and lists repositories through _catalog pagination', async () => {
    await store.ping();
    for (const n of ['cat/a', 'cat/b', 'cat/c']) await pushBlob(store.repository(n), enc({ n }), MediaTypes.ociConfig);
    // A blob alone does not make a repository appear in the catalog on docker-registry: push manifests.
    for (const n of ['cat/a', 'cat/b', 'cat/c']) {
      const cfg = await pushBlob(store.repository(n), enc({ n }), MediaTypes.ociConfig);
      await store.repository(n).putManifest(enc({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: cfg, layers: [] }), MediaTypes.ociManifest, 'x');
    }
    const small = new RegistryStore(reg.host, {}, { catalogPageSize: 1 });
    const seen = recordRequests(small);
    const repos = await small.listRepositories();
    expect(repos).toEqual(expect.arrayContaining(['cat/a', 'cat/b', 'cat/c']));
    expect(seen.filter((r) => r.url.startsWith('/v2/_catalog')).length).toBeGreaterThanOrEqual(3);
  });

  it('pushes a multi-arch index and reads it back by tag and by digest', async () => {
    const repo = store.repository('multi/arch');
    const platforms = [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ];
    const images = [];
    for (const p of platforms) images.push(await pushImage(repo, p));
    const indexBytes = enc({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: images.map((i) => i.desc) });
    const pushed = await repo.putManifest(indexBytes, MediaTypes.ociIndex, 'v1.0.0');
    expect(pushed.digest).toBe(sha256Digest(indexBytes));

    const byTag = await repo.getManifest('v1.0.0');
    expect(Buffer.from(byTag.bytes).equals(Buffer.from(indexBytes))).toBe(true);
    expect(byTag.descriptor).toEqual({ mediaType: MediaTypes.ociIndex, digest: pushed.digest, size: indexBytes.byteLength });
    const byDigest = await repo.getManifest(pushed.digest);
    expect(byDigest.descriptor).toEqual(byTag.descriptor);
    expect(await repo.headManifest('v1.0.0')).toEqual(byTag.descriptor);
    expect(await repo.headManifest(pushed.digest)).toEqual(byTag.descriptor);

    for (const img of images) {
      const m = await repo.getManifest(img.desc.digest);
      expect(m.descriptor.mediaType).toBe(MediaTypes.ociManifest);
      const doc = JSON.parse(Buffer.from(m.bytes).toString()) as { layers: Descriptor[] };
      const got = await readAll(await repo.openBlob(doc.layers[0] as Descriptor));
      expect(got.equals(img.layers[0] as Buffer)).toBe(true);
    }
    expect(await repo.headManifest('no-such-tag')).toBeUndefined();
    const e = await expectCode(repo.getManifest('no-such-tag'), 'NOT_FOUND');
    expect(e.message).toContain(`${reg.host}/multi/arch:no-such-tag`);
  });

  it('uploads a ~20 MiB blob in 4 MiB PATCH chunks following the latest Location', async () => {
    const repo = store.repository('chunked/blob');
    const seen = recordRequests(store);
    const bytes = randomBytes(20 * 1024 * 1024 + 123);
    const d: Descriptor = { mediaType: MediaTypes.ociLayerTarGzip, digest: sha256Digest(bytes), size: bytes.byteLength };
    await repo.putBlob(d, chunksOf(bytes, 1024 * 1024 - 7));
    const patches = seen.filter((r) => r.method === 'PATCH');
    expect(patches.length).toBe(6); // 5 full chunks of 4 MiB + 123 bytes
    expect(patches.map((p) => p.headers?.['Content-Range'])[1]).toBe(`${4 * 1024 * 1024}-${8 * 1024 * 1024 - 1}`);
    // Every PATCH and the final PUT went to a different Location (docker-registry signs the state into it).
    const urls = [...patches, ...seen.filter((r) => r.method === 'PUT')].map((r) => r.url);
    expect(new Set(urls).size).toBe(urls.length);
    expect(seen.filter((r) => r.method === 'PUT' && r.url.includes('digest=')).length).toBe(1);
    expect(await repo.statBlob(d.digest)).toBe(bytes.byteLength);
    const h = createHash('sha256');
    for await (const c of await repo.openBlob(d)) h.update(c);
    expect(`sha256:${h.digest('hex')}`).toBe(d.digest);
  });

  it('uploads a small blob with POST then one PUT, and skips one already present', async () => {
    const repo = store.repository('mono/blob');
    const seen = recordRequests(store);
    const bytes = randomBytes(10_000);
    const d = await pushBlob(repo, bytes, MediaTypes.ociLayerTarGzip);
    expect(seen.map((r) => r.method)).toEqual(['HEAD', 'POST', 'PUT']);
    expect(await repo.statBlob(d.digest)).toBe(10_000);
    seen.length = 0;
    await repo.putBlob(d, chunksOf(bytes));
    expect(seen.map((r) => r.method)).toEqual(['HEAD']);
  });

  it('refuses an upload whose bytes do not match the digest and leaves no blob', async () => {
    const repo = store.repository('bad/digest');
    const seen = recordRequests(store);
    for (const size of [5000, 9 * 1024 * 1024]) {
      seen.length = 0;
      const claimed = randomBytes(size);
      const d: Descriptor = { mediaType: MediaTypes.ociLayerTarGzip, digest: sha256Digest(claimed), size };
      await expectCode(repo.putBlob(d, chunksOf(randomBytes(size))), 'INTEGRITY');
      expect(seen.some((r) => r.method === 'PUT')).toBe(false);
      // A small blob is checked before the upload starts; a chunked one has its upload cancelled.
      expect(seen.map((r) => r.method)).toEqual(size < 4 * 1024 * 1024 ? ['HEAD'] : ['HEAD', 'POST', 'PATCH', 'PATCH', 'DELETE']);
      expect(await repo.statBlob(d.digest)).toBeUndefined();
    }
    // Too long is refused as soon as the extra bytes arrive.
    const bytes = randomBytes(100);
    const d: Descriptor = { mediaType: MediaTypes.ociLayerTarGzip, digest: sha256Digest(bytes), size: 99 };
    await expectCode(repo.putBlob(d, chunksOf(bytes)), 'INTEGRITY');
  });

  it('mounts a blob from another repository, and reports false when the source lacks it', async () => {
    const a = store.repository('mount/source');
    const b = store.repository('mount/target');
    const d = await pushBlob(a, randomBytes(30_000), MediaTypes.ociLayerTarGzip);
    expect(await b.statBlob(d.digest)).toBeUndefined();
    expect(await b.mountBlob(d, 'mount/source')).toBe(true);
    expect(await b.statBlob(d.digest)).toBe(30_000);
    const missing = sha256Digest(randomBytes(10)) as Digest;
    expect(await b.mountBlob({ ...d, digest: missing }, 'mount/source')).toBe(false);
  });

  it('lists all tags (docker-registry 2.8 ignores n on tags/list); a missing repository has none', async () => {
    // Tag pagination itself is exercised against the fake below: distribution only paginates tags from 3.0 on.
    const repo = store.repository('paged/tags');
    const cfg = await pushBlob(repo, enc({ paged: true }), MediaTypes.ociConfig);
    const m = enc({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: cfg, layers: [] });
    const tags = ['t1', 't2', 't3', 't4', 't5'];
    for (const t of tags) await repo.putManifest(m, MediaTypes.ociManifest, t);
    const paged = new RegistryStore(reg.host, {}, { tagPageSize: 2 });
    const seen = recordRequests(paged);
    expect((await paged.repository('paged/tags').listTags()).sort()).toEqual(tags);
    expect(seen[0]?.url).toBe('/v2/paged/tags/tags/list?n=2');
    expect(await paged.repository('paged/never-pushed').listTags()).toEqual([]);
  });

  it('finds referrers through the fallback tag sha256-<hex>, with the artifactType filter', async () => {
    const repo = store.repository('refs/fallback');
    const { desc: subject } = await pushImage(repo, { os: 'linux', architecture: 'amd64' });
    const empty = await pushBlob(repo, enc({}), MediaTypes.ociEmpty);
    const layer = await pushBlob(repo, randomBytes(200), 'application/octet-stream');
    const artifact = async (artifactType: string): Promise<Descriptor> => {
      const bytes = enc({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, artifactType, config: empty, layers: [layer], subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size } });
      const d = await repo.putManifest(bytes, MediaTypes.ociManifest);
      return { ...d, artifactType };
    };
    const bundle = await artifact(MediaTypes.sigstoreBundleV03);
    const sbom = await artifact('application/spdx+json');
    // cosign#4641: cosign may record the entry's artifactType as the empty type; such an entry must survive a filter.
    const cosignEntry = { ...(await artifact(MediaTypes.sigstoreBundleV03 + '.x')), artifactType: MediaTypes.ociEmpty };
    const index = enc({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [bundle, sbom, cosignEntry] });
    await repo.putManifest(index, MediaTypes.ociIndex, signatureTag(subject.digest, ''));

    const all = await repo.referrers(subject.digest);
    expect(all.map((d) => d.digest)).toEqual([bundle.digest, sbom.digest, cosignEntry.digest]);
    const filtered = await repo.referrers(subject.digest, MediaTypes.sigstoreBundleV03);
    expect(filtered.map((d) => d.digest)).toEqual([bundle.digest, cosignEntry.digest]);
    expect(await repo.referrers(sha256Digest('nothing refers to this'))).toEqual([]);
  });

  it('deletes a manifest by digest, and by tag through its digest', async () => {
    const repo = store.repository('del/me');
    const { desc } = await pushImage(repo, { os: 'linux', architecture: 'amd64' });
    await repo.deleteManifest(desc.digest);
    expect(await repo.headManifest(desc.digest)).toBeUndefined();
    const { desc: d2 } = await pushImage(repo, { os: 'linux', architecture: 'arm64' });
    const bytes = (await repo.getManifest(d2.digest)).bytes;
    await repo.putManifest(bytes, MediaTypes.ociManifest, 'gone');
    await repo.deleteManifest('gone');
    expect(await repo.headManifest(d2.digest)).toBeUndefined();
    await expectCode(repo.deleteManifest(d2.digest), 'NOT_FOUND');
  });

  it('refuses references and repository names that are not valid before any request', async () => {
    const seen = recordRequests(store);
    expect(() => store.repository('../etc')).toThrow(/not a valid repository path/);
    await expectCode(store.repository('ok/repo').getManifest('../../_catalog'), 'BAD_INPUT');
    await expectCode(store.repository('ok/repo').getManifest('a?b'), 'BAD_INPUT');
    expect(seen).toEqual([]);
  });
});

describe('RegistryStore through the fault proxy in front of the real registry', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  let store: RegistryStore;

  beforeAll(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy(reg.url);
    store = new RegistryStore(proxy.host, { chunkSize: 1024 * 1024, retryBaseMs: 1 });
  });
  afterAll(async () => {
    await store?.close();
    await proxy?.stop();
    await reg?.stop();
  });

  it('resumes a blob download cut mid-body with a Range request that docker-registry answers 206', async () => {
    const repo = store.repository('faults/download');
    const bytes = randomBytes(3 * 1024 * 1024);
    const d = await pushBlob(repo, bytes, MediaTypes.ociLayerTarGzip);
    proxy.inject({ method: 'GET', path: /\/blobs\/sha256:/, times: 2, fault: { kind: 'cut', afterBytes: 1_000_000 } });
    const seen = recordRequests(store);
    const got = await readAll(await repo.openBlob(d));
    expect(got.equals(bytes)).toBe(true);
    const ranges = seen.filter((r) => r.method === 'GET').map((r) => r.headers?.Range);
    expect(ranges).toEqual([undefined, 'bytes=1000000-', 'bytes=2000000-']);
    proxy.clear();
  });

  it('carries an upload on when PATCHes are answered 503 and 429 before reaching the registry', async () => {
    const repo = store.repository('faults/upload');
    proxy.requests.length = 0;
    proxy.inject({ method: 'PATCH', times: 1, fault: { kind: 'status', status: 503 } });
    proxy.inject({ method: 'PATCH', times: 1, fault: { kind: 'status', status: 429, retryAfter: '0' } });
    const bytes = randomBytes(3 * 1024 * 1024 + 5);
    const d = await pushBlob(repo, bytes, MediaTypes.ociLayerTarGzip);
    expect(await repo.statBlob(d.digest)).toBe(bytes.byteLength);
    expect(proxy.requests.filter((r) => r.method === 'PATCH' && r.fault === 'status').length).toBe(2);
    expect(proxy.requests.filter((r) => r.method === 'PATCH' && r.fault === undefined).length).toBe(4);
    proxy.clear();
  });
});

/** `count` copies of one random piece: a large blob that costs little memory, with its descriptor. */
function repeated(pieceSize: number, count: number): { descriptor: Descriptor; body: () => AsyncGenerator<Uint8Array>; pulled: () => number } {
  const piece = randomBytes(pieceSize);
  const h = createHash('sha256');
  for (let i = 0; i < count; i++) h.update(piece);
  const descriptor: Descriptor = { mediaType: MediaTypes.ociLayerTarGzip, digest: `sha256:${h.digest('hex')}` as Digest, size: pieceSize * count };
  let pulled = 0;
  async function* body(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < count; i++) {
      pulled += pieceSize;
      yield piece;
    }
  }
  return { descriptor, body, pulled: () => pulled };
}

async function sha256Of(it: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256');
  for await (const c of it) h.update(c);
  return `sha256:${h.digest('hex')}`;
}

describe('streamed uploads (the default) against a real docker-registry', () => {
  let reg: RunningRegistry;
  let store: RegistryStore;

  beforeAll(async () => {
    reg = await startRegistry();
    store = new RegistryStore(reg.host);
  });
  afterAll(async () => {
    await store?.close();
    await reg?.stop();
  });

  it('sends a blob over 1 MiB in ONE PATCH (Content-Range 0-END, Content-Length), then PUT ?digest= at the latest Location', async () => {
    const repo = store.repository('streamed/blob');
    const seen = recordRequests(store);
    const bytes = randomBytes(9 * 1024 * 1024 + 5);
    const d: Descriptor = { mediaType: MediaTypes.ociLayerTarGzip, digest: sha256Digest(bytes), size: bytes.byteLength };
    await repo.putBlob(d, chunksOf(bytes, 1024 * 1024 - 7));
    expect(seen.map((r) => r.method)).toEqual(['HEAD', 'POST', 'PATCH', 'PUT']);
    const [patch, put] = [seen[2]!, seen[3]!];
    expect(patch.headers).toMatchObject({ 'Content-Range': `0-${bytes.byteLength - 1}`, 'Content-Length': String(bytes.byteLength) });
    expect(put.url).toContain('digest=');
    expect(put.url).not.toContain(patch.url); // the PUT went to the Location the PATCH answered with
    expect(await repo.statBlob(d.digest)).toBe(bytes.byteLength);
    expect(await sha256Of(await repo.openBlob(d))).toBe(d.digest);
  });

  it('does not HEAD a blob the caller says it just found absent (knownAbsent)', async () => {
    const repo = store.repository('streamed/known-absent');
    const seen = recordRequests(store);
    const big = repeated(1024 * 1024, 9);
    await repo.putBlob(big.descriptor, big.body(), { knownAbsent: true });
    const small = randomBytes(1000);
    await repo.putBlob({ mediaType: MediaTypes.ociConfig, digest: sha256Digest(small), size: 1000 }, chunksOf(small), { knownAbsent: true });
    const mid = randomBytes(3 * 1024 * 1024); // over 1 MiB streams even below the chunk size, its download and upload overlapping
    await repo.putBlob({ mediaType: MediaTypes.ociLayerTarGzip, digest: sha256Digest(mid), size: mid.byteLength }, chunksOf(mid), { knownAbsent: true });
    expect(seen.map((r) => r.method)).toEqual(['POST', 'PATCH', 'PUT', 'POST', 'PUT', 'POST', 'PATCH', 'PUT']);
    expect(await repo.statBlob(big.descriptor.digest)).toBe(big.descriptor.size);
  });

  it('refuses a streamed blob that does not match: no PUT, the upload is DELETEd, no blob appears', async () => {
    const repo = store.repository('streamed/bad');
    const seen = recordRequests(store);
    const size = 9 * 1024 * 1024;
    const claimed = randomBytes(size);
    const d: Descriptor = { mediaType: MediaTypes.ociLayerTarGzip, digest: sha256Digest(claimed), size };
    const flipped = Buffer.from(claimed);
    flipped[size - 1]! ^= 1;
    const cases: [string, Uint8Array][] = [
      ['one byte changed, at the very end', flipped],
      ['one byte short', claimed.subarray(0, size - 1)],
      ['one byte too many', Buffer.concat([claimed, Buffer.from([0])])],
    ];
    for (const [, body] of cases) {
      seen.length = 0;
      await expectCode(repo.putBlob(d, chunksOf(body)), 'INTEGRITY');
      expect(seen.map((r) => r.method)).toEqual(['HEAD', 'POST', 'PATCH', 'DELETE']);
      expect(await repo.statBlob(d.digest)).toBeUndefined();
    }
  });
});

describe('streamed uploads through the fault proxy', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  const stores: RegistryStore[] = [];
  const newStore = (options: ConstructorParameters<typeof RegistryStore>[1] = {}, tuning: ConstructorParameters<typeof RegistryStore>[2] = {}): RegistryStore => {
    const s = new RegistryStore(proxy.host, { retryBaseMs: 1, ...options }, tuning);
    stores.push(s);
    return s;
  };

  beforeAll(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxy(reg.url);
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await proxy?.stop();
    await reg?.stop();
  });

  it('sends a streamed PATCH answered 503 and 429 before the registry read it again, from byte 0', async () => {
    const repo = newStore().repository('faults/streamed-retry');
    proxy.requests.length = 0;
    proxy.inject({ method: 'PATCH', times: 1, fault: { kind: 'status', status: 503 } });
    proxy.inject({ method: 'PATCH', times: 1, fault: { kind: 'status', status: 429, retryAfter: '0' } });
    const bytes = randomBytes(12 * 1024 * 1024 + 3);
    const d = await pushBlob(repo, bytes, MediaTypes.ociLayerTarGzip);
    expect(proxy.requests.filter((r) => r.method === 'PATCH').map((r) => r.fault ?? 'ok')).toEqual(['status', 'status', 'ok']);
    expect(await sha256Of(await repo.openBlob(d))).toBe(d.digest);
    proxy.clear();
  });

  it('falls back to chunks in a new upload when the registry refuses the streamed PATCH, and keeps chunking for that store', async () => {
    const store = newStore();
    const repo = store.repository('faults/streamed-refused');
    const seen = recordRequests(store);
    proxy.inject({ method: 'PATCH', times: 1, fault: { kind: 'status', status: 413, body: '{"errors":[{"code":"SIZE_INVALID","message":"too large"}]}' } });
    const bytes = randomBytes(20 * 1024 * 1024 + 11);
    const d = await pushBlob(repo, bytes, MediaTypes.ociLayerTarGzip);
    expect(seen.map((r) => r.method)).toEqual(['HEAD', 'POST', 'PATCH', 'DELETE', 'POST', 'PATCH', 'PATCH', 'PATCH', 'PUT']);
    const mib8 = 8 * 1024 * 1024;
    expect(seen.filter((r) => r.method === 'PATCH').map((r) => r.headers?.['Content-Range'])).toEqual([
      `0-${bytes.byteLength - 1}`,
      `0-${mib8 - 1}`,
      `${mib8}-${2 * mib8 - 1}`,
      `${2 * mib8}-${bytes.byteLength - 1}`,
    ]);
    expect(await sha256Of(await repo.openBlob(d))).toBe(d.digest);
    // The rest of this store's uploads are chunked from the start.
    seen.length = 0;
    await pushBlob(repo, randomBytes(9 * 1024 * 1024), MediaTypes.ociLayerTarGzip);
    expect(seen.filter((r) => r.method === 'PATCH').map((r) => r.headers?.['Content-Range'])).toEqual([`0-${mib8 - 1}`, `${mib8}-${9 * 1024 * 1024 - 1}`]);
    proxy.clear();
  });

  it('pulls the source only as fast as the registry takes the bytes (backpressure)', async () => {
    const repo = newStore().repository('faults/streamed-backpressure');
    const blob = repeated(1024 * 1024, 64);
    // The proxy holds the PATCH for 800 ms before it reads any of it.
    proxy.inject({ method: 'PATCH', times: 1, delayMs: 800 });
    const done = repo.putBlob(blob.descriptor, blob.body());
    await new Promise((r) => setTimeout(r, 500));
    const pulledWhileHeld = blob.pulled();
    await done;
    // Socket buffers and the kept first chunk (8 MiB) at most, not the 64 MiB a body without backpressure reads.
    expect(pulledWhileHeld).toBeLessThan(32 * 1024 * 1024);
    expect(blob.pulled()).toBe(blob.descriptor.size);
    expect(await repo.statBlob(blob.descriptor.digest)).toBe(blob.descriptor.size);
    proxy.clear();
  });

  it('does not resend a streamed PATCH once it read past what it keeps: the upload fails and is cancelled', async () => {
    const store = newStore({ chunkSize: 1024 * 1024 }, { uploadMode: 'streamed' }); // keeps 1 MiB
    const repo = store.repository('faults/streamed-spent');
    const seen = recordRequests(store);
    proxy.requests.length = 0;
    proxy.inject({ method: 'PATCH', times: 1, delayMs: 500, fault: { kind: 'status', status: 503 } });
    const blob = repeated(1024 * 1024, 48);
    await expectCode(repo.putBlob(blob.descriptor, blob.body()), 'REGISTRY_ERROR');
    expect(proxy.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    expect(seen.map((r) => r.method)).toEqual(['HEAD', 'POST', 'PATCH', 'DELETE']);
    expect(await repo.statBlob(blob.descriptor.digest)).toBeUndefined();
    proxy.clear();
  });
});

describe('RegistryStore against the FAKE referrers registry', () => {
  let fake: FakeReferrersRegistry;
  let store: RegistryStore;
  let repo: RegistryRepository;

  beforeAll(async () => {
    fake = await startFakeReferrersRegistry();
    store = new RegistryStore(fake.host, { retryBaseMs: 1 });
    repo = store.repository('fake/repo');
  });
  afterAll(async () => {
    await store?.close();
    await fake?.stop();
  });

  function subjectAndReferrers(count: number): { subject: string; refs: string[] } {
    const subjectBytes = enc({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociEmpty, digest: sha256Digest('{}'), size: 2 }, layers: [], n: randomBytes(4).toString('hex') });
    const subject = fake.putManifest('fake/repo', subjectBytes, MediaTypes.ociManifest);
    const refs = [];
    for (let i = 0; i < count; i++) {
      const artifactType = i % 2 === 0 ? MediaTypes.sigstoreBundleV03 : 'application/spdx+json';
      const bytes = enc({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, artifactType, config: { mediaType: MediaTypes.ociEmpty, digest: sha256Digest('{}'), size: 2 }, layers: [], subject: { mediaType: MediaTypes.ociManifest, digest: subject, size: subjectBytes.byteLength }, annotations: { i: String(i) } });
      refs.push(fake.putManifest('fake/repo', bytes, MediaTypes.ociManifest));
    }
    return { subject, refs };
  }

  it('lists tags with n=2 over 5 tags following Link pagination', async () => {
    const m = enc({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociEmpty, digest: sha256Digest('{}'), size: 2 }, layers: [] });
    const tags = ['t1', 't2', 't3', 't4', 't5'];
    for (const t of tags) fake.putManifest('fake/tagged', m, MediaTypes.ociManifest, t);
    const paged = new RegistryStore(fake.host, {}, { tagPageSize: 2 });
    fake.requests.length = 0;
    expect(await paged.repository('fake/tagged').listTags()).toEqual(tags);
    expect(fake.requests).toEqual(['GET /v2/fake/tagged/tags/list?n=2', 'GET /v2/fake/tagged/tags/list?n=2&last=t2', 'GET /v2/fake/tagged/tags/list?n=2&last=t4']);
  });

  it('reads the referrers API, following Link pagination', async () => {
    const { subject, refs } = subjectAndReferrers(5);
    fake.referrersPageSize = 2;
    fake.requests.length = 0;
    const got = await repo.referrers(subject as Digest);
    expect(got.map((d) => d.digest).sort()).toEqual([...refs].sort());
    expect(fake.requests.filter((r) => r.includes('/referrers/')).length).toBe(3);
    expect(fake.requests.some((r) => r.includes('/manifests/sha256-'))).toBe(false); // no fallback
  });

  it('filters by artifactType itself when the registry did not apply the filter', async () => {
    const { subject } = subjectAndReferrers(4);
    fake.referrersPageSize = 100;
    for (const applyFilter of [true, false]) {
      fake.applyFilter = applyFilter;
      const got = await repo.referrers(subject as Digest, MediaTypes.sigstoreBundleV03);
      expect(got.length).toBe(2);
      expect(got.every((d) => d.artifactType === MediaTypes.sigstoreBundleV03)).toBe(true);
    }
    fake.applyFilter = true;
  });

  it('falls back to the sha256-<hex> tag when the referrers API answers 404', async () => {
    const { subject } = subjectAndReferrers(0);
    fake.referrersApi = false;
    const entry = { mediaType: MediaTypes.ociManifest, digest: sha256Digest('x'), size: 1, artifactType: 'a/b' };
    fake.putManifest('fake/repo', enc({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [entry] }), MediaTypes.ociIndex, signatureTag(subject as Digest, ''));
    expect(await repo.referrers(subject as Digest)).toEqual([entry]);
    expect(await repo.referrers(subject as Digest, 'c/d')).toEqual([]);
    fake.referrersApi = true;
  });

  it('refuses a manifest over 4 MiB with LIMIT_EXCEEDED, by Content-Length and by counting', async () => {
    const big = new Uint8Array(MAX_MANIFEST_BYTES + 1).fill(0x20);
    fake.overrideManifest('fake/repo', 'big', { headers: { 'Content-Type': MediaTypes.ociManifest, 'Content-Length': String(big.byteLength) }, body: big });
    await expectCode(repo.getManifest('big'), 'LIMIT_EXCEEDED');
    fake.overrideManifest('fake/repo', 'endless', { headers: { 'Content-Type': MediaTypes.ociManifest }, body: 'endless' });
    fake.endlessBytesSent = 0;
    await expectCode(repo.getManifest('endless'), 'LIMIT_EXCEEDED');
    // The read stopped near the limit instead of draining the (64 MiB) stream.
    expect(fake.endlessBytesSent).toBeLessThan(MAX_MANIFEST_BYTES * 4);
    await expectCode(repo.putManifest(big, MediaTypes.ociManifest, 'big'), 'LIMIT_EXCEEDED');
  });

  it('reports INTEGRITY when the bytes do not match the digest asked for or Docker-Content-Digest', async () => {
    const real = enc({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociEmpty, digest: sha256Digest('{}'), size: 2 }, layers: [] });
    const forged = enc({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociEmpty, digest: sha256Digest('{}'), size: 2 }, layers: [], evil: true });
    const digest = sha256Digest(real);
    fake.overrideManifest('fake/repo', digest, { headers: { 'Content-Type': MediaTypes.ociManifest, 'Docker-Content-Digest': digest }, body: forged });
    await expectCode(repo.getManifest(digest), 'INTEGRITY');
    fake.overrideManifest('fake/repo', 'lying', { headers: { 'Content-Type': MediaTypes.ociManifest, 'Docker-Content-Digest': digest }, body: forged });
    await expectCode(repo.getManifest('lying'), 'INTEGRITY');
    // Without Docker-Content-Digest a tag's digest is computed from the bytes.
    fake.overrideManifest('fake/repo', 'plain', { headers: { 'Content-Type': MediaTypes.ociManifest }, body: real });
    expect((await repo.getManifest('plain')).descriptor.digest).toBe(digest);
    // A HEAD without Docker-Content-Digest falls back to GET for the digest.
    expect(await repo.headManifest('plain')).toEqual({ mediaType: MediaTypes.ociManifest, digest, size: real.byteLength });
  });

  it('takes the media type from the document when Content-Type is not a manifest type', async () => {
    const bytes = enc({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] });
    fake.overrideManifest('fake/repo', 'json', { headers: { 'Content-Type': 'application/json' }, body: bytes });
    expect((await repo.getManifest('json')).descriptor.mediaType).toBe(MediaTypes.ociIndex);
  });

  it('resumes a blob body cut mid-way with a Range request, keeping the hash across', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const digest = fake.putBlob('fake/repo', bytes) as Digest;
    fake.blobFault(digest, { cutAfter: 1024 * 1024, times: 2, honourRange: true });
    fake.requests.length = 0;
    const got = await readAll(await repo.openBlob({ mediaType: 'application/octet-stream', digest, size: bytes.byteLength }));
    expect(got.equals(bytes)).toBe(true);
    expect(fake.requests.filter((r) => r.startsWith('GET /v2/fake/repo/blobs/')).length).toBe(3);
  });

  it('restarts a cut blob when the registry ignores Range, skipping what was delivered', async () => {
    const bytes = randomBytes(2 * 1024 * 1024);
    const digest = fake.putBlob('fake/repo', bytes) as Digest;
    fake.blobFault(digest, { cutAfter: 700_000, times: 1, honourRange: false });
    const got = await readAll(await repo.openBlob({ mediaType: 'application/octet-stream', digest, size: bytes.byteLength }));
    expect(got.equals(bytes)).toBe(true);
  });

  it('gives up on a blob cut every time with UNREACHABLE, and a short blob with INTEGRITY', async () => {
    const bytes = randomBytes(1024 * 1024);
    const digest = fake.putBlob('fake/repo', bytes) as Digest;
    fake.blobFault(digest, { cutAfter: 1000, times: 100, honourRange: true });
    await expectCode(readAll(await repo.openBlob({ mediaType: 'application/octet-stream', digest, size: bytes.byteLength })), 'UNREACHABLE');
    const short = randomBytes(1000);
    const d2 = fake.putBlob('fake/repo', short) as Digest;
    await expectCode(readAll(await repo.openBlob({ mediaType: 'application/octet-stream', digest: d2, size: 2000 })), 'INTEGRITY');
    await expectCode(repo.openBlob({ mediaType: 'application/octet-stream', digest: sha256Digest('absent'), size: 6 }), 'NOT_FOUND');
  });
});
