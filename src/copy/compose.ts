import { AirlockError } from '../errors.js';
import { sha256Digest, type Digest } from '../oci/digest.js';
import type { Descriptor, ImageManifest } from '../oci/manifest.js';
import { MediaTypes } from '../oci/mediatypes.js';
import type { InlineBlob } from './types.js';

/*
 * Manifests airlock writes itself (a signature manifest holding only the layers that verified, a referrers
 * fallback index) must come out byte-identical from the same verified inputs, so that a re-run produces the
 * same digest and rewrites nothing. Hence: fixed fields only, keys sorted at every level, no whitespace, no
 * timestamps (the config uses the zero time cosign itself writes), and input order that does not matter.
 */

export interface ComposedManifest {
  descriptor: Descriptor;
  bytes: Uint8Array;
  /** The config blob, which exists only in memory until the copy writes it. */
  inlineBlobs: InlineBlob[];
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** JSON with keys sorted at every level and no insignificant whitespace. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function blobOf(json: unknown, mediaType: string): InlineBlob & { text: string } {
  const text = canonicalJson(json);
  const bytes = new TextEncoder().encode(text);
  return { descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength }, bytes, text };
}

/** Only the fields a descriptor is defined by, plus its annotations (where cosign keeps signature and certificate). */
function cleanDescriptor(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.annotations && Object.keys(d.annotations).length > 0) out.annotations = { ...d.annotations };
  if (d.artifactType !== undefined) out.artifactType = d.artifactType;
  return out;
}

/**
 * A cosign-style signature manifest (`sha256-<hex>.sig` / `.att`) holding only the layers of `original` whose
 * digests are in `keep` — the ones that verified — in the original's order, with a config whose diff_ids match
 * them. The original's manifest-level annotations are dropped: they are not covered by any signature.
 */
export function composeSignatureManifest(original: ImageManifest, keep: Iterable<Digest>): ComposedManifest {
  const wanted = new Set(keep);
  const layers = original.layers.filter((l) => wanted.has(l.digest));
  const found = new Set(layers.map((l) => l.digest));
  const missing = [...wanted].find((d) => !found.has(d));
  if (missing) throw new AirlockError('BAD_INPUT', `The layer ${missing} to keep is not in the signature manifest being composed from.`);
  if (layers.length === 0) throw new AirlockError('BAD_INPUT', 'A signature manifest cannot be composed with no layers; there is nothing verified to carry.');
  // One layer per signature; a digest listed twice would be the same signature twice.
  const unique = layers.filter((l, i) => layers.findIndex((x) => x.digest === l.digest) === i).map(cleanDescriptor);
  const config = blobOf(
    {
      architecture: '',
      config: {},
      created: ZERO_TIME,
      history: unique.map(() => ({ created: ZERO_TIME })),
      os: '',
      rootfs: { type: 'layers', diff_ids: unique.map((l) => l.digest) },
    },
    MediaTypes.ociConfig,
  );
  const manifest = blobOf(
    { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: config.descriptor, layers: unique },
    MediaTypes.ociManifest,
  );
  return { descriptor: manifest.descriptor, bytes: manifest.bytes, inlineBlobs: [{ descriptor: config.descriptor, bytes: config.bytes }] };
}

/**
 * An OCI index listing `manifests` — the referrers fallback index at tag `sha256-<hex>` for registries without
 * the referrers API — sorted by digest so that the same set of referrers always gives the same index.
 */
export function composeReferrersIndex(manifests: Descriptor[]): ComposedManifest {
  const byDigest = new Map<Digest, Descriptor>();
  for (const m of manifests) byDigest.set(m.digest, cleanDescriptor(m));
  const entries = [...byDigest.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const index = blobOf({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: entries }, MediaTypes.ociIndex);
  return { descriptor: index.descriptor, bytes: index.bytes, inlineBlobs: [] };
}
