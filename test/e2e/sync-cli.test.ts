/**
 * `airlock sync` through the built CLI: flags override the config file (a cron line needs no edit), the run exits
 * 12 while a refusal is outstanding with the whole result in `--json`, `ledger verify` passes afterwards, and a
 * config mistake exits 2 naming file and line. Upstream: the FAKE GitHub, the kit's Sigstore, a real registry.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncResult } from '../../src/pipeline/sync.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { runCli } from '../support/cli.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { controllers, publishRelease, type PublishedRelease } from '../support/flux-upstream.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-sync-cli-'));
const env = { XDG_CONFIG_HOME: join(dir, 'config'), XDG_STATE_HOME: join(dir, 'state') };
let kit: LocalSigstore;
let github: FakeGitHub;
let src: RunningRegistry;
let srcStore: RegistryStore;
let published: PublishedRelease;
// The ledger sits beside the config, apart from the key under XDG_CONFIG_HOME (a key beside its ledger is refused).
const config = join(dir, 'etc', 'airlock.yaml');

const flags = (): string[] => [
  '--config', config,
  '--github-api', github.apiBase,
  '--source', `${src.host}/fluxcd`,
  '--trusted-root', kit.trustedRootPath,
  '--rekor-url', kit.rekorUrl,
  '--release', 'v2.9.4',
];

beforeAll(async () => {
  kit = await startLocalSigstore({ stateDir: join(dir, 'kit') });
  src = await startRegistry();
  srcStore = new RegistryStore(src.host);
  github = await startFakeGitHub('fluxcd/flux2');
  published = await publishRelease(kit, github, srcStore, 'fluxcd', {
    tag: 'v2.9.4',
    images: [
      ...controllers({ 'source-controller': 'v1.9.4' }),
      { name: 'image-reflector-controller', tag: 'v1.1.1', kind: 'controller', signedBy: null },
      { name: 'flux-cli', tag: 'v2.9.4', kind: 'extra' },
      { name: 'flux-manifests', tag: 'v2.9.4', kind: 'extra' },
    ],
  });
  // The file says newest 3 and another target; the flags win.
  mkdirSync(join(dir, 'etc'));
  writeFileSync(config, 'upstream:\n  token_env: null\n  releases: { newest: 3 }\ntarget: oci:./from-file\nledger:\n  path: airlock.db\n');
}, 120_000);

afterAll(async () => {
  await srcStore?.close();
  await Promise.all([src?.stop(), github?.stop()]);
  await kit?.close();
});

describe('airlock sync (CLI)', () => {
  it('mirrors the verified images into an OCI layout, exits 12 with the refusal, and the ledger verifies', async () => {
    const target = join(dir, 'mirror');
    const r = await runCli(['sync', ...flags(), '--target', `oci:${target}`, '--json'], { env, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(12);
    const err = JSON.parse(r.stdout) as { error: { code: string; details: { result: SyncResult } } };
    expect(err.error.code).toBe('REFUSALS_OUTSTANDING');
    const result = err.error.details.result;
    expect(result.target).toBe(`oci:${target}`);
    expect(result.releases.map((x) => x.tag)).toEqual(['v2.9.4']);
    expect(result.refusals.map((x) => [x.image, x.reason])).toEqual([[`${src.host}/fluxcd/image-reflector-controller`, 'NO_SIGNATURE']]);
    const images = Object.fromEntries(result.releases[0]!.images.map((i) => [i.name, i]));
    for (const name of ['source-controller', 'flux-cli', 'flux-manifests']) {
      expect(images[name]).toMatchObject({ status: 'copied', digest: published.digests.get(name), target: `oci:${target}/${name}:${images[name]!.tag}` });
    }

    const inspect = await runCli(['inspect', `oci:${target}/source-controller:v1.9.4`, '--json'], { env });
    expect(inspect.code, inspect.stderr).toBe(0);
    expect((JSON.parse(inspect.stdout) as { digest: string }).digest).toBe(published.digests.get('source-controller'));

    const v = await runCli(['ledger', 'verify', '--config', config, '--json'], { env });
    expect(v.code, v.stderr).toBe(0);
    const refused = await runCli(['ledger', 'list', '--config', config, '--kind', 'refused', '--json'], { env });
    expect((JSON.parse(refused.stdout) as { entries: { reason: string }[] }).entries.map((e) => e.reason)).toEqual(['NO_SIGNATURE']);

    const rel = await runCli(['releases', ...flags(), '--target', `oci:${target}`, '--json'], { env });
    expect(rel.code, rel.stderr).toBe(0);
    const rows = (JSON.parse(rel.stdout) as { releases: { tag: string; selected: boolean; heldInTarget: string | null; refusals: number }[] }).releases;
    expect(rows).toEqual([expect.objectContaining({ tag: 'v2.9.4', selected: true, heldInTarget: result.releases[0]!.artifact!.digest, refusals: 1 })]);

    // Human output: one line per image, the refusal with its reason.
    const again = await runCli(['sync', ...flags(), '--target', `oci:${target}`], { env, timeoutMs: 120_000 });
    expect(again.code).toBe(12);
    expect(again.stdout).toMatch(/source-controller:v1\.9\.4 present/);
    expect(again.stdout).toMatch(/REFUSED .*image-reflector-controller: NO_SIGNATURE/);
  }, 180_000);

  it('two syncs on the same ledger and target at once: one runs, the other exits 13 (LOCKED) at once; with --wait both finish; the ledger verifies', async () => {
    const target = `oci:${join(dir, 'mirror-locked')}`;
    const [a, b] = await Promise.all([
      runCli(['sync', ...flags(), '--target', target, '--json'], { env, timeoutMs: 120_000 }),
      runCli(['sync', ...flags(), '--target', target, '--json'], { env, timeoutMs: 120_000 }),
    ]);
    const codes = [a.code, b.code].sort();
    // Exactly one ran (12: the upstream's unsigned image stays refused); the other was turned away by the lock.
    expect(codes).toEqual([12, 13]);
    const locked = a.code === 13 ? a : b;
    expect((JSON.parse(locked.stdout) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'LOCKED', message: expect.stringMatching(/--wait SECONDS/) as unknown });

    const [c, d] = await Promise.all([
      runCli(['sync', ...flags(), '--target', target, '--wait', '60', '--json'], { env, timeoutMs: 120_000 }),
      runCli(['sync', ...flags(), '--target', target, '--wait', '60', '--json'], { env, timeoutMs: 120_000 }),
    ]);
    expect([c.code, d.code]).toEqual([12, 12]);
    const v = await runCli(['ledger', 'verify', '--config', config, '--json'], { env });
    expect(v.code, v.stderr).toBe(0);
  }, 180_000);

  it('a config mistake exits 2 naming file, line and key; insecure_ignore_tlog is refused', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'target: oci:./m\ntrust:\n  insecure_ignore_tlog: true\n');
    const r = await runCli(['sync', '--config', bad], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:3: trust.insecure_ignore_tlog is refused`);
  });
});
