import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { runCli } from '../support/cli.js';
import { imageOf, multiArchOf, pushIndex, pushManifest } from '../support/copy-images.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

/** `airlock copy` end to end through the built CLI. */
describe('airlock copy (CLI)', () => {
  let reg: RunningRegistry;
  let store: RegistryStore;

  beforeAll(async () => {
    reg = await startRegistry();
    store = new RegistryStore(reg.host);
  });
  afterAll(async () => {
    await store?.close();
    await reg?.stop();
  });

  it('verifies by default: without a policy (or --insecure-skip-verify) it refuses before contacting a store (BAD_INPUT, one sentence)', async () => {
    const r = await runCli(['copy', `${reg.host}/a/b:v1`, `${reg.host}/c/d`]);
    expect(r.code).toBe(EXIT_CODES.BAD_INPUT);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/needs --certificate-identity .* or use --key/);
  });

  it('copies with --insecure-skip-verify: a loud warning, the source tag kept, --json marks it unverified, no bars off a TTY', async () => {
    const idx = multiArchOf({ attestations: true });
    await pushIndex(store.repository('fluxcd/kustomize-controller'), idx, 'v1.7.0');
    const r = await runCli(['copy', `${reg.host}/fluxcd/kustomize-controller:v1.7.0`, `${reg.host}/mirror/kustomize-controller`, '--insecure-skip-verify', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^UNVERIFIED COPY/);
    expect(r.stderr).not.toContain('\x1b[');
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ digest: idx.descriptor.digest, unverified: true, tagged: true, tag: 'v1.7.0', target: `${reg.host}/mirror/kustomize-controller:v1.7.0` });
    expect((out.manifestsWritten as string[]).length).toBe(7);
    expect(out.peakRssBytes).toBeGreaterThan(0);
    expect((await store.repository('mirror/kustomize-controller').headManifest('v1.7.0'))?.digest).toBe(idx.descriptor.digest);
  });

  it('a content tag pointing elsewhere exits TAG_CONFLICT (16) naming --allow-tag-move; with it, the tag moves', async () => {
    const a = imageOf();
    const b = imageOf();
    await pushManifest(store.repository('conflict/src'), a, 'v2');
    await pushManifest(store.repository('conflict/dst'), b, 'v2');
    const r = await runCli(['copy', `${reg.host}/conflict/src:v2`, `${reg.host}/conflict/dst:v2`, '--insecure-skip-verify']);
    expect(r.code).toBe(EXIT_CODES.TAG_CONFLICT);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2); // the UNVERIFIED warning, then the one-sentence error
    expect(lines[1]).toMatch(/^airlock: The tag "v2" .* already points to sha256:.*, not to sha256:.*--allow-tag-move/);
    const moved = await runCli(['copy', `${reg.host}/conflict/src:v2`, `${reg.host}/conflict/dst:v2`, '--insecure-skip-verify', '--allow-tag-move']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/tagged v2 \(UNVERIFIED\)\.$/m);
    expect((await store.repository('conflict/dst').headManifest('v2'))?.digest).toBe(a.descriptor.digest);
  });
});
