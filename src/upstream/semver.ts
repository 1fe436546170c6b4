/**
 * Just enough semantic versioning for release selection: `vX.Y.Z` and `X.Y.Z` with prerelease identifiers
 * (`-rc.1`) compared by SemVer 2.0 precedence, and ranges.
 *
 * Range syntax (a subset of node-semver's, with the same meanings where they overlap):
 *   `>=2.7.0 <3`        comparators separated by spaces must all hold; `||` separates alternatives
 *   `>`, `>=`, `<`, `<=`, `=` and a bare version; `*` or an empty range for any version
 *   `2.7` / `2`         partial versions: all of 2.7.x / 2.x.x
 *   `~2.7.1`, `^2.7.1`  patch-level and minor-level compatible updates
 * A partial upper bound excludes the next version's prereleases (`<3` means `<3.0.0-0`, so 3.0.0-rc.1 is out).
 * Comparisons are plain precedence otherwise; whether prereleases are candidates at all is decided by the
 * selection's `prereleases` switch (select.ts), not by the range.
 */
import { AirlockError } from '../errors.js';

export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Dot-separated prerelease identifiers, numeric ones as numbers; empty for a release. */
  readonly prerelease: readonly (string | number)[];
  /** As given, e.g. `v2.9.4`. */
  readonly raw: string;
}

const NUM = '(0|[1-9]\\d{0,15})';
const PRE_ID = '(?:0|[1-9]\\d{0,15}|\\d*[A-Za-z-][0-9A-Za-z-]*)';
const SEMVER_RE = new RegExp(`^v?${NUM}\\.${NUM}\\.${NUM}(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$`);

/** Parses `[v]X.Y.Z[-pre][+build]`; undefined for anything else (so callers can skip non-semver tags). */
export function parseSemVer(raw: string): SemVer | undefined {
  if (raw.length > 256) return undefined;
  const m = SEMVER_RE.exec(raw);
  if (!m) return undefined;
  const prerelease = m[4] === undefined ? [] : m[4].split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id));
  if ([m[1], m[2], m[3]].some((n) => !Number.isSafeInteger(Number(n)))) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease, raw };
}

export function isPrerelease(v: SemVer): boolean {
  return v.prerelease.length > 0;
}

function cmp(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'number') return -1; // numeric identifiers have lower precedence than alphanumeric ones
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** SemVer 2.0 precedence: negative, zero or positive. Build metadata is ignored. */
export function compareSemVer(a: SemVer, b: SemVer): number {
  const core = cmp(a.major, b.major) || cmp(a.minor, b.minor) || cmp(a.patch, b.patch);
  if (core !== 0) return core;
  // A release has higher precedence than its prereleases (2.0.0-rc.1 < 2.0.0).
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return Math.sign(b.prerelease.length - a.prerelease.length);
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const c = cmp(a.prerelease[i]!, b.prerelease[i]!);
    if (c !== 0) return c;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

type Op = '<' | '<=' | '>' | '>=' | '=';
interface Comparator {
  readonly op: Op;
  readonly version: SemVer;
}

export interface SemVerRange {
  readonly source: string;
  /** Alternatives (`||`), each a conjunction of comparators; an empty conjunction matches everything. */
  readonly sets: readonly (readonly Comparator[])[];
}

const v = (major: number, minor: number, patch: number, prerelease: (string | number)[] = []): SemVer => ({
  major,
  minor,
  patch,
  prerelease,
  raw: `${major}.${minor}.${patch}${prerelease.length ? `-${prerelease.join('.')}` : ''}`,
});

const PARTIAL_RE = /^(\^|~|>=|<=|>|<|=)?v?(0|[1-9]\d{0,15})(?:\.(0|[1-9]\d{0,15}))?(?:\.(0|[1-9]\d{0,15})(-[0-9A-Za-z.-]+)?)?$/;

function badRange(source: string, why: string): never {
  throw new AirlockError(
    'BAD_INPUT',
    `The version range "${source.slice(0, 100)}" is not valid (${why}); write comparators such as ">=2.7.0 <3", "2.7", "^2.7.0" or "*".`,
    { details: { check: 'semver-range' } },
  );
}

function comparatorsOf(token: string, source: string): Comparator[] {
  if (token === '*' || token === 'x') return [];
  const m = PARTIAL_RE.exec(token);
  if (!m) badRange(source, `"${token.slice(0, 40)}" is not a comparator`);
  const op = (m[1] ?? '=') as Op | '^' | '~';
  const major = Number(m[2]);
  const minor = m[3] === undefined ? undefined : Number(m[3]);
  const patch = m[4] === undefined ? undefined : Number(m[4]);
  if (patch !== undefined) {
    const full = parseSemVer(`${major}.${minor}.${patch}${m[5] ?? ''}`);
    if (!full) badRange(source, `"${token.slice(0, 40)}" is not a version`);
    if (op === '~') return [{ op: '>=', version: full }, { op: '<', version: v(major, minor! + 1, 0, [0]) }];
    if (op === '^') {
      const upper = major > 0 ? v(major + 1, 0, 0, [0]) : minor! > 0 ? v(0, minor! + 1, 0, [0]) : v(0, 0, patch + 1, [0]);
      return [{ op: '>=', version: full }, { op: '<', version: upper }];
    }
    return [{ op, version: full }];
  }
  // A partial version stands for every version it prefixes: [low, next).
  const low = v(major, minor ?? 0, 0);
  const next = minor === undefined || (op === '^' && major > 0) ? v(major + 1, 0, 0, [0]) : v(major, minor + 1, 0, [0]);
  switch (op) {
    case '=':
    case '~':
    case '^':
      return [{ op: '>=', version: low }, { op: '<', version: next }];
    case '>=':
      return [{ op: '>=', version: low }];
    case '>':
      return [{ op: '>=', version: next }];
    case '<':
      return [{ op: '<', version: v(low.major, low.minor, 0, [0]) }];
    case '<=':
      return [{ op: '<', version: next }];
  }
}

export function parseRange(source: string): SemVerRange {
  if (source.length > 512) badRange(source, 'it is too long');
  const sets = source.split('||').map((alt) => {
    const tokens = alt.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/).filter((t) => t.length > 0);
    return tokens.flatMap((t) => comparatorsOf(t, source));
  });
  return { source, sets };
}

function holds(c: Comparator, version: SemVer): boolean {
  const r = compareSemVer(version, c.version);
  switch (c.op) {
    case '<':
      return r < 0;
    case '<=':
      return r <= 0;
    case '>':
      return r > 0;
    case '>=':
      return r >= 0;
    case '=':
      return r === 0;
  }
}

export function satisfies(version: SemVer, range: SemVerRange): boolean {
  return range.sets.some((set) => set.every((c) => holds(c, version)));
}
