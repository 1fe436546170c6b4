/**
 * `airlock archive load FILE --target PREFIX`, on the air-gapped side. The archive is untrusted:
 *
 *  1. It is streamed into a private temporary directory that is content-addressed: links, hard links, devices,
 *     duplicate entries, absolute or `..` names and oversized entries are refused from their headers, and every
 *     blob is hashed as it streams and must match its name — before anything in it is parsed.
 *  2. The trust anchor comes from outside it: --trusted-root FILE, or --trusted-root-sha256 HEX that the archive's
 *     copy must match, or the loader config's trusted root, or the embedded root. The identity policy is the
 *     loader's own profile; the archive only says which release it claims to be.
 *  3. Everything is verified again offline (verify-release.ts: no Rekor, no TUF), the archive must hold nothing
 *     that verification does not account for, the release artifact must be exactly what airlock composes from
 *     the verified files, the target must not hold another digest at any of the release's tags, and the
 *     ledger excerpt's proofs must lead to its checkpoint (authenticated only with --ledger-public-key).
 *  4. Only then is anything pushed — so a refusal leaves nothing of the release in the target — with the same
 *     ledger events as sync (verified, copied-upstream, copied-signature, composed) in an `archive-load` run,
 *     and one `archive-loaded` event tying the load to the sender's checkpoint.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { xdgStateHome, type Env } from '../config/paths.js';
import { withLock, type LockOptions } from '../file-lock.js';
import type { SyncConfig } from '../config/config.js';
import type { LedgerSettings } from '../config/ledger-config.js';
import { copyReferences } from '../copy/references.js';
import { AirlockError, isAirlockError, messageOf } from '../errors.js';
import type { CopyVerification } from '../image/authorize.js';
import type { JsonObject } from '../ledger/canonical.js';
import { archiveLoadedEvent, refusedEvent, releaseDiscovered, type LedgerEventInput } from '../ledger/events.js';
import { Ledger } from '../ledger/ledger.js';
import type { LedgerRun } from '../ledger/run.js';
import { toSinks, type CheckpointSink } from '../ledger/sinks.js';
import { parseVerifierKey } from '../ledger/keys.js';
import type { SignedCheckpoint } from '../ledger/checkpoint.js';
import { RegistryCheckpointSink } from '../pipeline/checkpoint-artifact.js';
import type { Logger } from '../log.js';
import { hexOf, type Digest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { isTag, parseRegistryReference } from '../oci/reference.js';
import { ledgerCopyRecorder, type EventSink } from '../pipeline/copy-record.js';
import { planReleaseArtifact, publishReleaseArtifact, releaseRepository } from '../pipeline/release-artifact.js';
import type { VerifiedAsset } from '../pipeline/sync-assets.js';
import type { VerifiedChecksums } from '../pipeline/sync-checksums.js';
import { recordedDigest, targetFor } from '../pipeline/sync-image.js';
import { storeOptionsOf } from '../pipeline/sync.js';
import { DEFAULT_ARCHIVE_LIMITS, extractArchive, type ArchiveLimits } from '../store/layout/archive.js';
import { readIndexFile } from '../store/layout/index-file.js';
import { openReference } from '../store/open.js';
import type { StoreOptions } from '../store/options.js';
import { signatureTag } from '../store/types.js';
import { loadEmbeddedTrustAnchor, loadTrustAnchorFile, toTrustAnchor, type TrustAnchor } from '../trust/index.js';
import { checkExcerpt, type ExcerptCheck } from './excerpt.js';
import { ARCHIVE_FILES, ARCHIVE_FORMAT, EXCERPT_FILE, MANIFEST_FILE, TRUST_ROOT_FILE } from './format.js';
import { verifyReleaseOffline, type VerifiedRelease } from './verify-release.js';

const MAX_META_FILE = 64 * 1024 * 1024;
const REF_NAME = 'org.opencontainers.image.ref.name';

export interface LoadOptions {
  file: string;
  /** A registry prefix or oci:DIR. */
  target: string;
  config: SyncConfig;
  ledger: LedgerSettings;
  trustedRoot?: string;
  trustedRootSha256?: string;
  /** The sender's ledger verifier key, obtained out of band. */
  ledgerPublicKey?: string;
  toolVersion: string;
  archiveLimits?: Partial<ArchiveLimits>;
  env?: Env;
  onProgress?: (bytes: number) => void;
  logger?: Logger;
}

