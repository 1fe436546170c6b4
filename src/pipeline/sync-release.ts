/**
 * One release, in the order trust flows: checksums verified against the release identity (nothing of a release
 * whose checksums fail is mirrored) → trust on first use of the checksums (a release whose signed checksums
 * changed since the ledger recorded them is refused whole) → release-discovered recorded → assets downloaded and
 * checked against the verified checksums → images read from the verified install manifest → each image verified
 * and copied. A refusal is recorded once and the rest goes on; anything else (network, target) is a failure of
 * that item, reported, and the rest goes on too.
 */
import { join } from 'node:path';
import { AirlockError, isAirlockError, messageOf } from '../errors.js';
import type { JsonObject } from '../ledger/canonical.js';
import { refusedEvent, releaseDiscovered } from '../ledger/events.js';
import type { Ledger } from '../ledger/ledger.js';
import type { LedgerRun } from '../ledger/run.js';
import type { Logger } from '../log.js';
import type { StoreOptions } from '../store/options.js';
import type { TrustAnchor } from '../trust/index.js';
import {
  imagesFromInstallYaml,
  profileRelease,
  refusalReasonOf,
  releaseImages,
  type GitHubReleases,
  type ReleaseProfile,
  type UnverifiedRelease,
} from '../upstream/index.js';
import { downloadVerifiedAsset, planAssets, readVerifiedAsset, type VerifiedAsset } from './sync-assets.js';
import { verifyReleaseChecksums, type VerifiedChecksums } from './sync-checksums.js';
import { planImage, syncImage } from './sync-image.js';
import { imageOf, type EventSink } from './copy-record.js';
import { planReleaseArtifact, publishReleaseArtifact, writeMaterial, type PublishedArtifact } from './release-artifact.js';
import type { SyncConfig } from '../config/config.js';
import { emitSyncEvent, type SyncEventListener, type SyncImageRef, type SyncItemScope } from './sync-events.js';

export interface RefusalRecord {
  release: string;
  image: string | null;
  digest: string | null;
  /** The error code (VERIFY_FAILED, NO_SIGNATURE, INTEGRITY, TAG_CONFLICT…). */
  reason: string;
  /** The named check or upstream refusal reason, when there is one. */
  check: string | null;
  message: string;
  /** False when the ledger already held this refusal (recorded once). */
  newlyRecorded: boolean;
}

export interface FailureRecord {
  release: string;
  item: string;
  code: string;
  message: string;
}

export interface ImageOutcome {
  name: string;
  tag: string;
  source: string;
  target: string;
  /** `reconciled`: the target held it but the ledger had no copied event; verified again and recorded. */
  status: 'copied' | 'present' | 'reconciled' | 'refused' | 'failed';
  digest?: string;
  /** Bytes this run wrote into the target for it (0 when present). */
  bytes?: number;
}

export interface ReleaseOutcome {
  tag: string;
  status: 'mirrored' | 'partial' | 'refused' | 'failed';
  checksums?: { name: string; digest: string; evidence: VerifiedChecksums['bundleSource']; identity: string | null };
  assets: { name: string; digest: string; size: number }[];
  assetsLeft: { name: string; why: string }[];
  images: ImageOutcome[];
  /** Images install.yaml names outside the canonical prefix: never mirrored. */
  ignoredImages: string[];
  /** The release's verified files as one OCI artifact in the target. */
  artifact?: PublishedArtifact;
}

export interface ReleaseContext {
  config: SyncConfig;
  profile: ReleaseProfile;
  github: GitHubReleases;
  trust: TrustAnchor;
  ledger: Ledger;
  run: LedgerRun;
  storeOptions: StoreOptions;
  /** Where this run keeps downloaded assets; one directory per release below it. */
  assetsDir: string;
  refusals: RefusalRecord[];
  failures: FailureRecord[];
  logger?: Logger | undefined;
  /** Progress and decisions as they happen (sync-events.ts). */
  onEvent?: SyncEventListener | undefined;
}

