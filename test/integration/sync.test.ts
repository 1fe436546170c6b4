/**
 * `sync` end to end on real docker-registry instances (the upstream stand-in for ghcr.io/fluxcd, and the target),
 * from a generated Flux-shaped upstream on the FAKE GitHub, signed by the local Sigstore kit as Flux signs, with
 * the attacks: a controller signed by another controller's pipeline (shared workflow SAN — only the
 * Source Repository check refuses it), a signature carrying an older version's ref, a foreign identity, an
 * unsigned image, an asset that does not match the checksums, and a release whose checksums were signed from a
 * fork. Afterwards the target holds exactly the verified set, each refusal is in the ledger once, the ledger
 * verifies, and a re-run appends nothing; a content tag moved upstream is then refused (trust on first use).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSyncConfig, type SyncConfig } from '../../src/config/config.js';
import type { LedgerSettings } from '../../src/config/ledger-config.js';
import type { AirlockError } from '../../src/errors.js';
import { verifyImageReference } from '../../src/image/verify-image.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { FLUX_PROFILE, releaseImages, type ReleaseImage, type UnverifiedRelease } from '../../src/upstream/index.js';
import type { Digest } from '../../src/oci/digest.js';
import { listReleasesBeside } from '../../src/pipeline/releases.js';
import { sync, syncExitError, type SyncResult } from '../../src/pipeline/sync.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { controllerReleaseClaims, githubClaims } from '../../src/testkit/identity.js';
import { attestImageLikeCosign2, signImageLikeCosign2 } from '../../src/testkit/image-signers.js';
import type { LedgerFilter } from '../../src/ledger/query.js';
import { planImage, syncImage } from '../../src/pipeline/sync-image.js';
import { loadTrustAnchorFile } from '../../src/trust/index.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { multiArchOf, pushIndex } from '../support/copy-images.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { controllers, forkClaims, publishRelease, SLSA_GENERATOR, type PublishedRelease } from '../support/flux-upstream.js';
import { ledgerSandbox, type LedgerSandbox } from '../support/ledger-fixtures.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { REPO_ROOT } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-sync-'));
let kit: LocalSigstore;
let github: FakeGitHub;
let src: RunningRegistry;
let dst: RunningRegistry;
let srcStore: RegistryStore;
let dstStore: RegistryStore;
let sandbox: LedgerSandbox;
let v294: PublishedRelease;
let config: SyncConfig;
let ledger: LedgerSettings;

const GOOD = ['source-controller', 'image-automation-controller', 'source-watcher', 'flux-cli', 'flux-manifests'];
const REFUSED = ['kustomize-controller', 'helm-controller', 'notification-controller', 'image-reflector-controller'];

async function tagsIn(name: string): Promise<Record<string, Digest>> {
  const repo = dstStore.repository(`mirror/fluxcd/${name}`);
  const tags = await repo.listTags().catch(() => [] as string[]);
  const out: Record<string, Digest> = {};
  for (const t of tags) out[t] = (await repo.headManifest(t))!.digest;
  return out;
}

beforeAll(async () => {
  kit = await startLocalSigstore({ stateDir: join(dir, 'kit') });
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  srcStore = new RegistryStore(src.host);
  dstStore = new RegistryStore(dst.host);
  github = await startFakeGitHub('fluxcd/flux2');
  sandbox = ledgerSandbox('airlock-sync-ledger-');

  // An older release whose checksums were signed from a fork: nothing of it may be mirrored.
  await publishRelease(kit, github, srcStore, 'fluxcd', {
    tag: 'v2.9.3',
    images: [...controllers({ 'source-controller': 'v1.9.3' }), { name: 'flux-cli', tag: 'v2.9.3', kind: 'extra' }],
    checksumsSignedBy: forkClaims('v2.9.3'),
  });
  v294 = await publishRelease(kit, github, srcStore, 'fluxcd', {
    tag: 'v2.9.4',
    images: [
      ...controllers({ 'source-controller': 'v1.9.4', 'image-automation-controller': 'v1.1.2', 'source-watcher': 'v2.2.3' }),
      // Valid signature by source-controller's pipeline: the same gha-workflows SAN, another Source Repository.
      { name: 'kustomize-controller', tag: 'v1.9.2', kind: 'controller', signedBy: controllerReleaseClaims('source-controller', 'v1.9.4') },
      // Its own pipeline, but an older release's ref: a replayed old signature under the new tag.
      { name: 'helm-controller', tag: 'v1.6.3', kind: 'controller', signedBy: controllerReleaseClaims('helm-controller', 'v1.6.2') },
      { name: 'notification-controller', tag: 'v1.9.1', kind: 'controller', signedBy: githubClaims({ repository: 'attacker/notification-controller', workflowPath: '.github/workflows/release.yml', ref: 'refs/tags/v1.9.1' }) },
      { name: 'image-reflector-controller', tag: 'v1.1.1', kind: 'controller', signedBy: null },
      { name: 'flux-cli', tag: 'v2.9.4', kind: 'extra' },
      { name: 'flux-manifests', tag: 'v2.9.4', kind: 'extra' },
    ],
    tampered: ['flux_2.9.4_linux_arm64.tar.gz'],
  });

  config = defaultSyncConfig(dir);
  config.upstream = { githubApi: github.apiBase, repository: 'fluxcd/flux2', tokenEnv: undefined, releases: { newest: 2 } };
  config.images.source = `${src.host}/fluxcd`;
  config.target = `${dst.host}/mirror/fluxcd`;
  config.trust = { trustedRoot: kit.trustedRootPath, tufRefresh: false, rekorUrl: kit.rekorUrl };
  config.assets = { cliArchives: ['linux_amd64', 'linux_arm64'], directory: join(dir, 'assets') };
  ledger = { path: sandbox.ledgerPath, key: sandbox.keyFor, sinks: [], demo: false, configFile: null, configSource: 'none' };
}, 120_000);

afterAll(async () => {
  await srcStore?.close();
  await dstStore?.close();
  await Promise.all([src?.stop(), dst?.stop(), github?.stop()]);
  await kit?.close();
  sandbox?.cleanup();
});

describe('airlock sync', () => {
  let first: SyncResult;

  it('mirrors exactly the verified set, refuses each attack with its reason, and exits 12', async () => {
    first = await sync({ config, ledger, toolVersion: 'test' });
    expect(first.failures).toEqual([]);
    const byRelease = Object.fromEntries(first.releases.map((r) => [r.tag, r]));
    expect(byRelease['v2.9.3']!.status).toBe('refused');
    expect(byRelease['v2.9.3']!.images).toEqual([]);
    expect(byRelease['v2.9.4']!.status).toBe('partial');
    expect(byRelease['v2.9.4']!.checksums).toMatchObject({ evidence: 'rekor', identity: 'https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.9.4' });
    expect(byRelease['v2.9.4']!.assets.map((a) => a.name).sort()).toEqual(['flux_2.9.4_linux_amd64.tar.gz', 'install.yaml', 'manifests.tar.gz']);
    expect(byRelease['v2.9.4']!.ignoredImages).toEqual(['docker.io/library/busybox:1.36']);

    const statuses = Object.fromEntries(byRelease['v2.9.4']!.images.map((i) => [i.name, i.status]));
    for (const name of GOOD) expect(statuses[name], name).toBe('copied');
    for (const name of REFUSED) expect(statuses[name], name).toBe('refused');

    const reasons = first.refusals.map((r) => [r.image ?? '', r.reason, r.check]);
    expect(reasons).toEqual(
      expect.arrayContaining([
        ['fluxcd/flux2@v2.9.3', 'VERIFY_FAILED', 'identity'],
        ['fluxcd/flux2@v2.9.4/flux_2.9.4_linux_arm64.tar.gz', 'INTEGRITY', 'checksums'],
        [`${src.host}/fluxcd/kustomize-controller`, 'VERIFY_FAILED', expect.anything()],
        [`${src.host}/fluxcd/helm-controller`, 'VERIFY_FAILED', expect.anything()],
        [`${src.host}/fluxcd/notification-controller`, 'VERIFY_FAILED', expect.anything()],
        [`${src.host}/fluxcd/image-reflector-controller`, 'NO_SIGNATURE', null],
      ]),
    );
    expect(first.refusals).toHaveLength(6);
    expect(syncExitError(first)?.exitCode).toBe(12);

    // The target: exactly the verified images, at their upstream digests, under <target>/<name>:<tag>.
    for (const name of GOOD) {
      const tag = byRelease['v2.9.4']!.images.find((i) => i.name === name)!.tag;
      const tags = await tagsIn(name);
      expect(tags[tag], name).toBe(v294.digests.get(name));
      // Signature objects that verified came along (the .sig tag).
      expect(Object.keys(tags).some((t) => t.endsWith('.sig')), name).toBe(true);
    }
    // Controllers' SLSA provenance verified under the generator identity bound to the controller and its version: carried.
    for (const name of ['source-controller', 'image-automation-controller', 'source-watcher']) {
      expect(Object.keys(await tagsIn(name)).some((t) => t.endsWith('.att')), name).toBe(true);
    }
    for (const name of REFUSED) expect(await tagsIn(name), name).toEqual({});
    expect(await tagsIn('source-controller')).not.toHaveProperty('v1.9.3');
    // Exactly the verified set, listed by repository, tag and digest (signature tags aside): nothing else in the target.
    const catalog = (await (await fetch(`http://${dst.host}/v2/_catalog`)).json()) as { repositories: string[] };
    expect(catalog.repositories.sort()).toEqual([...GOOD, 'airlock-ledger', 'flux-release'].map((n) => `mirror/fluxcd/${n}`).sort());
    const listing: string[] = [];
    for (const name of [...GOOD, 'flux-release']) {
      for (const [tag, digest] of Object.entries(await tagsIn(name))) if (!/^sha256-/.test(tag)) listing.push(`${name}:${tag}@${digest}`);
    }
    expect(listing.sort()).toEqual(
      [
        ...GOOD.map((n) => `${n}:${byRelease['v2.9.4']!.images.find((i) => i.name === n)!.tag}@${v294.digests.get(n)}`),
        `flux-release:v2.9.4@${byRelease['v2.9.4']!.artifact!.digest}`,
      ].sort(),
    );
    // The release's verified files, checksums, signature material and bundle: one OCI artifact in the target.
    expect(byRelease['v2.9.4']!.artifact).toMatchObject({ status: 'published' });
    expect(byRelease['v2.9.3']!.artifact).toBeUndefined();
    expect(await tagsIn('flux-release')).toEqual({ 'v2.9.4': byRelease['v2.9.4']!.artifact!.digest });
    const pulled = join(dir, 'pulled');
    const oras = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(join(REPO_ROOT, '.tools', 'bin', 'oras'), ['pull', '--plain-http', '-o', pulled, `${dst.host}/mirror/fluxcd/flux-release:v2.9.4`], { timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` }),
      ),
    );
    expect(oras.code, oras.out).toBe(0);
    expect(readdirSync(pulled).sort()).toEqual([
      'flux_2.9.4_checksums.txt',
      'flux_2.9.4_checksums.txt.pem',
      'flux_2.9.4_checksums.txt.sig',
      'flux_2.9.4_checksums.txt.sigstore.json',
      'flux_2.9.4_linux_amd64.tar.gz',
      'install.yaml',
      'manifests.tar.gz',
    ]);
    expect(readFileSync(join(pulled, 'flux_2.9.4_checksums.txt'))).toEqual(v294.checksums);
    // assets.directory holds the same set, file for file.
    expect(readdirSync(join(dir, 'assets', 'v2.9.4')).sort()).toEqual(readdirSync(pulled).sort());
    expect(readFileSync(join(dir, 'assets', 'v2.9.4', 'flux_2.9.4_checksums.txt.sigstore.json'))).toEqual(readFileSync(join(pulled, 'flux_2.9.4_checksums.txt.sigstore.json')));
    // The bundle built from Rekor's entry verifies the checksums offline, in the real cosign.
    const offline = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(
        join(REPO_ROOT, '.tools', 'bin', 'cosign'),
        ['verify-blob', '--new-bundle-format', '--trusted-root', kit.trustedRootPath, '--bundle', join(pulled, 'flux_2.9.4_checksums.txt.sigstore.json'), '--certificate-identity', 'https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.9.4', '--certificate-oidc-issuer', 'https://token.actions.githubusercontent.com', join(pulled, 'flux_2.9.4_checksums.txt')],
        { env: { ...process.env, ...kit.cosignEnv() }, timeout: 60_000 },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` }),
      ),
    );
    expect(offline.code, offline.out).toBe(0);
    // Verified release files were kept; the tampered archive was not.
    expect(first.releases.find((r) => r.tag === 'v2.9.4')!.assetsLeft).toEqual(expect.arrayContaining([{ name: 'flux_2.9.4_darwin_arm64.tar.gz', why: 'platform-not-selected' }]));
  }, 120_000);

  it('the real cosign verifies the mirrored images at the target, under the strict controller identity', async () => {
    const cosign = (args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile(join(REPO_ROOT, '.tools', 'bin', 'cosign'), args, { env: { ...process.env, ...kit.cosignEnv() }, timeout: 60_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` }),
        );
      });
    const reg = ['--allow-http-registry', '--allow-insecure-registry', '--rekor-url', kit.rekorUrl, '--certificate-oidc-issuer', 'https://token.actions.githubusercontent.com'];
    const controller = await cosign([
      'verify', ...reg,
      '--certificate-identity-regexp', '^https://github\\.com/fluxcd/gha-workflows/\\.github/workflows/controller-release\\.yaml@refs/tags/v.*$',
      '--certificate-github-workflow-repository', 'fluxcd/source-controller',
      `${dst.host}/mirror/fluxcd/source-controller:v1.9.4`,
    ]);
    expect(controller.code, controller.out).toBe(0);
    const cli = await cosign(['verify', ...reg, '--certificate-identity', 'https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.9.4', `${dst.host}/mirror/fluxcd/flux-cli:v2.9.4`]);
    expect(cli.code, cli.out).toBe(0);
  }, 120_000);

  it('the shared controller workflow is refused by exactly the Source Repository URI / Ref checks', async () => {
    // The profile's second identity (gha-workflows, with the extensions), alone: the SAN matches for both attacks,
    // so the only check left to refuse them is the extension binding to this controller at this version.
    const viaSharedWorkflow = (name: string, tag: string) => {
      const identity = releaseImages(FLUX_PROFILE, { tag: 'v2.9.4' } as UnverifiedRelease, { images: [{ name, tag, digest: undefined, reference: `ghcr.io/fluxcd/${name}:${tag}` }], ignored: [] })[0]!.identities[1]!;
      return verifyImageReference({ reference: `${src.host}/fluxcd/${name}:${tag}`, policy: identity, trustedRootPath: kit.trustedRootPath });
    };
    for (const [name, tag] of [['kustomize-controller', 'v1.9.2'], ['helm-controller', 'v1.6.3']] as const) {
      const e = await viaSharedWorkflow(name, tag).then(() => undefined, (x: unknown) => x as AirlockError);
      expect(e?.details?.check, name).toBe('certificate-extensions');
    }
    await expect(viaSharedWorkflow('source-controller', 'v1.9.4')).resolves.toMatchObject({ digest: v294.digests.get('source-controller') });
  });

  it('recorded each refusal once, verified before copied, and the ledger verifies', () => {
    const l = sandbox.open();
    try {
      const refused = l.list({ kind: 'refused', limit: 100 });
      expect(refused).toHaveLength(6);
      expect(l.list({ kind: 'release-discovered', limit: 10 }).map((e) => e.release)).toEqual(['v2.9.4']);
      expect(l.list({ kind: 'composed', release: 'v2.9.4', limit: 10 }).map((e) => e.body.what)).toEqual([expect.stringMatching(/^release artifact/)]);
      for (const name of GOOD) {
        const digest = v294.digests.get(name)!;
        const story = l.list({ digest, order: 'asc', limit: 100 }).filter((e) => e.digest === digest).map((e) => e.kind);
        expect(story.indexOf('verified'), name).toBeGreaterThanOrEqual(0);
        expect(story.indexOf('copied-upstream'), name).toBeGreaterThan(story.indexOf('verified'));
        // each image's events name the release it came with (`ledger list --release`, the report's grouping)
        const own = l.list({ digest, limit: 100 }).filter((e) => e.kind !== 'refused');
        expect(new Set(own.map((e) => e.release)), name).toEqual(new Set(['v2.9.4']));
      }
      expect(verifyLedger(l).ok).toBe(true);
    } finally {
      l.close();
    }
  });

  it('releases: upstream beside what the mirror holds', async () => {
    const r = await listReleasesBeside({ config, ledger });
    const rows = Object.fromEntries(r.releases.map((x) => [x.tag, x]));
    expect(rows['v2.9.4']).toMatchObject({ selected: true, recordedChecksums: `sha256:${createHash('sha256').update(v294.checksums).digest('hex')}`, heldInTarget: first.releases.find((x) => x.tag === 'v2.9.4')!.artifact!.digest, refusals: 5 });
    expect(rows['v2.9.3']).toMatchObject({ selected: true, recordedChecksums: null, heldInTarget: null, refusals: 1 });
  });

  it('a re-run copies nothing and appends nothing; the refusals stay outstanding', async () => {
    const before = github.requests.length;
    const again = await sync({ config, ledger, toolVersion: 'test' });
    // The release list was revalidated with the ETag kept beside the ledger (a 304 is free against the rate limit).
    expect(github.requests.slice(before).filter((q) => q.origin === 'api' && q.status === 304).length).toBeGreaterThan(0);
    expect(again.refusals).toHaveLength(6);
    expect(again.refusals.every((r) => !r.newlyRecorded)).toBe(true);
    expect(again.releases.find((r) => r.tag === 'v2.9.4')!.images.filter((i) => i.status === 'present').map((i) => i.name).sort()).toEqual([...GOOD].sort());
    expect(again.ledger.appended).toBe(0);
    expect(again.releases.find((r) => r.tag === 'v2.9.4')!.artifact).toMatchObject({ status: 'present' });
    expect(syncExitError(again)?.code).toBe('REFUSALS_OUTSTANDING');
  }, 120_000);

  it('a fresh ledger against a mirrored target stops and says how to proceed; adopted, the target is verified again and reconciled, not trusted', async () => {
    const other = ledgerSandbox('airlock-sync-reconcile-');
    try {
      const fresh: LedgerSettings = { path: other.ledgerPath, key: other.keyFor, sinks: [], demo: false, configFile: null, configSource: 'none' };
      const one = { ...config, upstream: { ...config.upstream, releases: { versions: ['v2.9.4'] } } };
      // Check: the fresh-ledger guard (src/pipeline/fresh-ledger-guard.ts). Nothing is appended when it stops.
      await expect(sync({ config: one, ledger: fresh, toolVersion: 'test' })).rejects.toMatchObject({ code: 'LEDGER_INVALID', message: expect.stringMatching(/--adopt-target/) as unknown });
      const empty = other.open();
      try {
        expect(empty.size()).toBe(0);
      } finally {
        empty.close();
      }
      const r = await sync({ config: one, ledger: fresh, toolVersion: 'test', adoptTarget: true });
      const statuses = Object.fromEntries(r.releases[0]!.images.map((i) => [i.name, i.status]));
      for (const name of GOOD) expect(statuses[name], name).toBe('reconciled');
      const l = other.open();
      try {
        for (const name of GOOD) {
          const kinds = l.list({ digest: v294.digests.get(name)!, order: 'asc', limit: 100 }).filter((e) => e.digest === v294.digests.get(name)).map((e) => e.kind);
          expect(kinds, name).toEqual(['verified', 'copied-upstream']);
        }
        expect(verifyLedger(l).ok).toBe(true);
      } finally {
        l.close();
      }
      // Once it holds records, the ledger is no longer fresh: no flag needed.
      const again = await sync({ config: one, ledger: fresh, toolVersion: 'test' });
      expect(again.releases[0]!.images.filter((i) => i.status === 'present').map((i) => i.name).sort()).toEqual([...GOOD].sort());
    } finally {
      other.cleanup();
    }
  }, 120_000);

  it('with provenance required, controllers without a verified SLSA provenance are refused and the others mirrored', async () => {
    const other = ledgerSandbox('airlock-sync-provenance-');
    try {
      // A controller whose image is signed correctly but whose provenance comes from another controller's build.
      const repo = srcStore.repository('fluxcd/notification-controller');
      const idx = multiArchOf({ layerSizes: [64] });
      await pushIndex(repo, idx, 'v1.9.9');
      await signImageLikeCosign2(kit, repo, idx.descriptor.digest, { identity: controllerReleaseClaims('notification-controller', 'v1.9.9') });
      await attestImageLikeCosign2(kit, repo, idx.descriptor.digest, {
        identity: githubClaims({ repository: 'fluxcd/source-controller', workflowPath: '.github/workflows/release.yml', ref: 'refs/tags/v1.9.4', jobWorkflowRef: SLSA_GENERATOR }),
      });
      const images: ReleaseImage[] = ['source-controller:v1.9.4', 'notification-controller:v1.9.9'].map((ref) => {
        const [name, tag] = ref.split(':') as [string, string];
        return releaseImages(FLUX_PROFILE, { tag: 'v2.9.4' } as UnverifiedRelease, { images: [{ name, tag, digest: undefined, reference: `ghcr.io/fluxcd/${ref}` }], ignored: [] })[0]!;
      });
      const l = other.open({ create: true });
      try {
        const run = l.startRun({ command: 'test', toolVersion: 'test' });
        const o = { trust: loadTrustAnchorFile(kit.trustedRootPath), run, ledgerList: (f: LedgerFilter) => l.list(f), storeOptions: {}, concurrency: 2 };
        const at = { canonicalPrefix: 'ghcr.io/fluxcd', source: `${src.host}/fluxcd`, target: `${dst.host}/provenance/fluxcd`, requireProvenance: true };
        const good = await syncImage(planImage(images[0]!, at), o);
        expect(good.digest).toBe(v294.digests.get('source-controller'));
        const e = await syncImage(planImage(images[1]!, at), o).then(() => undefined, (x: unknown) => x as AirlockError);
        expect(e?.details?.check).toBe('provenance-required');
        await run.finish({ outcome: 'refusals', counts: {} });
      } finally {
        l.close();
      }
      expect(await dstStore.repository('provenance/fluxcd/notification-controller').listTags().catch(() => [])).toEqual([]);
    } finally {
      other.cleanup();
    }
  }, 120_000);

  it('trust on first use: a content tag moved upstream, even validly signed, is refused and the target keeps its digest', async () => {
    const repo = srcStore.repository('fluxcd/source-controller');
    const moved = multiArchOf({ layerSizes: [128], attestations: true });
    await pushIndex(repo, moved, 'v1.9.4');
    await signImageLikeCosign2(kit, repo, moved.descriptor.digest, { identity: controllerReleaseClaims('source-controller', 'v1.9.4') });
    const r = await sync({ config, ledger, toolVersion: 'test' });
    const refusal = r.refusals.find((x) => x.image === `${src.host}/fluxcd/source-controller`);
    expect(refusal).toMatchObject({ reason: 'TAG_CONFLICT', check: 'trust-on-first-use', digest: moved.descriptor.digest, newlyRecorded: true });
    expect((await tagsIn('source-controller'))['v1.9.4']).toBe(v294.digests.get('source-controller'));
  }, 120_000);
});
