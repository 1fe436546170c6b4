/**
 * The whole airlock.yaml, validated into a SyncConfig with defaults merged. The `ledger:` section (and `demo:`)
 * stay ledger-config.ts's: this module checks only that they are there to be read, so each section has one
 * reader. Every unknown key is an error naming file, line and key; so is `insecure_ignore_tlog`, because a
 * mirror of keyless signatures always has transparency evidence and nothing may turn that check off here.
 *
 * Paths and an `oci:` target in the file are relative to the file's directory; given as flags (flags.ts), to
 * the working directory.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { AirlockError } from '../errors.js';
import { FLUX_PROFILE, toCanonicalPrefix, toReleaseProfile, type ReleaseProfile, type ReleaseSelection } from '../upstream/index.js';
import { resolveConfigPath, type Env } from './paths.js';
import { bool, entries, failAt, int, isNull, nodeAt, readConfigDocument, str, strList, type YamlCtx } from './yaml-nodes.js';

export const DEFAULT_TARGET = 'oci:./mirror';
export const DEFAULT_CLI_ARCHIVES: readonly string[] = Object.freeze(['linux_amd64', 'linux_arm64']);

export interface SyncConfig {
  upstream: {
    githubApi: string;
    repository: string;
    /** The NAME of the environment variable holding the token, never the token. */
    tokenEnv: string | undefined;
    releases: ReleaseSelection;
  };
  /** The release profile: Flux unless the config gives one; canonical prefix merged in. */
  profile: ReleaseProfile;
  images: {
    canonicalPrefix: string;
    /** Where to fetch the canonical images from (a mirror or pull-through cache); undefined: the prefix itself. */
    source: string | undefined;
    requireProvenance: boolean;
  };
  trust: {
    /** A trusted_root.json; undefined: the embedded public-good root refreshed through TUF when online. */
    trustedRoot: string | undefined;
    tufRefresh: boolean;
    /** undefined: public-good Rekor. */
    rekorUrl: string | undefined;
  };
  /** `oci:DIR` (absolute) or a registry prefix such as `registry.internal/fluxcd`. */
  target: string;
  assets: {
    /** `os_arch` of the CLI archives to mirror, e.g. linux_amd64. */
    cliArchives: string[];
    /** A directory the verified assets are also written to, per release; undefined: none. */
    directory: string | undefined;
  };
  concurrency: number;
  registries: { insecure: string[]; ca: Record<string, string>; authfile: string | undefined };
  /** Bounds on what an upstream can make a sync read (the `limits:` section); exceeding one is LIMIT_EXCEEDED. */
  limits: SyncLimits;
  /** A node_exporter textfile-collector file `sync` rewrites after every run; undefined: none. */
  metricsFile: string | undefined;
  configFile: string | null;
}

/** The `limits:` section: each a whole number from 1 to its upper bound (LIMITS_RANGE), defaults as below. */
export interface SyncLimits {
  /** Descriptors in one index, or layers in one image manifest. */
  indexEntries: number;
  /** Levels of manifests below the root (an index of platform manifests is 1). */
  indexDepth: number;
  /** Manifests in the graph of one image. */
  manifests: number;
  /** Layers (signatures) in one `.sig` / `.att` manifest. */
  signatureLayers: number;
  /** Bytes of one signature layer (a payload, DSSE envelope or bundle). */
  signaturePayloadBytes: number;
  /** Bytes of signature manifests and layers read for one digest, in all. */
  signatureBytes: number;
  /** Sigstore bundle referrers considered for one digest. */
  referrers: number;
  /** Bytes of one release asset. */
  assetBytes: number;
}

const MiB = 1024 * 1024;
export const DEFAULT_SYNC_LIMITS: Readonly<SyncLimits> = Object.freeze({
  indexEntries: 1000,
  indexDepth: 4,
  manifests: 10_000,
  signatureLayers: 64,
  signaturePayloadBytes: 16 * MiB,
  signatureBytes: 64 * MiB,
  referrers: 64,
  assetBytes: 512 * MiB,
});

/** The YAML key of each limit and the highest value it may be raised to. */
export const LIMITS_RANGE: Readonly<Record<keyof SyncLimits, { key: string; max: number }>> = Object.freeze({
  indexEntries: { key: 'index_entries', max: 100_000 },
  indexDepth: { key: 'index_depth', max: 16 },
  manifests: { key: 'manifests', max: 100_000 },
  signatureLayers: { key: 'signature_layers', max: 1024 },
  signaturePayloadBytes: { key: 'signature_payload_bytes', max: 256 * MiB },
  signatureBytes: { key: 'signature_bytes', max: 1024 * MiB },
  referrers: { key: 'referrers', max: 1024 },
  assetBytes: { key: 'asset_bytes', max: 16 * 1024 * MiB },
});