export interface LoadResult {
  archive: string;
  sha256: string;
  release: string;
  target: string;
  trustRoot: { sha256: string; source: string; origin: string; pinnedBy: 'trusted-root' | 'trusted-root-sha256' | 'config' | 'embedded' };
  images: { name: string; tag: string; digest: string; target: string; status: 'copied' | 'present' }[];
  absent: { name: string; tag: string }[];
  releaseArtifact: { reference: string; digest: string; status: 'published' | 'present' };
  excerpt: { origin: string; treeSize: number; rootHash: string; entries: number; authenticated: boolean; note: string };
  ledger: { path: string; appended: number; checkpoint: { size: number; rootHash: string } | null };
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

async function readSmall(path: string, what: string): Promise<Buffer> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) throw new AirlockError('LAYOUT_INVALID', `The archive has no ${what}; it is not an airlock archive, so it is refused.`, { details: { check: 'archive-format' } });
  if (st.size > MAX_META_FILE) throw new AirlockError('LIMIT_EXCEEDED', `The archive's ${what} is ${st.size} bytes, over the ${MAX_META_FILE}-byte limit; it is refused.`);
  return readFile(path);
}

function parseJsonFile(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new AirlockError('LAYOUT_INVALID', `The archive's ${what} is not valid JSON; the archive is refused.`, { cause: e, details: { check: 'archive-format' } });
  }
}

/** The release the archive claims to hold: a hint only (the checksums' signature binds the identity to the tag). */
function claimedRelease(raw: unknown, profileName: string): string {
  const m = raw as { format?: unknown; release?: unknown; profile?: unknown } | null;
  if (typeof m !== 'object' || m === null || m.format !== ARCHIVE_FORMAT) {
    throw new AirlockError('LAYOUT_INVALID', `The archive's ${MANIFEST_FILE} is not in the ${ARCHIVE_FORMAT} format; it is refused.`, { details: { check: 'archive-format' } });
  }
  if (typeof m.release !== 'string' || !isTag(m.release)) throw new AirlockError('LAYOUT_INVALID', `The archive names no valid release tag; it is refused.`, { details: { check: 'archive-format' } });
  if (m.profile !== profileName) {
    throw new AirlockError('VERIFY_FAILED', `The archive holds a ${JSON.stringify(String(m.profile).slice(0, 40))} release, but this airlock's profile is ${profileName}; it is refused.`, {
      details: { check: 'profile' },
    });
  }
  return m.release;
}

/** The loader's own inputs, checked before the archive is touched: a bad flag is not the archive's refusal. */
function outsideAnchor(o: LoadOptions): { trust: TrustAnchor; pinnedBy: LoadResult['trustRoot']['pinnedBy'] } | { pinnedSha256: string } {
  if (o.trustedRoot !== undefined && o.trustedRootSha256 !== undefined) {
    throw new AirlockError('BAD_INPUT', 'Give either --trusted-root or --trusted-root-sha256, not both.');
  }
  if (o.trustedRoot !== undefined) return { trust: loadTrustAnchorFile(o.trustedRoot), pinnedBy: 'trusted-root' };
  if (o.trustedRootSha256 !== undefined) {
    const want = o.trustedRootSha256.toLowerCase().replace(/^sha256:/, '');
    if (!/^[0-9a-f]{64}$/.test(want)) throw new AirlockError('BAD_INPUT', '--trusted-root-sha256 is not a SHA-256 in hex (64 characters); copy it from the sender\'s archive save output.');
    return { pinnedSha256: want };
  }
  if (o.config.trust.trustedRoot !== undefined) return { trust: loadTrustAnchorFile(o.config.trust.trustedRoot), pinnedBy: 'config' };
  // Never TUF here: the air-gapped side is offline by definition.
  return { trust: loadEmbeddedTrustAnchor(), pinnedBy: 'embedded' };
}

