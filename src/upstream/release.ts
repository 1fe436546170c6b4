/**
 * The GitHub release model. Release JSON comes from the network and is unverified: nothing here says a release or
 * an asset is genuine (only the signed checksums, checked by src/verify, can). What this module does is refuse
 * JSON that could do harm before anyone acts on it — asset names that would escape a directory, download URLs on
 * hosts we never meant to contact — so the values sync handles are well-formed, if still untrusted.
 */
import { isDigest, type Digest } from '../oci/digest.js';
import { isTag } from '../oci/reference.js';
import { isAllowedScheme } from './http.js';
import { fileNameProblem } from './names.js';
import { safeDetail, shown, upstreamError } from './refusal.js';

export interface UnverifiedAsset {
  /** Marks content nobody has verified; verified values are different types (src/verify). */
  readonly trust: 'unverified';
  readonly id: number | undefined;
  /** A plain file name (names.ts). */
  readonly name: string;
  /** `browser_download_url`, on one of the expected download hosts. */
  readonly url: string;
  readonly size: number;
  /** GitHub's own digest of the upload (`sha256:…`), present on assets uploaded since June 2025. */
  readonly digest: Digest | undefined;
  /** `uploaded` when complete; `open` while an upload is in progress. */
  readonly state: string;
}

export interface UnverifiedRelease {
  readonly trust: 'unverified';
  readonly id: number | undefined;
  /** A valid OCI tag (it names images and files), e.g. `v2.9.4`. */
  readonly tag: string;
  readonly draft: boolean;
  readonly prerelease: boolean;
  readonly publishedAt: string | null;
  readonly assets: readonly UnverifiedAsset[];
}

export interface ReleaseModelOptions {
  /** Hosts (`host` or `host:port`, as in a URL) that `browser_download_url` may point at. */
  downloadHosts: readonly string[];
  /**
   * `owner/repo`: when given, each download URL must be this repository's
   * `/{owner}/{repo}/releases/download/{tag}/{name}`, so a release cannot point an asset at another project's file.
   */
  repository?: string;
}

/** GitHub releases can carry at most 1000 assets. */
export const MAX_ASSETS = 1000;

const PUBLIC_GITHUB_API = 'api.github.com';
export const PUBLIC_GITHUB_DOWNLOAD_HOSTS: readonly string[] = Object.freeze(['github.com', 'objects.githubusercontent.com', 'release-assets.githubusercontent.com']);