const TOP = ['version', 'ledger', 'demo', 'upstream', 'images', 'trust', 'target', 'assets', 'concurrency', 'registries', 'limits', 'metrics_file'];

/** The defaults, as with no config file at all (relative paths against `base`). */
export function defaultSyncConfig(base: string = process.cwd()): SyncConfig {
  return {
    upstream: { githubApi: 'https://api.github.com', repository: FLUX_PROFILE.repository, tokenEnv: 'GITHUB_TOKEN', releases: { newest: 1, prereleases: false } },
    profile: FLUX_PROFILE,
    images: { canonicalPrefix: FLUX_PROFILE.images.canonicalPrefix, source: undefined, requireProvenance: false },
    trust: { trustedRoot: undefined, tufRefresh: true, rekorUrl: undefined },
    target: resolveTarget(DEFAULT_TARGET, base),
    assets: { cliArchives: [...DEFAULT_CLI_ARCHIVES], directory: undefined },
    concurrency: 4,
    registries: { insecure: [], ca: {}, authfile: undefined },
    metricsFile: undefined,
    limits: { ...DEFAULT_SYNC_LIMITS },
    configFile: null,
  };
}

/** `oci:REL` made absolute against `base`; a registry prefix as it is. */
export function resolveTarget(target: string, base: string): string {
  if (!target.startsWith('oci:')) return target.replace(/\/+$/, '');
  const dir = target.slice('oci:'.length);
  if (dir === '') throw new AirlockError('BAD_INPUT', 'The target oci: names no directory; write oci:./mirror or a registry prefix.');
  return `oci:${isAbsolute(dir) ? dir : resolve(base, dir)}`;
}

export function readSyncConfig(file: string | null, env: Env = process.env): SyncConfig {
  if (file === null) return defaultSyncConfig();
  const { doc, ctx } = readConfigDocument(file);
  const base = dirname(file);
  const out = defaultSyncConfig(base);
  out.configFile = file;
  if (isNull(doc.contents)) return out;
  const top = entries(ctx, doc.contents, '', TOP);
  const version = top.get('version');
  if (version !== undefined && int(ctx, version, 'version', 1, 1) !== 1) failAt(ctx, version, 'version must be 1');

  const upstream = top.get('upstream');
  if (!isNull(upstream)) readUpstream(ctx, upstream, out, doc.contents);
  const images = top.get('images');
  if (!isNull(images)) {
    const m = entries(ctx, images, 'images', ['canonical_prefix', 'source', 'require_provenance']);
    if (!isNull(m.get('canonical_prefix'))) out.images.canonicalPrefix = prefix(ctx, m.get('canonical_prefix'), 'images.canonical_prefix');
    if (!isNull(m.get('source'))) out.images.source = prefix(ctx, m.get('source'), 'images.source');
    if (!isNull(m.get('require_provenance'))) out.images.requireProvenance = bool(ctx, m.get('require_provenance'), 'images.require_provenance');
  }
  const trust = top.get('trust');
  if (!isNull(trust)) {
    const m = entries(ctx, trust, 'trust', ['trusted_root', 'tuf_refresh', 'rekor_url', 'insecure_ignore_tlog']);
    if (m.has('insecure_ignore_tlog')) {
      failAt(ctx, m.get('insecure_ignore_tlog'), 'trust.insecure_ignore_tlog is refused: Flux signs keyless, and a keyless signature without transparency evidence is not verified; remove the setting');
    }
    if (!isNull(m.get('trusted_root'))) out.trust.trustedRoot = resolveConfigPath(str(ctx, m.get('trusted_root'), 'trust.trusted_root'), base, env);
    if (!isNull(m.get('tuf_refresh'))) out.trust.tufRefresh = bool(ctx, m.get('tuf_refresh'), 'trust.tuf_refresh');
    if (!isNull(m.get('rekor_url'))) out.trust.rekorUrl = str(ctx, m.get('rekor_url'), 'trust.rekor_url');
  }
  if (!isNull(top.get('target'))) {
    const target = str(ctx, top.get('target'), 'target');
    if (target === 'oci:') failAt(ctx, top.get('target'), 'target oci: names no directory; write oci:./mirror or a registry prefix');
    out.target = resolveTarget(target, base);
  }
  const assets = top.get('assets');
  if (!isNull(assets)) {
    const m = entries(ctx, assets, 'assets', ['cli_archives', 'directory']);
    if (m.has('cli_archives')) out.assets.cliArchives = strList(ctx, m.get('cli_archives'), 'assets.cli_archives');
    if (!isNull(m.get('directory'))) out.assets.directory = resolveConfigPath(str(ctx, m.get('directory'), 'assets.directory'), base, env);
  }
  if (top.has('concurrency')) out.concurrency = int(ctx, top.get('concurrency'), 'concurrency', 1, 32);
  const registries = top.get('registries');
  if (!isNull(registries)) {
    const m = entries(ctx, registries, 'registries', ['insecure', 'ca', 'authfile']);
    out.registries.insecure = strList(ctx, m.get('insecure'), 'registries.insecure');
    if (!isNull(m.get('ca'))) {
      for (const [host, path] of entries(ctx, m.get('ca'), 'registries.ca', [...caHosts(m.get('ca'))])) {
        out.registries.ca[host] = resolveConfigPath(str(ctx, path, `registries.ca.${host}`), base, env);
      }
    }
    if (!isNull(m.get('authfile'))) out.registries.authfile = resolveConfigPath(str(ctx, m.get('authfile'), 'registries.authfile'), base, env);
  }
  if (!isNull(top.get('metrics_file'))) out.metricsFile = resolveConfigPath(str(ctx, top.get('metrics_file'), 'metrics_file'), base, env);
  const limits = top.get('limits');
  if (!isNull(limits)) {
    const names = Object.keys(LIMITS_RANGE) as (keyof SyncLimits)[];
    const m = entries(ctx, limits, 'limits', names.map((k) => LIMITS_RANGE[k].key));
    for (const name of names) {
      const { key, max } = LIMITS_RANGE[name];
      if (m.has(key)) out.limits[name] = int(ctx, m.get(key), `limits.${key}`, 1, max);
    }
  }
  out.profile = withPrefix(out.profile, out.images.canonicalPrefix);
  return out;
}