/** The trust anchor, from outside the archive (the archive's copy only when its sha256 is pinned). */
async function trustFor(o: LoadOptions, anchor: ReturnType<typeof outsideAnchor>, stage: string): Promise<{ trust: TrustAnchor; pinnedBy: LoadResult['trustRoot']['pinnedBy'] }> {
  if (!('pinnedSha256' in anchor)) return anchor;
  const want = anchor.pinnedSha256;
  const bytes = await readSmall(join(stage, TRUST_ROOT_FILE), TRUST_ROOT_FILE);
  const got = createHash('sha256').update(bytes).digest('hex');
  if (got !== want) {
    throw new AirlockError('VERIFY_FAILED', `The archive's trust root is sha256 ${got}, not the ${want} pinned with --trusted-root-sha256; the archive is refused.`, {
      details: { check: 'trusted-root-pin', got, want },
    });
  }
  return { trust: toTrustAnchor(bytes, { source: 'file', origin: `${basename(o.file)}:${TRUST_ROOT_FILE} (sha256 pinned)` }), pinnedBy: 'trusted-root-sha256' };
}

function unexpected(what: string): AirlockError {
  return new AirlockError('VERIFY_FAILED', `The archive holds ${what}, which no verified signature accounts for; the archive is refused.`, { details: { check: 'archive-unexpected-content' } });
}

/**
 * Nothing in the archive that verification does not account for: only the expected repositories, and in each
 * image's layout only its content tag, its verified signature objects' tags and its verified referrers.
 */
async function checkNothingElse(stage: string, verified: VerifiedRelease, releaseRepo: string): Promise<void> {
  const images = new Map(verified.images.map((v) => [v.plan.image.name, v]));
  for (const entry of await readdir(stage, { withFileTypes: true })) {
    if (entry.isFile() && ARCHIVE_FILES.includes(entry.name)) continue;
    if (entry.isDirectory() && (images.has(entry.name) || entry.name === releaseRepo)) continue;
    throw unexpected(`${JSON.stringify(entry.name.slice(0, 80))}, which is not part of the verified release`);
  }
  const artifactIndex = await readIndexFile(join(stage, releaseRepo));
  for (const m of artifactIndex?.manifests ?? []) {
    if (m.digest !== verified.artifact.digest || m.annotations?.[REF_NAME] !== verified.tag) throw unexpected(`${m.digest} in ${releaseRepo} besides the release artifact`);
  }
  for (const [name, v] of images) {
    const carried = v.auth.report?.carried ?? [];
    const signatureDigests = new Set<string>(carried.flatMap((c) => [c.digest, c.sourceDigest]));
    const referrers = new Set<string>((v.auth.referrers ?? []).map((r) => r.digest));
    const index = await readIndexFile(join(stage, name));
    for (const m of index?.manifests ?? []) {
      const tag = m.annotations?.[REF_NAME];
      const ok =
        (tag === v.plan.image.tag && m.digest === v.digest) ||
        ((tag === signatureTag(v.digest, '.sig') || tag === signatureTag(v.digest, '.att')) && signatureDigests.has(m.digest)) ||
        (tag === undefined && referrers.has(m.digest)) ||
        (tag === signatureTag(v.digest, '') && (await fallbackListsOnly(join(stage, name), m.digest, referrers)));
      if (!ok) throw unexpected(`${m.digest}${tag !== undefined ? ` (tag ${JSON.stringify(tag.slice(0, 80))})` : ''} in ${name}`);
    }
  }
}

