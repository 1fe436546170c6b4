import { describe, expect, it } from 'vitest';
import { BlobLocations } from '../../src/copy/blob-locations.js';
import { copyImage } from '../../src/copy/copy.js';
import { insecureSkipVerify, sealVerdict, sealVerifiedDigest, type Verdict, type VerifiedDigest } from '../../src/verify/verdict.js';
import type { CopyProgress, CopyRequest } from '../../src/copy/types.js';
import { AirlockError, isAirlockError } from '../../src/errors.js';
import type { Digest } from '../../src/oci/digest.js';
import { MediaTypes } from '../../src/oci/mediatypes.js';
import { signatureTag } from '../../src/store/types.js';
import { MemoryStore, type MemoryRepository } from '../support/memory-store.js';
import { imageOf, jsonBlob, multiArchOf, pushIndex, pushManifest, randomBlob } from '../support/copy-images.js';

// A genuine VerifiedDigest without a signature: the seal functions are src/verify's, used here only to hand the
// copy engine the type it accepts (what verification proves is tested in the verify suites).
function verified(digest: Digest): VerifiedDigest {
  const verdict = sealVerdict({ artifact: { digest, given: 'digest' }, checks: [], disabledChecks: [], tlogEntries: [], timestamps: [] } as unknown as Verdict);
  return sealVerifiedDigest(verdict, digest);
}

function request(source: MemoryRepository, target: MemoryRepository, extra: Partial<CopyRequest> = {}): CopyRequest {
  return { source, sourceReference: 'v1', target, targetTag: 'v1', subject: insecureSkipVerify(), ...extra };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.unreachable('expected a rejection'),
    (e: unknown) => e,
  );
}

/** Records the target's writes in order: `blob <digest>`, `manifest <digest>[ tag]`. */
function recordWrites(repo: MemoryRepository): string[] {
  const log: string[] = [];
  const putManifest = repo.putManifest.bind(repo);
  repo.putManifest = async (bytes, mt, tag) => {
    const d = await putManifest(bytes, mt, tag);
    log.push(`manifest ${d.digest}${tag ? ` ${tag}` : ''}`);
    return d;
  };
  const putBlob = repo.putBlob.bind(repo);
  repo.putBlob = async (desc, body) => {
    await putBlob(desc, body);
    log.push(`blob ${desc.digest}`);
  };
  return log;
}

