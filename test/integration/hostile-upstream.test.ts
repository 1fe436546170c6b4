/**
 * A hostile upstream, one case per test, each titled with the check that stops it. The upstream is a generated,
 * validly signed Flux release (local Sigstore kit, FAKE GitHub) whose images are served by the read-only stand-in
 * registry (src/demo/registry.ts) over a content store the test can turn hostile: a tag that answers another
 * digest on the second request, manifest or blob bytes that do not match their digest, oversized, wide or deep
 * indexes. Each test shows the attack stopped AND shows what would have happened without the check (the limit
 * raised, the check switched off through the test-only entry point, or the raw hostile bytes), so deleting the check
 * makes the test fail. Cases already covered elsewhere are listed in docs/hostile-upstream.md.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSyncConfig, DEFAULT_SYNC_LIMITS, type SyncConfig, type SyncLimits } from '../../src/config/config.js';
import type { LedgerSettings } from '../../src/config/ledger-config.js';
import { copyReferences } from '../../src/copy/references.js';
import { copyImage } from '../../src/copy/copy.js';
import { startReadOnlyRegistry, type ReadOnlyRegistry } from '../../src/demo/registry.js';
import { AirlockError, isAirlockError } from '../../src/errors.js';
import { renderSignature } from '../../src/image/render.js';
import type { SignatureSummary } from '../../src/image/summary.js';
import { renderSync } from '../../src/cli/sync-render.js';
import { neutralize } from '../../src/log.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import type { Descriptor } from '../../src/oci/manifest.js';
import { MediaTypes } from '../../src/oci/mediatypes.js';
import { sync, type SyncResult } from '../../src/pipeline/sync.js';
import { openReference } from '../../src/store/open.js';
import type { FetchedManifest } from '../../src/store/types.js';
import { controllerReleaseClaims } from '../../src/testkit/identity.js';
import { signImageLikeCosign2 } from '../../src/testkit/image-signers.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { toTrustAnchor } from '../../src/trust/anchor.js';
import { toPolicy } from '../../src/verify/index.js';
import { verifyBundleWithChecksDisabled } from '../../src/verify/testing.js';
import { sealVerdict, sealVerifiedDigest, type Verdict } from '../../src/verify/verdict.js';
import { imageOf, jsonBlob, multiArchOf, pushIndex, pushManifest, randomBlob } from '../support/copy-images.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { controllers, publishRelease, type PublishedRelease } from '../support/flux-upstream.js';
import { ledgerSandbox, type LedgerSandbox } from '../support/ledger-fixtures.js';
import { MemoryStore, type MemoryRepository } from '../support/memory-store.js';
import { createMockSigstore, FLUX_SAN, GITHUB_ISSUER } from '../support/sigstore-fixtures.js';

/**
 * The upstream's content store, with a hook on every manifest read the stand-in registry makes (GET and HEAD
 * alike): the test decides per request what a hostile upstream answers. Reads are not verified by the store
 * (verifyReads: false), so tampered blob bytes reach the wire as a hostile registry would send them.
 */
class HostileStore extends MemoryStore {
  /** `repository reference` of every manifest request, in order. */
  readonly manifestRequests: string[] = [];
  hook: ((repo: string, reference: string, real: () => Promise<FetchedManifest>) => Promise<FetchedManifest>) | undefined;
  readonly #patched = new WeakSet<MemoryRepository>();

  override repository(name: string): MemoryRepository {
    const r = super.repository(name);
    if (!this.#patched.has(r)) {
      this.#patched.add(r);
      const real = r.getManifest.bind(r);
      r.getManifest = async (reference: string) => {
        this.manifestRequests.push(`${name} ${reference}`);
        return this.hook ? this.hook(name, reference, () => real(reference)) : real(reference);
      };
    }
    return r;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'airlock-hostile-'));
const CONTROLLER = 'source-controller';
const CTAG = 'v1.9.4';
let kit: LocalSigstore;
let github: FakeGitHub;
let upstream: HostileStore;
let registry: ReadOnlyRegistry;
let release: PublishedRelease;
const sandboxes: LedgerSandbox[] = [];
let runs = 0;