/** A referrers fallback index is acceptable only when it lists nothing but verified referrers. */
async function fallbackListsOnly(layoutDir: string, digest: Digest, referrers: Set<string>): Promise<boolean> {
  const bytes = await readFile(join(layoutDir, 'blobs', 'sha256', hexOf(digest))).catch(() => undefined);
  if (!bytes || bytes.length > 4 * 1024 * 1024) return false;
  try {
    const parsed = parseManifest(bytes, 'application/vnd.oci.image.index.v1+json');
    return parsed.kind === 'index' && parsed.index.manifests.every((d) => referrers.has(d.digest));
  } catch {
    return false;
  }
}

/** The release artifact as airlock composes it from the verified parts; it must be the archive's, byte for byte. */
function recompose(stage: string, target: string, o: LoadOptions, verified: VerifiedRelease, releaseRepo: string) {
  const a = verified.artifact;
  const blobPath = (d: Digest) => join(stage, releaseRepo, 'blobs', 'sha256', hexOf(d));
  const skip = new Set([a.checksums.name, `${a.checksums.name}.sigstore.json`, ...a.material]);
  const materialOf = async () => Promise.all(a.material.map(async (name) => ({ name, bytes: await readFile(blobPath(a.layers.find((l) => l.name === name)!.descriptor.digest)) })));
  return materialOf().then((material) => {
    const checksums: VerifiedChecksums = { ...a.checksums, material };
    const assets: VerifiedAsset[] = a.layers
      .filter((l) => !skip.has(l.name))
      .map((l) => ({ name: l.name, role: 'manifests' as VerifiedAsset['role'], digest: l.descriptor.digest, size: l.descriptor.size, path: blobPath(l.descriptor.digest) }));
    const plan = planReleaseArtifact({ target, profileName: o.config.profile.name, repository: o.config.upstream.repository, tag: verified.tag, checksums, assets });
    if (plan.digest !== a.digest) {
      throw new AirlockError('VERIFY_FAILED', `The archive's release artifact ${a.digest} is not what airlock composes from its verified files (${plan.digest}); the archive is refused.`, {
        details: { check: 'release-artifact-composition' },
      });
    }
    return plan;
  });
}

/** The target must not hold another digest at any tag of the release: checked before the first byte is pushed. */
async function checkTargetTags(target: string, wanted: { name: string; tag: string; digest: string }[], storeOptions: StoreOptions): Promise<void> {
  for (const w of wanted) {
    const ref = targetFor(target, w.name, w.tag);
    const opened = await openReference(ref, { ...storeOptions, create: true });
    try {
      const head = await opened.repository.headManifest(w.tag).catch((e: unknown) => (isAirlockError(e, 'NOT_FOUND') ? undefined : Promise.reject(e)));
      if (head && head.digest !== w.digest) {
        throw new AirlockError('TAG_CONFLICT', `${opened.display} already holds ${head.digest}, not the verified ${w.digest}; a released tag is never moved, so nothing of the release is loaded.`, {
          details: { check: 'trust-on-first-use', recorded: head.digest, digest: w.digest },
        });
      }
    } finally {
      await opened.store.close().catch(() => undefined);
    }
  }
}

/**
 * A registry target gets each checkpoint as an OCI artifact beside the content (as sync does) — but only once the
 * release is being pushed: a refused archive leaves the target exactly as it was.
 */
class WhenPushing implements CheckpointSink {
  enabled = false;
  constructor(private readonly sink: CheckpointSink) {}
  get description(): string {
    return this.sink.description;
  }
  get leavesHost(): boolean {
    return this.sink.leavesHost;
  }
  async publish(checkpoint: SignedCheckpoint): Promise<void> {
    if (this.enabled) await this.sink.publish(checkpoint);
  }
}

