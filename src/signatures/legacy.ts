/**
 * cosign's legacy, tag-based storage (cosign ≤ 2.x, every Flux release so far): an image manifest at tag
 * `sha256-<hex>.sig` (signatures) or `.att` (attestations) in the image's repository, one layer per signature, the
 * layer blob being the signed payload (a simple-signing JSON, or a DSSE envelope) and the signature, certificate and
 * Rekor evidence in the layer's annotations. Read and parsed here; judged only in src/verify.
 */
import type { Digest } from '../oci/digest.js';
import { signatureTag, type Repository } from '../store/types.js';
import { checkLayerSize, readLayer, readSignatureManifest, type ReadBudget } from './read.js';
import type { FoundSignatureManifest, LegacyAttestationLayer, LegacySignatureLayer, SignatureLimits } from './types.js';

/** The `.sig` or `.att` manifest of `digest` with every layer's bytes, or undefined when there is none. */
export async function readLegacyManifest(
  repo: Repository,
  digest: Digest,
  kind: 'sig' | 'att',
  limits: SignatureLimits,
  budget: ReadBudget,
): Promise<FoundSignatureManifest | undefined> {
  const tag = signatureTag(digest, kind === 'sig' ? '.sig' : '.att');
  const read = await readSignatureManifest(repo, tag, limits, budget);
  if (!read) return undefined;
  // Every layer's size is judged against the limits before the first one is fetched.
  for (const layer of read.manifest.layers) checkLayerSize(repo, layer, limits);
  const layers: (LegacySignatureLayer | LegacyAttestationLayer)[] = [];
  for (const [index, layer] of read.manifest.layers.entries()) {
    const bytes = await readLayer(repo, layer, limits, budget);
    const location = { manifest: read.descriptor, layer, tag, index };
    const annotations = Object.freeze({ ...(layer.annotations ?? {}) });
    layers.push(
      kind === 'sig'
        ? Object.freeze({ format: 'legacy-sig' as const, location, payload: bytes, annotations })
        : Object.freeze({ format: 'legacy-att' as const, location, envelope: bytes, annotations }),
    );
  }
  return { kind, tag, descriptor: read.descriptor, bytes: read.bytes, manifest: read.manifest, layers };
}
