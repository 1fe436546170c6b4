/**
 * `airlock demo` through the built CLI: a real sync of the stand-in Flux release into oci:DIR/mirror (exit 0, the one
 * deliberate refusal recorded), the mirror holding exactly the verified images (read back with the layout store and
 * skopeo), `ledger list`/`verify` working inside DIR by config discovery, an idempotent re-run, a demo config
 * refused against a non-demo upstream, a non-demo directory refused, and `--target` into a real docker-registry.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoResult } from '../../src/demo/demo.js';
import { LayoutStore } from '../../src/store/layout/store.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

const root = mkdtempSync(join(tmpdir(), 'airlock-demo-'));
const dir = join(root, 'demo');
const env = { XDG_CONFIG_HOME: join(root, 'config'), XDG_STATE_HOME: join(root, 'state') };
const VERIFIED: Record<string, string> = {
  'source-controller': 'v1.9.4',
  'helm-controller': 'v1.6.3',
  'notification-controller': 'v1.9.1',
  'flux-cli': 'v2.9.4',
  'flux-manifests': 'v2.9.4',
};

async function contentTags(store: LayoutStore, name: string): Promise<string[]> {
  const tags = await store.repository(name).listTags().catch(() => [] as string[]);
  return tags.filter((t) => !t.startsWith('sha256-')).sort();
}

describe('airlock demo', () => {
  let first: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    first = await runCli(['demo', '--dir', dir], { env, cwd: root, timeoutMs: 120_000 });
  }, 130_000);

  it('runs a real sync of the stand-in release and exits 0 with its one refusal, as designed', () => {
    expect(first.stderr).not.toContain('Error');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('1 refusal, as designed (exit 0): kustomize-controller');
    expect(first.stdout).toMatch(/Ledger .*airlock\.db: \d+ entries; checkpoint origin airlock\.ledger\/\S+, size \d+, root \S+/);
    expect(first.stdout).toContain('skopeo inspect oci:mirror/source-controller:v1.9.4');
    const config = readFileSync(join(dir, 'airlock.yaml'), 'utf8');
    expect(config).toMatch(/^demo: true$/m);
    expect(config).toContain('trusted_root: sigstore/trusted_root.json');
  });

  it('leaves exactly the verified images in the mirror, readable by skopeo', async () => {
    const store = new LayoutStore('oci', join(dir, 'mirror'), join(dir, 'mirror'), false);
    try {
      for (const [name, tag] of Object.entries(VERIFIED)) expect(await contentTags(store, name)).toEqual([tag]);
      expect(await contentTags(store, 'kustomize-controller')).toEqual([]);
      expect(await contentTags(store, 'flux-release')).toEqual(['v2.9.4']);
    } finally {
      await store.close();
    }
    const { stdout } = await promisify(execFile)('skopeo', ['inspect', `oci:${join(dir, 'mirror', 'source-controller')}:v1.9.4`]);
    expect((JSON.parse(stdout) as { Digest: string }).Digest).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  it('finds the demo config inside DIR: the refusal is in the ledger, and the ledger verifies', async () => {
    const list = await runCli(['ledger', 'list', '--kind', 'refused', '--json'], { env, cwd: dir });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('kustomize-controller');
    expect(list.stdout).not.toContain('source-controller@');
    const verify = await runCli(['ledger', 'verify'], { env, cwd: dir });
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('OK.');
  });

  it('every airlock command its "Continue" list suggests works inside DIR as printed (the upstream-bound ones aside)', async () => {
    const suggested = first.stdout
      .slice(first.stdout.indexOf('\nContinue:\n'))
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter((l) => l.startsWith('airlock ') && !l.startsWith('airlock releases'));
    // ledger list, ledger verify, the HTML report, audit, archive save, flux install-args, policy kyverno.
    expect(suggested.length).toBeGreaterThanOrEqual(7);
    for (const line of suggested) {
      const r = await runCli(line.split(/\s+/).slice(1), { env, cwd: dir, timeoutMs: 120_000 });
      expect({ line, code: r.code, stderr: r.stderr.split('\n').filter((x) => x.startsWith('airlock:')) }).toEqual({ line, code: 0, stderr: [] });
    }
  }, 300_000);

  it('re-runs idempotently: nothing new mirrored, nothing appended', async () => {
    const again = await runCli(['demo', '--dir', dir, '--json'], { env, cwd: root, timeoutMs: 120_000 });
    expect(again.code).toBe(0);
    const r = JSON.parse(again.stdout) as DemoResult;
    expect(r.generated).toBe(false);
    expect(r.sync.ledger.appended).toBe(0);
    expect(r.sync.releases.flatMap((x) => x.images).filter((i) => i.status === 'copied')).toEqual([]);
    expect(r.sync.refusals.map((x) => x.newlyRecorded)).toEqual([false]);
  }, 130_000);

  it('refuses the demo config against any upstream but its own stand-in', async () => {
    const r = await runCli(['sync', '--github-api', 'https://api.github.com'], { env, cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('demo config');
    expect(r.stderr).toContain('upstream.github_api');
    const rel = await runCli(['releases', '--rekor-url', 'https://rekor.sigstore.dev'], { env, cwd: dir });
    expect(rel.code).toBe(2);
    expect(rel.stderr).toContain('trust.rekor_url');
    // The stand-in runs only during `airlock demo`: afterwards, releases says so.
    const down = await runCli(['releases'], { env, cwd: dir });
    expect(down.code).toBe(5);
    expect(down.stderr).toContain('runs only while `airlock demo` runs');
  });

  it('refuses a non-empty directory that is not a demo', async () => {
    const other = join(root, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'mine');
    const r = await runCli(['demo', '--dir', other], { env, cwd: root });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not an airlock demo directory');
  });

  describe('--target a real registry', () => {
    let registry: RunningRegistry;
    beforeAll(async () => {
      registry = await startRegistry();
    }, 60_000);
    afterAll(async () => {
      await registry?.stop();
    });

    it('mirrors the verified images there', async () => {
      const r = await runCli(['demo', '--dir', join(root, 'to-registry'), '--target', `${registry.host}/mirror/fluxcd`], { env, cwd: root, timeoutMs: 120_000 });
      expect(r.stderr).not.toContain('Error');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`skopeo inspect docker://${registry.host}/mirror/fluxcd/source-controller:v1.9.4`);
      const store = new RegistryStore(registry.host);
      try {
        for (const [name, tag] of Object.entries(VERIFIED)) expect(await store.repository(`mirror/fluxcd/${name}`).headManifest(tag)).toBeDefined();
        expect(await store.repository('mirror/fluxcd/kustomize-controller').listTags().catch(() => [])).toEqual([]);
      } finally {
        await store.close();
      }
    }, 130_000);
  });
});
