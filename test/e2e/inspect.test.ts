import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { openReference } from '../../src/store/open.js';
import { signatureTag } from '../../src/store/types.js';
import { runCli } from '../support/cli.js';
import { startFakeReferrersRegistry } from '../support/fake-referrers-registry.js';
import { blobOf, chunks, jsonBytes, multiArchImage, pushImage } from '../support/layout-fixtures.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

/** `airlock inspect` end to end through the built CLI: each bad input gives one sentence and its own exit code. */
describe('airlock inspect (CLI)', () => {
  let reg: RunningRegistry;
  let dir: string;

  beforeAll(async () => {
    reg = await startRegistry();
    dir = await mkdtemp(join(tmpdir(), 'airlock-e2e-inspect-'));
  });
  afterAll(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function oneSentence(stderr: string): void {
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^airlock: .+[.;].*$/);
  }

  it('an unparsable reference exits BAD_INPUT', async () => {
    const r = await runCli(['inspect', 'Not A/Reference']);
    expect(r.code).toBe(EXIT_CODES.BAD_INPUT);
    oneSentence(r.stderr);
    expect(r.stderr).toMatch(/not a valid reference/);
  });

  it('an unreachable registry exits UNREACHABLE', async () => {
    const r = await runCli(['inspect', '127.0.0.1:1/x/y:z']);
    expect(r.code).toBe(EXIT_CODES.UNREACHABLE);
    oneSentence(r.stderr);
  });

  it('a missing tag exits NOT_FOUND', async () => {
    const r = await runCli(['inspect', `${reg.host}/nothing/here:v1`]);
    expect(r.code).toBe(EXIT_CODES.NOT_FOUND);
    oneSentence(r.stderr);
  });

  it('a missing layout exits LAYOUT_INVALID', async () => {
    const r = await runCli(['inspect', `oci:${join(dir, 'absent')}:v1`]);
    expect(r.code).toBe(EXIT_CODES.LAYOUT_INVALID);
    oneSentence(r.stderr);
  });

  it('a corrupt layout exits LAYOUT_INVALID and is left as it was', async () => {
    const bad = join(dir, 'corrupt');
    await mkdir(bad);
    await writeFile(join(bad, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(bad, 'index.json'), '{not json');
    const r = await runCli(['inspect', `oci:${bad}:v1`]);
    expect(r.code).toBe(EXIT_CODES.LAYOUT_INVALID);
    oneSentence(r.stderr);
  });

  it('bad credentials exit AUTH_FAILED and the password is not printed', async () => {
    const authReg = await startRegistry({ htpasswd: { alice: 'right-password' } });
    try {
      const authfile = join(dir, 'auth.json');
      const basic = Buffer.from('alice:Wr0ngPassw0rd').toString('base64');
      await writeFile(authfile, JSON.stringify({ auths: { [authReg.host]: { auth: basic } } }));
      const r = await runCli(['inspect', `${authReg.host}/x/y:v1`, '--authfile', authfile]);
      expect(r.code).toBe(EXIT_CODES.AUTH_FAILED);
      oneSentence(r.stderr);
      expect(r.stderr + r.stdout).not.toContain('Wr0ngPassw0rd');
      expect(r.stderr + r.stdout).not.toContain(basic);
    } finally {
      await authReg.stop();
    }
  });

  it('an oversized manifest exits LIMIT_EXCEEDED', async () => {
    // FAKE registry: docker-registry itself refuses to store a manifest this large, so a hostile one is served.
    const fake = await startFakeReferrersRegistry();
    try {
      fake.overrideManifest('big/image', 'v1', {
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        body: new Uint8Array(5 * 1024 * 1024).fill(0x20),
      });
      const r = await runCli(['inspect', `${fake.host}/big/image:v1`]);
      expect(r.code).toBe(EXIT_CODES.LIMIT_EXCEEDED);
      oneSentence(r.stderr);
    } finally {
      await fake.stop();
    }
  });

  it('inspects a multi-arch index with a cosign signature tag, in a registry and in a layout', async () => {
    const image = multiArchImage([1024, 4096]);
    const reg2 = await openReference(`${reg.host}/fluxcd/source-controller:v1.9.4`);
    await pushImage(reg2.repository, image, 'v1.9.4');
    // A stand-in signature manifest under cosign's legacy tag (its content is not verified by inspect).
    const payload = blobOf(jsonBytes({ critical: { image: { 'docker-manifest-digest': image.index.descriptor.digest } } }), 'application/vnd.dev.cosign.simplesigning.v1+json');
    const config = blobOf(jsonBytes({}), 'application/vnd.oci.image.config.v1+json');
    for (const b of [payload, config]) await reg2.repository.putBlob(b.descriptor, chunks(b.bytes));
    const sig = jsonBytes({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: config.descriptor, layers: [payload.descriptor] });
    await reg2.repository.putManifest(sig, 'application/vnd.oci.image.manifest.v1+json', signatureTag(image.index.descriptor.digest, '.sig'));
    await reg2.store.close();

    const layoutDir = join(dir, 'mirror');
    const lay = await openReference(`oci:${layoutDir}`, { create: true });
    await pushImage(lay.store.repository('source-controller'), image, 'v1.9.4');
    await lay.store.close();

    for (const ref of [`${reg.host}/fluxcd/source-controller:v1.9.4`, `oci:${join(layoutDir, 'source-controller')}:v1.9.4`]) {
      const r = await runCli(['inspect', ref, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { digest: string; kind: string; manifests: { platform: string }[]; artifacts: { tag?: string }[] };
      expect(out.digest).toBe(image.index.descriptor.digest);
      expect(out.kind).toBe('index');
      expect(out.manifests.map((m) => m.platform)).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm']);
      if (ref.startsWith('oci:')) expect(out.artifacts).toEqual([]);
      else expect(out.artifacts.map((a) => a.tag)).toEqual([signatureTag(image.index.descriptor.digest, '.sig')]);
    }
    const human = await runCli(['inspect', `${reg.host}/fluxcd/source-controller:v1.9.4`]);
    expect(human.stdout).toContain('linux/arm64');
    expect(human.stdout).toContain('.sig');
  });

  it('--json carries the error code', async () => {
    const r = await runCli(['inspect', 'Not A/Reference', '--json']);
    expect(r.code).toBe(EXIT_CODES.BAD_INPUT);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'BAD_INPUT' } });
  });
});
