import { Flags } from '@oclif/core';
import type { SyncFlagValues } from '../config/sync-flags.js';

/** The essential settings of `sync` and `releases`, overriding the config file. No flag skips verification. */
export const syncConfigFlags = {
  'github-api': Flags.string({ description: "GitHub's API base URL (GitHub Enterprise: https://ghe.example/api/v3)" }),
  source: Flags.string({ description: 'fetch the canonical images from this prefix instead (a mirror or pull-through cache)' }),
  target: Flags.string({ description: 'where the mirror goes: a registry prefix such as registry.internal/fluxcd, or oci:DIR' }),
  'trusted-root': Flags.string({ description: 'a trusted_root.json to verify against (default: the embedded public-good root, refreshed through TUF)' }),
  'rekor-url': Flags.string({ description: 'the Rekor searched for detached checksums signatures (default: public-good)' }),
  release: Flags.string({ multiple: true, description: 'mirror exactly this release (repeatable), e.g. --release v2.9.4' }),
};

export function syncFlagValues(f: { 'github-api'?: string; source?: string; target?: string; 'trusted-root'?: string; 'rekor-url'?: string; release?: string[] }): SyncFlagValues {
  return {
    ...(f['github-api'] !== undefined ? { githubApi: f['github-api'] } : {}),
    ...(f.source !== undefined ? { source: f.source } : {}),
    ...(f.target !== undefined ? { target: f.target } : {}),
    ...(f['trusted-root'] !== undefined ? { trustedRoot: f['trusted-root'] } : {}),
    ...(f['rekor-url'] !== undefined ? { rekorUrl: f['rekor-url'] } : {}),
    ...(f.release !== undefined ? { releases: f.release } : {}),
  };
}
