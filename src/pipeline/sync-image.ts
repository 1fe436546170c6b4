/**
 * One image of a verified release: plan where it comes from and goes (pure), then resolve its tag ONCE, verify
 * that digest against the identities bound to this image and version, and copy its graph with only the
 * signature objects that verified, recorded by the ledger recorder (verified before the first byte, copied after
 * the tag). Trust on first use of upstream: a tag the ledger already saw at another digest is refused — a
 * mirrored content tag never moves silently.
 */
import { AirlockError } from '../errors.js';
import { copyReferences, type CopyCommandResult } from '../copy/references.js';
import type { CopyProgress } from '../copy/types.js';
import { authorizeImageCopy, type CopyVerification } from '../image/authorize.js';
import type { ImagePolicies } from '../image/policies.js';
import type { LedgerEntry } from '../ledger/events.js';
import type { LedgerFilter } from '../ledger/query.js';
import type { Digest } from '../oci/digest.js';
import type { StoreOptions } from '../store/options.js';
import type { TrustAnchor } from '../trust/index.js';
import type { ReleaseImage } from '../upstream/index.js';
import { toPolicy, toPredicateTypes } from '../verify/index.js';
import { imageOf, ledgerCopyRecorder, type EventSink } from './copy-record.js';
import type { Logger } from '../log.js';
import type { SyncLimits } from '../config/config.js';
import type { GraphLimits } from '../copy/types.js';
import type { SignatureLimits } from '../signatures/index.js';

export interface ImagePlan {
  image: ReleaseImage;
  /** Where it is fetched from: the source prefix (or the canonical one), pinned by digest when install.yaml pins it. */
  source: string;
  /** `<target>/<name>:<tag>`. */
  target: string;
  policies: ImagePolicies;
  requireProvenance: boolean;
}

/** `oci:DIR` gets one layout per image (`DIR/<name>`), a registry prefix `<prefix>/<name>`. */
export function targetFor(target: string, name: string, tag: string): string {
  return `${target.replace(/\/+$/, '')}/${name}:${tag}`;
}

export function planImage(image: ReleaseImage, o: { canonicalPrefix: string; source: string | undefined; target: string; requireProvenance: boolean }): ImagePlan {
  const from = (o.source ?? o.canonicalPrefix).replace(/\/+$/, '');
  const source = `${from}/${image.name}:${image.tag}${image.digest ? `@${image.digest}` : ''}`;
  const provenance = image.provenance ?? [];
  return {
    image,
    source,
    target: targetFor(o.target, image.name, image.tag),
    policies: {
      signatures: image.identities.map((i) => toPolicy(i)),
      attestations: provenance.map((p) => Object.freeze({ predicateTypes: toPredicateTypes('slsaprovenance'), policy: toPolicy(p) })),
    },
    // Only an image whose profile names who signs its provenance can be required to have one.
    requireProvenance: o.requireProvenance && provenance.length > 0,
  };
}

/** What the ledger says a tag of an image was seen at, if anything (verified or copied events). */
export function recordedDigest(list: (f: LedgerFilter) => LedgerEntry[], image: string, tag: string): string | undefined {
  for (const kind of ['verified', 'copied-upstream']) {
    const hit = list({ image, kind, limit: 100_000, order: 'asc' }).find((e) => e.body.tag === tag && e.digest !== null);
    if (hit) return hit.digest!;
  }
  return undefined;
}

export interface SyncImageOptions {
  trust: TrustAnchor;
  run: EventSink;
  ledgerList: (f: LedgerFilter) => LedgerEntry[];
  storeOptions: StoreOptions;
  concurrency: number;
  /** The config's `limits:` (defaults when absent). */
  limits?: SyncLimits;
  logger?: Logger | undefined;
  /** Copy progress (blobs), for bars on a terminal. */
  onProgress?: ((e: CopyProgress) => void) | undefined;
  /** The tag resolved to `digest` and its verification starts; then it verified and the copy starts. */
  onStage?: ((stage: 'verifying' | 'copying', digest: Digest) => void) | undefined;
}

/** The config's limits as the copy engine's graph limits. */
export function graphLimitsOf(l: SyncLimits): Partial<GraphLimits> {
  return { maxEntries: l.indexEntries, maxDepth: l.indexDepth, maxManifests: l.manifests };
}

/** The config's limits as the signature reader's limits. */
export function signatureLimitsOf(l: SyncLimits): Partial<SignatureLimits> {
  return { maxLayers: l.signatureLayers, maxPayloadBytes: l.signaturePayloadBytes, maxTotalBytes: l.signatureBytes, maxReferrers: l.referrers };
}

export async function syncImage(plan: ImagePlan, o: SyncImageOptions): Promise<CopyCommandResult<CopyVerification> & { reconciled: boolean }> {
  const image = imageOf(plan.source);
  const seen = recordedDigest(o.ledgerList, image, plan.image.tag);
  const recorder = ledgerCopyRecorder(o.run, o.ledgerList);
  const result = await copyReferences<CopyVerification>({
    source: plan.source,
    target: plan.target,
    insecureSkipVerify: false,
    allowTagMove: false,
    concurrency: o.concurrency,
    ...(o.limits ? { graphLimits: graphLimitsOf(o.limits) } : {}),
    storeOptions: o.storeOptions,
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    recorder,
    authorize: async (source, digest: Digest) => {
      stage(o, 'verifying', digest);
      if (seen !== undefined && seen !== digest) {
        throw new AirlockError('TAG_CONFLICT', `Upstream ${image}:${plan.image.tag} now points at ${digest}, but airlock recorded it at ${seen}; a released tag must not move, so it is refused.`, {
          details: { check: 'trust-on-first-use', recorded: seen, digest },
        });
      }
      const auth = await authorizeImageCopy(source, digest, { policies: plan.policies, trust: o.trust, ...(o.limits ? { limits: signatureLimitsOf(o.limits) } : {}) });
      if (plan.requireProvenance && (auth.report?.attestations.verified.length ?? 0) === 0) {
        throw new AirlockError('VERIFY_FAILED', `${image}@${digest} has no SLSA provenance signed by the expected identity, and provenance is required.`, {
          details: { check: 'provenance-required', failures: auth.report?.attestations.failed ?? [] },
        });
      }
      stage(o, 'copying', digest);
      return auth;
    },
  });
  // What the target held unrecorded (a copy killed before its record) is verified again and recorded by the
  // recorder (copy-record.ts), shared with `airlock copy`.
  return { ...result, reconciled: recorder.reconciled };
}

/** Tells the observer, if any; what it throws is dropped (observing never changes a verification). */
function stage(o: SyncImageOptions, s: 'verifying' | 'copying', digest: Digest): void {
  try {
    o.onStage?.(s, digest);
  } catch {
    // Observation only.
  }
}
