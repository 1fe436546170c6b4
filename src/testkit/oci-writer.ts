/**
 * Writing signature objects into a store the way cosign's registry code does, for the test kit's image signers
 * (image-signers.ts): blobs, a legacy `.sig` / `.att` manifest that gains one layer per signature (cosign
 * appends to the existing manifest), and a referrer with the OCI 1.1 fallback index for stores without the
 * referrers API. Through the store interface only, so a registry and a layout are written alike.
 */
import { isAirlockError } from '../errors.js';
import { sha256Digest, type Digest } from '../oci/digest.js';
import { parseManifest, type Descriptor, type ImageManifest } from '../oci/manifest.js';
import { isIndexMediaType, MediaTypes } from '../oci/mediatypes.js';
import { signatureTag, type Repository } from '../store/types.js';

// cosign (go-containerregistry's empty image) writes the zero time and empty platform strings.
const ZERO_TIME = '0001-01-01T00:00:00Z';

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

/** Puts `bytes` as a blob (when absent) and returns its descriptor. */
export async function putBlobBytes(repo: Repository, bytes: Uint8Array, mediaType: string, annotations?: Record<string, string>): Promise<Descriptor> {
  const d: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength };
  if ((await repo.statBlob(d.digest)) === undefined) await repo.putBlob(d, once(bytes));
  return annotations ? { ...d, annotations } : d;
}

const text = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

/** The existing signature manifest under `tag`, if any (cosign appends rather than replaces). */
async function existing(repo: Repository, tag: string): Promise<ImageManifest | undefined> {
  try {
    const got = await repo.getManifest(tag);
    const parsed = parseManifest(got.bytes, got.descriptor.mediaType);
    return parsed.kind === 'manifest' ? parsed.manifest : undefined;
  } catch (e) {
    if (isAirlockError(e, 'NOT_FOUND')) return undefined;
    throw e;
  }
}

/**
 * Appends `layer` (whose blob is already written) to the `.sig` / `.att` manifest of `digest`, creating it when
 * absent, and points the tag at the new manifest. Returns the manifest's descriptor.
 */
export async function appendSignatureLayer(repo: Repository, digest: Digest, suffix: '.sig' | '.att', layer: Descriptor): Promise<Descriptor> {
  const tag = signatureTag(digest, suffix);
  const layers = [...((await existing(repo, tag))?.layers ?? []), layer];
  const config = await putBlobBytes(
    repo,
    text({
      architecture: '',
      created: ZERO_TIME,
      history: layers.map(() => ({ created: ZERO_TIME })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
    MediaTypes.ociConfig,
  );
  const bytes = text({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers });
  return repo.putManifest(bytes, MediaTypes.ociManifest, tag);
}

/** The empty descriptor OCI 1.1 artifacts use as their config (`{}`). */
export async function putEmptyConfig(repo: Repository): Promise<Descriptor> {
  const d = await putBlobBytes(repo, new TextEncoder().encode('{}'), MediaTypes.ociEmpty);
  return { ...d, data: 'e30=' };
}

/**
 * Makes `referrer` findable as a referrer of `subject`: a store with the referrers API (or a layout, which scans
 * its index) already lists it; otherwise the fallback index at tag `sha256-<hex>` gains an entry, as cosign 3 and
 * oras do on a registry without the API.
 */
export async function publishReferrer(repo: Repository, subject: Digest, referrer: Descriptor): Promise<'listed' | 'fallback-tag'> {
  if ((await repo.referrers(subject)).some((d) => d.digest === referrer.digest)) return 'listed';
  const tag = signatureTag(subject, '');
  let entries: Descriptor[] = [];
  try {
    const got = await repo.getManifest(tag);
    const parsed = parseManifest(got.bytes, got.descriptor.mediaType);
    if (isIndexMediaType(parsed.mediaType) && parsed.kind === 'index') entries = parsed.index.manifests;
  } catch (e) {
    if (!isAirlockError(e, 'NOT_FOUND')) throw e;
  }
  const index = text({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [...entries.filter((d) => d.digest !== referrer.digest), referrer] });
  await repo.putManifest(index, MediaTypes.ociIndex, tag);
  return 'fallback-tag';
}