function prefix(ctx: YamlCtx, node: unknown, key: string): string {
  const value = str(ctx, node, key).replace(/\/+$/, '');
  try {
    toCanonicalPrefix(value);
  } catch {
    failAt(ctx, node, `${key} must be a registry and path without tag or digest, such as ghcr.io/fluxcd`);
  }
  return value;
}

function caHosts(node: unknown): string[] {
  const items = (node as { items?: { key?: { value?: unknown } }[] }).items ?? [];
  return items.map((p) => String(p.key?.value ?? ''));
}

function readUpstream(ctx: YamlCtx, node: unknown, out: SyncConfig, root: unknown): void {
  const m = entries(ctx, node, 'upstream', ['github_api', 'repository', 'token_env', 'releases', 'profile']);
  if (!isNull(m.get('github_api'))) out.upstream.githubApi = str(ctx, m.get('github_api'), 'upstream.github_api');
  if (!isNull(m.get('repository'))) out.upstream.repository = str(ctx, m.get('repository'), 'upstream.repository');
  if (m.has('token_env')) out.upstream.tokenEnv = isNull(m.get('token_env')) ? undefined : str(ctx, m.get('token_env'), 'upstream.token_env');
  const releases = m.get('releases');
  if (!isNull(releases)) {
    const r = entries(ctx, releases, 'upstream.releases', ['range', 'newest', 'versions', 'prereleases']);
    const sel: ReleaseSelection = { prereleases: false };
    if (!isNull(r.get('range'))) sel.range = str(ctx, r.get('range'), 'upstream.releases.range');
    if (!isNull(r.get('newest'))) sel.newest = int(ctx, r.get('newest'), 'upstream.releases.newest', 1, 1000);
    if (r.has('versions')) sel.versions = strList(ctx, r.get('versions'), 'upstream.releases.versions');
    if (!isNull(r.get('prereleases'))) sel.prereleases = bool(ctx, r.get('prereleases'), 'upstream.releases.prereleases');
    out.upstream.releases = sel;
  }
  const profile = m.get('profile');
  if (!isNull(profile)) {
    try {
      out.profile = toReleaseProfile((profile as { toJSON(): unknown }).toJSON(), 'upstream.profile');
    } catch (e) {
      // The profile validator names the key path; put the file and line of that key in front.
      const path = e instanceof AirlockError && typeof e.details?.path === 'string' ? e.details.path : 'upstream.profile';
      const at = nodeAt(root, path) ?? profile;
      failAt(ctx, at, (e as Error).message.replace(/\.$/, ''));
    }
    if (!m.has('repository')) out.upstream.repository = out.profile.repository;
    if (out.images.canonicalPrefix === FLUX_PROFILE.images.canonicalPrefix) out.images.canonicalPrefix = out.profile.images.canonicalPrefix;
  }
}

function withPrefix(profile: ReleaseProfile, canonicalPrefix: string): ReleaseProfile {
  if (profile.images.canonicalPrefix === canonicalPrefix) return profile;
  return toReleaseProfile({ ...JSON.parse(JSON.stringify(profile)), images: { ...JSON.parse(JSON.stringify(profile.images)), canonicalPrefix } });
}