describe('copyImage', () => {
  it('copies a multi-arch index with attestation manifests: all blobs, children first, the tag last', async () => {
    const src = new MemoryStore({ location: 'a' }).repository('flux/source-controller');
    const dst = new MemoryStore({ location: 'b' }).repository('mirror/source-controller');
    const idx = multiArchOf({ layerSizes: [70_000, 3000], shared: [randomBlob(5000)], attestations: true });
    await pushIndex(src, idx, 'v1');
    const writes = recordWrites(dst);
    const events: CopyProgress[] = [];
    const r = await copyImage(request(src, dst, { onProgress: (e) => events.push(e) }));

    expect(r).toMatchObject({ digest: idx.descriptor.digest, mediaType: MediaTypes.ociIndex, tagged: true, tag: 'v1', unverified: true, alreadyPresent: false, blobsSkipped: 0, blobsMounted: 0 });
    expect(r.manifestsWritten).toHaveLength(7);
    expect(r.blobsCopied).toHaveLength(3 * 3 + 1 + 3 * 2);
    expect(r.bytesMoved).toBe(r.blobsCopied.reduce((n, b) => n + b.size, 0));
    expect(dst.tags.get('v1')).toBe(idx.descriptor.digest);
    // Exact bytes, so the same digests.
    expect(Buffer.from(dst.manifests.get(idx.descriptor.digest)!.bytes).equals(Buffer.from(idx.bytes))).toBe(true);
    // Order: every blob, then manifests, and the tag strictly last.
    const firstManifest = writes.findIndex((w) => w.startsWith('manifest'));
    expect(writes.slice(firstManifest).every((w) => w.startsWith('manifest'))).toBe(true);
    expect(writes.at(-1)).toBe(`manifest ${idx.descriptor.digest} v1`);
    expect(writes.filter((w) => w.endsWith(' v1'))).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'resolved', digest: idx.descriptor.digest });
    expect(events.at(-1)).toMatchObject({ type: 'tagged', tag: 'v1' });
    expect(events.some((e) => e.type === 'blob-bytes')).toBe(true);
  });

  it('re-run: the target holds the graph, so nothing is read or written beyond the tag check', async () => {
    const src = new MemoryStore().repository('s');
    const dst = new MemoryStore().repository('d');
    const idx = multiArchOf({ attestations: true });
    await pushIndex(src, idx, 'v1');
    await copyImage(request(src, dst));
    const r = await copyImage(request(src, dst));
    expect(r).toMatchObject({ alreadyPresent: true, tagged: true, manifestsWritten: [], blobsCopied: [], bytesMoved: 0 });
    expect(r.requests).toEqual({ source: { getManifest: 1 }, target: { headManifest: 1 } });
    // With recheck the whole graph is walked again, every blob found present.
    const again = await copyImage(request(src, dst, { recheck: true }));
    expect(again.blobsCopied).toEqual([]);
    expect(again.blobsSkipped).toBe(3 * 2 + 3 * 2);
  });

  it('skips blobs the target already has and sends only the rest', async () => {
    const src = new MemoryStore().repository('s');
    const dst = new MemoryStore().repository('d');
    const img = imageOf({ layerSizes: [100, 200, 300] });
    await pushManifest(src, img, 'v1');
    await pushManifest(dst, imageOf({ layers: img.blobs.slice(1, 3) }));
    const r = await copyImage(request(src, dst));
    expect(r.blobsSkipped).toBe(2);
    expect(r.blobsCopied.map((b) => b.digest).sort()).toEqual([img.blobs[0]!, img.blobs[3]!].map((b) => b.descriptor.digest).sort());
    expect(dst.counts.putBlob).toBe(2 + 2 + 1); // 2 by the set-up, 2 copied, +1 set-up config
  });

  it('mounts blobs from another repository of the same target store instead of sending them', async () => {
    const upstream = new MemoryStore({ location: 'up' }).repository('s');
    const target = new MemoryStore({ location: 'reg', mountable: true });
    const img = imageOf({ layerSizes: [1000, 2000] });
    await pushManifest(upstream, img, 'v1');
    const locations = new BlobLocations();
    const first = await copyImage(request(upstream, target.repository('one'), { blobLocations: locations }));
    expect(first.blobsCopied).toHaveLength(3);
    const second = await copyImage(request(upstream, target.repository('two'), { blobLocations: locations }));
    expect(second).toMatchObject({ blobsMounted: 3, blobsCopied: [], bytesMoved: 0 });
    expect(target.repository('two').counts.putBlob ?? 0).toBe(0);
    // Within one store the source repository itself is the mount source.
    const third = await copyImage(request(target.repository('one'), target.repository('three')));
    expect(third.blobsMounted).toBe(3);
    expect(target.repository('three').tags.get('v1')).toBe(img.descriptor.digest);
  });

  it('refuses to move a content tag that points to another digest, before sending anything', async () => {
    const src = new MemoryStore().repository('s');
    const dst = new MemoryStore().repository('d');
    const img = imageOf();
    await pushManifest(src, img, 'v1');
    const old = imageOf();
    await pushManifest(dst, old, 'v1');
    const putsBefore = dst.counts.putBlob;
    const e = await rejection(copyImage(request(src, dst)));
    expect(isAirlockError(e, 'TAG_CONFLICT')).toBe(true);
    expect((e as AirlockError).exitCode).toBe(16);
    const msg = (e as Error).message;
    for (const part of ['"v1"', old.descriptor.digest, img.descriptor.digest, '--allow-tag-move']) expect(msg).toContain(part);
    expect(msg.split('; ').length).toBe(2);
    expect(msg.trim().endsWith('.')).toBe(true);
    expect(dst.counts.putBlob).toBe(putsBefore);
    expect(dst.tags.get('v1')).toBe(old.descriptor.digest);

    const moved = await copyImage(request(src, dst, { allowTagMove: true }));
    expect(moved.tagged).toBe(true);
    expect(dst.tags.get('v1')).toBe(img.descriptor.digest);
  });

  it('lets signature tags advance and copies extras after the subject, before its tag', async () => {
    const src = new MemoryStore().repository('s');
    const dst = new MemoryStore().repository('d');
    const img = imageOf();
    await pushManifest(src, img, 'v1');
    const sigTag = signatureTag(img.descriptor.digest, '.sig');
    const oldSig = imageOf({ layers: [jsonBlob({ n: 1 }, MediaTypes.cosignSimpleSigning)] });
    await pushManifest(dst, oldSig, sigTag);
    const newSig = imageOf({ layers: [jsonBlob({ n: 1 }, MediaTypes.cosignSimpleSigning), jsonBlob({ n: 2 }, MediaTypes.cosignSimpleSigning)] });
    await pushManifest(src, newSig, sigTag);
    const writes = recordWrites(dst);
    const r = await copyImage(request(src, dst, { extras: [{ descriptor: newSig.descriptor, tag: sigTag }] }));
    expect(dst.tags.get(sigTag)).toBe(newSig.descriptor.digest);
    expect(r.manifestsWritten).toEqual([img.descriptor.digest, newSig.descriptor.digest]);
    const manifestWrites = writes.filter((w) => w.startsWith('manifest'));
    expect(manifestWrites).toEqual([`manifest ${img.descriptor.digest}`, `manifest ${newSig.descriptor.digest} ${sigTag}`, `manifest ${img.descriptor.digest} v1`]);
    // A re-run with the same extra rewrites nothing.
    const again = await copyImage(request(src, dst, { extras: [{ descriptor: newSig.descriptor, tag: sigTag }] }));
    expect(again.manifestsWritten).toEqual([]);
  });

  it('a blob whose bytes do not match its digest fails the copy and leaves no tag (caught on read and on write)', async () => {
    for (const verifyReads of [true, false]) {
      const src = new MemoryStore({ verifyReads }).repository('s');
      const dst = new MemoryStore().repository('d');
      const idx = multiArchOf({ layerSizes: [10_000] });
      await pushIndex(src, idx, 'v1');
      const victim = idx.images[1]!.blobs[1]!;
      const evil = Uint8Array.from(victim.bytes);
      evil[5]! ^= 0xff;
      src.tampered.set(victim.descriptor.digest, evil);
      const e = await rejection(copyImage(request(src, dst)));
      expect(isAirlockError(e, 'INTEGRITY')).toBe(true);
      expect((e as Error).message).toContain(victim.descriptor.digest);
      expect(dst.tags.size).toBe(0);
      expect(dst.manifests.has(idx.descriptor.digest)).toBe(false);
      expect(dst.blobs.has(victim.descriptor.digest)).toBe(false);
    }
  });

  it('one failed transfer stops the rest: no manifest is written', async () => {
    const src = new MemoryStore().repository('s');
    const dst = new MemoryStore().repository('d');
    const img = imageOf({ layerSizes: Array.from({ length: 12 }, () => 100_000) });
    await pushManifest(src, img, 'v1');
    let n = 0;
    dst.beforeBlobCommit = () => {
      if (++n === 2) throw new AirlockError('REGISTRY_ERROR', 'The registry broke.');
    };
    const e = await rejection(copyImage(request(src, dst, { concurrency: 2 })));
    expect(isAirlockError(e, 'REGISTRY_ERROR')).toBe(true);
    expect(dst.manifests.size).toBe(0);
    expect(dst.blobs.size).toBeLessThan(13);
  });

  it('never runs more blob transfers at once than the concurrency', async () => {
    const src = new MemoryStore().repository('s');
    const dst = new MemoryStore().repository('d');
    const img = imageOf({ layerSizes: Array.from({ length: 20 }, () => 50_000) });
    await pushManifest(src, img, 'v1');
    let active = 0;
    let peak = 0;
    const putBlob = dst.putBlob.bind(dst);
    dst.putBlob = async (d, body) => {
      peak = Math.max(peak, ++active);
      try {
        await new Promise((r) => setTimeout(r, 5));
        await putBlob(d, body);
      } finally {
        active--;
      }
    };
    const r = await copyImage(request(src, dst, { concurrency: 3 }));
    expect(r.blobsCopied).toHaveLength(21);
    expect(peak).toBe(3);
  });

  it('copies by the digest resolved once, and refuses a verified subject of another digest', async () => {
    const src = new MemoryStore().repository('s');
    const dst = new MemoryStore().repository('d');
    const img = imageOf();
    await pushManifest(src, img, 'v1');
    const ok = await copyImage(request(src, dst, { subject: verified(img.descriptor.digest) }));
    expect(ok.unverified).toBe(false);
    const moved = imageOf();
    await pushManifest(src, moved, 'v1'); // the tag moved upstream after verification
    const e = await rejection(copyImage(request(src, dst, { subject: verified(img.descriptor.digest), allowTagMove: true })));
    expect(isAirlockError(e, 'VERIFY_FAILED')).toBe(true);
    expect((e as Error).message).toContain(moved.descriptor.digest);
    expect(dst.tags.get('v1')).toBe(img.descriptor.digest);
    // A forged VerifiedDigest (a cast, not minted by src/verify) is refused whatever its digest.
    const forged = { kind: 'verified', digest: moved.descriptor.digest, verdict: {} } as unknown as VerifiedDigest;
    expect(isAirlockError(await rejection(copyImage(request(src, dst, { subject: forged, allowTagMove: true }))), 'INTERNAL')).toBe(true);
    expect(dst.tags.get('v1')).toBe(img.descriptor.digest);
    // By digest, without a tag.
    const byDigest = await copyImage(request(src, dst, { sourceReference: moved.descriptor.digest, targetTag: undefined }));
    expect(byDigest).toMatchObject({ digest: moved.descriptor.digest, tagged: false });
    expect(dst.manifests.has(moved.descriptor.digest)).toBe(true);
  });
});
