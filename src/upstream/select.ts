/**
 * Which releases to mirror: a semver range, the newest N, explicit versions, prereleases on or off — never
 * drafts (a draft is unpublished and may still change). Pure: it sees only release metadata, which is
 * unverified; choosing a release says nothing about trusting it.
 */
import { AirlockError } from '../errors.js';
import type { UnverifiedRelease } from './release.js';
import { compareSemVer, isPrerelease, parseRange, parseSemVer, satisfies, type SemVer } from './semver.js';

export interface ReleaseSelection {
  /** e.g. `>=2.7.0 <3` (semver.ts); absent: any version. */
  range?: string;
  /** Keep only the newest N of the releases the range admits. */
  newest?: number;
  /**
   * Releases wanted by tag (`v2.9.4`; `2.9.4` works too), in addition to those the range admits. An explicitly
   * named prerelease is selected even with prereleases off: naming it is the opt-in.
   */
  versions?: readonly string[];
  /** Whether prereleases (a semver prerelease, or GitHub's `prerelease` flag) are candidates. Default false. */
  prereleases?: boolean;
}

export type SkipReason = 'draft' | 'not-semver' | 'duplicate-version' | 'prerelease' | 'out-of-range' | 'older-than-newest';

export interface SelectionResult {
  /** Newest first. */
  selected: UnverifiedRelease[];
  /** Explicit versions that no published release carries. */
  missing: string[];
  skipped: { tag: string; reason: SkipReason }[];
}

function normalizeWanted(v: string): string {
  const parsed = parseSemVer(v);
  if (!parsed) {
    throw new AirlockError('BAD_INPUT', `The release version "${v.slice(0, 60)}" is not a version such as v2.9.4 or v2.10.0-rc.1.`, {
      details: { check: 'release-selection' },
    });
  }
  return `${parsed.major}.${parsed.minor}.${parsed.patch}${parsed.prerelease.length ? `-${parsed.prerelease.join('.')}` : ''}`;
}

function key(v: SemVer): string {
  return `${v.major}.${v.minor}.${v.patch}${v.prerelease.length ? `-${v.prerelease.join('.')}` : ''}`;
}

export function selectReleases(releases: readonly UnverifiedRelease[], selection: ReleaseSelection): SelectionResult {
  if (selection.newest !== undefined && (!Number.isSafeInteger(selection.newest) || selection.newest < 1)) {
    throw new AirlockError('BAD_INPUT', `newest must be a whole number of at least 1, not ${String(selection.newest)}.`, { details: { check: 'release-selection' } });
  }
  const range = selection.range === undefined ? undefined : parseRange(selection.range);
  const wanted = new Set((selection.versions ?? []).map(normalizeWanted));
  const skipped: SelectionResult['skipped'] = [];
  const explicit: { release: UnverifiedRelease; version: SemVer }[] = [];
  let candidates: { release: UnverifiedRelease; version: SemVer }[] = [];
  const found = new Set<string>();

  for (const release of releases) {
    if (release.draft) {
      skipped.push({ tag: release.tag, reason: 'draft' });
      continue;
    }
    const version = parseSemVer(release.tag);
    if (!version) {
      skipped.push({ tag: release.tag, reason: 'not-semver' });
      continue;
    }
    const k = key(version);
    // `v2.9.4` and `2.9.4` are the same version: the first one listed (GitHub lists newest first) wins.
    if (found.has(k)) {
      skipped.push({ tag: release.tag, reason: 'duplicate-version' });
      continue;
    }
    found.add(k);
    if (wanted.has(k)) {
      explicit.push({ release, version });
      continue;
    }
    // With only explicit versions asked for, nothing else is a candidate.
    if (wanted.size > 0 && range === undefined && selection.newest === undefined) {
      skipped.push({ tag: release.tag, reason: 'out-of-range' });
      continue;
    }
    if ((isPrerelease(version) || release.prerelease) && selection.prereleases !== true) {
      skipped.push({ tag: release.tag, reason: 'prerelease' });
      continue;
    }
    if (range && !satisfies(version, range)) {
      skipped.push({ tag: release.tag, reason: 'out-of-range' });
      continue;
    }
    candidates.push({ release, version });
  }
  candidates.sort((a, b) => compareSemVer(b.version, a.version));
  if (selection.newest !== undefined) {
    for (const c of candidates.slice(selection.newest)) skipped.push({ tag: c.release.tag, reason: 'older-than-newest' });
    candidates = candidates.slice(0, selection.newest);
  }
  const all = [...candidates, ...explicit].sort((a, b) => compareSemVer(b.version, a.version));
  return {
    selected: all.map((c) => c.release),
    missing: [...wanted].filter((w) => !explicit.some((e) => key(e.version) === w)).map((w) => `v${w}`),
    skipped,
  };
}
