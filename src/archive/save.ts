/**
 * `airlock archive save`: one release of the mirror in effect, verified again offline (the same checks as
 * `archive load`), written as one tar (format.ts) with a copy of the trust root and a ledger excerpt. Nothing
 * that does not verify goes in: each image with only its verified signature and attestation objects.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SyncConfig } from '../config/config.js';
import type { LedgerSettings } from '../config/ledger-config.js';
import { copyReferences } from '../copy/references.js';
import type { CopyVerification } from '../image/authorize.js';
import { AirlockError } from '../errors.js';
import { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log.js';
import { MediaTypes } from '../oci/mediatypes.js';
import { isTag } from '../oci/reference.js';
import { releaseRepository } from '../pipeline/release-artifact.js';
import { storeOptionsOf } from '../pipeline/sync.js';
import { targetFor } from '../pipeline/sync-image.js';
import { openReference } from '../store/open.js';
import type { StoreOptions } from '../store/options.js';
import { writeArchive } from '../store/layout/archive.js';
import { loadOfflineTrustAnchor, loadTrustAnchorFile, type TrustAnchor } from '../trust/index.js';
import { compareSemVer, parseSemVer } from '../upstream/index.js';
import { buildExcerpt } from './excerpt.js';
import { ARCHIVE_FORMAT, EXCERPT_FILE, MANIFEST_FILE, TRUST_ROOT_FILE, type ArchiveManifest } from './format.js';
import { verifyReleaseOffline, type VerifiedReleaseArtifact } from './verify-release.js';

export interface SaveOptions {
  config: SyncConfig;
  ledger: LedgerSettings;
  /** `vX.Y.Z` or `latest` (the newest release the mirror holds). */
  release: string;
  out?: string;
  toolVersion: string;
  onProgress?: (bytes: number) => void;
  logger?: Logger;
}

export interface SaveResult {
  archive: string;
  /** sha256 of the archive file. */
  sha256: string;
  bytes: number;
  release: string;
  source: string;
  /** The trust root the release verified against; the receiver pins its sha256 (`archive load --trusted-root-sha256`). */
  trustRoot: { sha256: string; source: string; origin: string };
  releaseArtifact: { digest: string; files: string[] };
  images: { name: string; tag: string; digest: string; signatures: number; attestations: number }[];
  /** Images the verified install.yaml names that the mirror does not hold (refused upstream). */
  absent: { name: string; tag: string }[];
  ledger: { path: string; origin: string; treeSize: number; entries: number; unproven: number };
}

function trustOf(config: SyncConfig): TrustAnchor {
  // Offline: the file the config names, else the last TUF refresh or the embedded root. Save never goes online.
  return config.trust.trustedRoot !== undefined ? loadTrustAnchorFile(config.trust.trustedRoot) : loadOfflineTrustAnchor();
}

/** `latest`: the highest semantic version among the release artifact's tags in the mirror. */
export async function resolveRelease(target: string, profileName: string, release: string, storeOptions: StoreOptions): Promise<string> {
  if (release !== 'latest') {
    if (!isTag(release) || parseSemVer(release) === undefined) throw new AirlockError('BAD_INPUT', `--release ${JSON.stringify(release.slice(0, 60))} is not a release tag such as v2.9.4, or latest.`);
    return release;
  }
  // Only "there is nothing there" means no release (a registry without the repository, a directory without the
  // layout); a refused password, an unreachable or failing registry is said as what it is (it used to read as
  // "holds no release").
  const absent = (e: unknown): undefined => {
    if (e instanceof AirlockError && (e.code === 'NOT_FOUND' || e.code === 'LAYOUT_INVALID')) return undefined;
    throw e;
  };
  const opened = await openReference(targetFor(target, releaseRepository(profileName), 'latest'), storeOptions).catch(absent);
  let tags: string[];
  try {
    tags = opened ? ((await opened.repository.listTags().catch(absent)) ?? []) : [];
  } finally {
    await opened?.store.close().catch(() => undefined);
  }
  const versions = tags.map((t) => ({ t, v: parseSemVer(t) })).filter((x) => x.v !== undefined);
  versions.sort((a, b) => compareSemVer(b.v!, a.v!));
  const newest = versions[0];
  if (!newest) throw new AirlockError('NOT_FOUND', `The mirror ${target} holds no release (no ${releaseRepository(profileName)} tag); run airlock sync first.`);
  return newest.t;
}

