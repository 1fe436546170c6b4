/**
 * src/upstream/release.ts: GitHub release JSON, validated strictly. Each hostile case is named after the check that
 * stops it, and asserts the typed reason sync records.
 */
import { describe, expect, it } from 'vitest';
import { fileNameProblem } from '../../src/upstream/names.js';
import { defaultDownloadHosts, PUBLIC_GITHUB_DOWNLOAD_HOSTS, toUnverifiedRelease, versionOfTag, type ReleaseModelOptions } from '../../src/upstream/release.js';
import { reasonOf } from '../support/errors.js';

const HEX = 'a'.repeat(64);
const opts: ReleaseModelOptions = { downloadHosts: PUBLIC_GITHUB_DOWNLOAD_HOSTS, repository: 'fluxcd/flux2' };

function encoded(name: string): string {
  try {
    return encodeURIComponent(name);
  } catch {
    return 'x'; // a lone surrogate cannot be URL-encoded; the name check refuses it first anyway
  }
}

function asset(name: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 1,
    name,
    size: 10,
    digest: `sha256:${HEX}`,
    state: 'uploaded',
    browser_download_url: `https://github.com/fluxcd/flux2/releases/download/v2.9.4/${encoded(name)}`,
    ...over,
  };
}

function release(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 7, tag_name: 'v2.9.4', draft: false, prerelease: false, published_at: '2026-08-07T10:00:00Z', assets: [asset('install.yaml')], ...over };
}