const REFUSAL_CODES = new Set(['VERIFY_FAILED', 'NO_SIGNATURE', 'INTEGRITY', 'TAG_CONFLICT', 'LIMIT_EXCEEDED', 'BAD_INPUT']);

/** Refused content, as opposed to a failure to reach it: upstream's bytes, signatures or tags said no. */
export function isRefusal(e: unknown): e is AirlockError {
  return isAirlockError(e) && (REFUSAL_CODES.has(e.code) || refusalReasonOf(e) !== undefined);
}

function refuse(ctx: ReleaseContext, scope: SyncItemScope, at: { release: string; image?: string | null; tag?: string | null; digest?: string | null }, e: AirlockError): void {
  const d = e.details ?? {};
  const digest = at.digest ?? (typeof d.digest === 'string' ? d.digest : null);
  const check = typeof d.check === 'string' ? d.check : typeof d.reason === 'string' ? d.reason : null;
  const evidence = JSON.parse(JSON.stringify({ check, failures: d.failures ?? null, recorded: d.recorded ?? null })) as JsonObject;
  const seq = ctx.run.appendRefusalOnce(
    refusedEvent({ image: at.image ?? null, digest, release: at.release, tag: at.tag ?? null, reason: e.code, message: e.message, evidence }),
  );
  ctx.refusals.push({ release: at.release, image: at.image ?? null, digest, reason: e.code, check, message: e.message, newlyRecorded: seq !== null });
  const item = at.image ?? at.release;
  emitSyncEvent(ctx.onEvent, { type: 'refused', release: at.release, scope, item, digest, code: e.code, check, message: e.message, newlyRecorded: seq !== null });
}

function failure(ctx: ReleaseContext, scope: SyncItemScope, release: string, item: string, e: unknown): void {
  const f = { release, item, code: isAirlockError(e) ? e.code : 'INTERNAL', message: messageOf(e) };
  ctx.failures.push(f);
  emitSyncEvent(ctx.onEvent, { type: 'failed', scope, ...f });
}

/** The run, with the release stamped on every event that does not name one: an image's events belong to it. */
function ofRelease(run: EventSink, release: string): EventSink {
  return { append: (events) => run.append(events.map((e) => (e.release ? e : { ...e, release }))) };
}

/** Trust on first use: the release as the ledger first recorded it (checksums digest, bundle), if it did. */
function recordedRelease(ledger: Ledger, tag: string): { digest: string | null; bundle: unknown } | undefined {
  const e = ledger.list({ kind: 'release-discovered', release: tag, limit: 1, order: 'asc' })[0];
  return e ? { digest: e.digest, bundle: e.body.bundle } : undefined;
}

export async function syncRelease(ctx: ReleaseContext, release: UnverifiedRelease): Promise<ReleaseOutcome> {
  const started = Date.now();
  emitSyncEvent(ctx.onEvent, { type: 'release-start', release: release.tag });
  const out = await syncReleaseItems(ctx, release, started);
  emitSyncEvent(ctx.onEvent, { type: 'release-done', release: release.tag, status: out.status, durationMs: Date.now() - started });
  return out;
}

