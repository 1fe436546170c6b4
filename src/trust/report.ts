/**
 * The logic behind `airlock trust show|update|export`: typed results for --json, and their human rendering.
 */
import { writeFileSync } from 'node:fs';
import { AirlockError, messageOf } from '../errors.js';
import { neutralize, type Logger } from '../log.js';
import type { TrustAnchor, TrustSource } from './anchor.js';
import { loadOfflineTrustAnchor, loadTrustAnchor } from './load.js';
import type { TrustEntrySummary } from './root.js';
import { defaultTrustDir } from './tuf.js';

export interface TrustEntryReport extends TrustEntrySummary {
  /** Relative to the time of the report: an authority only vouches for times inside its window. */
  readonly status: 'active' | 'retired' | 'not-yet-valid';
}

export interface TrustShowResult {
  source: TrustSource;
  origin: string;
  digest: string;
  mediaType: string;
  fetchedAt?: string;
  entries: TrustEntryReport[];
}

export function describeTrustAnchor(a: TrustAnchor, now: Date = new Date()): TrustShowResult {
  const t = now.getTime();
  return {
    source: a.source,
    origin: a.origin,
    digest: a.digest,
    mediaType: String(a.trustedRoot.mediaType),
    ...(a.fetchedAt ? { fetchedAt: a.fetchedAt } : {}),
    entries: a.entries.map((e) => ({
      ...e,
      status: Date.parse(e.validFor.start) > t ? 'not-yet-valid' : e.validFor.end !== null && Date.parse(e.validFor.end) < t ? 'retired' : 'active',
    })),
  };
}

export function renderTrustShow(r: TrustShowResult): string {
  const lines = [
    `Source:  ${r.source} (${neutralize(r.origin)})${r.fetchedAt ? `, fetched ${r.fetchedAt}` : ''}`,
    `Digest:  ${r.digest}`,
    `Type:    ${neutralize(r.mediaType)}`,
    'Authorities (validity windows are closed intervals):',
  ];
  for (const e of r.entries) {
    const id = e.id ? ` ${neutralize(e.id.length > 16 ? `${e.id.slice(0, 16)}…` : e.id)}` : '';
    lines.push(`  ${e.kind.padEnd(21)} ${neutralize(e.name)}${id}  ${e.validFor.start} → ${e.validFor.end ?? '(open)'}  ${e.status}`);
  }
  return lines.join('\n');
}

export interface TrustUpdateOptions {
  trustDir?: string;
  offline?: boolean;
  mirrorURL?: string;
  tufRootPath?: string;
  logger?: Logger;
}

export interface TrustUpdateResult {
  previous: { source: TrustSource; digest: string };
  current: TrustShowResult;
  changed: boolean;
}

export async function updateTrust(o: TrustUpdateOptions): Promise<TrustUpdateResult> {
  if (o.offline) {
    throw new AirlockError(
      'BAD_INPUT',
      'trust update refreshes the trusted root from the Sigstore TUF repository, which --offline forbids; on an air-gapped machine, run `airlock trust export --output FILE` on a connected one and pass FILE with --trusted-root.',
    );
  }
  const trustDir = o.trustDir ?? defaultTrustDir();
  const before = loadOfflineTrustAnchor(trustDir);
  const after = await loadTrustAnchor({
    trustDir,
    refresh: 'always',
    ...(o.mirrorURL ? { mirrorURL: o.mirrorURL } : {}),
    ...(o.tufRootPath ? { tufRootPath: o.tufRootPath } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
  });
  return { previous: { source: before.source, digest: before.digest }, current: describeTrustAnchor(after), changed: before.digest !== after.digest };
}

export interface TrustExportResult {
  path: string;
  source: TrustSource;
  digest: string;
  bytes: number;
}

/** Writes the anchor's exact trusted_root.json bytes (so `sha256sum FILE` equals the digest shown everywhere). */
export function exportTrust(anchor: TrustAnchor, path: string, force = false): TrustExportResult {
  try {
    writeFileSync(path, anchor.bytes, { flag: force ? 'w' : 'wx', mode: 0o644 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new AirlockError('BAD_INPUT', `${path} already exists; choose another --output or pass --force to overwrite it.`, { cause: e });
    }
    throw new AirlockError('BAD_INPUT', `The trusted root could not be written to ${path} (${messageOf(e)}).`, { cause: e });
  }
  return { path, source: anchor.source, digest: anchor.digest, bytes: anchor.bytes.byteLength };
}