describe('toUnverifiedRelease', () => {
  it('accepts a Flux-shaped release and marks it unverified', () => {
    const r = toUnverifiedRelease(release({ assets: [asset('install.yaml'), asset('flux_2.9.4_checksums.txt', { digest: null })] }), opts);
    expect(r).toMatchObject({ trust: 'unverified', tag: 'v2.9.4', draft: false, prerelease: false, publishedAt: '2026-08-07T10:00:00Z', id: 7 });
    expect(r.assets[0]).toMatchObject({ trust: 'unverified', name: 'install.yaml', size: 10, digest: `sha256:${HEX}`, state: 'uploaded' });
    expect(r.assets[1]!.digest).toBeUndefined();
    expect(Object.isFrozen(r)).toBe(true);
  });

  it('accepts published_at null (a draft) and an absent digest (assets uploaded before June 2025)', () => {
    const a = asset('install.yaml');
    delete a.digest;
    const r = toUnverifiedRelease(release({ draft: true, published_at: null, assets: [a] }), opts);
    expect(r.publishedAt).toBeNull();
    expect(r.assets[0]!.digest).toBeUndefined();
  });

  describe('asset names: the plain-file-name check (asset-name-invalid)', () => {
    for (const [name, problem] of [
      ['../x', 'separator'],
      ['..', 'dot-name'],
      ['.', 'dot-name'],
      ['/etc/passwd', 'separator'],
      ['a/b', 'separator'],
      ['a\\b', 'separator'],
      ['C:evil', 'separator'],
      ['a\u0000b', 'control-character'],
      ['install.yaml\n', 'control-character'],
      ['\u001b]8;;https://evil\u0007x', 'control-character'],
      ['\u202eexe.txt', 'control-character'],
      [' install.yaml', 'edge-whitespace'],
      ['', 'empty'],
      ['x'.repeat(256), 'too-long'],
      ['é'.repeat(128), 'too-long'],
      ['\ud800x', 'malformed-unicode'],
    ] as const) {
      it(`refuses ${JSON.stringify(name.slice(0, 20))} (${problem})`, () => {
        expect(fileNameProblem(name)).toBe(problem);
        const over = name === '' ? { browser_download_url: 'https://github.com/fluxcd/flux2/releases/download/v2.9.4/' } : {};
        expect(reasonOf(() => toUnverifiedRelease(release({ assets: [asset(name, over)] }), opts))).toBe('asset-name-invalid');
      });
    }
    it('accepts 255 bytes exactly', () => {
      expect(fileNameProblem('x'.repeat(255))).toBeUndefined();
    });
  });

  it('refuses duplicate asset names, also differing only in case (asset-name-duplicate)', () => {
    expect(reasonOf(() => toUnverifiedRelease(release({ assets: [asset('install.yaml'), asset('install.yaml')] }), opts))).toBe('asset-name-duplicate');
    expect(reasonOf(() => toUnverifiedRelease(release({ assets: [asset('install.yaml'), asset('Install.yaml')] }), opts))).toBe('asset-name-duplicate');
  });

  describe('download URLs', () => {
    it('refuses a URL on another host (asset-url-host)', () => {
      const a = asset('install.yaml', { browser_download_url: 'https://evil.example/fluxcd/flux2/releases/download/v2.9.4/install.yaml' });
      expect(reasonOf(() => toUnverifiedRelease(release({ assets: [a] }), opts))).toBe('asset-url-host');
    });
    it('refuses a look-alike host (asset-url-host)', () => {
      const a = asset('install.yaml', { browser_download_url: 'https://github.com.evil.example/fluxcd/flux2/releases/download/v2.9.4/install.yaml' });
      expect(reasonOf(() => toUnverifiedRelease(release({ assets: [a] }), opts))).toBe('asset-url-host');
    });
    it("refuses another project's file on github.com (asset-url-path)", () => {
      const a = asset('install.yaml', { browser_download_url: 'https://github.com/evil/flux2/releases/download/v2.9.4/install.yaml' });
      expect(reasonOf(() => toUnverifiedRelease(release({ assets: [a] }), opts))).toBe('asset-url-path');
      const b = asset('install.yaml', { browser_download_url: 'https://github.com/fluxcd/flux2/releases/download/v2.0.0/install.yaml' });
      expect(reasonOf(() => toUnverifiedRelease(release({ assets: [b] }), opts))).toBe('asset-url-path');
      const c = asset('install.yaml', { browser_download_url: 'https://github.com/fluxcd/flux2/releases/download/v2.9.4/other.yaml' });
      expect(reasonOf(() => toUnverifiedRelease(release({ assets: [c] }), opts))).toBe('asset-url-path');
    });
    it('refuses plain http off loopback (asset-url-insecure)', () => {
      const a = asset('install.yaml', { browser_download_url: 'http://github.com/fluxcd/flux2/releases/download/v2.9.4/install.yaml' });
      expect(reasonOf(() => toUnverifiedRelease(release({ assets: [a] }), opts))).toBe('asset-url-insecure');
    });
    it('refuses credentials in the URL, other schemes, and non-URLs (asset-url-invalid)', () => {
      for (const u of ['https://user:pw@github.com/fluxcd/flux2/releases/download/v2.9.4/install.yaml', 'file:///etc/passwd', 'not a url', 42]) {
        expect(reasonOf(() => toUnverifiedRelease(release({ assets: [asset('install.yaml', { browser_download_url: u })] }), opts))).toBe('asset-url-invalid');
      }
    });
    it('accepts http on loopback when the API host is listed (the demo and the fake)', () => {
      const a = asset('install.yaml', { browser_download_url: 'http://127.0.0.1:8080/fluxcd/flux2/releases/download/v2.9.4/install.yaml' });
      expect(toUnverifiedRelease(release({ assets: [a] }), { downloadHosts: ['127.0.0.1:8080'], repository: 'fluxcd/flux2' }).assets).toHaveLength(1);
      expect(reasonOf(() => toUnverifiedRelease(release({ assets: [a] }), { downloadHosts: ['127.0.0.1:9090'] }))).toBe('asset-url-host');
    });
  });

  it('refuses a tag that is not a valid OCI tag (release-tag-invalid)', () => {
    for (const t of ['release/v1', '../v1', 'v1 ', '-v1', 'x'.repeat(129), 'v1\u001b[2J']) {
      expect(reasonOf(() => toUnverifiedRelease(release({ tag_name: t }), opts))).toBe('release-tag-invalid');
    }
  });

  it('refuses missing or mistyped fields (release-json-invalid)', () => {
    for (const bad of [null, [], 'x', release({ tag_name: undefined }), release({ draft: 'no' }), release({ prerelease: 1 }), release({ published_at: 'yesterday' }), release({ assets: {} })]) {
      expect(reasonOf(() => toUnverifiedRelease(bad, opts))).toBe('release-json-invalid');
    }
  });

  it('refuses malformed sizes, digests and states', () => {
    expect(reasonOf(() => toUnverifiedRelease(release({ assets: [asset('a', { size: -1 })] }), { downloadHosts: PUBLIC_GITHUB_DOWNLOAD_HOSTS }))).toBe('asset-size-invalid');
    expect(reasonOf(() => toUnverifiedRelease(release({ assets: [asset('a', { size: 1.5 })] }), { downloadHosts: PUBLIC_GITHUB_DOWNLOAD_HOSTS }))).toBe('asset-size-invalid');
    for (const d of ['sha256:xyz', `SHA256:${HEX}`, `md5:${HEX}`, HEX, 7]) {
      expect(reasonOf(() => toUnverifiedRelease(release({ assets: [asset('install.yaml', { digest: d })] }), opts))).toBe('asset-digest-malformed');
    }
    expect(reasonOf(() => toUnverifiedRelease(release({ assets: [asset('install.yaml', { state: 'up\nloaded' })] }), opts))).toBe('asset-state-invalid');
  });

  it('refuses more assets than GitHub allows (asset-count-exceeded)', () => {
    const many = Array.from({ length: 1001 }, (_, i) => asset(`a${i}`));
    expect(reasonOf(() => toUnverifiedRelease(release({ assets: many }), { downloadHosts: PUBLIC_GITHUB_DOWNLOAD_HOSTS }))).toBe('asset-count-exceeded');
  });

  it('neutralises hostile names in the message it prints', () => {
    try {
      toUnverifiedRelease(release({ assets: [asset('\u001b]0;pwned\u0007../x')] }), opts);
      expect.unreachable();
    } catch (e) {
      // eslint-disable-next-line no-control-regex -- the point: no control character may reach the message
      expect((e as Error).message).not.toMatch(/[\u0000-\u001f]/);
      expect((e as Error).message).toContain('\\x1b');
    }
  });
});

describe('download hosts and versions', () => {
  it("defaults to github.com's hosts for the public API and to the API host for Enterprise", () => {
    expect(defaultDownloadHosts(new URL('https://api.github.com'))).toEqual(['github.com', 'objects.githubusercontent.com', 'release-assets.githubusercontent.com']);
    expect(defaultDownloadHosts(new URL('https://ghe.example/api/v3'))).toEqual(['ghe.example']);
    expect(defaultDownloadHosts(new URL('http://127.0.0.1:4000/api/v3'))).toEqual(['127.0.0.1:4000']);
  });
  it('spells the version as asset names do', () => {
    expect(versionOfTag('v2.9.4')).toBe('2.9.4');
    expect(versionOfTag('v2.10.0-rc.1')).toBe('2.10.0-rc.1');
    expect(versionOfTag('2.9.4')).toBe('2.9.4');
    expect(versionOfTag('vnext')).toBe('vnext');
  });
});
