/**
 * Bounded reads for the signature finder. Signature manifests, payloads and bundles are small in practice; a
 * hostile store can make them large (thousands of layers, a multi-gigabyte "attestation"). Every size is judged
 * from the descriptor BEFORE anything is fetched, and the store's streams stop at the descriptor's size and check
 * the digest (src/store), so nothing over a limit is ever read whole.
 */
import { AirlockError, isAirlockError } from '../errors.js';
import { checkBytes } from '../oci/digest.js';
import { parseManifest, type Descriptor, type ImageManifest } from '../oci/manifest.js';
import type { Repository } from '../store/types.js';
import type { SignatureLimits } from './types.js';

/** Counts the bytes read for one digest against `maxTotalBytes`. */
export class ReadBudget {
  private used = 0;

  constructor(
    private readonly limits: SignatureLimits,
    private readonly display: string,
  ) {}

  /** Reserves `size` bytes or throws LIMIT_EXCEEDED before they are read. */
  take(size: number, what: string): void {
    if (this.used + size > this.limits.maxTotalBytes) {
      throw limit(`Reading ${what} in ${this.display} would take the signatures read for one digest past ${this.limits.maxTotalBytes} bytes`);
    }
    this.used += size;
  }
}

function limit(sentence: string): AirlockError {
  return new AirlockError('LIMIT_EXCEEDED', `${sentence}; airlock refuses it to bound what a store can make it read.`);
}

export interface ReadManifest {
  descriptor: Descriptor;
  bytes: Uint8Array;
  manifest: ImageManifest;
}

/**
 * A signature or referrer manifest by tag or digest, or undefined when absent. The size comes from a HEAD (or the
 * index entry) first: a manifest over `maxManifestBytes` is refused without a GET. It must be an image manifest
 * with at most `maxLayers` layers, checked before any layer is fetched.
 */
export async function readSignatureManifest(
  repo: Repository,
  reference: string | Descriptor,
  limits: SignatureLimits,
  budget: ReadBudget,
): Promise<ReadManifest | undefined> {
  const ref = typeof reference === 'string' ? reference : reference.digest;
  const head = typeof reference === 'string' ? await repo.headManifest(reference) : reference;
  if (!head) return undefined;
  const what = `the signature manifest ${repo.display}:${ref}`;
  if (head.size > limits.maxManifestBytes) throw limit(`${cap(what)} has ${head.size} bytes, more than the limit of ${limits.maxManifestBytes}`);
  budget.take(head.size, what);
  let fetched;
  try {
    fetched = await repo.getManifest(head.digest);
  } catch (e) {
    if (isAirlockError(e, 'NOT_FOUND')) return undefined; // removed between HEAD and GET
    throw e;
  }
  // The store checks the digest; the size a HEAD or an index entry claimed is checked here.
  checkBytes(fetched.bytes, head.digest, head.size, 'signature manifest');
  const parsed = parseManifest(fetched.bytes, fetched.descriptor.mediaType);
  if (parsed.kind !== 'manifest') {
    throw new AirlockError('INTEGRITY', `${cap(what)} is an index, not the image manifest cosign writes; the store holds something else under that name.`);
  }
  const layers = parsed.manifest.layers.length;
  if (layers > limits.maxLayers) throw limit(`${cap(what)} lists ${layers} layers, more than the limit of ${limits.maxLayers} signatures`);
  return { descriptor: { mediaType: parsed.mediaType, digest: head.digest, size: head.size }, bytes: fetched.bytes, manifest: parsed.manifest };
}

/** Throws LIMIT_EXCEEDED when a layer's descriptor says more than `maxPayloadBytes`; nothing is fetched. */
export function checkLayerSize(repo: Repository, layer: Descriptor, limits: SignatureLimits): void {
  if (layer.size > limits.maxPayloadBytes) {
    throw limit(`The signature layer ${layer.digest} in ${repo.display} has ${layer.size} bytes, more than the limit of ${limits.maxPayloadBytes}`);
  }
}

/** A layer's bytes, refused before the read when its descriptor says more than `maxPayloadBytes`. */
export async function readLayer(repo: Repository, layer: Descriptor, limits: SignatureLimits, budget: ReadBudget): Promise<Uint8Array> {
  const what = `the signature layer ${layer.digest} in ${repo.display}`;
  checkLayerSize(repo, layer, limits);
  budget.take(layer.size, what);
  const out = new Uint8Array(layer.size);
  let at = 0;
  // The store's stream stops with INTEGRITY as soon as more bytes than the descriptor's size arrive.
  for await (const chunk of await repo.openBlob(layer)) {
    if (at + chunk.byteLength > out.byteLength) throw new AirlockError('INTEGRITY', `${cap(what)} is longer than its descriptor says; the store is corrupt or hostile.`);
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  checkBytes(out.subarray(0, at), layer.digest, layer.size, 'signature layer');
  return out;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