/** github.com's download hosts for the public API; for GitHub Enterprise (or the demo) the API's own host. */
export function defaultDownloadHosts(apiBase: URL): readonly string[] {
  return apiBase.host.toLowerCase() === PUBLIC_GITHUB_API ? PUBLIC_GITHUB_DOWNLOAD_HOSTS : [apiBase.host.toLowerCase()];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(field: string, tag: string | undefined, extra: Record<string, unknown> = {}): never {
  throw upstreamError(
    'REGISTRY_ERROR',
    'release-json-invalid',
    `GitHub's release JSON${tag ? ` for ${shown(tag)}` : ''} has no valid ${field}; the API answered something that is not a release.`,
    { field, ...extra },
  );
}

function optionalId(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

/** Validates one release object of GitHub's REST API; throws a typed refusal (details.reason) for the first problem. */
export function toUnverifiedRelease(json: unknown, o: ReleaseModelOptions): UnverifiedRelease {
  if (!isObject(json)) invalid('object', undefined);
  const tag = json.tag_name;
  if (typeof tag !== 'string' || tag.length === 0) invalid('tag_name', undefined);
  // The tag names images (`<target>/<name>:<tag>`) and files, so it must be a valid OCI tag: no `/`, no `..`.
  if (!isTag(tag)) {
    throw upstreamError('REGISTRY_ERROR', 'release-tag-invalid', `The release tag ${shown(tag)} is not a valid OCI tag, so it cannot be mirrored.`, {
      tag: safeDetail(tag),
    });
  }
  if (typeof json.draft !== 'boolean') invalid('draft', tag);
  if (typeof json.prerelease !== 'boolean') invalid('prerelease', tag);
  const published = json.published_at;
  if (published !== null && (typeof published !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(published) || Number.isNaN(Date.parse(published)))) {
    invalid('published_at', tag);
  }
  if (!Array.isArray(json.assets)) invalid('assets', tag);
  if (json.assets.length > MAX_ASSETS) {
    throw upstreamError('LIMIT_EXCEEDED', 'asset-count-exceeded', `The release ${shown(tag)} lists ${json.assets.length} assets, more than GitHub's ${MAX_ASSETS}.`, { tag });
  }
  const assets: UnverifiedAsset[] = [];
  // Case-insensitive: two names differing only in case collide on macOS and Windows file systems.
  const seen = new Set<string>();
  for (const a of json.assets as unknown[]) {
    const asset = toUnverifiedAsset(a, tag, o);
    const key = asset.name.toLowerCase();
    if (seen.has(key)) {
      throw upstreamError('REGISTRY_ERROR', 'asset-name-duplicate', `The release ${shown(tag)} has two assets named ${shown(asset.name)}; refusing an ambiguous release.`, {
        tag,
        asset: safeDetail(asset.name),
      });
    }
    seen.add(key);
    assets.push(asset);
  }
  return Object.freeze({
    trust: 'unverified',
    id: optionalId(json.id),
    tag,
    draft: json.draft,
    prerelease: json.prerelease,
    publishedAt: published as string | null,
    assets: Object.freeze(assets),
  });
}

function toUnverifiedAsset(a: unknown, tag: string, o: ReleaseModelOptions): UnverifiedAsset {
  if (!isObject(a)) invalid('asset object', tag);
  const name = a.name;
  if (typeof name !== 'string') invalid('asset name', tag);
  const problem = fileNameProblem(name);
  if (problem) {
    throw upstreamError('REGISTRY_ERROR', 'asset-name-invalid', `The release ${shown(tag)} has an asset named ${shown(name)}, which is not a plain file name (${problem}).`, {
      tag,
      asset: safeDetail(name),
      problem,
    });
  }
  const size = a.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw upstreamError('REGISTRY_ERROR', 'asset-size-invalid', `The asset ${shown(name)} of ${shown(tag)} has no valid size.`, { tag, asset: name });
  }
  const digest = a.digest;
  // GitHub writes `sha256:<hex>`; anything else present is malformed, not merely absent.
  if (digest !== undefined && digest !== null && (typeof digest !== 'string' || !isDigest(digest))) {
    throw upstreamError('REGISTRY_ERROR', 'asset-digest-malformed', `The asset ${shown(name)} of ${shown(tag)} has a malformed digest ${shown(digest, 80)}.`, {
      tag,
      asset: name,
    });
  }
  const state = a.state;
  if (typeof state !== 'string' || !/^[a-z_]{1,32}$/.test(state)) {
    throw upstreamError('REGISTRY_ERROR', 'asset-state-invalid', `The asset ${shown(name)} of ${shown(tag)} has no valid state.`, { tag, asset: name });
  }
  const url = toDownloadUrl(a.browser_download_url, name, tag, o);
  return Object.freeze({ trust: 'unverified', id: optionalId(a.id), name, url, size, digest: (digest ?? undefined) as Digest | undefined, state });
}

/**
 * Download URLs decide which hosts we contact: https only (http only on loopback), no credentials in the URL, a
 * host from the configured list, and — when the repository is known — this release's own download path.
 */
function toDownloadUrl(raw: unknown, name: string, tag: string, o: ReleaseModelOptions): string {
  const details = { tag, asset: name };
  let url: URL;
  try {
    if (typeof raw !== 'string' || raw.length > 2048) throw new Error('not a string');
    url = new URL(raw);
  } catch (e) {
    throw upstreamError('REGISTRY_ERROR', 'asset-url-invalid', `The asset ${shown(name)} of ${shown(tag)} has no valid download URL.`, details, e);
  }
  if (url.username || url.password || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw upstreamError('REGISTRY_ERROR', 'asset-url-invalid', `The asset ${shown(name)} of ${shown(tag)} has a download URL with credentials or an unknown scheme.`, details);
  }
  if (!isAllowedScheme(url)) {
    throw upstreamError('INSECURE_REFUSED', 'asset-url-insecure', `The asset ${shown(name)} of ${shown(tag)} would be downloaded over plain http from ${shown(url.host)}; only https is allowed.`, details);
  }
  const hosts = o.downloadHosts.map((h) => h.toLowerCase());
  if (!hosts.includes(url.host.toLowerCase())) {
    throw upstreamError('REGISTRY_ERROR', 'asset-url-host', `The asset ${shown(name)} of ${shown(tag)} points at ${shown(url.host)}, which is not an expected download host (${hosts.join(', ')}).`, {
      ...details,
      host: safeDetail(url.host),
    });
  }
  if (o.repository !== undefined && !isReleaseDownloadPath(url, o.repository, tag, name)) {
    throw upstreamError('REGISTRY_ERROR', 'asset-url-path', `The asset ${shown(name)} of ${shown(tag)} points at ${shown(url.pathname)}, not at this release's download path.`, details);
  }
  return url.href;
}

function isReleaseDownloadPath(url: URL, repository: string, tag: string, name: string): boolean {
  if (url.search || url.hash) return false;
  let segments: string[];
  try {
    segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return false;
  }
  const [owner, repo] = repository.toLowerCase().split('/');
  return (
    segments.length === 6 &&
    segments[0]!.toLowerCase() === owner &&
    segments[1]!.toLowerCase() === repo &&
    segments[2] === 'releases' &&
    segments[3] === 'download' &&
    segments[4] === tag &&
    segments[5] === name
  );
}

/** The asset with exactly this name, if the release has one. */
export function assetNamed(release: UnverifiedRelease, name: string): UnverifiedAsset | undefined {
  return release.assets.find((a) => a.name === name);
}

/** The release version as asset names spell it: the tag without a leading `v` (`v2.9.4` → `2.9.4`). */
export function versionOfTag(tag: string): string {
  return /^v\d/.test(tag) ? tag.slice(1) : tag;
}
