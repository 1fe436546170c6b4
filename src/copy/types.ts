import type { Logger } from '../log.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import type { Repository } from '../store/types.js';
import type { BlobLocations } from './blob-locations.js';
import type { StoreLimiter } from './limits.js';
import type { CopyAuthorization } from '../verify/verdict.js';

/** A small blob held in memory, e.g. the config of a composed signature manifest. */
export interface InlineBlob {
  descriptor: Descriptor;
  bytes: Uint8Array;
}

/**
 * A manifest that refers to the subject (a signature, an attestation, a referrer, the referrers fallback index)
 * and is copied with it, after the subject's graph and before its tag. Its own graph is copied too.
 */
export interface ExtraManifest {
  /** Digest, size and media type of the manifest. */
  descriptor: Descriptor;
  /** The bytes, when composed (compose.ts) or already fetched; otherwise read from `source` by digest. */
  bytes?: Uint8Array;
  /** Blobs that exist only in memory (a composed config); checked against their digests before writing. */
  inlineBlobs?: InlineBlob[];
  /** Where what is not inline is read from; the request's source by default (cosign may sign into another repository). */
  source?: Repository;
  /** A signature tag (`sha256-<hex>.sig`, `.att`, `.sbom`, or the fallback `sha256-<hex>`) to point at it. */
  tag?: string;
}

/** Bounds on what a source may make the copy walk; exceeding one is LIMIT_EXCEEDED. */
export interface GraphLimits {
  /** Levels of manifests below the root (an index of platform manifests is depth 1); default 4. */
  maxDepth: number;
  /** Descriptors in one index, or layers in one manifest; default 1000. */
  maxEntries: number;
  /** Manifests in the whole graph; default 10 000. */
  maxManifests: number;
  /** Foreign / non-distributable layers: refused by default, or copied like any blob when the source serves them. */
  foreignLayers: 'refuse' | 'copy';
}

export const DEFAULT_LIMITS: GraphLimits = { maxDepth: 4, maxEntries: 1000, maxManifests: 10_000, foreignLayers: 'refuse' };

export type BlobOutcome = 'copied' | 'skipped' | 'mounted';

/** Progress events, for bars on a terminal or JSON lines; emitted in the order things happen. */
export type CopyProgress =
  | { type: 'resolved'; digest: Digest; mediaType: string }
  | { type: 'planned'; blobs: number; bytes: number; manifests: number; extras: number }
  | { type: 'blob-start'; digest: Digest; size: number }
  | { type: 'blob-bytes'; digest: Digest; size: number; done: number }
  | { type: 'blob-done'; digest: Digest; size: number; outcome: BlobOutcome }
  | { type: 'manifest'; digest: Digest; mediaType: string; tag?: string }
  | { type: 'tagged'; tag: string; digest: Digest };

export interface CopyRequest {
  source: Repository;
  /** A tag or a digest; a tag is resolved ONCE and everything after is by digest. */
  sourceReference: string;
  target: Repository;
  /** The content tag to point at the copied digest, last. */
  targetTag?: string;
  /** What src/verify vouched for (a VerifiedDigest), or the explicit --insecure-skip-verify marker. */
  subject: CopyAuthorization;
  extras?: ExtraManifest[];
  /** Move a content tag that points to another digest (refused by default: TAG_CONFLICT). */
  allowTagMove?: boolean;
  /** Concurrent blob transfers; default 4. */
  concurrency?: number;
  /** Walk and check the whole graph even when the target already holds the root manifest. */
  recheck?: boolean;
  limits?: Partial<GraphLimits>;
  /** Shared across copies of one run: where blobs already are in each target store, for cross-repository mounts. */
  blobLocations?: BlobLocations;
  /** Shared across copies of one run: concurrent transfers per store. */
  limiter?: StoreLimiter;
  onProgress?: (e: CopyProgress) => void;
  logger?: Logger;
  /**
   * Called once the plan is known and only when it writes something, before the first byte reaches the target:
   * where the caller records what is about to be written (the ledger's verified event). A throw aborts the copy.
   */
  beforeWrite?: (plan: CopyPlanSummary) => void | Promise<void>;
}

/** What a copy is about to write, as told to `beforeWrite`. */
export interface CopyPlanSummary {
  digest: Digest;
  /** Every digest the plan may write (blobs are HEADed first and skipped when present). */
  digests: Digest[];
  tag?: string;
}

/** Store operations the copy made, per side (one operation is one request for most, several for an upload). */
export interface RequestCounts {
  source: Record<string, number>;
  target: Record<string, number>;
}

/** What executing a plan wrote (execute.ts), and the part of every CopyResult that says so. */
export interface ExecuteOutcome {
  /** Manifests put into the target (by digest; the tag write of the root is not counted twice). */
  manifestsWritten: Digest[];
  blobsCopied: { digest: Digest; size: number }[];
  blobsSkipped: number;
  blobsMounted: number;
  bytesMoved: number;
  /** The target tag points at `digest` when the copy returns (written now or already there). */
  tagged: boolean;
}

export interface CopyResult extends ExecuteOutcome {
  digest: Digest;
  mediaType: string;
  tag?: string;
  /** True when the subject was the --insecure-skip-verify marker. */
  unverified: boolean;
  /** True when the target already held the root manifest and its graph was not walked again. */
  alreadyPresent: boolean;
  requests?: RequestCounts;
}
