/**
 * Issue #10 item 3: real target registries refuse pushes for their own reasons. Through a FAKE vendor layer (a
 * fault proxy in front of the real docker-registry answering with ECR's and Harbor's error bodies), `airlock copy`
 * and `airlock sync` say what to do in one sentence, exit with a code that fits, leave no tag behind, and record
 * no copied event for what was not written.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import type { Digest } from '../../src/oci/digest.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { signatureTag } from '../../src/store/types.js';
import { signImageLikeCosign2 } from '../../src/testkit/image-signers.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { runCli } from '../support/cli.js';
import { ecrImmutableTag, ecrRepositoryMissing, harborImmutableTag, harborProjectMissing, harborQuotaExceeded } from '../support/fake-vendor-registry.js';
import { CONTROLLER_FLAGS, controllerClaims, pushImage } from '../support/image-signing.js';
import { startFaultProxy, type FaultProxy } from '../support/proxies.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-e2e-vendor-'));
let kit: LocalSigstore;
let src: RunningRegistry;
let dst: RunningRegistry;
let proxy: FaultProxy;
let srcStore: RegistryStore;
let dstStore: RegistryStore;
let config: string;
let n = 0;

async function signedImage(): Promise<{ ref: string; digest: Digest }> {
  const name = `fluxcd/vendor-${n++}`;
  const { digest } = await pushImage(srcStore.repository(name), 'v1.9.4');
  await signImageLikeCosign2(kit, srcStore.repository(name), digest, { identity: controllerClaims() });
  return { ref: `${src.host}/${name}:v1.9.4`, digest };
}

interface Entry {
  kind: string;
  digest: string | null;
  body: Record<string, unknown>;
}

async function copiedEventsInto(target: string): Promise<Entry[]> {
  const r = await runCli(['ledger', 'list', '--config', config, '--limit', '1000', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { entries: Entry[] }).entries.filter(
    (e) => ['copied-upstream', 'copied-signature', 'composed'].includes(e.kind) && String(e.body.target).startsWith(target),
  );
}

const copy = (ref: string, target: string) => runCli(['copy', ref, target, ...CONTROLLER_FLAGS, '--trusted-root', kit.trustedRootPath, '--config', config]);

beforeAll(async () => {
  kit = await startLocalSigstore({ stateDir: join(dir, 'kit') });
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  proxy = await startFaultProxy(dst.url);
  srcStore = new RegistryStore(src.host);
  dstStore = new RegistryStore(dst.host);
  const init = await runCli(['init', '--dir', join(dir, 'state')]);
  expect(init.code, init.stderr).toBe(0);
  config = join(dir, 'state', 'airlock.yaml');
}, 60_000);

beforeEach(() => proxy.clear());

afterAll(async () => {
  await srcStore?.close();
  await dstStore?.close();
  await proxy?.stop();
  await Promise.all([src?.stop(), dst?.stop()]);
  await kit?.close();
});

describe('vendor refusals of a push, through airlock copy', () => {
  it('ECR: a repository that does not exist → "create the repository first", exit 9, nothing written or recorded as copied', async () => {
    const img = await signedImage();
    const rule = proxy.inject(ecrRepositoryMissing('mirror/ecr'));
    const target = `${proxy.host}/mirror/ecr:v1.9.4`;
    const r = await copy(img.ref, target);
    expect(r.code, r.stderr).toBe(EXIT_CODES.REGISTRY_ERROR);
    expect(r.stderr).toContain('Create the repository mirror/ecr first (ECR does not create repositories on push)');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(rule.applied).toBeGreaterThan(0);
    expect(await dstStore.repository('mirror/ecr').listTags()).toEqual([]);
    expect(await copiedEventsInto(`${proxy.host}/mirror/ecr`)).toEqual([]);
  });

  it('Harbor: a project that does not exist → "Harbor project … does not exist: create it", exit 9', async () => {
    const img = await signedImage();
    proxy.inject(harborProjectMissing('nope'));
    const r = await copy(img.ref, `${proxy.host}/nope/flux:v1.9.4`);
    expect(r.code, r.stderr).toBe(EXIT_CODES.REGISTRY_ERROR);
    expect(r.stderr).toContain('Harbor project nope does not exist');
    expect(r.stderr).toContain('create it');
    expect(await dstStore.repository('nope/flux').listTags()).toEqual([]);
    expect(await copiedEventsInto(`${proxy.host}/nope/flux`)).toEqual([]);
  });

  it('an immutable signature tag that refuses the signature update → "the target tag … is immutable", exit 16, the content tag is not written', async () => {
    const img = await signedImage();
    const sigTag = signatureTag(img.digest, '.sig');
    const rule = proxy.inject(ecrImmutableTag('mirror/immutable-sig', sigTag));
    const r = await copy(img.ref, `${proxy.host}/mirror/immutable-sig:v1.9.4`);
    expect(rule.applied).toBe(1);
    expect(r.code, r.stderr).toBe(EXIT_CODES.TAG_CONFLICT);
    expect(r.stderr).toContain(`The target tag ${sigTag} is immutable`);
    expect(r.stderr).toContain('exclude the signature tags (sha256-*) from the immutability rule');
    // Children and signatures before the tag: the content tag never appeared, and nothing is recorded as copied.
    expect(await dstStore.repository('mirror/immutable-sig').listTags()).not.toContain('v1.9.4');
    expect(await copiedEventsInto(`${proxy.host}/mirror/immutable-sig`)).toEqual([]);
  });

  it('Harbor: an immutable content tag (412 PRECONDITION) → TAG_CONFLICT naming the tag, and no copied event', async () => {
    const img = await signedImage();
    proxy.inject(harborImmutableTag('mirror/immutable', 'v1.9.4'));
    const r = await copy(img.ref, `${proxy.host}/mirror/immutable:v1.9.4`);
    expect(r.code, r.stderr).toBe(EXIT_CODES.TAG_CONFLICT);
    expect(r.stderr).toContain('The target tag v1.9.4 is immutable');
    expect(r.stderr).toContain('configured as immutable');
    expect(await dstStore.repository('mirror/immutable').listTags()).not.toContain('v1.9.4');
    expect((await copiedEventsInto(`${proxy.host}/mirror/immutable`)).filter((e) => e.kind === 'copied-upstream')).toEqual([]);
  });

  it('Harbor: storage quota exceeded (403 DENIED) → "storage quota is exceeded", exit 7, not an authentication error', async () => {
    const img = await signedImage();
    proxy.inject(harborQuotaExceeded('mirror/quota'));
    const r = await copy(img.ref, `${proxy.host}/mirror/quota:v1.9.4`);
    expect(r.code, r.stderr).toBe(EXIT_CODES.LIMIT_EXCEEDED);
    expect(r.stderr).toContain(`The storage quota is exceeded on ${proxy.host}`);
    expect(r.stderr).not.toMatch(/credentials|denied access/);
    expect(await dstStore.repository('mirror/quota').listTags()).toEqual([]);
    expect(await copiedEventsInto(`${proxy.host}/mirror/quota`)).toEqual([]);
  });

  it('a read of a repository that does not exist is not a vendor refusal: inspect still says "not found" (exit 3)', async () => {
    proxy.inject(ecrRepositoryMissing('mirror/absent'));
    const r = await runCli(['inspect', `${proxy.host}/mirror/absent:v1`]);
    expect(r.code, r.stderr).toBe(EXIT_CODES.NOT_FOUND);
    expect(r.stderr).not.toContain('Create the repository');
  });
});

describe('vendor refusals through airlock sync', () => {
  it('ECR without the controller repositories: the sync names the repository to create, records no copied event for it, and the ledger verifies', async () => {
    proxy.inject(ecrRepositoryMissing('fluxcd/source-controller'));
    const demoDir = join(dir, 'demo-ecr');
    const r = await runCli(['demo', '--dir', demoDir, '--target', `${proxy.host}/fluxcd`], { timeoutMs: 120_000 });
    const out = r.stdout + r.stderr;
    expect(r.code, out).not.toBe(0);
    expect(out).toContain('Create the repository fluxcd/source-controller first (ECR does not create repositories on push)');
    expect(await dstStore.repository('fluxcd/source-controller').listTags()).toEqual([]);
    const list = await runCli(['ledger', 'list', '--limit', '1000', '--json'], { cwd: demoDir });
    expect(list.code, list.stderr).toBe(0);
    const entries = (JSON.parse(list.stdout) as { entries: Entry[] }).entries;
    expect(entries.filter((e) => e.kind.startsWith('copied') && String(e.body.target).includes('/fluxcd/source-controller'))).toEqual([]);
    const verify = await runCli(['ledger', 'verify'], { cwd: demoDir });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 150_000);
});
