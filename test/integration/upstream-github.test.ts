/**
 * src/upstream/github.ts and download.ts against the FAKE GitHub (test/support/fake-github.ts): pagination, ETag
 * revalidation, where the token goes, and downloads that are refused while they stream.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors.js';
import { GitHubReleases, type CachedResponse, type GitHubClientOptions } from '../../src/upstream/github.js';
import { refusalReasonOf } from '../../src/upstream/refusal.js';
import type { UnverifiedAsset } from '../../src/upstream/release.js';
import { startFakeGitHub, type FakeAsset, type FakeGitHub } from '../support/fake-github.js';

const TOKEN = 'ghp_FAKEtokenFORtests0123456789abcdef';
const bytes = (n: number, seed = 1): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251));

let fake: FakeGitHub;

function client(o: Partial<GitHubClientOptions> = {}): GitHubReleases {
  return new GitHubReleases({ apiBase: fake.apiBase, repository: 'fluxcd/flux2', tokenEnv: 'GH_TOKEN', env: { GH_TOKEN: TOKEN }, ...o });
}

function mapCache(): { map: Map<string, CachedResponse>; get: (u: string) => CachedResponse | undefined; set: (u: string, e: CachedResponse) => void } {
  const map = new Map<string, CachedResponse>();
  return { map, get: (u) => map.get(u), set: (u, e) => void map.set(u, e) };
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<{ received: number; error: unknown; data: Buffer }> {
  const chunks: Uint8Array[] = [];
  try {
    for await (const c of stream) chunks.push(c);
    return { received: chunks.reduce((n, c) => n + c.byteLength, 0), error: undefined, data: Buffer.concat(chunks) };
  } catch (error) {
    return { received: chunks.reduce((n, c) => n + c.byteLength, 0), error, data: Buffer.concat(chunks) };
  }
}

async function expectRefusal(p: Promise<unknown>, code: string, reason: string): Promise<Error> {
  try {
    await p;
  } catch (e) {
    expect(isAirlockError(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    expect(refusalReasonOf(e)).toBe(reason);
    return e as Error;
  }
  throw new Error(`expected ${reason}`);
}

function fluxRelease(tag: string, extra: FakeAsset[] = []): { tag: string; assets: FakeAsset[] } {
  const v = tag.slice(1);
  return {
    tag,
    assets: [
      { name: `flux_${v}_checksums.txt`, bytes: Buffer.from(`${'a'.repeat(64)}  install.yaml\n`) },
      { name: `flux_${v}_checksums.txt.sig`, bytes: Buffer.from('c2ln') },
      { name: `flux_${v}_checksums.txt.pem`, bytes: Buffer.from('cGVt') },
      { name: 'install.yaml', bytes: Buffer.from('apiVersion: v1\nkind: Namespace\n') },
      ...extra,
    ],
  };
}

beforeEach(async () => {
  fake = await startFakeGitHub();
});
afterEach(async () => {
  await fake.stop();
});

describe('listing releases', () => {
  it('follows Link pagination across pages, in the API order', async () => {
    for (let i = 1; i <= 7; i++) fake.addRelease(fluxRelease(`v2.${i}.0`));
    const list = await client({ perPage: 3 }).listReleases();
    expect(list.releases.map((r) => r.tag)).toEqual(['v2.7.0', 'v2.6.0', 'v2.5.0', 'v2.4.0', 'v2.3.0', 'v2.2.0', 'v2.1.0']);
    expect(list).toMatchObject({ pages: 3, truncated: false, notModified: 0, refused: [] });
    expect(fake.requests.filter((r) => r.origin === 'api').map((r) => r.path)).toEqual([
      '/api/v3/repos/fluxcd/flux2/releases?per_page=3',
      '/api/v3/repos/fluxcd/flux2/releases?per_page=3&page=2',
      '/api/v3/repos/fluxcd/flux2/releases?per_page=3&page=3',
    ]);
    expect(list.releases[0]!.assets.map((a) => a.name)).toContain('install.yaml');
    expect(list.releases[0]!.trust).toBe('unverified');
  });

  it('stops at maxPages and says the listing is truncated', async () => {
    for (let i = 1; i <= 7; i++) fake.addRelease(fluxRelease(`v2.${i}.0`));
    const list = await client({ perPage: 2, maxPages: 2 }).listReleases();
    expect(list.releases).toHaveLength(4);
    expect(list).toMatchObject({ pages: 2, truncated: true });
    expect(fake.requests).toHaveLength(2);
  });

  it('revalidates with If-None-Match and reuses the cached body on 304 (pages included)', async () => {
    for (let i = 1; i <= 5; i++) fake.addRelease(fluxRelease(`v2.${i}.0`));
    const cache = mapCache();
    const first = await client({ perPage: 2, cache }).listReleases();
    expect(first).toMatchObject({ pages: 3, notModified: 0 });
    expect(cache.map.size).toBe(3);
    const before = fake.requests.length;
    const second = await client({ perPage: 2, cache }).listReleases();
    expect(second).toMatchObject({ pages: 3, notModified: 3 });
    expect(second.releases).toEqual(first.releases);
    const again = fake.requests.slice(before);
    expect(again).toHaveLength(3);
    expect(again.every((r) => r.status === 304 && r.ifNoneMatch !== undefined)).toBe(true);
    // The cache holds bodies and ETags, never the token.
    expect(JSON.stringify([...cache.map])).not.toContain(TOKEN);

    // A change upstream is seen: the first page's ETag no longer matches.
    fake.addRelease(fluxRelease('v2.6.0'));
    const third = await client({ perPage: 2, cache }).listReleases();
    expect(third.releases[0]!.tag).toBe('v2.6.0');
    expect(third.releases).toHaveLength(6);
  });

  it('reads one release by tag (with the cache too) and says when there is none', async () => {
    fake.addRelease(fluxRelease('v2.9.4'));
    fake.addRelease({ ...fluxRelease('v2.10.0'), draft: true });
    const cache = mapCache();
    expect((await client({ cache }).getRelease('v2.9.4')).tag).toBe('v2.9.4');
    await client({ cache }).getRelease('v2.9.4');
    expect(fake.requests.map((r) => r.status)).toEqual([200, 304]);
    await expect(client().getRelease('v9.9.9')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(client().getRelease('v2.10.0')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(client().getRelease('../v2.9.4')).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('refuses a release answered for another tag (release-tag-mismatch)', async () => {
    fake.addRelease(fluxRelease('v2.9.4'));
    fake.rawRelease('v2.9.4', { ...(fake.releaseJson('v2.9.4') as object), tag_name: 'v2.9.5', assets: [] });
    await expectRefusal(client().getRelease('v2.9.4'), 'REGISTRY_ERROR', 'release-tag-mismatch');
  });

  it('lists hostile releases as refused, with their reason, and keeps the others', async () => {
    fake.addRelease(fluxRelease('v2.8.0'));
    fake.addRelease(fluxRelease('v2.9.0', [{ name: 'x', bytes: bytes(3) }]));
    fake.addRelease(fluxRelease('v2.9.1', [{ name: 'y', bytes: bytes(3), url: 'https://evil.example/fluxcd/flux2/releases/download/v2.9.1/y' }]));
    const hostile = fake.releaseJson('v2.9.0') as { assets: { name: string }[] };
    hostile.assets[4]!.name = '../../etc/cron.d/x';
    fake.rawRelease('v2.9.0', hostile);
    const list = await client().listReleases();
    expect(list.releases.map((r) => r.tag)).toEqual(['v2.8.0']);
    expect(list.refused.map((r) => [r.tag, r.reason])).toEqual([
      ['v2.9.1', 'asset-url-host'],
      ['v2.9.0', 'asset-name-invalid'],
    ]);
  });

  it('refuses a pagination link that leaves the API origin, before sending anything there', async () => {
    for (let i = 1; i <= 3; i++) fake.addRelease(fluxRelease(`v2.${i}.0`));
    fake.nextLinkOverride = `<${fake.downloadOrigin}/api/v3/repos/fluxcd/flux2/releases?page=2>; rel="next"`;
    await expectRefusal(client({ perPage: 1 }).listReleases(), 'INSECURE_REFUSED', 'pagination-cross-origin');
    expect(fake.requests.filter((r) => r.origin === 'download')).toEqual([]);
    fake.nextLinkOverride = `<${fake.apiOrigin}/elsewhere?page=2>; rel="next"`;
    await expectRefusal(client({ perPage: 1 }).listReleases(), 'INSECURE_REFUSED', 'pagination-cross-origin');
  });

  it('turns rate-limit answers into a clear error, naming the token variable when anonymous', async () => {
    fake.addRelease(fluxRelease('v2.9.4'));
    fake.rateLimit(1, 403);
    const e = await expectRefusal(client({ env: {} }).listReleases(), 'UNREACHABLE', 'rate-limited');
    expect(e.message).toMatch(/^GitHub's API at 127\.0\.0\.1:\d+ refuses more requests until \d{4}-.*\(rate limit\); set a GitHub token in \$GH_TOKEN/);
    expect((e as unknown as { details: Record<string, unknown> }).details).toMatchObject({ status: 403, authenticated: false, retryAt: expect.any(String) });
    fake.rateLimit(1, 429);
    const e2 = await expectRefusal(client().listReleases(), 'UNREACHABLE', 'rate-limited');
    expect(e2.message).toMatch(/wait and run again/);
    // The limit over, the same client works.
    expect((await client().listReleases()).releases).toHaveLength(1);
  });
});

describe('the token goes to the API origin only', () => {
  it('is sent to the API, never to the download path on the API host, never to the download origin', async () => {
    const payload = bytes(10_000);
    fake.addRelease(fluxRelease('v2.9.4', [{ name: 'flux_2.9.4_linux_amd64.tar.gz', bytes: payload }]));
    const gh = client();
    await gh.listReleases();
    const release = await gh.getRelease('v2.9.4');
    const asset = release.assets.find((a) => a.name === 'flux_2.9.4_linux_amd64.tar.gz')!;
    expect(new URL(asset.url).host).toBe(fake.apiHost); // GitHub Enterprise shape: downloads start on the API host
    const dl = await gh.downloadAsset(asset);
    const { data, error } = await drain(dl.stream);
    expect(error).toBeUndefined();
    expect(data.equals(payload)).toBe(true);
    expect(dl.digest).toBe(`sha256:${createHash('sha256').update(payload).digest('hex')}`);

    const api = fake.requests.filter((r) => r.origin === 'api' && r.path.startsWith('/api/v3/'));
    const redirect = fake.requests.filter((r) => r.origin === 'api' && r.path.includes('/releases/download/'));
    const storage = fake.requests.filter((r) => r.origin === 'download');
    expect(api).toHaveLength(2);
    expect(api.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(redirect).toHaveLength(1);
    expect(redirect[0]!.status).toBe(302);
    expect(storage).toHaveLength(1);
    expect([...redirect, ...storage].map((r) => r.authorization)).toEqual([undefined, undefined]);
  });

  it('follows an API redirect within the origin with the token, and refuses one that leaves it', async () => {
    fake.addRelease(fluxRelease('v2.9.4'));
    fake.apiRedirect = `${fake.apiBase}/moved/repositories/1/releases`;
    expect((await client().listReleases()).releases).toHaveLength(1);
    expect(fake.requests.map((r) => [r.status, r.authorization])).toEqual([
      [301, `Bearer ${TOKEN}`],
      [200, `Bearer ${TOKEN}`],
    ]);
    fake.apiRedirect = `${fake.downloadOrigin}/api/v3/repos/fluxcd/flux2/releases`;
    await expectRefusal(client().listReleases(), 'INSECURE_REFUSED', 'api-redirect-cross-origin');
    expect(fake.requests.filter((r) => r.origin === 'download')).toEqual([]);
  });

  it('keeps the token out of the client object itself', async () => {
    const { inspect } = await import('node:util');
    const gh = client();
    expect(JSON.stringify(gh)).not.toContain(TOKEN);
    expect(inspect(gh, { depth: 5 })).not.toContain(TOKEN);
  });

  it('refuses a token with control characters without echoing it', () => {
    try {
      client({ env: { GH_TOKEN: `${TOKEN}\r\nX-Evil: 1` } });
      expect.unreachable();
    } catch (e) {
      expect(isAirlockError(e, 'BAD_INPUT')).toBe(true);
      expect((e as Error).message).not.toContain(TOKEN);
    }
  });

  it('reports a refused token as AUTH_FAILED, and a missing repository as NOT_FOUND, without the token', async () => {
    fake.acceptToken = 'ghp_another';
    const e = (await client().listReleases().catch((x: unknown) => x)) as Error;
    expect(isAirlockError(e, 'AUTH_FAILED')).toBe(true);
    expect(e.message).toMatch(/\$GH_TOKEN/);
    fake.acceptToken = undefined;
    const gh = new GitHubReleases({ apiBase: fake.apiBase, repository: 'fluxcd/nothing', tokenEnv: 'GH_TOKEN', env: { GH_TOKEN: TOKEN } });
    const n = (await gh.listReleases().catch((x: unknown) => x)) as Error;
    expect(isAirlockError(n, 'NOT_FOUND')).toBe(true);
    for (const x of [e, n]) expect(JSON.stringify({ m: x.message, d: (x as { details?: unknown }).details, c: String((x as { cause?: unknown }).cause) })).not.toContain(TOKEN);
  });
});

describe('downloads', () => {
  async function assetOf(extra: FakeAsset, tag = 'v2.9.4'): Promise<{ gh: GitHubReleases; asset: UnverifiedAsset }> {
    fake.addRelease(fluxRelease(tag, [extra]));
    const gh = client();
    const release = await gh.getRelease(tag);
    return { gh, asset: release.assets.find((a) => a.name === extra.name)! };
  }

  it('refuses bytes that do not match GitHub’s digest, mid-stream, before handing over the last chunk', async () => {
    const good = bytes(64 * 1024);
    const bad = Buffer.from(good);
    bad[100] = bad[100]! ^ 0xff;
    const { gh, asset } = await assetOf({ name: 'manifests.tar.gz', bytes: good, served: bad });
    const dl = await gh.downloadAsset(asset);
    const { received, error } = await drain(dl.stream);
    expect(isAirlockError(error, 'INTEGRITY')).toBe(true);
    expect(refusalReasonOf(error)).toBe('asset-digest-mismatch');
    expect(received).toBeLessThan(good.length); // the consumer never held the whole (wrong) file
  });

  it('refuses an asset larger than the limit before downloading it (asset-too-large)', async () => {
    const { gh, asset } = await assetOf({ name: 'big.tar.gz', bytes: bytes(4096) });
    const before = fake.requests.length;
    await expectRefusal(gh.downloadAsset(asset, { maxBytes: 1024 }), 'LIMIT_EXCEEDED', 'asset-too-large');
    expect(fake.requests.length).toBe(before);
  });

  it('stops reading a body longer than the asset’s size (asset-size-mismatch)', async () => {
    const { gh, asset } = await assetOf({ name: 'endless.tar.gz', bytes: bytes(1000), served: bytes(200_000), chunked: true, digest: null });
    const { received, error } = await drain((await gh.downloadAsset(asset)).stream);
    expect(refusalReasonOf(error)).toBe('asset-size-mismatch');
    expect(received).toBeLessThanOrEqual(1000);
  });

  it('refuses a declared length that differs from the asset’s size, and a short body', async () => {
    const { gh, asset } = await assetOf({ name: 'short.tar.gz', bytes: bytes(1000), served: bytes(999) });
    await expectRefusal(gh.downloadAsset(asset), 'INTEGRITY', 'asset-size-mismatch');
    const chunked = await assetOf({ name: 'short2.tar.gz', bytes: bytes(1000), served: bytes(999), chunked: true, digest: null }, 'v2.9.5');
    const { error } = await drain((await chunked.gh.downloadAsset(chunked.asset)).stream);
    expect(refusalReasonOf(error)).toBe('asset-size-mismatch');
  });

  it('refuses a redirect to plain http off loopback (redirect-insecure) without contacting it', async () => {
    const { gh, asset } = await assetOf({ name: 'install2.yaml', bytes: bytes(10) });
    fake.redirectFor = () => 'http://downloads.example.com/storage/install2.yaml';
    const e = await expectRefusal(gh.downloadAsset(asset), 'INSECURE_REFUSED', 'redirect-insecure');
    expect(e.message).not.toContain('?');
  });

  it('refuses redirect loops and redirects to hosts outside a configured list', async () => {
    const { asset } = await assetOf({ name: 'loop.bin', bytes: bytes(10) });
    fake.redirectFor = (tag, name) => `${fake.apiOrigin}/fluxcd/flux2/releases/download/${tag}/${name}`;
    await expectRefusal(client().downloadAsset(asset), 'REGISTRY_ERROR', 'redirect-loop');
    fake.redirectFor = undefined;
    await expectRefusal(client({ redirectHosts: ['objects.example'] }).downloadAsset(asset), 'REGISTRY_ERROR', 'redirect-host');
  });

  it('refuses an asset whose upload is not complete (asset-not-uploaded)', async () => {
    const { gh, asset } = await assetOf({ name: 'partial.bin', bytes: bytes(10), state: 'open' });
    await expectRefusal(gh.downloadAsset(asset), 'REGISTRY_ERROR', 'asset-not-uploaded');
  });

  it('streams an asset without a GitHub digest, checking its size', async () => {
    const payload = bytes(5000, 7);
    const { gh, asset } = await assetOf({ name: 'old.tar.gz', bytes: payload, digest: null });
    expect(asset.digest).toBeUndefined();
    const { data, error } = await drain((await gh.downloadAsset(asset)).stream);
    expect(error).toBeUndefined();
    expect(data.equals(payload)).toBe(true);
  });
});

describe('configuration', () => {
  it('refuses plain http to a non-loopback API and malformed repositories', () => {
    expect(() => new GitHubReleases({ apiBase: 'http://ghe.example/api/v3', repository: 'fluxcd/flux2' })).toThrow(/plain http/);
    expect(() => new GitHubReleases({ apiBase: 'https://user:pw@ghe.example/api/v3', repository: 'fluxcd/flux2' })).toThrow(/credentials/);
    for (const repo of ['fluxcd', 'fluxcd/flux2/x', '../x', 'fluxcd/..']) {
      expect(() => new GitHubReleases({ repository: repo })).toThrow(/owner\/name/);
    }
  });
  it("uses github.com's download hosts for the public API and the API host for Enterprise", () => {
    expect(new GitHubReleases({ repository: 'fluxcd/flux2' }).downloadHosts).toContain('release-assets.githubusercontent.com');
    expect(new GitHubReleases({ apiBase: 'https://ghe.example/api/v3', repository: 'fluxcd/flux2' }).downloadHosts).toEqual(['ghe.example']);
  });
});