/** The copy events say where the content came from: the canonical image, from the archive (not a temp path). */
function archiveSink(run: EventSink, stageRef: string, canonicalPrefix: string, archiveName: string): EventSink {
  const prefix = `${stageRef}/`;
  return {
    append(events: readonly LedgerEventInput[]): number[] {
      return run.append(
        events.map((e) => {
          if (typeof e.image !== 'string' || !e.image.startsWith(prefix)) return e;
          const name = e.image.slice(prefix.length);
          const body = { ...e.body };
          if (typeof body.source === 'string' && body.source.startsWith(prefix)) body.source = `archive:${archiveName}/${body.source.slice(prefix.length)}`;
          return { ...e, image: `${canonicalPrefix.replace(/\/+$/, '')}/${name}`, body };
        }),
      );
    },
  };
}

/**
 * The same locks as sync (the ledger's `<path>.lock` and one per target under $XDG_STATE_HOME/airlock/locks): a
 * load and a sync never write one ledger or one target at the same time. Waits up to 30 s, then exits LOCKED.
 */
export async function loadArchive(o: LoadOptions): Promise<LoadResult> {
  const locks = join(xdgStateHome(o.env), 'airlock', 'locks');
  await mkdir(locks, { recursive: true });
  await mkdir(dirname(o.ledger.path), { recursive: true });
  const targetLock = join(locks, `${createHash('sha256').update(o.target).digest('hex').slice(0, 32)}.lock`);
  const options = (what: string): LockOptions => ({
    timeoutMs: 30_000,
    staleMs: 7 * 24 * 3600 * 1000,
    lockedMessage: (who) => `Another airlock process (${who}) holds the lock on ${what}; try again when it has finished.`,
  });
  return withLock(`${o.ledger.path}.lock`, () => withLock(targetLock, () => loadLocked(o), options(`the target ${o.target}`)), options(`the ledger ${o.ledger.path}`));
}