async function syncReleaseItems(ctx: ReleaseContext, release: UnverifiedRelease, started: number): Promise<ReleaseOutcome> {
  const out: ReleaseOutcome = { tag: release.tag, status: 'mirrored', assets: [], assetsLeft: [], images: [], ignoredImages: [] };
  const repository = ctx.config.upstream.repository;
  let checksums: VerifiedChecksums;
  let profiled;
  try {
    profiled = profileRelease(ctx.profile, release);
    checksums = await verifyReleaseChecksums(ctx.github, profiled.checksums, ctx.trust, { rekorUrl: ctx.config.trust.rekorUrl, logger: ctx.logger });
    const seen = recordedRelease(ctx.ledger, release.tag)?.digest ?? undefined;
    if (seen !== undefined && seen !== checksums.digest) {
      throw new AirlockError('TAG_CONFLICT', `The signed checksums of ${release.tag} changed upstream (now ${checksums.digest}, recorded ${seen}); a published release must not change, so it is refused.`, {
        details: { check: 'trust-on-first-use', recorded: seen, digest: checksums.digest },
      });
    }
  } catch (e) {
    if (isRefusal(e)) {
      refuse(ctx, 'release', { release: release.tag, image: `${repository}@${release.tag}` }, e);
      out.status = 'refused';
    } else {
      // Unreachable GitHub or Rekor: this release fails, the next ones still get their turn.
      failure(ctx, 'release', release.tag, `${repository}@${release.tag}`, e);
      out.status = 'failed';
    }
    return out;
  }
  const identity = checksums.verdict.signer.kind === 'certificate' ? checksums.verdict.signer.identity : null;
  out.checksums = { name: checksums.name, digest: checksums.digest, evidence: checksums.bundleSource, identity };
  emitSyncEvent(ctx.onEvent, { type: 'release-verified', release: release.tag, digest: checksums.digest, identity, evidence: checksums.bundleSource, durationMs: Date.now() - started });
  const recorded = recordedRelease(ctx.ledger, release.tag);
  if (recorded === undefined) {
    ctx.run.append([
      releaseDiscovered({
        release: release.tag,
        repository,
        checksums: { name: checksums.name, digest: checksums.digest },
        extra: JSON.parse(JSON.stringify({ evidence: checksums.bundleSource, identity, bundle: checksums.bundle })) as JsonObject,
      }),
    ]);
  }

  const plan = planAssets(profiled, ctx.config.assets.cliArchives);
  out.assetsLeft = plan.left;
  const verified: VerifiedAsset[] = [];
  for (const a of plan.take) {
    try {
      verified.push(await downloadVerifiedAsset(ctx.github, a, checksums.file, join(ctx.assetsDir, release.tag)));
    } catch (e) {
      if (isRefusal(e)) refuse(ctx, 'asset', { release: release.tag, image: `${repository}@${release.tag}/${a.asset.name}`, digest: a.asset.digest ?? null }, e);
      else failure(ctx, 'asset', release.tag, `${repository}@${release.tag}/${a.asset.name}`, e);
      out.status = 'partial';
    }
  }
  out.assets = verified.map((a) => ({ name: a.name, digest: a.digest, size: a.size }));

  let install;
  const fromAsset = ctx.profile.images.fromAsset;
  if (fromAsset !== undefined) {
    if (!verified.some((a) => a.name === fromAsset)) {
      // Refused or failed above: without a verified install manifest, no image can be bound to a version.
      out.status = ctx.refusals.some((r) => r.release === release.tag) ? 'refused' : 'failed';
      return out;
    }
    try {
      install = imagesFromInstallYaml(await readVerifiedAsset(verified, fromAsset), { canonicalPrefix: ctx.config.images.canonicalPrefix });
    } catch (e) {
      if (!isRefusal(e)) throw e;
      refuse(ctx, 'asset', { release: release.tag, image: `${repository}@${release.tag}/${fromAsset}` }, e);
      out.status = 'refused';
      return out;
    }
    out.ignoredImages = install.ignored.map((i) => i.image);
  }

  for (const image of releaseImages(ctx.profile, release, install)) {
    const plan = planImage(image, { canonicalPrefix: ctx.config.images.canonicalPrefix, source: ctx.config.images.source, target: ctx.config.target, requireProvenance: ctx.config.images.requireProvenance });
    const outcome: ImageOutcome = { name: image.name, tag: image.tag, source: plan.source, target: plan.target, status: 'copied' };
    out.images.push(outcome);
    const ref: SyncImageRef = { name: image.name, tag: image.tag, target: plan.target };
    const imageStarted = Date.now();
    let verifyStarted: number | undefined;
    let verifyMs: number | undefined;
    emitSyncEvent(ctx.onEvent, { type: 'image-stage', release: release.tag, image: ref, stage: 'resolving', elapsedMs: 0 });
    try {
      const r = await syncImage(plan, {
        trust: ctx.trust,
        run: ofRelease(ctx.run, release.tag),
        ledgerList: (f) => ctx.ledger.list(f),
        storeOptions: ctx.storeOptions,
        concurrency: ctx.config.concurrency,
        limits: ctx.config.limits,
        logger: ctx.logger,
        ...(ctx.onEvent
          ? {
              onProgress: (progress) => emitSyncEvent(ctx.onEvent, { type: 'image-progress', release: release.tag, image: ref, progress }),
              onStage: (stage, digest) => {
                if (stage === 'verifying') verifyStarted = Date.now();
                else if (verifyStarted !== undefined) verifyMs = Date.now() - verifyStarted;
                emitSyncEvent(ctx.onEvent, { type: 'image-stage', release: release.tag, image: ref, stage, digest, elapsedMs: Date.now() - imageStarted });
              },
            }
          : {}),
      });
      outcome.digest = r.digest;
      outcome.bytes = r.bytesMoved;
      if (r.alreadyPresent) outcome.status = r.reconciled ? 'reconciled' : 'present';
      emitSyncEvent(ctx.onEvent, {
        type: 'image-done', release: release.tag, image: ref, status: outcome.status, digest: r.digest, bytes: r.bytesMoved, durationMs: Date.now() - imageStarted,
        ...(verifyMs !== undefined ? { verifyMs } : {}),
      });
    } catch (e) {
      out.status = out.status === 'mirrored' ? 'partial' : out.status;
      if (isRefusal(e)) {
        outcome.status = 'refused';
        refuse(ctx, 'image', { release: release.tag, image: imageOf(plan.source), tag: image.tag }, e);
      } else {
        outcome.status = 'failed';
        failure(ctx, 'image', release.tag, plan.source, e);
      }
      const last = outcome.status === 'refused' ? ctx.refusals.at(-1) : undefined;
      emitSyncEvent(ctx.onEvent, {
        type: 'image-done', release: release.tag, image: ref, status: outcome.status, ...(last?.digest ? { digest: last.digest } : {}), bytes: 0, durationMs: Date.now() - imageStarted,
        ...(verifyMs !== undefined ? { verifyMs } : {}),
        code: isAirlockError(e) ? e.code : 'INTERNAL', check: last?.check ?? null, message: messageOf(e),
      });
    }
  }

  // Last: the release's files for the air-gapped side, once every image had its turn.
  // The bundle first recorded, not one rebuilt now: Rekor's inclusion proof grows with the log, and the artifact
  // must be byte-identical on every run (it was verified when recorded; the ledger's leaf covers it).
  const evidence = recorded?.bundle !== undefined ? { ...checksums, bundle: recorded.bundle } : checksums;
  const artifact = planReleaseArtifact({ target: ctx.config.target, profileName: ctx.profile.name, repository, tag: release.tag, checksums: evidence, assets: verified });
  // With assets.directory, the directory holds the same set as the artifact: files, checksums, signature, bundle.
  if (ctx.config.assets.directory !== undefined) await writeMaterial(join(ctx.assetsDir, release.tag), artifact);
  try {
    out.artifact = await publishReleaseArtifact(artifact, { tag: release.tag, release: release.tag, storeOptions: ctx.storeOptions, run: ctx.run, from: [checksums.digest] });
  } catch (e) {
    out.status = out.status === 'mirrored' ? 'partial' : out.status;
    if (isRefusal(e)) refuse(ctx, 'artifact', { release: release.tag, image: imageOf(artifact.reference), digest: artifact.digest, tag: release.tag }, e);
    else failure(ctx, 'artifact', release.tag, artifact.reference, e);
  }
  return out;
}