function configFor(limits: Partial<SyncLimits> = {}): SyncConfig {
  const c = defaultSyncConfig(dir);
  c.upstream = { githubApi: github.apiBase, repository: 'fluxcd/flux2', tokenEnv: undefined, releases: { newest: 1 } };
  c.images.source = `${registry.host}/fluxcd`;
  c.target = `oci:${join(dir, `target-${++runs}`)}`;
  c.trust = { trustedRoot: kit.trustedRootPath, tufRefresh: false, rekorUrl: kit.rekorUrl };
  c.assets = { cliArchives: ['linux_amd64'], directory: undefined };
  c.limits = { ...DEFAULT_SYNC_LIMITS, ...limits };
  return c;
}

async function syncWith(config: SyncConfig): Promise<{ result: SyncResult; ledger: LedgerSandbox }> {
  const sandbox = ledgerSandbox('airlock-hostile-ledger-');
  sandboxes.push(sandbox);
  const settings: LedgerSettings = { path: sandbox.ledgerPath, key: sandbox.keyFor, sinks: [], demo: false, configFile: null, configSource: 'none' };
  const result = await sync({ config, ledger: settings, toolVersion: 'test' });
  return { result, ledger: sandbox };
}

function image(r: SyncResult, name: string) {
  return r.releases.flatMap((rel) => rel.images).find((i) => i.name === name);
}

/** What the target holds under a mirrored name:tag (undefined: nothing). */
async function targetDigest(config: SyncConfig, name: string, tag: string): Promise<Digest | undefined> {
  const opened = await openReference(`${config.target}/${name}:${tag}`).catch(() => undefined);
  if (!opened) return undefined;
  try {
    return (await opened.repository.headManifest(tag))?.digest;
  } finally {
    await opened.store.close();
  }
}

/** The ledger verifies, and says what the target holds of `name`: the copied digests. */
function copiedInLedger(sandbox: LedgerSandbox, name: string): string[] {
  const l = sandbox.open({ readOnly: true });
  try {
    expect(verifyLedger(l).ok).toBe(true);
    return l
      .list({ kind: 'copied-upstream', limit: 10_000 })
      .filter((e) => (e.image ?? '').endsWith(`/${name}`))
      .map((e) => e.digest!);
  } finally {
    l.close();
  }
}

