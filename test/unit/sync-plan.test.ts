import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../src/oci/digest.js';
import { planReleaseArtifact } from '../../src/pipeline/release-artifact.js';
import { planAssets } from '../../src/pipeline/sync-assets.js';
import type { VerifiedChecksums } from '../../src/pipeline/sync-checksums.js';
import { planImage, recordedDigest, targetFor } from '../../src/pipeline/sync-image.js';
import { isRefusal } from '../../src/pipeline/sync-release.js';
import { AirlockError } from '../../src/errors.js';
import type { LedgerEntry } from '../../src/ledger/events.js';
import { FLUX_PROFILE, profileRelease, releaseImages, toUnverifiedRelease, type UnverifiedRelease } from '../../src/upstream/index.js';

const sha = (s: string): Digest => `sha256:${createHash('sha256').update(s).digest('hex')}` as Digest;

function release(tag: string, names: string[]): UnverifiedRelease {
  return toUnverifiedRelease(
    {
      tag_name: tag,
      draft: false,
      prerelease: false,
      published_at: '2026-08-07T00:00:00Z',
      assets: names.map((name) => ({ name, size: 1, state: 'uploaded', browser_download_url: `https://github.com/fluxcd/flux2/releases/download/${tag}/${name}` })),
    },
    { downloadHosts: ['github.com'], repository: 'fluxcd/flux2' },
  );
}

const V = ['flux_2.9.4_checksums.txt', 'flux_2.9.4_checksums.txt.sig', 'flux_2.9.4_checksums.txt.pem', 'install.yaml', 'manifests.tar.gz', 'provenance.intoto.jsonl', 'flux_2.9.4_sbom.spdx.json'];
const ARCHIVES = ['flux_2.9.4_linux_amd64.tar.gz', 'flux_2.9.4_linux_arm64.tar.gz', 'flux_2.9.4_windows_amd64.zip'];

describe('sync plans (pure)', () => {
  it('takes every checksummed file, CLI archives only for the selected platforms, never what the checksums cannot cover', () => {
    const plan = planAssets(profileRelease(FLUX_PROFILE, release('v2.9.4', [...V, ...ARCHIVES])), ['linux_amd64']);
    expect(plan.take.map((a) => a.asset.name).sort()).toEqual(['flux_2.9.4_linux_amd64.tar.gz', 'install.yaml', 'manifests.tar.gz']);
    expect(plan.left).toEqual(
      expect.arrayContaining([
        { name: 'flux_2.9.4_sbom.spdx.json', why: 'no-rule' },
        { name: 'provenance.intoto.jsonl', why: 'not-checksummed' },
        { name: 'flux_2.9.4_linux_arm64.tar.gz', why: 'platform-not-selected' },
        { name: 'flux_2.9.4_windows_amd64.zip', why: 'platform-not-selected' },
      ]),
    );
  });

  it('an image comes from the source prefix (pinned by digest when install.yaml pins it) and goes to <target>/<name>:<tag>', () => {
    const pinned = sha('x');
    const [image] = releaseImages(FLUX_PROFILE, release('v2.9.4', V), { images: [{ name: 'source-controller', tag: 'v1.9.4', digest: pinned, reference: `ghcr.io/fluxcd/source-controller:v1.9.4@${pinned}` }], ignored: [] });
    const plan = planImage(image!, { canonicalPrefix: 'ghcr.io/fluxcd', source: 'cache.internal/fluxcd', target: 'oci:/srv/mirror', requireProvenance: true });
    expect(plan.source).toBe(`cache.internal/fluxcd/source-controller:v1.9.4@${pinned}`);
    expect(plan.target).toBe('oci:/srv/mirror/source-controller:v1.9.4');
    expect(plan.policies.signatures).toHaveLength(2);
    expect(plan.policies.attestations).toHaveLength(1);
    expect(plan.requireProvenance).toBe(true);
    expect(targetFor('registry.internal/fluxcd/', 'flux-cli', 'v2.9.4')).toBe('registry.internal/fluxcd/flux-cli:v2.9.4');
    // flux-cli names no provenance signer: it cannot be required to have provenance.
    const cli = releaseImages(FLUX_PROFILE, release('v2.9.4', V), { images: [], ignored: [] }).find((i) => i.name === 'flux-cli')!;
    expect(planImage(cli, { canonicalPrefix: 'ghcr.io/fluxcd', source: undefined, target: 'r.example/m', requireProvenance: true })).toMatchObject({ source: 'ghcr.io/fluxcd/flux-cli:v2.9.4', requireProvenance: false });
  });

  it('the digest a tag was first recorded at comes from verified or copied events of that tag', () => {
    const entries: Partial<LedgerEntry>[] = [
      { kind: 'verified', digest: sha('a'), body: { tag: 'v1.0.0' } },
      { kind: 'verified', digest: sha('b'), body: { tag: 'v1.0.1' } },
    ];
    const list = (f: { kind?: string }) => entries.filter((e) => e.kind === f.kind) as LedgerEntry[];
    expect(recordedDigest(list, 'r/x', 'v1.0.1')).toBe(sha('b'));
    expect(recordedDigest(list, 'r/x', 'v2')).toBeUndefined();
  });

  it('the release artifact is byte-deterministic and names each file by title, sorted', () => {
    const checksums = { name: 'flux_2.9.4_checksums.txt', bytes: Buffer.from('c'), bundleSource: 'rekor', bundle: { b: 1, a: 2 }, material: [{ name: 'flux_2.9.4_checksums.txt.sig', bytes: Buffer.from('s') }] } as unknown as VerifiedChecksums;
    const assets = [{ name: 'install.yaml', role: 'install-manifest' as const, digest: sha('i'), size: 1, path: '/x/install.yaml' }];
    const a = planReleaseArtifact({ target: 'oci:/m', profileName: 'flux', repository: 'fluxcd/flux2', tag: 'v2.9.4', checksums, assets });
    const b = planReleaseArtifact({ target: 'oci:/m', profileName: 'flux', repository: 'fluxcd/flux2', tag: 'v2.9.4', checksums: { ...checksums, bundle: { a: 2, b: 1 } }, assets });
    expect(a.digest).toBe(b.digest);
    expect(a.reference).toBe('oci:/m/flux-release:v2.9.4');
    const m = JSON.parse(a.manifest.toString()) as { artifactType: string; layers: { annotations: Record<string, string> }[] };
    expect(m.artifactType).toBe('application/vnd.airlock.release.v1');
    expect(m.layers.map((l) => l.annotations['org.opencontainers.image.title'])).toEqual(['flux_2.9.4_checksums.txt', 'flux_2.9.4_checksums.txt.sig', 'flux_2.9.4_checksums.txt.sigstore.json', 'install.yaml']);
  });

  it('refusals are what upstream content said no to; network and internal errors are failures', () => {
    expect(isRefusal(new AirlockError('VERIFY_FAILED', 'x'))).toBe(true);
    expect(isRefusal(new AirlockError('REGISTRY_ERROR', 'x', { details: { reason: 'asset-url-host' } }))).toBe(true);
    expect(isRefusal(new AirlockError('UNREACHABLE', 'x'))).toBe(false);
    expect(isRefusal(new AirlockError('REGISTRY_ERROR', 'x'))).toBe(false);
    expect(isRefusal(new Error('x'))).toBe(false);
  });
});
