/**
 * `airlock sync`: plan → verify → copy → record, for every selected release (sync-release.ts). The ledger is
 * opened (and its key checked) before anything upstream is contacted, so nothing is ever mirrored unrecorded;
 * the trust root is loaded before the first release is read. The result lists what was mirrored, what was
 * refused (each refusal recorded once in the ledger) and what failed; a caller exits REFUSALS_OUTSTANDING (12)
 * while refusals are outstanding (syncExitError).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { SyncConfig } from '../config/config.js';
import { assertDemoUpstream, withDemoHint } from '../config/demo-guard.js';
import type { LedgerSettings } from '../config/ledger-config.js';
import { AirlockError } from '../errors.js';
import { Ledger } from '../ledger/ledger.js';
import { toSinks } from '../ledger/sinks.js';
import type { Logger } from '../log.js';
import { parseRegistryReference } from '../oci/reference.js';
import type { StoreOptions } from '../store/options.js';
import { loadOfflineTrustAnchor, loadTrustAnchor, loadTrustAnchorFile, type TrustAnchor } from '../trust/index.js';
import { GitHubReleases, selectReleases, type SkipReason } from '../upstream/index.js';
import { withLock, type LockOptions } from '../file-lock.js';
import { RegistryCheckpointSink } from './checkpoint-artifact.js';
import { guardFreshLedger } from './fresh-ledger-guard.js';
import { releaseRepository } from './release-artifact.js';
import { FileResponseCache } from './github-cache.js';
import { syncRelease, type FailureRecord, type RefusalRecord, type ReleaseOutcome } from './sync-release.js';
import { xdgStateHome, type Env } from '../config/paths.js';
import { emitSyncEvent, type SyncEventListener } from './sync-events.js';

export interface SyncOptions {
  config: SyncConfig;
  ledger: LedgerSettings;
  toolVersion: string;
  /** Let a new (empty) ledger start against a target that already holds mirrored content; it is re-verified. */
  adoptTarget?: boolean;
  /** How long to wait for another sync on the same ledger or target to finish; default 0 (exit LOCKED at once). */
  waitMs?: number;
  env?: Env;
  logger?: Logger;
  /** Progress and decisions as they happen (sync-events.ts): for a progress view and log lines. */
  onEvent?: SyncEventListener;
}

/** The run in numbers, for `--json`, logs and metrics. */
export interface SyncSummary {
  outcome: 'ok' | 'refusals' | 'failed';
  releases: number;
  /** Per image status: copied now, already present, present and re-verified (reconciled), refused, failed. */
  images: { copied: number; present: number; reconciled: number; refused: number; failed: number };
  /** All refusals outstanding (images, files, releases), and how many of them this run recorded first. */
  refusals: number;
  refusalsNew: number;
  failures: number;
  /** Bytes this run wrote into the target for images. */
  bytesCopied: number;
  durationMs: number;
}

export interface SyncResult {
  target: string;
  trustRoot: { source: string; digest: string };
  releases: ReleaseOutcome[];
  /** Explicitly named releases that upstream does not have. */
  missing: string[];
  skipped: { tag: string; reason: SkipReason }[];
  /** Releases whose JSON upstream was refused before selection (hostile names, foreign hosts…). */
  unreadable: { tag: string | null; reason: string }[];
  refusals: RefusalRecord[];
  failures: FailureRecord[];
  ledger: { path: string; appended: number; checkpoint: { size: number; rootHash: string } | null };
  summary: SyncSummary;
}

export function storeOptionsOf(config: SyncConfig, logger?: Logger): StoreOptions {
  return {
    insecureRegistries: config.registries.insecure,
    caFiles: config.registries.ca,
    ...(config.registries.authfile ? { authFile: config.registries.authfile } : {}),
    ...(logger ? { logger } : {}),
  };
}