async function rejection(p: Promise<unknown>): Promise<AirlockError> {
  const e = await p.then(
    () => expect.unreachable('expected a rejection'),
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(AirlockError);
  return e as AirlockError;
}

beforeAll(async () => {
  kit = await startLocalSigstore({ stateDir: join(dir, 'kit') });
  github = await startFakeGitHub('fluxcd/flux2');
  upstream = new HostileStore({ verifyReads: false });
  release = await publishRelease(kit, github, upstream, 'fluxcd', {
    tag: 'v2.9.4',
    images: [...controllers({ [CONTROLLER]: CTAG }), { name: 'flux-cli', tag: 'v2.9.4', kind: 'extra' }, { name: 'flux-manifests', tag: 'v2.9.4', kind: 'extra' }],
  });
  registry = await startReadOnlyRegistry(upstream);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await github?.stop();
  await kit?.close();
  for (const s of sandboxes) s.cleanup();
});

describe('hostile upstream registry', () => {
  it('a tag moved between resolve and copy (to another validly signed digest) — stopped by resolve-once: the tag is read once, everything after by digest', async () => {
    const repoName = `fluxcd/${CONTROLLER}`;
    const a = release.digests.get(CONTROLLER)!;
    // B: another index, signed by the very same pipeline, so no signature check can tell them apart.
    const b = multiArchOf({ attestations: true });
    const repo = upstream.repository(repoName);
    await pushIndex(repo, b);
    await signImageLikeCosign2(kit, repo, b.descriptor.digest, { identity: controllerReleaseClaims(CONTROLLER, CTAG) });
    let tagReads = 0;
    upstream.hook = async (name, reference, real) => {
      if (name === repoName && reference === CTAG && ++tagReads > 1) return repo.getManifest(b.descriptor.digest);
      return real();
    };
    try {
      const config = configFor();
      const { result, ledger } = await syncWith(config);
      expect(result.failures).toEqual([]);
      expect(image(result, CONTROLLER)).toMatchObject({ status: 'copied', digest: a });
      // The tag was asked for once; the graph below it only by digest.
      expect(tagReads).toBe(1);
      expect(await targetDigest(config, CONTROLLER, CTAG)).toBe(a);
      expect(copiedInLedger(ledger, CONTROLLER)).toEqual([a]);
      // Upstream now answers B for the tag: a copy that read the tag again would have copied B.
      expect((await repo.getManifest(CTAG)).descriptor.digest).toBe(b.descriptor.digest);

      // Second line of defence, for a caller that would resolve twice: the copy engine refuses a verified subject
      // of another digest than the one the tag now answers (the verified-digest check of copyImage).
      const verdict = sealVerdict({ artifact: { digest: a, given: 'digest' }, checks: [], disabledChecks: [], tlogEntries: [], timestamps: [] } as unknown as Verdict);
      const target = new MemoryStore().repository('t');
      const e = await rejection(copyImage({ source: repo, sourceReference: CTAG, target, targetTag: CTAG, subject: sealVerifiedDigest(verdict, a) }));
      expect(e.code).toBe('VERIFY_FAILED');
      expect(e.message).toMatch(/the tag moved after verification/);
      expect(target.tags.size + target.manifests.size + target.blobs.size).toBe(0);
    } finally {
      upstream.hook = undefined;
      await repo.putManifest(upstream.repository(repoName).manifests.get(a)!.bytes, MediaTypes.ociIndex, CTAG);
    }
  });

  it("manifest bytes that do not match their digest — stopped by the store's digest check (INTEGRITY); nothing of the image reaches the target", async () => {
    const repoName = `fluxcd/${CONTROLLER}`;
    const repo = upstream.repository(repoName);
    const a = release.digests.get(CONTROLLER)!;
    const child = JSON.parse(Buffer.from(repo.manifests.get(a)!.bytes).toString()).manifests[0] as Descriptor;
    const genuine = repo.manifests.get(child.digest as Digest)!;
    // Same length, one byte changed: the size check alone would not see it.
    const forged = Uint8Array.from(genuine.bytes);
    forged[forged.length - 2] = forged[forged.length - 2] === 0x20 ? 0x09 : 0x20;
    expect(digestOf(forged)).not.toBe(child.digest);
    upstream.hook = async (name, reference, real) =>
      name === repoName && reference === child.digest ? { descriptor: { mediaType: genuine.mediaType, digest: child.digest, size: forged.byteLength }, bytes: forged } : real();
    try {
      const config = configFor();
      const { result, ledger } = await syncWith(config);
      expect(image(result, CONTROLLER)?.status).toBe('refused');
      const refusal = result.refusals.find((r) => r.image?.endsWith(CONTROLLER));
      expect(refusal).toMatchObject({ reason: 'INTEGRITY' });
      expect(refusal!.message).toContain(child.digest);
      expect(await targetDigest(config, CONTROLLER, CTAG)).toBeUndefined();
      expect(copiedInLedger(ledger, CONTROLLER)).toEqual([]);
      // The others of the release are mirrored: one hostile image does not stop the run.
      expect(image(result, 'flux-cli')?.status).toBe('copied');
    } finally {
      upstream.hook = undefined;
    }
  });

  it('blob bytes that do not match their digest — stopped by the streaming digest check (INTEGRITY); the tag is not written', async () => {
    const repoName = 'fluxcd/flux-cli';
    const repo = upstream.repository(repoName);
    const idx = JSON.parse(Buffer.from(repo.manifests.get(release.digests.get('flux-cli')!)!.bytes).toString()) as { manifests: Descriptor[] };
    const m = JSON.parse(Buffer.from(repo.manifests.get(idx.manifests[0]!.digest as Digest)!.bytes).toString()) as { layers: Descriptor[] };
    const layer = m.layers[0]!;
    const genuine = repo.blobs.get(layer.digest as Digest)!;
    const forged = Uint8Array.from(genuine);
    forged[0] = forged[0]! ^ 0xff;
    repo.tampered.set(layer.digest as Digest, forged);
    try {
      const config = configFor();
      const { result, ledger } = await syncWith(config);
      expect(image(result, 'flux-cli')?.status).toMatch(/refused|failed/);
      const said = [...result.refusals.map((r) => `${r.reason} ${r.message}`), ...result.failures.map((f) => `${f.code} ${f.message}`)].join('\n');
      expect(said).toMatch(/INTEGRITY/);
      expect(await targetDigest(config, 'flux-cli', 'v2.9.4')).toBeUndefined();
      expect(copiedInLedger(ledger, 'flux-cli')).toEqual([]);
      expect(image(result, CONTROLLER)?.status).toBe('copied');
    } finally {
      repo.tampered.delete(layer.digest as Digest);
    }
  });

  it('a manifest over 4 MiB — stopped by the manifest size limit (LIMIT_EXCEEDED) before it is read whole', async () => {
    const repo = upstream.repository('hostile/big');
    const layers = Array.from({ length: 1 }, () => randomBlob(10));
    const huge = imageOf({ layers });
    await pushManifest(repo, huge, 'small');
    // The registry serves a 5 MiB document under the tag (its digest honest: only the size is hostile).
    const padded = jsonBlob({ ...JSON.parse(Buffer.from(huge.bytes).toString()), annotations: { pad: 'x'.repeat(5 * 1024 * 1024) } }, MediaTypes.ociManifest);
    upstream.hook = async (name, reference, real) =>
      name === 'hostile/big' && reference === 'big' ? { descriptor: { ...padded.descriptor, mediaType: MediaTypes.ociManifest }, bytes: padded.bytes } : real();
    try {
      const target = join(dir, 'big-target');
      const e = await rejection(copyReferences({ source: `${registry.host}/hostile/big:big`, target: `oci:${target}:big`, insecureSkipVerify: true }));
      expect(e.code).toBe('LIMIT_EXCEEDED');
      // Refused while reading from the source (the target's own 4 MiB check on write is a second line).
      expect(e.message).toContain(`The manifest ${registry.host}/hostile/big:big is larger than 4194304 bytes`);
      expect(existsSync(target)).toBe(false);
      expect(padded.bytes.byteLength).toBeGreaterThan(4 * 1024 * 1024);
      // The same copy of the honest small manifest goes through: the size is what was refused.
      await expect(copyReferences({ source: `${registry.host}/hostile/big:small`, target: `oci:${target}:small`, insecureSkipVerify: true })).resolves.toMatchObject({
        digest: huge.descriptor.digest,
      });
    } finally {
      upstream.hook = undefined;
    }
  });

  it('an index with 10,000 entries — stopped by limits.index_entries (default 1000) before a single child is requested', async () => {
    const repoName = 'hostile/wide';
    const repo = upstream.repository(repoName);
    const img = imageOf();
    await pushManifest(repo, img);
    const manifests = Array.from({ length: 10_000 }, (_, i) => ({ ...img.descriptor, annotations: { n: String(i) } }));
    const wide = jsonBlob({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }, MediaTypes.ociIndex);
    await repo.putManifest(wide.bytes, MediaTypes.ociIndex, 'wide');
    const before = upstream.manifestRequests.length;
    const e = await rejection(copyReferences({ source: `${registry.host}/${repoName}:wide`, target: `oci:${join(dir, 'wide-target')}:wide`, insecureSkipVerify: true }));
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(e.message).toMatch(/lists 10000 manifests, more than the limit of 1000/);
    expect(upstream.manifestRequests.slice(before).filter((r) => r.includes(img.descriptor.digest))).toEqual([]);
    // With the limit raised (limits.index_entries: 10000) the same index is copied: the limit is what stopped it.
    const ok = await copyReferences({
      source: `${registry.host}/${repoName}:wide`,
      target: `oci:${join(dir, 'wide-target-raised')}:wide`,
      insecureSkipVerify: true,
      graphLimits: { maxEntries: 10_000 },
    });
    expect(ok.digest).toBe(wide.descriptor.digest);
  });

  it('indexes nested 6 deep — stopped by limits.index_depth (default 4); raised to 6, the same graph copies', async () => {
    const repoName = 'hostile/deep';
    const repo = upstream.repository(repoName);
    const img = imageOf();
    await pushManifest(repo, img);
    let child: Descriptor = img.descriptor;
    for (let i = 0; i < 6; i++) {
      const idx = jsonBlob({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [child] }, MediaTypes.ociIndex);
      await repo.putManifest(idx.bytes, MediaTypes.ociIndex, 'deep');
      child = idx.descriptor;
    }
    const e = await rejection(copyReferences({ source: `${registry.host}/${repoName}:deep`, target: `oci:${join(dir, 'deep-target')}:deep`, insecureSkipVerify: true }));
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(e.message).toMatch(/nested 5 levels deep, more than the limit of 4/);
    const ok = await copyReferences({ source: `${registry.host}/${repoName}:deep`, target: `oci:${join(dir, 'deep-target-raised')}:deep`, insecureSkipVerify: true, graphLimits: { maxDepth: 6 } });
    expect(ok.digest).toBe(child.digest);
  });

  it('limits: from the config reach the sync — index_entries below the release index width refuses the image (LIMIT_EXCEEDED), recorded once, nothing copied', async () => {
    const config = configFor({ indexEntries: 2 });
    const { result, ledger } = await syncWith(config);
    expect(image(result, CONTROLLER)?.status).toBe('refused');
    const refusal = result.refusals.find((r) => r.image?.endsWith(CONTROLLER));
    expect(refusal).toMatchObject({ reason: 'LIMIT_EXCEEDED' });
    expect(refusal!.message).toMatch(/more than the limit of 2/);
    expect(await targetDigest(config, CONTROLLER, CTAG)).toBeUndefined();
    expect(copiedInLedger(ledger, CONTROLLER)).toEqual([]);
    // flux-manifests is one manifest with one layer: within the lowered limit, so it is still mirrored.
    expect(image(result, 'flux-manifests')?.status).toBe('copied');
  });

  it('limits: signature_layers from the config reaches the signature reader (LIMIT_EXCEEDED), asset_bytes the download (asset-too-large)', async () => {
    const config = configFor({ signatureLayers: 1, assetBytes: 16 });
    const { result, ledger } = await syncWith(config);
    const said = [...result.refusals.map((r) => `${r.reason} ${r.check ?? ''} ${r.message}`), ...result.failures.map((f) => `${f.code} ${f.message}`)];
    // Every asset is longer than 16 bytes: the release is refused before any image is looked at.
    expect(said.join('\n')).toMatch(/LIMIT_EXCEEDED asset-too-large/);
    expect(copiedInLedger(ledger, CONTROLLER)).toEqual([]);
    // Assets within the limit, one signature layer allowed: the controller signed twice (two .sig layers) is over it.
    const repo = upstream.repository(`fluxcd/${CONTROLLER}`);
    await signImageLikeCosign2(kit, repo, release.digests.get(CONTROLLER)!, { identity: controllerReleaseClaims(CONTROLLER, CTAG) });
    const second = await syncWith(configFor({ signatureLayers: 1 }));
    const refusal = second.result.refusals.find((r) => r.image?.endsWith(CONTROLLER));
    expect(refusal, JSON.stringify(second.result.refusals)).toMatchObject({ reason: 'LIMIT_EXCEEDED' });
    expect(refusal!.message).toMatch(/more than the limit of 1 signatures/);
    // With the default (64) the same controller is copied (the first test): the limit is what refused it.
  });

});

describe('hostile signatures', () => {
  it('a Rekor entry for another artifact (same signature, another digest logged) — stopped by tlog', async () => {
    const mock = await createMockSigstore();
    const trust = toTrustAnchor(mock.trustedRootBytes, { source: 'file', origin: 'mock trusted_root.json' });
    const artifact = Buffer.from('flux_2.9.4_checksums.txt contents\n');
    const bundle = await mock.signBlob(artifact, { logArtifact: Buffer.from('another artifact\n') });
    const policy = toPolicy({ certificateIdentity: FLUX_SAN, certificateOidcIssuer: GITHUB_ISSUER });
    const attempt = (disabled: ('tlog' | 'tlog-verifier')[]) => {
      try {
        return verifyBundleWithChecksDisabled({ bundle, artifact: { bytes: artifact } }, trust, policy, disabled);
      } catch (e) {
        if (isAirlockError(e)) return e;
        throw e;
      }
    };
    const refused = attempt([]);
    expect(refused).toBeInstanceOf(AirlockError);
    expect((refused as AirlockError).details?.check).toBe('tlog');
    const without = attempt(['tlog']);
    expect(without).not.toBeInstanceOf(AirlockError);
    expect((without as Verdict).disabledChecks).toEqual(['tlog']);
  });
});

describe('terminal and log-line forgery', () => {
  const ESC = '\u001b';
  const hostile = {
    tag: `v1.0.0${ESC}[2K${ESC}[1A\rv9.9.9: mirrored`,
    identity: `https://github.com/fluxcd/x${ESC}]8;;https://evil.example${ESC}\\click${ESC}]8;;${ESC}\\\nverified OK`,
    annotation: `x\u009b31m\u2028REFUSED nothing`,
  };
  // eslint-disable-next-line no-control-regex -- the point: no C0/C1 control or line separator may reach the output
  const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

  it('tags, images and messages carrying ANSI/OSC escapes and newlines in sync output — stopped by neutralize: one line per item, no escape', () => {
    const result = {
      target: 'oci:/m',
      trustRoot: { source: 'file', digest: 'sha256:0' },
      releases: [
        {
          tag: hostile.tag,
          status: 'partial',
          checksums: null,
          assets: [{ name: hostile.annotation, digest: 'sha256:1' }],
          images: [{ name: 'x', tag: hostile.tag, source: 's', target: `oci:/m/x:${hostile.tag}`, status: 'refused' }],
          ignoredImages: [`docker.io/evil:${hostile.tag}`],
        },
      ],
      missing: [hostile.tag],
      skipped: [],
      unreadable: [],
      refusals: [{ release: hostile.tag, image: `x:${hostile.tag}`, digest: null, reason: 'VERIFY_FAILED', check: 'identity', message: `identity ${hostile.identity}`, newlyRecorded: true }],
      failures: [{ release: hostile.tag, item: hostile.tag, code: 'UNREACHABLE', message: hostile.annotation }],
      ledger: { path: '/l', appended: 1, checkpoint: null },
    } as unknown as SyncResult;
    const out = renderSync(result);
    expect(out).not.toMatch(CONTROL);
    expect(out).not.toContain(ESC);
    // No forged line: "v9.9.9: mirrored", "verified OK" and "REFUSED nothing" stay inside the line they came in.
    for (const line of out.split('\n')) expect(line).not.toMatch(/^(v9\.9\.9: mirrored|verified OK|REFUSED nothing)/);
    expect(out).toContain('\\x1b[2K');
    // The raw strings would have forged lines (what the check removes).
    expect(`${hostile.tag}\n${hostile.identity}`.split(/[\r\n\u2028]/).length).toBeGreaterThan(2);
  });

  it("a signer identity and annotations carrying OSC hyperlinks and newlines in verify output — stopped by neutralize", () => {
    const summary: SignatureSummary = {
      format: 'legacy-sig',
      manifest: `sha256:${'1'.repeat(64)}` as Digest,
      layer: `sha256:${'2'.repeat(64)}` as Digest,
      index: 0,
      tag: hostile.tag,
      signer: { kind: 'certificate', identity: hostile.identity, issuer: `https://token.actions.githubusercontent.com${ESC}[8m`, extensions: { sourceRepositoryUri: hostile.annotation, sourceRepositoryRef: hostile.tag } },
      logIndex: `1${ESC}[1A`,
      time: null,
      predicateType: hostile.annotation,
      checks: [],
    };
    const lines = renderSignature(summary, 0);
    const out = lines.join('\n');
    expect(out).not.toMatch(CONTROL);
    expect(out).toContain(neutralize(hostile.identity));
    expect(out.split('\n')).toHaveLength(lines.length);
  });
});
