/**
 * src/signatures against a FAKE registry (test/support/fake-referrers-registry.ts: the referrers API cannot run
 * here for real, and it records every request): what is found where, and the bounds — a signature manifest with
 * thousands of layers, an oversized manifest or payload, too many referrers — refused before being read whole.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { sha256Digest, type Digest } from '../../src/oci/digest.js';
import { MediaTypes } from '../../src/oci/mediatypes.js';
import { findSignatures, type SignatureLimits } from '../../src/signatures/index.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { startFakeReferrersRegistry, type FakeReferrersRegistry } from '../support/fake-referrers-registry.js';

const REPO = 'fluxcd/source-controller';
let fake: FakeReferrersRegistry;
let store: RegistryStore;

beforeEach(async () => {
  fake = await startFakeReferrersRegistry();
  store = new RegistryStore(fake.host);
});

afterEach(async () => {
  await store.close();
  await fake.stop();
});

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

function blob(bytes: Uint8Array | string, mediaType: string, annotations?: Record<string, string>) {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  fake.putBlob(REPO, b);
  return { mediaType, digest: sha256Digest(b), size: b.byteLength, ...(annotations ? { annotations } : {}) };
}

/** An image to hang signatures on. */
function pushImage(): { digest: Digest; size: number } {
  const config = blob('{}', MediaTypes.ociConfig);
  const bytes = enc({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers: [blob('layer', MediaTypes.ociLayerTarGzip)] });
  return { digest: fake.putManifest(REPO, bytes, MediaTypes.ociManifest, 'v1') as Digest, size: bytes.byteLength };
}

function pushSig(digest: Digest, layers: object[]): Digest {
  const bytes = enc({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: blob('{"rootfs":{}}', MediaTypes.ociConfig), layers });
  return fake.putManifest(REPO, bytes, MediaTypes.ociManifest, `${digest.replace(':', '-')}.sig`) as Digest;
}

/** A bundle referrer manifest of `subject` (the bundle content is not judged here). */
function pushReferrer(subject: { digest: Digest; size: number }, artifactType: string = MediaTypes.sigstoreBundleV03, tag?: string): { mediaType: string; digest: Digest; size: number } {
  const layer = blob(JSON.stringify({ mediaType: MediaTypes.sigstoreBundleV03, n: Math.random() }), MediaTypes.sigstoreBundleV03);
  const config = blob('{}', MediaTypes.ociEmpty);
  const bytes = enc({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, artifactType, config, layers: [layer], subject: { mediaType: MediaTypes.ociManifest, ...subject } });
  return { mediaType: MediaTypes.ociManifest, digest: fake.putManifest(REPO, bytes, MediaTypes.ociManifest, tag) as Digest, size: bytes.byteLength };
}

async function refused(p: Promise<unknown>): Promise<AirlockError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(AirlockError);
  expect((e as AirlockError).code, (e as AirlockError).message).toBe('LIMIT_EXCEEDED');
  return e as AirlockError;
}

const blobGets = (): string[] => fake.requests.filter((r) => r.startsWith('GET') && r.includes('/blobs/'));