async function copyArtifact(a: VerifiedReleaseArtifact, to: string, tag: string, storeOptions: StoreOptions): Promise<void> {
  const from = await openReference(a.reference, storeOptions);
  const dst = await openReference(to, { create: true });
  try {
    for (const d of [a.config, ...a.layers.map((l) => l.descriptor)]) {
      if ((await dst.repository.statBlob(d.digest)) !== undefined) continue;
      await dst.repository.putBlob(d, await from.repository.openBlob(d));
    }
    await dst.repository.putManifest(a.manifest, MediaTypes.ociManifest, tag);
  } finally {
    await dst.store.close();
    await from.store.close().catch(() => undefined);
  }
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

export async function saveArchive(o: SaveOptions): Promise<SaveResult> {
  const { config } = o;
  const storeOptions = storeOptionsOf(config, o.logger);
  const trust = trustOf(config);
  // The ledger first: without it there is no excerpt, and nothing is verified for nothing.
  const ledger = Ledger.open(o.ledger.path, { readOnly: true });
  const stage = await mkdtemp(join(tmpdir(), 'airlock-archive-save-'));
  try {
    const tag = await resolveRelease(config.target, config.profile.name, o.release, storeOptions);
    const out = resolve(o.out ?? `${config.profile.name}-${tag}.airlock.tar`);
    const verified = await verifyReleaseOffline({
      prefix: config.target,
      tag,
      profile: config.profile,
      canonicalPrefix: config.images.canonicalPrefix,
      requireProvenance: config.images.requireProvenance,
      trust,
      storeOptions,
    });
    const stageRef = `oci:${stage}`;
    const images: SaveResult['images'] = [];
    for (const v of verified.images) {
      await copyReferences<CopyVerification>({
        source: v.reference,
        target: targetFor(stageRef, v.plan.image.name, v.plan.image.tag),
        insecureSkipVerify: false,
        concurrency: config.concurrency,
        storeOptions,
        // Verified above; the copy is of that digest only, with only what verified going along.
        authorize: async (_source, digest) => {
          if (digest !== v.digest) throw new AirlockError('VERIFY_FAILED', `${v.reference} moved to ${digest} while it was being saved; save again.`, { details: { check: 'digest-moved' } });
          return v.auth;
        },
      });
      const carried = v.auth.report?.carried ?? [];
      images.push({ name: v.plan.image.name, tag: v.plan.image.tag, digest: v.digest, signatures: carried.filter((c) => c.kind !== 'attestations').length, attestations: carried.filter((c) => c.kind === 'attestations').length });
    }
    const releaseRepo = releaseRepository(config.profile.name);
    await copyArtifact(verified.artifact, targetFor(stageRef, releaseRepo, tag), tag, storeOptions);

    const digests = [verified.artifact.digest, ...verified.images.flatMap((v) => [v.digest, ...(v.auth.report?.carried ?? []).map((c) => c.digest)])];
    const excerpt = buildExcerpt(ledger, tag, digests);
    const manifest: ArchiveManifest = {
      format: ARCHIVE_FORMAT,
      release: tag,
      profile: config.profile.name,
      releaseArtifact: { repository: releaseRepo, digest: verified.artifact.digest },
      images: images.map((i) => ({ name: i.name, tag: i.tag, digest: i.digest })),
      trustRoot: { file: TRUST_ROOT_FILE, sha256: trust.digest.slice('sha256:'.length) },
      ledger: { origin: excerpt.origin, treeSize: excerpt.treeSize, entries: excerpt.entries.length },
      tool: { name: 'airlock', version: o.toolVersion },
    };
    await writeFile(join(stage, TRUST_ROOT_FILE), trust.bytes, { mode: 0o644 });
    await writeFile(join(stage, EXCERPT_FILE), `${JSON.stringify(excerpt, null, 2)}\n`, { mode: 0o644 });
    await writeFile(join(stage, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
    await writeArchive(stage, out, o.onProgress);
    return {
      archive: out,
      sha256: await sha256File(out),
      bytes: (await stat(out)).size,
      release: tag,
      source: config.target,
      trustRoot: { sha256: trust.digest.slice('sha256:'.length), source: trust.source, origin: trust.origin },
      releaseArtifact: { digest: verified.artifact.digest, files: verified.artifact.layers.map((l) => l.name) },
      images,
      absent: verified.absent,
      ledger: { path: o.ledger.path, origin: excerpt.origin, treeSize: excerpt.treeSize, entries: excerpt.entries.length, unproven: excerpt.unproven },
    };
  } finally {
    ledger.close();
    await rm(stage, { recursive: true, force: true });
  }
}
