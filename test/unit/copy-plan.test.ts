import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors.js';
import { walkGraph } from '../../src/copy/graph.js';
import { checkExtraRefersTo, planCopy, referableDigests } from '../../src/copy/plan.js';
import { DEFAULT_LIMITS, type GraphLimits } from '../../src/copy/types.js';
import type { Digest } from '../../src/oci/digest.js';
import { parseManifest, type Descriptor } from '../../src/oci/manifest.js';
import { MediaTypes } from '../../src/oci/mediatypes.js';
import type { Repository } from '../../src/store/types.js';
import { MemoryStore } from '../support/memory-store.js';
import { imageOf, jsonBlob, multiArchOf, pushIndex, pushManifest, randomBlob, type TestBlob } from '../support/copy-images.js';

async function graphOf(repo: Repository, ref: string, limits: Partial<GraphLimits> = {}) {
  const root = await repo.getManifest(ref);
  return walkGraph(repo, root, { ...DEFAULT_LIMITS, ...limits });
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.unreachable('expected a rejection'),
    (e: unknown) => e,
  );
}

function indexOf(manifests: Descriptor[]): TestBlob {
  return jsonBlob({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }, MediaTypes.ociIndex);
}

describe('planCopy', () => {
  it('plans an index with ALL its children — platforms and attestation manifests — children before parents, blobs deduplicated', async () => {
    const shared = randomBlob(3000);
    const idx = multiArchOf({ shared: [shared], layerSizes: [100, 200], attestations: true });
    const repo = new MemoryStore().repository('src');
    await pushIndex(repo, idx, 'v1');
    const graph = await graphOf(repo, 'v1');
    const plan = planCopy({ root: graph.root, graph, extras: [], tag: { name: 'v1', state: { kind: 'absent' } } });

    expect(plan.digest).toBe(idx.descriptor.digest);
    expect(plan.manifests.map((m) => m.descriptor.digest).sort()).toEqual(
      [idx.descriptor.digest, ...idx.images.map((i) => i.descriptor.digest), ...idx.attestations.map((a) => a.descriptor.digest)].sort(),
    );
    expect(plan.manifests.at(-1)?.descriptor.digest).toBe(idx.descriptor.digest);
    // Every blob once: 3 images × (config + 2 own layers) + the shared layer + 3 attestations × (config + statement).
    const digests = plan.blobs.map((b) => b.descriptor.digest);
    expect(new Set(digests).size).toBe(digests.length);
    expect(digests).toHaveLength(3 * 3 + 1 + 3 * 2);
    expect(digests.filter((d) => d === shared.descriptor.digest)).toHaveLength(1);
    expect(plan.blobBytes).toBe(plan.blobs.reduce((n, b) => n + b.descriptor.size, 0));
    expect(plan.tag).toMatchObject({ name: 'v1', write: true });
    // The planned bytes are the source's bytes, untouched.
    expect(Buffer.from(plan.manifests.at(-1)!.bytes).equals(Buffer.from(idx.bytes))).toBe(true);
  });

  it('orders nested indexes by height: every manifest after all of its children', async () => {
    const repo = new MemoryStore().repository('src');
    const a = imageOf();
    const b = imageOf();
    await pushManifest(repo, a);
    await pushManifest(repo, b);
    const inner = indexOf([a.descriptor]);
    await repo.putManifest(inner.bytes, MediaTypes.ociIndex);
    const outer = indexOf([{ ...inner.descriptor }, b.descriptor]);
    await repo.putManifest(outer.bytes, MediaTypes.ociIndex, 'nested');
    const graph = await graphOf(repo, 'nested');
    const plan = planCopy({ root: graph.root, graph, extras: [] });
    const pos = new Map(plan.manifests.map((m, i) => [m.descriptor.digest, i]));
    expect(pos.get(a.descriptor.digest)!).toBeLessThan(pos.get(inner.descriptor.digest)!);
    expect(pos.get(b.descriptor.digest)!).toBeLessThan(pos.get(outer.descriptor.digest)!);
    expect(pos.get(inner.descriptor.digest)!).toBeLessThan(pos.get(outer.descriptor.digest)!);
    expect(plan.manifests.map((m) => m.height)).toEqual([0, 0, 1, 2]);
  });

  it('refuses indexes nested deeper than the depth limit', async () => {
    const repo = new MemoryStore().repository('src');
    const img = imageOf();
    await pushManifest(repo, img);
    let child: Descriptor = img.descriptor;
    for (let i = 0; i < 3; i++) {
      const idx = indexOf([child]);
      await repo.putManifest(idx.bytes, MediaTypes.ociIndex, `level${i}`);
      child = idx.descriptor;
    }
    await expect(graphOf(repo, 'level2', { maxDepth: 3 })).resolves.toBeDefined();
    const e = await rejection(graphOf(repo, 'level2', { maxDepth: 2 }));
    expect(isAirlockError(e, 'LIMIT_EXCEEDED')).toBe(true);
    expect((e as Error).message).toMatch(/nested 3 levels deep, more than the limit of 2/);
  });

  it('refuses an index or a manifest with more entries than the limit', async () => {
    const repo = new MemoryStore().repository('src');
    const imgs = [imageOf(), imageOf(), imageOf()];
    for (const i of imgs) await pushManifest(repo, i);
    const idx = indexOf(imgs.map((i) => i.descriptor));
    await repo.putManifest(idx.bytes, MediaTypes.ociIndex, 'wide');
    const e = await rejection(graphOf(repo, 'wide', { maxEntries: 2 }));
    expect(isAirlockError(e, 'LIMIT_EXCEEDED')).toBe(true);
    expect((e as Error).message).toMatch(/lists 3 manifests, more than the limit of 2/);
    const many = imageOf({ layerSizes: [1, 2, 3, 4] });
    await pushManifest(repo, many, 'layers');
    expect(isAirlockError(await rejection(graphOf(repo, 'layers', { maxEntries: 3 })), 'LIMIT_EXCEEDED')).toBe(true);
  });

  it('refuses foreign (non-distributable) layers by default with a clear error, and copies them when told to', async () => {
    const repo = new MemoryStore().repository('src');
    for (const foreign of [
      { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' },
      { mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' },
      { mediaType: MediaTypes.ociLayerTarGzip, urls: ['https://example.com/layer'] },
    ]) {
      const layer = randomBlob(50, foreign.mediaType);
      if ('urls' in foreign) layer.descriptor.urls = foreign.urls;
      const img = imageOf({ layers: [randomBlob(10), layer] });
      await pushManifest(repo, img, 'foreign');
      const e = await rejection(graphOf(repo, 'foreign'));
      expect(isAirlockError(e, 'BAD_INPUT')).toBe(true);
      expect((e as Error).message).toContain(`foreign (non-distributable) layer ${layer.descriptor.digest}`);
      const graph = await graphOf(repo, 'foreign', { foreignLayers: 'copy' });
      expect(planCopy({ root: graph.root, graph, extras: [] }).blobs.map((b) => b.descriptor.digest)).toContain(layer.descriptor.digest);
    }
  });

  it('refuses a graph describing one blob digest with two sizes', async () => {
    const repo = new MemoryStore().repository('src');
    const layer = randomBlob(100);
    const a = imageOf({ layers: [layer] });
    const liar = imageOf({ layers: [{ ...layer, descriptor: { ...layer.descriptor, size: 99 } }] });
    await pushManifest(repo, a);
    await repo.putManifest(liar.bytes, MediaTypes.ociManifest);
    for (const b of liar.blobs.slice(0, 1)) await repo.putBlob(b.descriptor, (async function* () { yield b.bytes; })());
    const idx = indexOf([a.descriptor, liar.descriptor]);
    await repo.putManifest(idx.bytes, MediaTypes.ociIndex, 'x');
    const graph = await graphOf(repo, 'x');
    expect(() => planCopy({ root: graph.root, graph, extras: [] })).toThrow(/described with 100 bytes in one place and 99 in another/);
  });

  it('puts extras after the subject graph, with their own blobs, their signature tags, and the content tag last', async () => {
    const repo = new MemoryStore().repository('src');
    const img = imageOf();
    await pushManifest(repo, img, 'v1');
    const sigLayer = jsonBlob({ critical: {} }, MediaTypes.cosignSimpleSigning);
    const sig = imageOf({ layers: [sigLayer] });
    await pushManifest(repo, sig, `${img.descriptor.digest.replace(':', '-')}.sig`);
    const graph = await graphOf(repo, 'v1');
    const sigGraph = await graphOf(repo, sig.descriptor.digest);
    const extra = { descriptor: sig.descriptor, tag: `${img.descriptor.digest.replace(':', '-')}.sig` };
    const plan = planCopy({ root: graph.root, graph, extras: [{ extra, root: sigGraph.root, graph: sigGraph }], tag: { name: 'v1', state: { kind: 'same' } } });
    expect(plan.manifests.map((m) => m.descriptor.digest)).toEqual([img.descriptor.digest]);
    expect(plan.extras).toEqual([expect.objectContaining({ descriptor: sig.descriptor, tag: extra.tag })]);
    expect(plan.blobs.map((b) => b.descriptor.digest)).toContain(sigLayer.descriptor.digest);
    expect(plan.tag).toMatchObject({ name: 'v1', write: false });
  });

  it('accepts only extras that refer to the graph being copied', () => {
    const img = imageOf();
    const parsed = parseManifest(img.bytes);
    const referable = referableDigests(parsed, img.descriptor.digest);
    const other = 'sha256:' + 'ab'.repeat(32);
    const d = { mediaType: MediaTypes.ociManifest, digest: other as Digest, size: 1 };
    expect(() => checkExtraRefersTo({ descriptor: d, tag: `${img.descriptor.digest.replace(':', '-')}.sig` }, referable)).not.toThrow();
    expect(() => checkExtraRefersTo({ descriptor: d, tag: `sha256-${'ab'.repeat(32)}.sig` }, referable)).toThrow(/not in the graph being copied/);
    expect(() => checkExtraRefersTo({ descriptor: d, tag: 'latest' }, referable)).toThrow(/not a signature tag/);
    const referrer = parseManifest(new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: img.descriptor, layers: [], subject: { ...img.descriptor } })));
    expect(() => checkExtraRefersTo({ descriptor: d }, referable, referrer)).not.toThrow();
    expect(() => checkExtraRefersTo({ descriptor: d }, referable, parseManifest(img.bytes))).toThrow(/neither a signature tag nor a subject/);
  });
});
