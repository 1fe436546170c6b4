import { AirlockError } from '../errors.js';
import { info } from '../log.js';
import { checkBytes, isDigest } from '../oci/digest.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import type { Repository } from '../store/types.js';
import { countingRepository } from './counting.js';
import { executePlan } from './execute.js';
import { walkGraph } from './graph.js';
import { checkExtraRefersTo, planCopy, referableDigests, type PlannedExtra } from './plan.js';
import { checkTag } from './tags.js';
import { assertCopyAuthorization } from '../verify/verdict.js';
import { DEFAULT_LIMITS, type CopyRequest, type CopyResult, type ExtraManifest, type GraphLimits, type RequestCounts } from './types.js';

/**
 * Copies the graph of one digest — the one the subject vouches for — from a source repository to a target,
 * with the extra manifests that refer to it and the content tag last. The source reference is resolved ONCE;
 * everything after is by digest, so a tag that moves upstream mid-copy cannot swap what is copied.
 */
export async function copyImage(req: CopyRequest): Promise<CopyResult> {
  const requests: RequestCounts = { source: {}, target: {} };
  const source = countingRepository(req.source, requests.source);
  const target = countingRepository(req.target, requests.target);
  const limits: GraphLimits = { ...DEFAULT_LIMITS, ...req.limits };
  // The type says VerifiedDigest | UnverifiedMarker; a cast can lie to the compiler, so check the brand at run time.
  assertCopyAuthorization(req.subject);
  const subject = req.subject;
  const unverified = subject.kind === 'unverified';
  // The caller says so loudly (the CLI's banner, the ledger's record); the library only notes it.
  if (unverified) info(req.logger, 'copying without signature verification', { source: req.source.display, reference: req.sourceReference });

  const fetched = await source.getManifest(req.sourceReference);
  const digest = fetched.descriptor.digest;
  checkBytes(fetched.bytes, digest, undefined, 'manifest');
  if (isDigest(req.sourceReference) && req.sourceReference !== digest) {
    throw new AirlockError('INTEGRITY', `${req.source.display} answered ${digest} when asked for ${req.sourceReference}; the source is corrupt or was tampered with.`);
  }
  if (subject.kind === 'verified' && subject.digest !== digest) {
    throw new AirlockError(
      'VERIFY_FAILED',
      `${req.source.display}:${req.sourceReference} now resolves to ${digest}, not to the verified ${subject.digest}; the tag moved after verification, verify again.`,
      { details: { verified: subject.digest, resolved: digest } },
    );
  }
  const rootParsed = parseManifest(fetched.bytes, fetched.descriptor.mediaType);
  const root = { descriptor: { mediaType: rootParsed.mediaType, digest, size: fetched.bytes.byteLength }, bytes: fetched.bytes };
  req.onProgress?.({ type: 'resolved', digest, mediaType: rootParsed.mediaType });

  // Refuse a tag move before a single byte is sent, not after minutes of copying.
  const tagState = req.targetTag !== undefined ? await checkTag(target, req.targetTag, digest, req.allowTagMove ?? false) : undefined;
  // Children are always written before parents, so a target holding the root holds everything under it.
  const alreadyPresent = !req.recheck && (tagState?.kind === 'same' || (await target.headManifest(digest)) !== undefined);
  const graph = alreadyPresent ? undefined : await walkGraph(source, root, limits);

  const referable = referableDigests(rootParsed, digest, graph);
  const extras: PlannedExtra[] = [];
  for (const extra of req.extras ?? []) {
    const planned = await prepareExtra(extra, extra.source ? countingRepository(extra.source, requests.source) : source, target, referable, limits, req.recheck ?? false);
    if (planned) extras.push(planned);
  }

  const plan = planCopy({ root, ...(graph ? { graph } : {}), extras, ...(req.targetTag !== undefined && tagState ? { tag: { name: req.targetTag, state: tagState } } : {}) });
  req.onProgress?.({ type: 'planned', blobs: plan.blobs.length, bytes: plan.blobBytes, manifests: plan.manifests.length, extras: plan.extras.length });
  const writes = plan.blobs.length + plan.manifests.length + plan.extras.length > 0 || plan.tag?.write === true;
  if (writes && req.beforeWrite) {
    const digests = [...plan.blobs.map((b) => b.descriptor.digest), ...plan.manifests.map((m) => m.descriptor.digest), ...plan.extras.map((m) => m.descriptor.digest)];
    await req.beforeWrite({ digest, digests: [...new Set(digests)], ...(req.targetTag !== undefined ? { tag: req.targetTag } : {}) });
  }
  const done = await executePlan(plan, {
    target,
    ...(req.concurrency !== undefined ? { concurrency: req.concurrency } : {}),
    allowTagMove: req.allowTagMove ?? false,
    recheckTag: plan.blobs.length + plan.manifests.length + plan.extras.length > 0,
    ...(req.blobLocations ? { blobLocations: req.blobLocations } : {}),
    ...(req.limiter ? { limiter: req.limiter } : {}),
    ...(req.onProgress ? { onProgress: req.onProgress } : {}),
    ...(req.logger ? { logger: req.logger } : {}),
  });
  const result: CopyResult = { digest, mediaType: rootParsed.mediaType, ...done, unverified, alreadyPresent, requests };
  if (req.targetTag !== undefined) result.tag = req.targetTag;
  return result;
}

/** What an extra needs: nothing when the target has it under its tag, its tag only when it has it, else its graph. */
async function prepareExtra(
  extra: ExtraManifest,
  source: Repository,
  target: Repository,
  referable: Set<Descriptor['digest']>,
  limits: GraphLimits,
  recheck: boolean,
): Promise<PlannedExtra | undefined> {
  const d = extra.descriptor;
  if (extra.bytes) checkBytes(extra.bytes, d.digest, d.size, 'manifest');
  checkExtraRefersTo(extra, referable, extra.bytes ? parseManifest(extra.bytes, d.mediaType) : undefined);
  if (!recheck) {
    if (extra.tag !== undefined && (await target.headManifest(extra.tag))?.digest === d.digest) return undefined;
    if (await target.headManifest(d.digest)) {
      if (extra.tag === undefined) return undefined;
      const bytes = extra.bytes ?? (await source.getManifest(d.digest)).bytes;
      checkBytes(bytes, d.digest, d.size, 'manifest');
      return { extra, root: { descriptor: { mediaType: parseManifest(bytes, d.mediaType).mediaType, digest: d.digest, size: d.size }, bytes } };
    }
  }
  const fetched = extra.bytes ? { descriptor: d, bytes: extra.bytes } : await source.getManifest(d.digest);
  const graph = await walkGraph(source, { descriptor: d, bytes: fetched.bytes }, limits);
  checkExtraRefersTo(extra, referable, graph.root.parsed);
  return { extra: { ...extra, source }, root: { descriptor: graph.root.descriptor, bytes: graph.root.bytes }, graph };
}
