/**
 * The release model is a profile, given as config: a second, differently shaped project (one image, a plain
 * `checksums.txt` signed under another workflow, no install manifest) read from YAML and synced end to end, on
 * the FAKE GitHub, the kit's Sigstore and real docker-registry instances. The same project signed under the
 * Flux identity instead is refused: identities come from the profile, never from code.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSyncConfig, type SyncConfig } from '../../src/config/config.js';
import type { LedgerSettings } from '../../src/config/ledger-config.js';
import { sync, syncExitError } from '../../src/pipeline/sync.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { fluxReleaseClaims, githubClaims } from '../../src/testkit/identity.js';
import { signImageLikeCosign2 } from '../../src/testkit/image-signers.js';
import { signBlobLikeFlux } from '../../src/testkit/signers.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { multiArchOf, pushIndex } from '../support/copy-images.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { ledgerSandbox, type LedgerSandbox } from '../support/ledger-fixtures.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-sync-profile-'));
const SIGNER = (tag: string) => githubClaims({ repository: 'example/tool', workflowPath: '.github/workflows/sign.yml', ref: `refs/tags/${tag}`, workflow: 'sign' });
let kit: LocalSigstore;
let github: FakeGitHub;
let src: RunningRegistry;
let dst: RunningRegistry;
let srcStore: RegistryStore;
let dstStore: RegistryStore;
let sandbox: LedgerSandbox;
let config: SyncConfig;
let ledger: LedgerSettings;
const digests = new Map<string, string>();

async function publish(tag: string, signer: ReturnType<typeof SIGNER>): Promise<void> {
  const repo = srcStore.repository('example/tool');
  const idx = multiArchOf({ layerSizes: [128] });
  await pushIndex(repo, idx, tag);
  await signImageLikeCosign2(kit, repo, idx.descriptor.digest, { identity: signer });
  digests.set(tag, idx.descriptor.digest);
  const binary = Buffer.from(`tool ${tag}`);
  const checksums = Buffer.from(`${createHash('sha256').update(binary).digest('hex')}  tool-linux\n`);
  const sig = signBlobLikeFlux(kit, checksums, signer);
  github.addRelease({
    tag,
    assets: [
      { name: 'tool-linux', bytes: binary },
      { name: 'checksums.txt', bytes: checksums },
      { name: 'checksums.txt.sig', bytes: Buffer.from(sig.signature) },
      { name: 'checksums.txt.pem', bytes: Buffer.from(sig.certificate) },
    ],
  });
}

beforeAll(async () => {
  kit = await startLocalSigstore({ stateDir: join(dir, 'kit') });
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  srcStore = new RegistryStore(src.host);
  dstStore = new RegistryStore(dst.host);
  github = await startFakeGitHub('example/tool');
  sandbox = ledgerSandbox('airlock-sync-profile-ledger-');
  await publish('v1.0.0', SIGNER('v1.0.0'));
  // Signed by Flux's release workflow: a valid signature, but not this profile's identity.
  await publish('v1.1.0', fluxReleaseClaims('v1.1.0'));

  const file = join(dir, 'airlock.yaml');
  writeFileSync(
    file,
    `upstream:
  github_api: ${github.apiBase}
  token_env: null
  releases: { newest: 5 }
  profile:
    name: tool
    repository: example/tool
    checksums:
      name: checksums.txt
      signature: { signature: "{checksums}.sig", certificate: "{checksums}.pem" }
      identities:
        - certificateIdentity: https://github.com/example/tool/.github/workflows/sign.yml@refs/tags/{releaseTag}
          certificateOidcIssuer: https://token.actions.githubusercontent.com
    assets:
      - { name: tool-linux, role: other, required: true }
    images:
      canonicalPrefix: ghcr.io/example
      extra:
        - name: tool
          tag: "{tag}"
          identities:
            - certificateIdentity: https://github.com/example/tool/.github/workflows/sign.yml@refs/tags/{version}
              certificateOidcIssuer: https://token.actions.githubusercontent.com
images:
  source: ${src.host}/example
trust:
  trusted_root: ${kit.trustedRootPath}
  tuf_refresh: false
  rekor_url: ${kit.rekorUrl}
target: ${dst.host}/mirror/example
`,
  );
  config = readSyncConfig(file, {});
  ledger = { path: sandbox.ledgerPath, key: sandbox.keyFor, sinks: [], demo: false, configFile: file, configSource: 'flag' };
}, 120_000);

afterAll(async () => {
  await srcStore?.close();
  await dstStore?.close();
  await Promise.all([src?.stop(), dst?.stop(), github?.stop()]);
  await kit?.close();
  sandbox?.cleanup();
});

describe('sync with a second release profile given as config', () => {
  it('mirrors the project signed under its own identity, refuses the release signed under another; the token reaches only the API origin', async () => {
    // A token that GitHub's API requires: it must reach the API origin only, never a download host.
    github.acceptToken = 'ghp_synctoken';
    const r = await sync({ config: { ...config, upstream: { ...config.upstream, tokenEnv: 'TOOL_TOKEN' } }, ledger, toolVersion: 'test', env: { TOOL_TOKEN: 'ghp_synctoken' } });
    expect(r.failures).toEqual([]);
    const api = github.requests.filter((q) => q.origin === 'api' && !q.path.includes('/releases/download/'));
    expect(api.length).toBeGreaterThan(0);
    expect(api.every((q) => q.authorization === 'Bearer ghp_synctoken')).toBe(true);
    const downloads = github.requests.filter((q) => q.origin === 'download' || q.path.includes('/releases/download/'));
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.every((q) => q.authorization === undefined)).toBe(true);
    const rows = Object.fromEntries(r.releases.map((x) => [x.tag, x]));
    expect(rows['v1.0.0']).toMatchObject({ status: 'mirrored', assets: [expect.objectContaining({ name: 'tool-linux' })], images: [expect.objectContaining({ name: 'tool', status: 'copied' })] });
    expect(rows['v1.0.0']!.artifact).toMatchObject({ status: 'published' });
    expect(rows['v1.1.0']).toMatchObject({ status: 'refused', images: [] });
    expect(r.refusals.map((x) => [x.release, x.reason, x.check])).toEqual([['v1.1.0', 'VERIFY_FAILED', 'identity']]);

    const repo = dstStore.repository('mirror/example/tool');
    expect((await repo.headManifest('v1.0.0'))?.digest).toBe(digests.get('v1.0.0'));
    expect(await repo.headManifest('v1.1.0')).toBeUndefined();
    expect(await dstStore.repository('mirror/example/tool-release').listTags()).toEqual(['v1.0.0']);
  }, 120_000);

  it('an unreachable Rekor fails each release (reported, nothing recorded as refused) and the run exits with that failure', async () => {
    const other = ledgerSandbox('airlock-sync-profile-down-');
    github.acceptToken = undefined;
    try {
      const r = await sync({
        config: { ...config, trust: { ...config.trust, rekorUrl: 'http://127.0.0.1:9' } },
        ledger: { ...ledger, path: other.ledgerPath, key: other.keyFor },
        toolVersion: 'test',
        // A new ledger against the target the tests above filled: adopting it is the documented way on.
        adoptTarget: true,
      });
      expect(r.releases.map((x) => x.status)).toEqual(['failed', 'failed']);
      expect(r.refusals).toEqual([]);
      expect(r.failures.map((f) => f.code)).toEqual(['UNREACHABLE', 'UNREACHABLE']);
      expect(syncExitError(r)?.exitCode).toBe(5);
    } finally {
      other.cleanup();
    }
  }, 120_000);
});
