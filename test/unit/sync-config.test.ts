import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SYNC_LIMITS, defaultSyncConfig, LIMITS_RANGE, readSyncConfig } from '../../src/config/config.js';
import { readLedgerSection } from '../../src/config/ledger-config.js';
import { applySyncFlags } from '../../src/config/sync-flags.js';
import { AirlockError } from '../../src/errors.js';
import { FLUX_PROFILE } from '../../src/upstream/index.js';
import { REPO_ROOT } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-sync-config-'));
let n = 0;
function file(text: string): string {
  const p = join(dir, `c${n++}.yaml`);
  writeFileSync(p, text);
  return p;
}
function refused(text: string): AirlockError {
  const p = file(text);
  try {
    readSyncConfig(p, {});
  } catch (e) {
    expect(e).toBeInstanceOf(AirlockError);
    expect((e as AirlockError).code).toBe('BAD_INPUT');
    return e as AirlockError;
  }
  throw new Error('expected the config to be refused');
}

describe('sync config', () => {
  it('has the embedded defaults: Flux profile, oci:./mirror, newest release, public-good trust', () => {
    const c = defaultSyncConfig('/srv');
    expect(c.target).toBe('oci:/srv/mirror');
    expect(c.profile).toBe(FLUX_PROFILE);
    expect(c.upstream).toMatchObject({ githubApi: 'https://api.github.com', repository: 'fluxcd/flux2', tokenEnv: 'GITHUB_TOKEN', releases: { newest: 1 } });
    expect(c.trust).toEqual({ trustedRoot: undefined, tufRefresh: true, rekorUrl: undefined });
  });

  it('reads every section, paths relative to the file, defaults merged', () => {
    const p = file(`version: 1
upstream:
  github_api: https://ghe.example/api/v3
  token_env: GHE_TOKEN
  releases: { range: ">=2.7.0 <3", newest: 3, versions: [v2.6.1], prereleases: true }
images:
  canonical_prefix: ghcr.io/fluxcd
  source: cache.internal/ghcr/fluxcd
  require_provenance: true
trust:
  trusted_root: roots/trusted_root.json
  rekor_url: https://rekor.internal
target: registry.internal/fluxcd/
assets:
  cli_archives: [linux_amd64]
  directory: ./assets
concurrency: 8
registries:
  insecure: [registry.internal:5000]
  ca: { "registry.internal": ca.pem }
ledger:
  path: airlock.db
`);
    const c = readSyncConfig(p, {});
    expect(c.upstream).toEqual({
      githubApi: 'https://ghe.example/api/v3',
      repository: 'fluxcd/flux2',
      tokenEnv: 'GHE_TOKEN',
      releases: { range: '>=2.7.0 <3', newest: 3, versions: ['v2.6.1'], prereleases: true },
    });
    expect(c.images).toEqual({ canonicalPrefix: 'ghcr.io/fluxcd', source: 'cache.internal/ghcr/fluxcd', requireProvenance: true });
    expect(c.trust).toEqual({ trustedRoot: join(dir, 'roots/trusted_root.json'), tufRefresh: true, rekorUrl: 'https://rekor.internal' });
    expect(c.target).toBe('registry.internal/fluxcd');
    expect(c.assets).toEqual({ cliArchives: ['linux_amd64'], directory: join(dir, 'assets') });
    expect(c.concurrency).toBe(8);
    expect(c.registries).toEqual({ insecure: ['registry.internal:5000'], ca: { 'registry.internal': join(dir, 'ca.pem') }, authfile: undefined });
    expect(readLedgerSection(p, {}).path).toBe(join(dir, 'airlock.db'));
  });

  it('an oci: target is relative to the config file', () => {
    expect(readSyncConfig(file('target: oci:./m\n'), {}).target).toBe(`oci:${join(dir, 'm')}`);
  });

  it('unknown keys name file, line and the key path', () => {
    expect(refused('upstream:\n  repository: fluxcd/flux2\n  tokn_env: X\n').message).toMatch(/c\d+\.yaml:3: unknown setting upstream\.tokn_env \(known: /);
    expect(refused('target: oci:./m\ntargets: x\n').message).toMatch(/:2: unknown setting targets /);
    expect(refused('upstream:\n  releases:\n    newst: 2\n').message).toMatch(/:3: unknown setting upstream\.releases\.newst/);
  });

  it('refuses insecure_ignore_tlog, wherever it is set, with its line', () => {
    const e = refused('trust:\n  rekor_url: https://rekor.internal\n  insecure_ignore_tlog: true\n');
    expect(e.message).toMatch(/:3: trust\.insecure_ignore_tlog is refused/);
    expect(e.details).toMatchObject({ line: 3 });
  });

  it('wrong types and values name the line', () => {
    expect(refused('concurrency: 0\n').message).toMatch(/:1: concurrency must be a whole number from 1 to 32/);
    expect(refused('images:\n  require_provenance: yes please\n').message).toMatch(/:2: images\.require_provenance must be true or false/);
    expect(refused('images:\n  canonical_prefix: "ghcr.io/fluxcd:v1"\n').message).toMatch(/:2: images\.canonical_prefix must be a registry and path/);
    expect(refused('upstream: [a]\n').message).toMatch(/:1: upstream must be a mapping/);
    expect(refused('a: [\n').message).toMatch(/not valid YAML/);
  });

  it('a custom release profile is config, not code; its mistakes name the line of the key', () => {
    const profile = `upstream:
  profile:
    name: tool
    repository: example/tool
    checksums:
      name: checksums.txt
      signature: { signature: "{checksums}.sig", certificate: "{checksums}.pem" }
      identities:
        - certificateIdentity: https://github.com/example/tool/.github/workflows/sign.yml@refs/tags/{releaseTag}
          certificateOidcIssuer: https://token.actions.githubusercontent.com
    images:
      canonicalPrefix: ghcr.io/example
      extra:
        - name: tool
          tag: "{tag}"
          identities:
            - certificateIdentity: https://github.com/example/tool/.github/workflows/sign.yml@refs/tags/{version}
              certificateOidcIssuer: https://token.actions.githubusercontent.com
`;
    const c = readSyncConfig(file(profile), {});
    expect(c.profile.name).toBe('tool');
    expect(c.upstream.repository).toBe('example/tool');
    expect(c.images.canonicalPrefix).toBe('ghcr.io/example');
    const e = refused(profile.replace('tag: "{tag}"', 'tag: "{os}"'));
    expect(e.message).toMatch(/:15: The release profile's upstream\.profile\.images\.extra\[0\]\.tag uses \{os\}/);
  });

  it('flags override the file', () => {
    const c = applySyncFlags(readSyncConfig(file('upstream:\n  releases: { newest: 3 }\ntarget: registry.internal/fluxcd\n'), {}), {
      githubApi: 'http://127.0.0.1:1/api/v3',
      source: 'cache.internal/fluxcd',
      target: 'oci:out',
      trustedRoot: 'root.json',
      rekorUrl: 'http://127.0.0.1:2',
      releases: ['v2.9.4', 'v2.8.0'],
    }, '/work');
    expect(c.upstream.githubApi).toBe('http://127.0.0.1:1/api/v3');
    expect(c.upstream.releases).toEqual({ versions: ['v2.9.4', 'v2.8.0'], prereleases: false });
    expect(c.images.source).toBe('cache.internal/fluxcd');
    expect(c.target).toBe('oci:/work/out');
    expect(c.trust).toMatchObject({ trustedRoot: '/work/root.json', rekorUrl: 'http://127.0.0.1:2' });
    expect(() => applySyncFlags(c, { source: 'bad:tag:x' })).toThrow(/--source/);
  });

  it('limits: safe defaults; each one raised or lowered alone, refused outside 1..its upper bound with its line', () => {
    expect(defaultSyncConfig('/srv').limits).toEqual(DEFAULT_SYNC_LIMITS);
    expect(DEFAULT_SYNC_LIMITS).toMatchObject({ indexEntries: 1000, indexDepth: 4, signatureLayers: 64 });
    const c = readSyncConfig(file('limits:\n  index_entries: 20000\n  index_depth: 2\n  signature_layers: 8\n  asset_bytes: 1048576\n'), {});
    expect(c.limits).toEqual({ ...DEFAULT_SYNC_LIMITS, indexEntries: 20000, indexDepth: 2, signatureLayers: 8, assetBytes: 1048576 });
    expect(refused('limits:\n  index_depth: 0\n').message).toMatch(/:2: limits\.index_depth must be a whole number from 1 to 16/);
    expect(refused('limits:\n  index_entries: 100001\n').message).toMatch(/limits\.index_entries must be a whole number from 1 to 100000/);
    expect(refused('limits:\n  signature_bytes: 1.5\n').message).toMatch(/limits\.signature_bytes must be a whole number/);
    expect(refused('limits:\n  referrers: "64"\n').message).toMatch(/limits\.referrers must be a whole number/);
    expect(refused('limits:\n  manifest_bytes: 1\n').message).toMatch(/unknown setting limits\.manifest_bytes/);
    expect(refused('limits: 5\n').message).toMatch(/limits must be a mapping/);
  });

  it('config.example.yaml is a valid config', () => {
    const c = readSyncConfig(join(REPO_ROOT, 'config.example.yaml'), {});
    expect(c.profile.name).toBe('flux');
    expect(readFileSync(join(REPO_ROOT, 'config.example.yaml'), 'utf8')).not.toMatch(/not read yet/);
    // Every limit is written out, at its default, with its maximum in the comment above it.
    const example = readFileSync(join(REPO_ROOT, 'config.example.yaml'), 'utf8');
    expect(c.limits).toEqual(DEFAULT_SYNC_LIMITS);
    for (const { key, max } of Object.values(LIMITS_RANGE)) {
      expect(example, key).toMatch(new RegExp(`^  # .*\\(max ${max}[ )].*\\n  ${key}: \\d+$`, 'm'));
    }
  });
});
