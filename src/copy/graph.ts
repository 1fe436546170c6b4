import PQueue from 'p-queue';
import { AirlockError } from '../errors.js';
import { checkBytes, type Digest } from '../oci/digest.js';
import { parseManifest, type Descriptor, type ParsedManifest } from '../oci/manifest.js';
import { isAnyManifestMediaType } from '../oci/mediatypes.js';
import type { FetchedManifest, Repository } from '../store/types.js';
import type { GraphLimits } from './types.js';

/** One manifest of a graph, with the exact bytes that will be written (never re-serialised). */
export interface ManifestNode {
  /** Digest and size of `bytes`; mediaType as it will be put (the document's own, else the descriptor's). */
  descriptor: Descriptor;
  bytes: Uint8Array;
  parsed: ParsedManifest;
  /** 0 for an image manifest, 1 + the highest child for an index: writing by ascending height puts children first. */
  height: number;
  /** The repository its bytes and blobs are read from. */
  source: Repository;
}

export interface Graph {
  root: ManifestNode;
  nodes: ReadonlyMap<Digest, ManifestNode>;
}

// Fetches of sibling manifests overlap (a registry far away answers each in one round trip); the store bounds
// its own connections, this only bounds how many requests one walk queues at once.
const FETCH_CONCURRENCY = 8;

const FOREIGN_MEDIA_TYPE_RE = /foreign|nondistributable/i;

/** Whether a layer is one registries may refuse to serve or store (Windows base layers, "non-distributable"). */
export function isForeignLayer(d: Descriptor): boolean {
  return (d.urls !== undefined && d.urls.length > 0) || FOREIGN_MEDIA_TYPE_RE.test(d.mediaType);
}

/**
 * Reads the whole graph under `root` from `source` — an index with ALL its children (platforms and BuildKit
 * attestation manifests alike: a filtered index would be an unsigned digest), nested indexes, and each image
 * manifest's config and layers — checking every manifest against its digest and the limits before anything is
 * written. Reads only; the plan decides what to write.
 */
export async function walkGraph(source: Repository, root: FetchedManifest, limits: GraphLimits): Promise<Graph> {
  const nodes = new Map<Digest, ManifestNode>();
  const seen = new Map<Digest, Promise<ManifestNode>>();
  const fetches = new PQueue({ concurrency: FETCH_CONCURRENCY });

  const visit = (desc: Descriptor, depth: number, fetched?: FetchedManifest): Promise<ManifestNode> => {
    if (depth > limits.maxDepth) {
      throw new AirlockError(
        'LIMIT_EXCEEDED',
        `The manifest ${desc.digest} in ${source.display} is nested ${depth} levels deep, more than the limit of ${limits.maxDepth}; airlock refuses such graphs to bound what a source can make it do.`,
      );
    }
    const known = seen.get(desc.digest);
    if (known) return known;
    if (seen.size >= limits.maxManifests) {
      throw new AirlockError(
        'LIMIT_EXCEEDED',
        `The graph of ${root.descriptor.digest} in ${source.display} has more than ${limits.maxManifests} manifests; airlock refuses such graphs to bound what a source can make it do.`,
      );
    }
    const p = readNode(desc, depth, fetched);
    seen.set(desc.digest, p);
    return p;
  };

  const readNode = async (desc: Descriptor, depth: number, fetched?: FetchedManifest): Promise<ManifestNode> => {
    const got = fetched ?? (await fetches.add(() => source.getManifest(desc.digest)));
    // The store checks this too; checking here as well keeps the copy safe whatever backend it is given.
    checkBytes(got.bytes, desc.digest, desc.size, 'manifest');
    const parsed = parseManifest(got.bytes, desc.mediaType);
    const descriptor: Descriptor = { mediaType: parsed.mediaType, digest: desc.digest, size: desc.size };
    let height = 0;
    if (parsed.kind === 'index') {
      const entries = parsed.index.manifests;
      checkEntries(entries.length, 'manifests', desc.digest, source, limits);
      for (const child of entries) {
        if (!isAnyManifestMediaType(child.mediaType)) {
          throw new AirlockError(
            'INTEGRITY',
            `The index ${desc.digest} in ${source.display} lists ${child.digest} with the media type ${child.mediaType.slice(0, 100)}, which is not a manifest; the index is malformed.`,
          );
        }
      }
      const children = await Promise.all(entries.map((c) => visit(c, depth + 1)));
      height = 1 + Math.max(0, ...children.map((c) => c.height));
    } else {
      checkEntries(parsed.manifest.layers.length, 'layers', desc.digest, source, limits);
      if (limits.foreignLayers === 'refuse') {
        const foreign = parsed.manifest.layers.find(isForeignLayer);
        if (foreign) {
          throw new AirlockError(
            'BAD_INPUT',
            `The manifest ${desc.digest} in ${source.display} has a foreign (non-distributable) layer ${foreign.digest}, which registries need not serve and which would tie the mirror to an outside server; airlock refuses to copy it.`,
            { details: { manifest: desc.digest, layer: foreign.digest, urls: foreign.urls ?? [] } },
          );
        }
      }
    }
    const node: ManifestNode = { descriptor, bytes: got.bytes, parsed, height, source };
    nodes.set(desc.digest, node);
    return node;
  };

  const rootNode = await visit(root.descriptor, 0, root);
  return { root: rootNode, nodes };
}

function checkEntries(n: number, what: string, digest: Digest, source: Repository, limits: GraphLimits): void {
  if (n > limits.maxEntries) {
    throw new AirlockError(
      'LIMIT_EXCEEDED',
      `The manifest ${digest} in ${source.display} lists ${n} ${what}, more than the limit of ${limits.maxEntries}; airlock refuses it to bound what a source can make it do.`,
    );
  }
}
