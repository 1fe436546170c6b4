/**
 * `airlock releases`: upstream releases side by side with what the mirror holds. Read-only everywhere: the
 * ledger is opened read-only (absent: nothing recorded yet), the target is only asked whether it holds the
 * release artifact, and nothing is verified here — "held" means sync verified and published it.
 */
import { assertDemoUpstream, withDemoHint } from '../config/demo-guard.js';
import { existsSync } from 'node:fs';
import type { SyncConfig } from '../config/config.js';
import type { LedgerSettings } from '../config/ledger-config.js';
import { isAirlockError } from '../errors.js';
import { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log.js';
import { openReference } from '../store/open.js';
import { GitHubReleases, selectReleases, type SkipReason } from '../upstream/index.js';
import { releaseRepository } from './release-artifact.js';
import { targetFor } from './sync-image.js';
import { storeOptionsOf } from './sync.js';
import type { Env } from '../config/paths.js';

export interface ReleaseRow {
  tag: string;
  publishedAt: string | null;
  prerelease: boolean;
  /** Whether the config's selection (and --release) picks it for sync. */
  selected: boolean;
  skipped: SkipReason | null;
  /** The signed checksums' digest as the ledger first recorded it; null: never verified. */
  recordedChecksums: string | null;
  /** Refusals the ledger holds for this release. */
  refusals: number;
  /** The release artifact's digest in the target; null: not held. */
  heldInTarget: string | null;
}

export interface ReleasesResult {
  repository: string;
  target: string;
  releases: ReleaseRow[];
  /** Releases whose JSON upstream was refused before anything else (hostile names, foreign hosts…). */
  unreadable: { tag: string | null; reason: string }[];
}

export async function listReleasesBeside(o: { config: SyncConfig; ledger: LedgerSettings; env?: Env; logger?: Logger }): Promise<ReleasesResult> {
  const { config } = o;
  if (o.ledger.demo) assertDemoUpstream(config);
  const github = new GitHubReleases({
    apiBase: config.upstream.githubApi,
    repository: config.upstream.repository,
    ...(config.upstream.tokenEnv ? { tokenEnv: config.upstream.tokenEnv } : {}),
    ...(o.env ? { env: o.env } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
  });
  const listing = await withDemoHint(o.ledger.demo, github.listReleases());
  const selection = selectReleases(listing.releases, config.upstream.releases);
  const selected = new Set(selection.selected.map((r) => r.tag));
  const skipped = new Map(selection.skipped.map((s) => [s.tag, s.reason]));

  const ledger = existsSync(o.ledger.path) ? Ledger.open(o.ledger.path, { readOnly: true }) : undefined;
  const rows: ReleaseRow[] = [];
  try {
    for (const r of listing.releases) {
      const discovered = ledger?.list({ kind: 'release-discovered', release: r.tag, limit: 1, order: 'asc' })[0];
      rows.push({
        tag: r.tag,
        publishedAt: r.publishedAt,
        prerelease: r.prerelease,
        selected: selected.has(r.tag),
        skipped: skipped.get(r.tag) ?? null,
        recordedChecksums: discovered?.digest ?? null,
        refusals: ledger?.list({ kind: 'refused', release: r.tag, limit: 100_000 }).length ?? 0,
        heldInTarget: await heldDigest(targetFor(config.target, releaseRepository(config.profile.name), r.tag), config, o.logger),
      });
    }
  } finally {
    ledger?.close();
  }
  return { repository: config.upstream.repository, target: config.target, releases: rows, unreadable: listing.refused.map((r) => ({ tag: r.tag ?? null, reason: r.reason })) };
}

async function heldDigest(reference: string, config: SyncConfig, logger: Logger | undefined): Promise<string | null> {
  if (reference.startsWith('oci:') && !existsSync(reference.slice(4, reference.lastIndexOf(':')))) return null;
  try {
    const opened = await openReference(reference, storeOptionsOf(config, logger));
    try {
      return (await opened.repository.headManifest(opened.target!))?.digest ?? null;
    } finally {
      await opened.store.close();
    }
  } catch (e) {
    if (isAirlockError(e, 'NOT_FOUND') || isAirlockError(e, 'LAYOUT_INVALID')) return null;
    throw e;
  }
}
