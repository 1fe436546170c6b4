import { AirlockError } from '../errors.js';
import { neutralize } from '../log.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor, ParsedManifest } from '../oci/manifest.js';
import type { Repository } from '../store/types.js';
import type { Graph, ManifestNode } from './graph.js';
import { digestOfSignatureTag, isSignatureTag, type TagState } from './tags.js';
import type { ExtraManifest, InlineBlob } from './types.js';

/*
 * Decide, then act: planCopy is pure. Given the graphs already read (and checked) from the source, it says what
 * to write and in which order — blobs, then manifests children before parents, then the extra manifests with
 * their signature tags, then the content tag last — with every digest written once.
 */

export interface PlannedBlob {
  descriptor: Descriptor;
  /** Where the bytes are read from, unless `inline` holds them. */
  source: Repository;
  inline?: Uint8Array;
}

export interface PlannedManifest {
  descriptor: Descriptor;
  bytes: Uint8Array;
  height: number;
  /** Only a signature tag, on an extra manifest. */
  tag?: string;
}

export interface CopyPlan {
  digest: Digest;
  mediaType: string;
  blobs: PlannedBlob[];
  /** The subject's graph, children before parents; the root last. Empty when the target already holds it. */
  manifests: PlannedManifest[];
  /** Each extra's own graph then the extra (with its signature tag). */
  extras: PlannedManifest[];
  /** The content tag; `write` is false when it already points to the digest. */
  tag?: { name: string; write: boolean; bytes: Uint8Array; mediaType: string };
  blobBytes: number;
}

export interface PlannedExtra {
  extra: ExtraManifest;
  root: { descriptor: Descriptor; bytes: Uint8Array };
  /** Undefined when the target already holds the extra by digest: only its tag is written. */
  graph?: Graph;
}

export interface PlanInput {
  root: { descriptor: Descriptor; bytes: Uint8Array };
  /** Undefined when the target already holds the root (and so, children being written first, all under it). */
  graph?: Graph;
  extras: PlannedExtra[];
  tag?: { name: string; state: TagState };
}

export function planCopy(input: PlanInput): CopyPlan {
  const blobs = new Map<Digest, PlannedBlob>();
  const written = new Set<Digest>();
  const manifests = input.graph ? manifestsOf(input.graph, written) : [];
  if (input.graph) collectBlobs(input.graph, blobs);
  const extras: PlannedManifest[] = [];
  for (const pe of input.extras) {
    for (const b of pe.extra.inlineBlobs ?? []) addBlob(blobs, b.descriptor, pe.extra.source ?? input.graph?.root.source, b);
    if (pe.graph) {
      collectBlobs(pe.graph, blobs);
      const own = manifestsOf(pe.graph, written);
      if (pe.extra.tag !== undefined) {
        const self = own.find((m) => m.descriptor.digest === pe.root.descriptor.digest);
        // Already planned by an earlier extra: its tag still has to be written.
        if (self) self.tag = pe.extra.tag;
        else own.push(toPlanned(pe.root, 0, pe.extra.tag));
      }
      extras.push(...own);
    } else {
      extras.push(toPlanned(pe.root, 0, pe.extra.tag));
    }
  }
  const blobList = [...blobs.values()];
  const plan: CopyPlan = {
    digest: input.root.descriptor.digest,
    mediaType: input.root.descriptor.mediaType,
    blobs: blobList,
    manifests,
    extras,
    blobBytes: blobList.reduce((n, b) => n + b.descriptor.size, 0),
  };
  if (input.tag) {
    plan.tag = { name: input.tag.name, write: input.tag.state.kind !== 'same', bytes: input.root.bytes, mediaType: input.root.descriptor.mediaType };
  }
  return plan;
}

function toPlanned(m: { descriptor: Descriptor; bytes: Uint8Array }, height: number, tag?: string): PlannedManifest {
  const p: PlannedManifest = { descriptor: m.descriptor, bytes: m.bytes, height };
  if (tag !== undefined) p.tag = tag;
  return p;
}