async function loadSyncTrust(config: SyncConfig, logger: Logger | undefined): Promise<TrustAnchor> {
  if (config.trust.trustedRoot !== undefined) return loadTrustAnchorFile(config.trust.trustedRoot);
  if (!config.trust.tufRefresh) return loadOfflineTrustAnchor();
  return loadTrustAnchor({ refresh: 'if-online', ...(logger ? { logger } : {}) });
}

/** The digest of the settings that decide trust and placement, for the run's record. */
function configDigest(config: SyncConfig): string {
  const decisive = { upstream: config.upstream, profile: config.profile, images: config.images, trust: config.trust, target: config.target, assets: config.assets };
  return `sha256:${createHash('sha256').update(JSON.stringify(decisive)).digest('hex')}`;
}

/**
 * One sync at a time per ledger and per target: a second run on the same ledger or target waits up to `waitMs`
 * (default: not at all) and then exits LOCKED (13) with a clear sentence, so a cron job that overlaps a slow run
 * simply tries again next time. The locks are files (the ledger's `<path>.lock`, and one per target under
 * $XDG_STATE_HOME/airlock/locks); a holder that died is detected by its pid and its lock taken over.
 */
export async function sync(o: SyncOptions): Promise<SyncResult> {
  const locks = join(xdgStateHome(o.env), 'airlock', 'locks');
  await mkdir(locks, { recursive: true });
  await mkdir(dirname(o.ledger.path), { recursive: true });
  const targetLock = join(locks, `${createHash('sha256').update(o.config.target).digest('hex').slice(0, 32)}.lock`);
  const lockOptions = (what: string): LockOptions => ({
    timeoutMs: o.waitMs ?? 0,
    // A sync holds its locks for minutes: only a dead holder (or a week-old file) is stale.
    staleMs: 7 * 24 * 3600 * 1000,
    lockedMessage: (who) => `Another airlock sync (${who}) holds the lock on ${what}; it is still running — try again later, or pass --wait SECONDS to wait for it.`,
  });
  return withLock(`${o.ledger.path}.lock`, () => withLock(targetLock, () => syncLocked(o), lockOptions(`the target ${o.config.target}`)), lockOptions(`the ledger ${o.ledger.path}`));
}

