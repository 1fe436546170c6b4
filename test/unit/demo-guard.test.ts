import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSyncConfig, type SyncConfig } from '../../src/config/config.js';
import { assertDemoUpstream } from '../../src/config/demo-guard.js';
import type { AirlockError } from '../../src/errors.js';

const DIR = '/srv/airlock-demo';

function demoConfig(): SyncConfig {
  const c = defaultSyncConfig(DIR);
  c.configFile = join(DIR, 'airlock.yaml');
  c.upstream.githubApi = 'http://127.0.0.1:40001/api/v3';
  c.images.source = '127.0.0.1:40002/fluxcd';
  c.trust = { trustedRoot: join(DIR, 'sigstore', 'trusted_root.json'), tufRefresh: false, rekorUrl: 'http://127.0.0.1:40003' };
  return c;
}

const refusal = (c: SyncConfig): AirlockError | undefined => {
  try {
    assertDemoUpstream(c);
    return undefined;
  } catch (e) {
    return e as AirlockError;
  }
};

describe('a demo: true config is refused for any upstream but the demo stand-in', () => {
  it('accepts the demo stand-in on loopback (any target)', () => {
    expect(refusal(demoConfig())).toBeUndefined();
    const c = demoConfig();
    c.target = 'registry.internal/fluxcd';
    expect(refusal(c)).toBeUndefined();
  });

  const cases: [string, (c: SyncConfig) => void][] = [
    ['upstream.github_api', (c) => (c.upstream.githubApi = 'https://api.github.com')],
    ['upstream.github_api', (c) => (c.upstream.githubApi = 'http://127.0.0.1.nip.io:1/api/v3')],
    ['images.source', (c) => (c.images.source = undefined)],
    ['images.source', (c) => (c.images.source = 'ghcr.io/fluxcd')],
    ['trust.rekor_url', (c) => (c.trust.rekorUrl = undefined)],
    ['trust.rekor_url', (c) => (c.trust.rekorUrl = 'https://rekor.sigstore.dev')],
    ['trust.trusted_root', (c) => (c.trust.trustedRoot = undefined)],
    ['trust.trusted_root', (c) => (c.trust.trustedRoot = '/etc/airlock/trusted_root.json')],
  ];
  it.each(cases)('refuses %s pointing elsewhere', (key, change) => {
    const c = demoConfig();
    change(c);
    const e = refusal(c);
    expect(e?.code).toBe('BAD_INPUT');
    expect(e?.message).toContain(key);
    expect(e?.message).toContain('demo config');
  });
});