/** Depth-first, index entries in their order, each manifest after its children; then sorted by height (stable). */
function manifestsOf(graph: Graph, written: Set<Digest>): PlannedManifest[] {
  const order: ManifestNode[] = [];
  const visited = new Set<Digest>();
  const dfs = (node: ManifestNode): void => {
    if (visited.has(node.descriptor.digest)) return;
    visited.add(node.descriptor.digest);
    if (node.parsed.kind === 'index') for (const c of node.parsed.index.manifests) dfs(nodeOf(graph, c.digest));
    order.push(node);
  };
  dfs(graph.root);
  const fresh: PlannedManifest[] = [];
  for (const n of order) {
    if (written.has(n.descriptor.digest)) continue;
    written.add(n.descriptor.digest);
    fresh.push(toPlanned(n, n.height));
  }
  // Ascending height keeps every child before its parents and lets a whole height be written at once.
  return fresh.sort((a, b) => a.height - b.height);
}

function collectBlobs(graph: Graph, blobs: Map<Digest, PlannedBlob>): void {
  const visited = new Set<Digest>();
  const dfs = (node: ManifestNode): void => {
    if (visited.has(node.descriptor.digest)) return;
    visited.add(node.descriptor.digest);
    if (node.parsed.kind === 'index') {
      for (const c of node.parsed.index.manifests) dfs(nodeOf(graph, c.digest));
    } else {
      addBlob(blobs, node.parsed.manifest.config, node.source);
      for (const l of node.parsed.manifest.layers) addBlob(blobs, l, node.source);
    }
  };
  dfs(graph.root);
}

function addBlob(blobs: Map<Digest, PlannedBlob>, d: Descriptor, source: Repository | undefined, inline?: InlineBlob): void {
  const known = blobs.get(d.digest);
  if (known) {
    // Two descriptors of one digest with different sizes: one of them lies, and the copy cannot satisfy both.
    if (known.descriptor.size !== d.size) {
      throw new AirlockError(
        'INTEGRITY',
        `The blob ${d.digest} is described with ${known.descriptor.size} bytes in one place and ${d.size} in another; the source is corrupt or was tampered with.`,
      );
    }
    return;
  }
  if (!source) throw new AirlockError('INTERNAL', `The blob ${d.digest} has no source to read it from.`);
  const descriptor: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  blobs.set(d.digest, inline ? { descriptor, source, inline: inline.bytes } : { descriptor, source });
}

function nodeOf(graph: Graph, digest: Digest): ManifestNode {
  const n = graph.nodes.get(digest);
  if (!n) throw new AirlockError('INTERNAL', `The manifest ${digest} is missing from the walked graph.`);
  return n;
}

/** Digests an extra may refer to: the root, its direct children, and every manifest walked under it. */
export function referableDigests(root: ParsedManifest, rootDigest: Digest, graph?: Graph): Set<Digest> {
  const s = new Set<Digest>([rootDigest]);
  if (root.kind === 'index') for (const c of root.index.manifests) s.add(c.digest);
  for (const d of graph?.nodes.keys() ?? []) s.add(d);
  return s;
}

/**
 * An extra must be about this copy: named by its signature tag after a digest of the graph, or (untagged)
 * carrying a `subject` that is one. Anything else would let a caller hang unrelated content on a verified copy.
 */
export function checkExtraRefersTo(extra: ExtraManifest, referable: Set<Digest>, parsed?: ParsedManifest): void {
  const what = `The extra manifest ${extra.descriptor.digest}`;
  if (extra.tag !== undefined) {
    if (!isSignatureTag(extra.tag)) {
      throw new AirlockError('BAD_INPUT', `${what} is to be tagged "${neutralize(extra.tag)}", which is not a signature tag (sha256-<hex>[.sig|.att|.sbom]).`);
    }
    const named = digestOfSignatureTag(extra.tag);
    if (named === undefined || !referable.has(named)) {
      throw new AirlockError('BAD_INPUT', `${what} is tagged after ${named ?? '?'}, which is not in the graph being copied.`);
    }
  }
  const subject = parsed ? (parsed.kind === 'index' ? parsed.index.subject : parsed.manifest.subject) : undefined;
  if (subject && !referable.has(subject.digest)) {
    throw new AirlockError('BAD_INPUT', `${what} has the subject ${subject.digest}, which is not in the graph being copied.`);
  }
  if (extra.tag === undefined && parsed && !subject) {
    throw new AirlockError('BAD_INPUT', `${what} has neither a signature tag nor a subject, so it does not refer to what is being copied.`);
  }
}
