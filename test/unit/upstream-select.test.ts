/**
 * src/upstream/semver.ts and select.ts: version precedence, ranges, and which releases a selection picks.
 */
import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors.js';
import type { UnverifiedRelease } from '../../src/upstream/release.js';
import { selectReleases } from '../../src/upstream/select.js';
import { compareSemVer, parseRange, parseSemVer, satisfies } from '../../src/upstream/semver.js';

const sv = (s: string) => {
  const v = parseSemVer(s);
  if (!v) throw new Error(`not semver: ${s}`);
  return v;
};
const inRange = (v: string, r: string) => satisfies(sv(v), parseRange(r));

describe('semver', () => {
  it('parses vX.Y.Z and prereleases, and nothing else', () => {
    expect(sv('v2.9.4')).toMatchObject({ major: 2, minor: 9, patch: 4, prerelease: [] });
    expect(sv('2.10.0-rc.1')).toMatchObject({ major: 2, minor: 10, patch: 0, prerelease: ['rc', 1] });
    for (const bad of ['v2.9', '2.9.4.1', 'v02.9.4', 'vv2.9.4', 'v2.9.4-', 'v2.9.4-rc..1', 'v2.9.4-01', 'latest', ' v2.9.4', `v${'9'.repeat(17)}.0.0`]) {
      expect(parseSemVer(bad)).toBeUndefined();
    }
  });

  it('orders by SemVer 2.0 precedence', () => {
    const ordered = ['v1.0.0-alpha', 'v1.0.0-alpha.1', 'v1.0.0-alpha.beta', 'v1.0.0-beta', 'v1.0.0-beta.2', 'v1.0.0-beta.11', 'v1.0.0-rc.1', 'v1.0.0', 'v1.0.1', 'v1.2.0', 'v1.10.0', 'v2.0.0-rc.1', 'v2.0.0'];
    const shuffled = [...ordered].reverse();
    expect(shuffled.sort((a, b) => compareSemVer(sv(a), sv(b)))).toEqual(ordered);
    expect(compareSemVer(sv('v2.9.4'), sv('2.9.4+build.1'))).toBe(0);
    expect(compareSemVer(sv('v2.10.0-rc.10'), sv('v2.10.0-rc.9'))).toBeGreaterThan(0);
  });

  it('evaluates ranges', () => {
    expect(inRange('v2.7.0', '>=2.7.0 <3')).toBe(true);
    expect(inRange('v2.9.4', '>=2.7.0 <3')).toBe(true);
    expect(inRange('v2.6.4', '>=2.7.0 <3')).toBe(false);
    expect(inRange('v3.0.0', '>=2.7.0 <3')).toBe(false);
    expect(inRange('v3.0.0-rc.1', '>=2.7.0 <3')).toBe(false); // a partial upper bound excludes the next prereleases
    expect(inRange('v3.0.0-rc.1', '>=2.7.0 <3.0.0')).toBe(true); // a full one is plain precedence
    expect(inRange('v2.7.3', '2.7')).toBe(true);
    expect(inRange('v2.8.0', '2.7')).toBe(false);
    expect(inRange('v2.8.0', '>2.7')).toBe(true);
    expect(inRange('v2.7.9', '>2.7')).toBe(false);
    expect(inRange('v2.7.9', '<=2.7')).toBe(true);
    expect(inRange('v2.6.0', '<2.7')).toBe(true);
    expect(inRange('v2.7.0-rc.1', '<2.7')).toBe(false);
    expect(inRange('v2.9.4', '=2.9.4')).toBe(true);
    expect(inRange('v2.9.4', 'v2.9.4')).toBe(true);
    expect(inRange('v2.9.5', '2.9.4')).toBe(false);
    expect(inRange('v2.9.5', '~2.9.4')).toBe(true);
    expect(inRange('v2.10.0', '~2.9.4')).toBe(false);
    expect(inRange('v2.10.0', '^2.9.4')).toBe(true);
    expect(inRange('v3.0.0', '^2.9.4')).toBe(false);
    expect(inRange('v0.3.1', '^0.3.0')).toBe(true);
    expect(inRange('v0.4.0', '^0.3.0')).toBe(false);
    expect(inRange('v1.0.0', '<1 || >=2.5')).toBe(false);
    expect(inRange('v2.6.0', '<1 || >=2.5')).toBe(true);
    expect(inRange('v2.6.0', '>= 2.5.0 < 3')).toBe(true);
    expect(inRange('v9.9.9', '*')).toBe(true);
    expect(inRange('v9.9.9', '')).toBe(true);
  });

  it('refuses what it cannot read, as BAD_INPUT naming the range', () => {
    for (const bad of ['>=2.7.0 <3 foo', '2.x.1', '>>2', '>=v', 'latest', '1.2.3 - 2.0.0']) {
      try {
        parseRange(bad);
        expect.unreachable(bad);
      } catch (e) {
        expect(isAirlockError(e, 'BAD_INPUT')).toBe(true);
        expect((e as Error).message).toContain('is not valid');
      }
    }
  });
});