async function syncLocked(o: SyncOptions): Promise<SyncResult> {
  const started = Date.now();
  const { config, logger } = o;
  // A demo's config trusts the demo's own Sigstore: refused for anything but the demo's stand-in upstream.
  if (o.ledger.demo) assertDemoUpstream(config);
  const storeOptions = storeOptionsOf(config, logger);
  // Beside the ledger: the state of this mirror, kept between cron runs.
  const cache = new FileResponseCache(join(dirname(o.ledger.path), 'github-cache.json'));
  const github = new GitHubReleases({
    apiBase: config.upstream.githubApi,
    repository: config.upstream.repository,
    ...(config.upstream.tokenEnv ? { tokenEnv: config.upstream.tokenEnv } : {}),
    maxAssetBytes: config.limits.assetBytes,
    ...(o.env ? { env: o.env } : {}),
    ...(logger ? { logger } : {}),
    cache,
  });
  const sinks = toSinks(o.ledger.sinks);
  if (!config.target.startsWith('oci:')) sinks.push(new RegistryCheckpointSink(parseRegistryReference(`${config.target}/airlock-ledger`, { requireTagOrDigest: false }), storeOptions));
  const ledger = Ledger.open(o.ledger.path, { create: true, key: o.ledger.key, sinks, ...(logger ? { logger } : {}) });
  try {
    await guardFreshLedger({
      ledgerPath: o.ledger.path,
      ledgerIsEmpty: ledger.size() === 0,
      target: config.target,
      releaseRepository: releaseRepository(config.profile.name),
      adoptTarget: o.adoptTarget ?? false,
      storeOptions,
    });
  } catch (e) {
    ledger.close();
    throw e;
  }
  const scratch = config.assets.directory === undefined ? await mkdtemp(join(tmpdir(), 'airlock-sync-')) : undefined;
  try {
    const trust = await loadSyncTrust(config, logger);
    const run = ledger.startRun({ command: 'sync', toolVersion: o.toolVersion, configDigest: configDigest(config), target: config.target, repository: config.upstream.repository });
    const listing = await withDemoHint(o.ledger.demo, github.listReleases());
    await cache.save().catch(() => undefined);
    const selection = selectReleases(listing.releases, config.upstream.releases);
    emitSyncEvent(o.onEvent, { type: 'run-start', target: config.target, releases: [...selection.selected].reverse().map((r) => r.tag), time: started });
    const refusals: RefusalRecord[] = [];
    const failures: FailureRecord[] = [];
    const releases: ReleaseOutcome[] = [];
    const ctx = { config, profile: config.profile, github, trust, ledger, run, storeOptions, assetsDir: config.assets.directory ?? scratch!, refusals, failures, logger, onEvent: o.onEvent };
    try {
      // Oldest first: a mirror then grows in release order, as a reader of the ledger expects.
      for (const release of [...selection.selected].reverse()) releases.push(await syncRelease(ctx, release));
    } catch (e) {
      await run.finish({ outcome: 'failed', counts: counts(releases, refusals) });
      throw e;
    }
    const outcome = failures.length > 0 ? 'failed' : refusals.length > 0 ? 'refusals' : 'ok';
    const cp = (await run.finish({ outcome, counts: counts(releases, refusals) }))?.checkpoint;
    return {
      target: config.target,
      trustRoot: { source: trust.source, digest: trust.digest },
      releases,
      missing: selection.missing,
      skipped: selection.skipped,
      unreadable: listing.refused.map((r) => ({ tag: r.tag ?? null, reason: r.reason })),
      refusals,
      failures,
      ledger: { path: o.ledger.path, appended: run.appendedCount, checkpoint: cp ? { size: cp.size, rootHash: cp.rootHash.toString('base64') } : null },
      summary: summarize(outcome, releases, refusals, failures, Date.now() - started),
    };
  } finally {
    ledger.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

function counts(releases: readonly ReleaseOutcome[], refusals: readonly RefusalRecord[]): Record<string, number> {
  const images = releases.flatMap((r) => r.images);
  return {
    releases: releases.length,
    copied: images.filter((i) => i.status === 'copied').length,
    present: images.filter((i) => i.status === 'present').length,
    refused: refusals.length,
  };
}

export function summarize(outcome: SyncSummary['outcome'], releases: readonly ReleaseOutcome[], refusals: readonly RefusalRecord[], failures: readonly FailureRecord[], durationMs: number): SyncSummary {
  const images = releases.flatMap((r) => r.images);
  const n = (s: string) => images.filter((i) => i.status === s).length;
  return {
    outcome,
    releases: releases.length,
    images: { copied: n('copied'), present: n('present'), reconciled: n('reconciled'), refused: n('refused'), failed: n('failed') },
    refusals: refusals.length,
    refusalsNew: refusals.filter((r) => r.newlyRecorded).length,
    failures: failures.length,
    bytesCopied: images.reduce((t, i) => t + (i.bytes ?? 0), 0),
    durationMs,
  };
}

/** The error a finished sync exits with, if any: a failure's own code first, then outstanding refusals (12). */
export function syncExitError(r: SyncResult): AirlockError | undefined {
  const failure = r.failures[0];
  if (failure) return new AirlockError(failure.code as AirlockError['code'], `Sync finished with ${r.failures.length} failures; the first: ${failure.message}`);
  if (r.missing.length > 0) return new AirlockError('NOT_FOUND', `Upstream has no release ${r.missing.join(', ')}; check the version.`);
  if (r.refusals.length > 0) {
    return new AirlockError('REFUSALS_OUTSTANDING', `Sync finished with ${r.refusals.length} refusals outstanding; see them with airlock ledger list --kind refused.`);
  }
  return undefined;
}