async function loadLocked(o: LoadOptions): Promise<LoadResult> {
  const file = resolve(o.file);
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new AirlockError('NOT_FOUND', `The archive ${o.file} does not exist or is not a file.`);
  const storeOptions = storeOptionsOf(o.config, o.logger);
  const { config } = o;
  const releaseRepo = releaseRepository(config.profile.name);
  const anchor = outsideAnchor(o);
  const keyText = o.ledgerPublicKey !== undefined ? await readFile(o.ledgerPublicKey, 'utf8').catch((e: unknown) => Promise.reject(new AirlockError('NOT_FOUND', `The ledger public key ${o.ledgerPublicKey} could not be read (${messageOf(e)}).`))) : undefined;
  // A malformed key is the loader's mistake, said before anything else (its name is taken from the checkpoint later).
  if (keyText !== undefined) parseVerifierKey(keyText, `The --ledger-public-key ${o.ledgerPublicKey}`, 'airlock.ledger/sender');
  // The ledger (and its key) next: nothing is loaded unrecorded, and a missing key fails before any work.
  const sinks = toSinks(o.ledger.sinks);
  const registrySink = o.target.startsWith('oci:') ? undefined : new WhenPushing(new RegistryCheckpointSink(parseRegistryReference(`${o.target}/airlock-ledger`, { requireTagOrDigest: false }), storeOptions));
  if (registrySink) sinks.push(registrySink);
  const stage = await mkdtemp(join(tmpdir(), 'airlock-archive-load-'));
  let ledger: Ledger;
  try {
    ledger = Ledger.open(o.ledger.path, { create: true, key: o.ledger.key, sinks, ...(o.logger ? { logger: o.logger } : {}) });
  } catch (e) {
    await rm(stage, { recursive: true, force: true });
    throw e;
  }
  const stageRef = `oci:${stage}`;
  const archiveName = basename(file);
  const configDigest = `sha256:${createHash('sha256').update(JSON.stringify({ profile: config.profile, images: config.images, trust: config.trust })).digest('hex')}`;
  const run: LedgerRun = ledger.startRun({ command: 'archive-load', toolVersion: o.toolVersion, configDigest, archive: file, target: o.target });
  let release: string | null = null;
  let pushing = false;
  try {
    let sha256: string;
    let verified: VerifiedRelease;
    let trustInfo: Awaited<ReturnType<typeof trustFor>>;
    let excerpt: ExcerptCheck;
    let plan;
    try {
      sha256 = await sha256File(file);
      // Headers refused before a byte is written; blobs hashed as they stream; nothing parsed before that.
      await extractArchive(file, stage, { ...DEFAULT_ARCHIVE_LIMITS, ...o.archiveLimits }, { verifyBlobs: true, ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
      release = claimedRelease(parseJsonFile(await readSmall(join(stage, MANIFEST_FILE), MANIFEST_FILE), MANIFEST_FILE), config.profile.name);
      trustInfo = await trustFor(o, anchor, stage);
      verified = await verifyReleaseOffline({
        prefix: stageRef,
        tag: release,
        profile: config.profile,
        canonicalPrefix: config.images.canonicalPrefix,
        requireProvenance: config.images.requireProvenance,
        trust: trustInfo.trust,
        storeOptions: {},
      });
      await checkNothingElse(stage, verified, releaseRepo);
      plan = await recompose(stage, o.target, o, verified, releaseRepo);
      excerpt = checkExcerpt(parseJsonFile(await readSmall(join(stage, EXCERPT_FILE), EXCERPT_FILE), EXCERPT_FILE), release, keyText);
      // Trust on first use, as sync: a release or image tag this ledger saw at another digest is refused.
      const seen = ledger.list({ kind: 'release-discovered', release, limit: 1, order: 'asc' })[0];
      if (seen && seen.digest !== verified.artifact.checksums.digest) {
        throw new AirlockError('TAG_CONFLICT', `The signed checksums of ${release} in the archive (${verified.artifact.checksums.digest}) differ from those this ledger recorded (${seen.digest}); a published release must not change, so it is refused.`, {
          details: { check: 'trust-on-first-use', recorded: seen.digest, digest: verified.artifact.checksums.digest },
        });
      }
      for (const v of verified.images) {
        const canonical = `${config.images.canonicalPrefix.replace(/\/+$/, '')}/${v.plan.image.name}`;
        const recorded = recordedDigest((f) => ledger.list(f), canonical, v.plan.image.tag);
        if (recorded !== undefined && recorded !== v.digest) {
          throw new AirlockError('TAG_CONFLICT', `${canonical}:${v.plan.image.tag} is ${v.digest} in the archive, but this ledger recorded it at ${recorded}; a released tag must not move, so the release is refused.`, {
            details: { check: 'trust-on-first-use', recorded, digest: v.digest },
          });
        }
      }
      await checkTargetTags(o.target, [...verified.images.map((v) => ({ name: v.plan.image.name, tag: v.plan.image.tag, digest: v.digest })), { name: releaseRepo, tag: release, digest: plan.digest }], storeOptions);
    } catch (e) {
      if (isAirlockError(e) && e.code !== 'INTERNAL' && e.code !== 'UNREACHABLE' && e.code !== 'LEDGER_KEY') {
        const d = e.details ?? {};
        run.appendRefusalOnce(
          refusedEvent({
            image: `archive:${archiveName}`,
            digest: typeof d.digest === 'string' ? d.digest : null,
            release,
            reason: e.code,
            message: e.message,
            evidence: JSON.parse(JSON.stringify({ check: d.check ?? null, archive: file })) as JsonObject,
          }),
        );
        await run.finish({ outcome: 'refusals', counts: { copied: 0, refused: 1 } });
      }
      throw e;
    }

    // Everything verified: now, and only now, the target is written.
    pushing = true;
    if (registrySink) registrySink.enabled = true;
    const checksums = verified.artifact.checksums;
    if (!ledger.list({ kind: 'release-discovered', release, limit: 1 })[0]) {
      run.append([
        releaseDiscovered({
          release,
          repository: config.upstream.repository,
          checksums: { name: checksums.name, digest: checksums.digest },
          extra: JSON.parse(JSON.stringify({ evidence: checksums.bundleSource, identity: checksums.verdict.signer.kind === 'certificate' ? checksums.verdict.signer.identity : null, bundle: checksums.bundle, via: `archive:${archiveName}` })) as JsonObject,
        }),
      ]);
    }
    const sink = archiveSink(run, stageRef, config.images.canonicalPrefix, archiveName);
    const images: LoadResult['images'] = [];
    for (const v of verified.images) {
      const { name, tag } = v.plan.image;
      const r = await copyReferences<CopyVerification>({
        source: targetFor(stageRef, name, tag),
        target: targetFor(o.target, name, tag),
        insecureSkipVerify: false,
        allowTagMove: false,
        concurrency: config.concurrency,
        storeOptions,
        ...(o.logger ? { logger: o.logger } : {}),
        // Given the ledger, the recorder also accounts for what a killed load wrote but never recorded.
        recorder: ledgerCopyRecorder(sink, (f) => ledger.list(f)),
        authorize: async (_source, digest) => {
          if (digest !== v.digest) throw new AirlockError('INTERNAL', `The unpacked archive changed under airlock (${name}).`);
          return v.auth;
        },
      });
      images.push({ name, tag, digest: v.digest, target: r.target, status: r.alreadyPresent ? 'present' : 'copied' });
    }
    const artifact = await publishReleaseArtifact(plan, { tag: release, release, storeOptions, run, from: [checksums.digest] });
    run.append([
      archiveLoadedEvent({
        release,
        digest: `sha256:${sha256}`,
        archive: archiveName,
        target: o.target,
        trustRoot: { digest: trustInfo.trust.digest, pinnedBy: trustInfo.pinnedBy, origin: trustInfo.trust.origin },
        excerpt: { origin: excerpt.origin, treeSize: excerpt.treeSize, rootHash: excerpt.rootHash, checkpoint: excerpt.checkpoint, entries: excerpt.entries, authenticated: excerpt.authenticated, note: excerpt.note },
        images: images.map((i) => ({ name: i.name, tag: i.tag, digest: i.digest, status: i.status })),
        releaseArtifact: { digest: artifact.digest, status: artifact.status },
      }),
    ]);
    const cp = (await run.finish({ outcome: 'ok', counts: { copied: images.filter((i) => i.status === 'copied').length, present: images.filter((i) => i.status === 'present').length, refused: 0 } }))?.checkpoint;
    return {
      archive: file,
      sha256,
      release,
      target: o.target,
      trustRoot: { sha256: hexOf(trustInfo.trust.digest), source: trustInfo.trust.source, origin: trustInfo.trust.origin, pinnedBy: trustInfo.pinnedBy },
      images,
      absent: verified.absent,
      releaseArtifact: { reference: artifact.reference, digest: artifact.digest, status: artifact.status },
      excerpt: { origin: excerpt.origin, treeSize: excerpt.treeSize, rootHash: excerpt.rootHash, entries: excerpt.entries, authenticated: excerpt.authenticated, note: excerpt.note },
      ledger: { path: o.ledger.path, appended: run.appendedCount, checkpoint: cp ? { size: cp.size, rootHash: cp.rootHash.toString('base64') } : null },
    };
  } catch (e) {
    // A failure while pushing (the target went away): what was written is recorded; the run says it failed.
    if (pushing) await run.finish({ outcome: 'failed', counts: { refused: 0 } }).catch(() => undefined);
    throw e;
  } finally {
    ledger.close();
    await rm(stage, { recursive: true, force: true });
  }
}