function rel(tag: string, o: { draft?: boolean; prerelease?: boolean } = {}): UnverifiedRelease {
  return { trust: 'unverified', id: undefined, tag, draft: o.draft ?? false, prerelease: o.prerelease ?? false, publishedAt: null, assets: [] };
}

// As GitHub lists them: newest first by creation, not by version.
const releases = [
  rel('v2.10.0', { draft: true }),
  rel('v2.10.0-rc.1', { prerelease: true }),
  rel('v2.9.4'),
  rel('v2.8.7'),
  rel('v2.9.3'),
  rel('v2.7.5'),
  rel('v2.6.4'),
  rel('v3.0.0-beta.1'),
  rel('nightly'),
  rel('v2.5.0', { prerelease: true }), // GitHub's flag alone marks a prerelease
];
const tags = (r: { selected: UnverifiedRelease[] }) => r.selected.map((x) => x.tag);

describe('selectReleases', () => {
  it('never selects drafts, even by name', () => {
    const r = selectReleases(releases, { versions: ['v2.10.0'], prereleases: true });
    expect(tags(r)).toEqual([]);
    expect(r.missing).toEqual(['v2.10.0']);
    expect(r.skipped).toContainEqual({ tag: 'v2.10.0', reason: 'draft' });
  });

  it('selects by range, newest first, prereleases off by default', () => {
    const r = selectReleases(releases, { range: '>=2.7.0 <3' });
    expect(tags(r)).toEqual(['v2.9.4', 'v2.9.3', 'v2.8.7', 'v2.7.5']);
    expect(r.skipped).toEqual(
      expect.arrayContaining([
        { tag: 'v2.10.0-rc.1', reason: 'prerelease' },
        { tag: 'nightly', reason: 'not-semver' },
        { tag: 'v2.6.4', reason: 'out-of-range' },
        { tag: 'v2.5.0', reason: 'prerelease' },
      ]),
    );
  });

  it('includes prereleases when asked', () => {
    expect(tags(selectReleases(releases, { range: '>=2.9.0 <3', prereleases: true }))).toEqual(['v2.10.0-rc.1', 'v2.9.4', 'v2.9.3']);
  });

  it('keeps the newest N', () => {
    const r = selectReleases(releases, { newest: 2 });
    expect(tags(r)).toEqual(['v2.9.4', 'v2.9.3']);
    expect(r.skipped).toContainEqual({ tag: 'v2.8.7', reason: 'older-than-newest' });
    expect(tags(selectReleases(releases, { range: '<2.9', newest: 1 }))).toEqual(['v2.8.7']);
  });

  it('selects explicit versions (an explicit prerelease too) and reports those that do not exist', () => {
    const r = selectReleases(releases, { versions: ['v2.6.4', '2.10.0-rc.1', 'v2.4.0'] });
    expect(tags(r)).toEqual(['v2.10.0-rc.1', 'v2.6.4']);
    expect(r.missing).toEqual(['v2.4.0']);
  });

  it('adds explicit versions to a range', () => {
    expect(tags(selectReleases(releases, { range: '>=2.9.0', versions: ['v2.6.4'] }))).toEqual(['v2.9.4', 'v2.9.3', 'v2.6.4']);
  });

  it('selects a version once even when two tags spell it', () => {
    const r = selectReleases([rel('v2.9.4'), rel('2.9.4')], {});
    expect(tags(r)).toEqual(['v2.9.4']);
    expect(r.skipped).toEqual([{ tag: '2.9.4', reason: 'duplicate-version' }]);
  });

  it('refuses a bad newest or version as BAD_INPUT', () => {
    expect(() => selectReleases(releases, { newest: 0 })).toThrow(/newest/);
    expect(() => selectReleases(releases, { versions: ['latest'] })).toThrow(/not a version/);
  });
});