describe('findSignatures: what is found', () => {
  it('reads .sig layers with their annotations and payloads, in order', async () => {
    const img = pushImage();
    const layers = [0, 1].map((i) => blob(`{"critical":${i}}`, MediaTypes.cosignSimpleSigning, { 'dev.cosignproject.cosign/signature': `sig${i}` }));
    pushSig(img.digest, layers);
    const found = await findSignatures(store.repository(REPO), img.digest);
    expect(found.signatures?.layers.map((l) => [l.format, l.location.index, l.annotations['dev.cosignproject.cosign/signature']])).toEqual([
      ['legacy-sig', 0, 'sig0'],
      ['legacy-sig', 1, 'sig1'],
    ]);
    expect(found.signatures?.tag).toBe(`${img.digest.replace(':', '-')}.sig`);
    expect(found.attestations).toBeUndefined();
  });

  it('finds bundle referrers through the API and the fallback tag at once (deduplicated), skipping other artifact types', async () => {
    const img = pushImage();
    const a = pushReferrer(img);
    pushReferrer(img, 'application/spdx+json'); // an SBOM referrer: not a signature
    const index = enc({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [{ ...a, artifactType: MediaTypes.sigstoreBundleV03 }] });
    fake.putManifest(REPO, index, MediaTypes.ociIndex, img.digest.replace(':', '-'));
    const found = await findSignatures(store.repository(REPO), img.digest);
    expect(found.referrers.map((r) => r.descriptor.digest)).toEqual([a.digest]);
    expect(found.skipped).toEqual([expect.objectContaining({ reason: expect.stringMatching(/artifact type application\/spdx\+json is not a Sigstore bundle/) })]);
    expect(fake.requests.some((r) => r.startsWith('GET') && r.includes('/referrers/'))).toBe(true);
  });

  it('without the API, reads fallback-index entries typed as the empty descriptor (cosign#4641) by their manifest', async () => {
    fake.referrersApi = false;
    const img = pushImage();
    const a = pushReferrer(img);
    const index = enc({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [{ ...a, artifactType: MediaTypes.ociEmpty }] });
    fake.putManifest(REPO, index, MediaTypes.ociIndex, img.digest.replace(':', '-'));
    const found = await findSignatures(store.repository(REPO), img.digest);
    expect(found.referrers.map((r) => r.descriptor.digest)).toEqual([a.digest]);
    expect(found.referrers[0]!.signature.format).toBe('referrer-bundle');
  });

  it('skips a listed referrer whose manifest names another subject', async () => {
    fake.referrersApi = false;
    const img = pushImage();
    const other = pushReferrer({ digest: sha256Digest('elsewhere'), size: 1 });
    fake.putManifest(REPO, enc({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [other] }), MediaTypes.ociIndex, img.digest.replace(':', '-'));
    const found = await findSignatures(store.repository(REPO), img.digest);
    expect(found.referrers).toEqual([]);
    expect(found.skipped[0]?.reason).toMatch(/its subject is sha256:.*, not sha256:/);
  });
});

describe('findSignatures: bounds, refused before anything is read whole', () => {
  it('a signature manifest with thousands of layers: LIMIT_EXCEEDED before any layer is fetched; with the limit raised, the layers are read', async () => {
    const img = pushImage();
    const layers = Array.from({ length: 2000 }, (_, i) => blob(`payload ${i}`, MediaTypes.cosignSimpleSigning));
    pushSig(img.digest, layers);
    const e = await refused(findSignatures(store.repository(REPO), img.digest));
    expect(e.message).toMatch(/lists 2000 layers, more than the limit of 64 signatures/);
    expect(blobGets()).toEqual([]);
    // Mutation: with the bound raised (the check off), the finder does read every layer.
    const found = await findSignatures(store.repository(REPO), img.digest, { limits: { maxLayers: 5000 } });
    expect(found.signatures?.layers).toHaveLength(2000);
    expect(blobGets().length).toBeGreaterThanOrEqual(2000);
  });

  it('a signature manifest over the size limit: refused on its HEAD, never fetched', async () => {
    const img = pushImage();
    const huge = 'x'.repeat(1_200_000);
    pushSig(img.digest, [blob('{}', MediaTypes.cosignSimpleSigning, { 'dev.sigstore.cosign/chain': huge })]);
    const e = await refused(findSignatures(store.repository(REPO), img.digest));
    expect(e.message).toMatch(/more than the limit of 1048576/);
    expect(fake.requests.filter((r) => r.startsWith('GET') && r.includes('/manifests/') && !r.endsWith('/v1'))).toEqual([]);
  });

  it('a multi-gigabyte "payload": refused from its descriptor, never fetched', async () => {
    const img = pushImage();
    pushSig(img.digest, [{ mediaType: MediaTypes.cosignSimpleSigning, digest: sha256Digest('never served'), size: 3 * 1024 ** 3 }]);
    const e = await refused(findSignatures(store.repository(REPO), img.digest));
    expect(e.message).toMatch(/has 3221225472 bytes, more than the limit of 16777216/);
    expect(blobGets()).toEqual([]);
  });

  it('more bundle referrers than the limit, and more bytes in all than the budget', async () => {
    const img = pushImage();
    for (let i = 0; i < 3; i++) pushReferrer(img);
    const limits: Partial<SignatureLimits> = { maxReferrers: 2 };
    await refused(findSignatures(store.repository(REPO), img.digest, { limits }));
    const e = await refused(findSignatures(store.repository(REPO), img.digest, { limits: { maxTotalBytes: 500 } }));
    expect(e.message).toMatch(/past 500 bytes/);
  });
});
