import { describe, expect, it } from 'vitest';
import { canonicalJson, composeReferrersIndex, composeSignatureManifest } from '../../src/copy/compose.js';
import { copyImage } from '../../src/copy/copy.js';
import { insecureSkipVerify } from '../../src/verify/verdict.js';
import { digestOfSignatureTag, isSignatureTag } from '../../src/copy/tags.js';
import { checkBytes, type Digest } from '../../src/oci/digest.js';
import { parseManifest, type ImageManifest } from '../../src/oci/manifest.js';
import { MediaTypes } from '../../src/oci/mediatypes.js';
import { signatureTag } from '../../src/store/types.js';
import { MemoryStore } from '../support/memory-store.js';
import { imageOf, jsonBlob, pushManifest } from '../support/copy-images.js';

function signatureLayer(n: number) {
  const b = jsonBlob({ critical: { image: { 'docker-manifest-digest': 'sha256:' + '0'.repeat(64) } }, optional: { n } }, MediaTypes.cosignSimpleSigning);
  // Annotation keys deliberately out of order: the composer must not depend on it.
  b.descriptor.annotations = { 'dev.sigstore.cosign/certificate': `-----BEGIN CERTIFICATE-----\n${n}\n`, 'dev.cosignproject.cosign/signature': `sig${n}` };
  return b;
}

function signatureManifest(layers: ReturnType<typeof signatureLayer>[]) {
  const img = imageOf({ layers });
  return { img, manifest: (parseManifest(img.bytes) as { manifest: ImageManifest }).manifest };
}

describe('composeSignatureManifest', () => {
  it('is byte-deterministic: same verified inputs in any order → same bytes → same digest', () => {
    const layers = [signatureLayer(1), signatureLayer(2), signatureLayer(3)];
    const { manifest } = signatureManifest(layers);
    const [a, b, c] = layers.map((l) => l.descriptor.digest) as unknown as [Digest, Digest, Digest];
    const one = composeSignatureManifest(manifest, [a , c ]);
    const two = composeSignatureManifest(JSON.parse(JSON.stringify(manifest)) as ImageManifest, [c , a , c ]);
    expect(Buffer.from(one.bytes).equals(Buffer.from(two.bytes))).toBe(true);
    expect(one.descriptor).toEqual(two.descriptor);
    checkBytes(one.bytes, one.descriptor.digest, one.descriptor.size);
    const doc = JSON.parse(new TextDecoder().decode(one.bytes)) as ImageManifest;
    // Only the kept layers, in the original's order, annotations intact; the config names exactly them.
    expect(doc.layers.map((l) => l.digest)).toEqual([a, c]);
    expect(doc.layers[0]!.annotations).toEqual(layers[0]!.descriptor.annotations);
    const config = JSON.parse(new TextDecoder().decode(one.inlineBlobs[0]!.bytes)) as { rootfs: { diff_ids: string[] }; created: string };
    expect(config.rootfs.diff_ids).toEqual([a, c]);
    expect(config.created).toBe('0001-01-01T00:00:00Z');
    expect(doc.config.digest).toBe(one.inlineBlobs[0]!.descriptor.digest);
    // Canonical: the text is its own canonical form (sorted keys, no whitespace).
    const text = new TextDecoder().decode(one.bytes);
    expect(canonicalJson(JSON.parse(text))).toBe(text);
    expect(text).not.toMatch(/\s"|":\s/);
    expect(parseManifest(one.bytes, MediaTypes.ociManifest).kind).toBe('manifest');
    // A different subset is a different digest.
    expect(composeSignatureManifest(manifest, [b ]).descriptor.digest).not.toBe(one.descriptor.digest);
  });

  it('refuses an empty subset and layers that are not in the original', () => {
    const { manifest } = signatureManifest([signatureLayer(1)]);
    expect(() => composeSignatureManifest(manifest, [])).toThrow(/no layers/);
    expect(() => composeSignatureManifest(manifest, [('sha256:' + 'f'.repeat(64)) as Digest])).toThrow(/not in the signature manifest/);
  });

  it('a composed signature manifest is copied with its in-memory config, and a re-run rewrites nothing', async () => {
    const src = new MemoryStore().repository('s');
    const dst = new MemoryStore().repository('d');
    const img = imageOf();
    await pushManifest(src, img, 'v1');
    const layers = [signatureLayer(1), signatureLayer(2)];
    const { img: sig, manifest } = signatureManifest(layers);
    await pushManifest(src, sig, signatureTag(img.descriptor.digest, '.sig'));
    const composed = composeSignatureManifest(manifest, [layers[1]!.descriptor.digest]);
    const extra = { ...composed, tag: signatureTag(img.descriptor.digest, '.sig') };
    const r = await copyImage({ source: src, sourceReference: 'v1', target: dst, targetTag: 'v1', subject: insecureSkipVerify(), extras: [extra] });
    expect(r.manifestsWritten).toEqual([img.descriptor.digest, composed.descriptor.digest]);
    expect(dst.tags.get(extra.tag)).toBe(composed.descriptor.digest);
    expect(dst.blobs.has(composed.inlineBlobs[0]!.descriptor.digest)).toBe(true);
    expect(dst.blobs.has(layers[0]!.descriptor.digest)).toBe(false);
    const again = composeSignatureManifest(manifest, [layers[1]!.descriptor.digest]);
    const r2 = await copyImage({ source: src, sourceReference: 'v1', target: dst, targetTag: 'v1', subject: insecureSkipVerify(), extras: [{ ...again, tag: extra.tag }] });
    expect(r2.manifestsWritten).toEqual([]);
    expect(dst.counts.putManifest).toBe(3);
  });
});

describe('composeReferrersIndex', () => {
  it('gives the same index for the same referrers in any order', () => {
    const a = imageOf().descriptor;
    const b = { ...imageOf().descriptor, artifactType: MediaTypes.sigstoreBundleV03 };
    const one = composeReferrersIndex([a, b]);
    const two = composeReferrersIndex([b, a, a]);
    expect(Buffer.from(one.bytes).equals(Buffer.from(two.bytes))).toBe(true);
    const parsed = parseManifest(one.bytes);
    expect(parsed.kind === 'index' && parsed.index.manifests.map((m) => m.digest)).toEqual([a.digest, b.digest].sort());
  });
});

describe('signature tags', () => {
  it('recognises cosign and fallback tags, and nothing else', () => {
    const d = 'sha256:' + 'a1'.repeat(32);
    for (const s of ['.sig', '.att', '.sbom', ''] as const) {
      expect(isSignatureTag(signatureTag(d as Digest, s))).toBe(true);
      expect(digestOfSignatureTag(signatureTag(d as Digest, s))).toBe(d);
    }
    for (const t of ['v1.2.3', 'latest', `sha256-${'a1'.repeat(31)}.sig`, `sha256-${'A1'.repeat(32)}.sig`, `sha256-${'a1'.repeat(32)}.sig.x`]) {
      expect(isSignatureTag(t)).toBe(false);
    }
  });
});
