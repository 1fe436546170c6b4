/**
 * The essential settings as flags of `sync` and `releases`, overriding the file, so a cron line or a one-off
 * needs no edit. There is deliberately no flag that skips or weakens verification.
 */
import { AirlockError } from '../errors.js';
import { toCanonicalPrefix } from '../upstream/index.js';
import { defaultSyncConfig, readSyncConfig, resolveTarget, type SyncConfig } from './config.js';
import { discoverConfig, type Env } from './paths.js';
import { resolve } from 'node:path';

export interface SyncFlagValues {
  githubApi?: string;
  source?: string;
  target?: string;
  trustedRoot?: string;
  rekorUrl?: string;
  /** Explicit releases; when given they replace the file's selection (range and newest too). */
  releases?: readonly string[];
}

export function applySyncFlags(config: SyncConfig, f: SyncFlagValues, cwd: string = process.cwd()): SyncConfig {
  const out: SyncConfig = structuredClone({ ...config, profile: undefined }) as unknown as SyncConfig;
  out.profile = config.profile;
  if (f.githubApi !== undefined) out.upstream.githubApi = f.githubApi;
  if (f.source !== undefined) {
    const source = f.source.replace(/\/+$/, '');
    try {
      toCanonicalPrefix(source);
    } catch (e) {
      throw new AirlockError('BAD_INPUT', `--source ${JSON.stringify(f.source.slice(0, 120))} is not a registry/path prefix such as mirror.internal/fluxcd.`, { cause: e });
    }
    out.images.source = source;
  }
  if (f.target !== undefined) out.target = resolveTarget(f.target, cwd);
  if (f.trustedRoot !== undefined) out.trust.trustedRoot = resolve(cwd, f.trustedRoot);
  if (f.rekorUrl !== undefined) out.trust.rekorUrl = f.rekorUrl;
  if (f.releases !== undefined && f.releases.length > 0) {
    // Naming releases is the whole selection: a one-off mirrors exactly those (prereleases included, by name).
    out.upstream.releases = { versions: [...f.releases], prereleases: false };
  }
  return out;
}

/** The config in force: the discovered file (--config, $AIRLOCK_CONFIG, ./airlock.yaml, user config) with the flags on top. */
export function resolveSyncConfig(o: { config?: string | undefined; flags: SyncFlagValues; env?: Env; cwd?: string }): SyncConfig {
  const env = o.env ?? process.env;
  const found = discoverConfig({ flag: o.config, env, ...(o.cwd ? { cwd: o.cwd } : {}) });
  const fromFile = found.file ? readSyncConfig(found.file, env) : defaultSyncConfig(o.cwd ?? process.cwd());
  return applySyncFlags(fromFile, o.flags, o.cwd ?? process.cwd());
}
