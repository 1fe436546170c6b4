/**
 * src/upstream/profile*.ts: the release model as data. The built-in Flux profile against a Flux-shaped release, its
 * per-artifact identities (bound to the version being mirrored), and a second, differently shaped profile given
 * purely as YAML — no code.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { isAirlockError } from '../../src/errors.js';
import { toPolicy, wholeMatchRegExp, type PolicyInput } from '../../src/verify/policy.js';
import { FLUX_PROFILE, type ReleaseProfile } from '../../src/upstream/profile.js';
import { toReleaseProfile } from '../../src/upstream/profile-config.js';
import { profileRelease, releaseImages } from '../../src/upstream/profile-release.js';
import { toUnverifiedRelease, type UnverifiedRelease } from '../../src/upstream/release.js';
import { expandIdentities, IDENTITY_EXTENSION_KEYS, type ExpandedIdentity } from '../../src/upstream/template.js';
import { POLICY_EXTENSIONS } from '../../src/verify/policy.js';
import { reasonOf } from '../support/errors.js';

const ISSUER = 'https://token.actions.githubusercontent.com';

function release(repository: string, tag: string, names: string[]): UnverifiedRelease {
  return toUnverifiedRelease(
    {
      tag_name: tag,
      draft: false,
      prerelease: false,
      published_at: '2026-08-07T10:00:00Z',
      assets: names.map((name) => ({ name, size: 1, state: 'uploaded', digest: null, browser_download_url: `https://github.com/${repository}/releases/download/${tag}/${name}` })),
    },
    { downloadHosts: ['github.com'], repository },
  );
}

const FLUX_ASSETS = [
  'flux_2.9.4_checksums.txt',
  'flux_2.9.4_checksums.txt.sig',
  'flux_2.9.4_checksums.txt.pem',
  'flux_2.9.4_linux_amd64.tar.gz',
  'flux_2.9.4_linux_arm64.tar.gz',
  'flux_2.9.4_linux_arm.tar.gz',
  'flux_2.9.4_darwin_arm64.tar.gz',
  'flux_2.9.4_windows_amd64.zip',
  'flux_2.9.4_windows_386.zip',
  'flux_2.9.4_source_code.tar.gz',
  'flux_2.9.4_sbom.spdx.json',
  'install.yaml',
  'manifests.tar.gz',
  'crd-schemas.tar.gz',
  'provenance.intoto.jsonl',
];

describe('the Flux profile', () => {
  const r = release('fluxcd/flux2', 'v2.9.4', FLUX_ASSETS);

  it('finds the checksums with their detached signature, and classifies the assets', () => {
    const p = profileRelease(FLUX_PROFILE, r);
    expect(p.checksums.checksums.name).toBe('flux_2.9.4_checksums.txt');
    expect(p.checksums.detached?.signature.name).toBe('flux_2.9.4_checksums.txt.sig');
    expect(p.checksums.detached?.certificate.name).toBe('flux_2.9.4_checksums.txt.pem');
    expect(p.checksums.bundles).toEqual([]);
    const byName = Object.fromEntries(p.assets.map((a) => [a.asset.name, a]));
    expect(byName['flux_2.9.4_linux_arm.tar.gz']).toMatchObject({ role: 'cli-archive', checksummed: true, platform: { os: 'linux', arch: 'arm' } });
    expect(byName['flux_2.9.4_windows_386.zip']).toMatchObject({ role: 'cli-archive', platform: { os: 'windows', arch: '386' } });
    expect(byName['install.yaml']).toMatchObject({ role: 'install-manifest', checksummed: true, platform: undefined });
    expect(byName['manifests.tar.gz']).toMatchObject({ role: 'manifests', checksummed: true });
    expect(byName['crd-schemas.tar.gz']).toMatchObject({ role: 'crd-schemas', checksummed: true });
    expect(byName['provenance.intoto.jsonl']).toMatchObject({ role: 'provenance', checksummed: false });
    // `source_code` is not a platform: {os} and {arch} take only the profile's values.
    expect(p.unmatched).toEqual(['flux_2.9.4_source_code.tar.gz', 'flux_2.9.4_sbom.spdx.json']);
  });

  it('takes a sigstore bundle when a release ships one instead (cosign v3), under either name', () => {
    for (const bundle of ['flux_2.9.4_checksums.txt.sigstore.json', 'flux_2.9.4_checksums.txt.bundle']) {
      const names = FLUX_ASSETS.filter((n) => !n.endsWith('.sig') && !n.endsWith('.pem')).concat(bundle);
      const p = profileRelease(FLUX_PROFILE, release('fluxcd/flux2', 'v2.9.4', names));
      expect(p.checksums.detached).toBeUndefined();
      expect(p.checksums.bundles.map((b) => b.name)).toEqual([bundle]);
      expect(p.assets.some((a) => a.asset.name === bundle)).toBe(false);
    }
  });

  it('refuses a release without checksums, without signature material, or without a required asset', () => {
    expect(reasonOf(() => profileRelease(FLUX_PROFILE, release('fluxcd/flux2', 'v2.9.4', FLUX_ASSETS.filter((n) => !n.endsWith('checksums.txt')))))).toBe('checksums-missing');
    expect(reasonOf(() => profileRelease(FLUX_PROFILE, release('fluxcd/flux2', 'v2.9.4', FLUX_ASSETS.filter((n) => !n.endsWith('.pem')))))).toBe('checksums-signature-missing');
    expect(reasonOf(() => profileRelease(FLUX_PROFILE, release('fluxcd/flux2', 'v2.9.4', FLUX_ASSETS.filter((n) => n !== 'install.yaml'))))).toBe('profile-asset-missing');
    // The checksums of another version do not count.
    expect(reasonOf(() => profileRelease(FLUX_PROFILE, release('fluxcd/flux2', 'v2.9.5', FLUX_ASSETS)))).toBe('checksums-missing');
  });

  it('binds the checksums to the flux2 release workflow at this tag', () => {
    expect(profileRelease(FLUX_PROFILE, r).checksums.identities).toEqual([
      { certificateIdentity: 'https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.9.4', certificateOidcIssuer: ISSUER },
    ]);
  });

  it('lists the images of install.yaml plus flux-cli and flux-manifests, each with identities bound to its version', () => {
    const install = {
      images: [
        { name: 'source-controller', tag: 'v1.9.4', digest: undefined, reference: 'ghcr.io/fluxcd/source-controller:v1.9.4' },
        { name: 'helm-controller', tag: 'v1.6.3', digest: undefined, reference: 'ghcr.io/fluxcd/helm-controller:v1.6.3' },
      ],
      ignored: [],
    };
    const images = releaseImages(FLUX_PROFILE, r, install);
    expect(images.map((i) => `${i.reference} ${i.source}`)).toEqual([
      'ghcr.io/fluxcd/source-controller:v1.9.4 install-manifest',
      'ghcr.io/fluxcd/helm-controller:v1.6.3 install-manifest',
      'ghcr.io/fluxcd/flux-cli:v2.9.4 extra',
      'ghcr.io/fluxcd/flux-manifests:v2.9.4 extra',
    ]);
    expect(images[0]!.identities).toEqual([
      { certificateIdentity: 'https://github.com/fluxcd/source-controller/.github/workflows/release.yml@refs/tags/v1.9.4', certificateOidcIssuer: ISSUER },
      {
        certificateIdentityRegexp: 'https://github\\.com/fluxcd/gha-workflows/\\.github/workflows/controller-release\\.yaml@refs/tags/v\\d+\\.\\d+\\.\\d+',
        certificateOidcIssuer: ISSUER,
        sourceRepositoryUri: 'https://github.com/fluxcd/source-controller',
        sourceRepositoryRef: 'refs/tags/v1.9.4',
      },
    ]);
    expect(images[1]!.provenance).toEqual([
      {
        certificateIdentityRegexp: 'https://github\\.com/slsa-framework/slsa-github-generator/\\.github/workflows/generator_container_slsa3\\.yml@refs/tags/v\\d+\\.\\d+\\.\\d+',
        certificateOidcIssuer: ISSUER,
        sourceRepositoryUri: 'https://github.com/fluxcd/helm-controller',
        sourceRepositoryRef: 'refs/tags/v1.6.3',
      },
    ]);
    for (const extra of images.slice(2)) {
      expect(extra.identities).toEqual([{ certificateIdentity: 'https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.9.4', certificateOidcIssuer: ISSUER }]);
      expect(extra.provenance).toBeUndefined();
    }
  });

  it('produces identities src/verify accepts as policies, which match the real SANs and nothing near them', () => {
    const [own, shared] = releaseImages(FLUX_PROFILE, r, { images: [{ name: 'source-controller', tag: 'v1.9.4', digest: undefined, reference: 'x' }], ignored: [] })[0]!.identities;
    const asInput: PolicyInput = shared!; // compile-time: an ExpandedIdentity is a PolicyInput
    const policy = toPolicy(asInput);
    expect(policy.kind).toBe('keyless');
    const re = wholeMatchRegExp(shared!.certificateIdentityRegexp!);
    expect(re.test('https://github.com/fluxcd/gha-workflows/.github/workflows/controller-release.yaml@refs/tags/v0.4.0')).toBe(true);
    expect(re.test('https://github.com/fluxcd/gha-workflows/.github/workflows/controller-release.yaml@refs/heads/main')).toBe(false);
    expect(re.test('https://github.com/fluxcd/gha-workflowsX.github/workflows/controller-release.yaml@refs/tags/v0.4.0')).toBe(false);
    expect(toPolicy(own!).kind).toBe('keyless');
  });

  it('has the same extension keys as src/verify', () => {
    expect([...IDENTITY_EXTENSION_KEYS].sort()).toEqual(Object.keys(POLICY_EXTENSIONS).sort());
  });

  it('survives a round trip through the config validator unchanged', () => {
    expect(toReleaseProfile(JSON.parse(JSON.stringify(FLUX_PROFILE)))).toEqual(FLUX_PROFILE);
    expect(Object.isFrozen(FLUX_PROFILE.images.identities[0])).toBe(true);
  });
});

describe('identity expansion', () => {
  it('escapes values put into a regexp, so a version matches only itself', () => {
    const [id] = expandIdentities([{ certificateIdentityRegexp: 'https://example\\.com/wf@refs/tags/{version}', certificateOidcIssuer: ISSUER }], { releaseTag: 'v1.9.4', version: 'v1.9.4' });
    const re = wholeMatchRegExp(id!.certificateIdentityRegexp!);
    expect(re.test('https://example.com/wf@refs/tags/v1.9.4')).toBe(true);
    expect(re.test('https://example.com/wf@refs/tags/v1x9y4')).toBe(false);
  });

  it('refuses values that would change what an identity means', () => {
    const t = [{ certificateIdentity: 'https://github.com/fluxcd/{name}/x@refs/tags/{version}', certificateOidcIssuer: ISSUER }];
    for (const name of ['../flux2', 'a/b', 'Source', 'a\nb', '']) {
      expect(() => expandIdentities(t, { releaseTag: 'v1', version: 'v1', name })).toThrow(/not one lowercase path component/);
    }
    expect(() => expandIdentities(t, { releaseTag: 'v1', version: 'v1/../../x', name: 'a' })).toThrow(/not a valid tag/);
  });
});

describe('a second profile, given only as YAML', () => {
  // A project with one image and no install manifest, whose checksums file is `sha256sums.txt`, signed (as a
  // sigstore bundle) by another workflow.
  const yamlText = `
name: example-app
repository: example/app
checksums:
  name: sha256sums.txt
  bundles: ["{checksums}.sigstore.json"]
  identities:
    - certificateIdentity: https://github.com/example/app/.github/workflows/publish.yml@refs/tags/{releaseTag}
      certificateOidcIssuer: https://token.actions.githubusercontent.com
      githubWorkflowTrigger: push
assets:
  - name: app-{version}.tar.gz
    role: other
    required: true
    checksummed: true
images:
  canonicalPrefix: quay.io/example
  extra:
    - name: app
      tag: "{version}"
      identities:
        - certificateIdentityRegexp: https://github\\.com/example/app/\\.github/workflows/publish\\.yml@refs/tags/{releaseTag}
          certificateOidcIssuer: https://token.actions.githubusercontent.com
`;
  const profile: ReleaseProfile = toReleaseProfile(parseYaml(yamlText));
  const r = release('example/app', 'v0.3.1', ['sha256sums.txt', 'sha256sums.txt.sigstore.json', 'app-0.3.1.tar.gz', 'notes.md']);

  it('finds its checksums, bundle and assets', () => {
    const p = profileRelease(profile, r);
    expect(p.checksums.checksums.name).toBe('sha256sums.txt');
    expect(p.checksums.detached).toBeUndefined();
    expect(p.checksums.bundles.map((b) => b.name)).toEqual(['sha256sums.txt.sigstore.json']);
    expect(p.assets.map((a) => [a.asset.name, a.role])).toEqual([['app-0.3.1.tar.gz', 'other']]);
    expect(p.unmatched).toEqual(['notes.md']);
    expect(p.checksums.identities).toEqual([
      { certificateIdentity: 'https://github.com/example/app/.github/workflows/publish.yml@refs/tags/v0.3.1', certificateOidcIssuer: ISSUER, githubWorkflowTrigger: 'push' },
    ]);
  });

  it('has exactly one image, with its own identity, and none read from a manifest', () => {
    const images = releaseImages(profile, r, undefined);
    expect(images).toHaveLength(1);
    const app: { reference: string; identities: readonly ExpandedIdentity[] } = images[0]!;
    expect(app.reference).toBe('quay.io/example/app:0.3.1');
    expect(app.identities[0]!.certificateIdentityRegexp).toBe('https://github\\.com/example/app/\\.github/workflows/publish\\.yml@refs/tags/v0\\.3\\.1');
    expect(toPolicy(app.identities[0]!).kind).toBe('keyless');
  });

  it('does not accept the Flux checksums name or a missing required asset', () => {
    expect(reasonOf(() => profileRelease(profile, release('example/app', 'v0.3.1', ['flux_0.3.1_checksums.txt', 'app-0.3.1.tar.gz'])))).toBe('checksums-missing');
    expect(reasonOf(() => profileRelease(profile, release('example/app', 'v0.3.1', ['sha256sums.txt', 'sha256sums.txt.sigstore.json'])))).toBe('profile-asset-missing');
  });
});

describe('toReleaseProfile refuses', () => {
  const base = (): Record<string, unknown> => JSON.parse(JSON.stringify(FLUX_PROFILE)) as Record<string, unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- mutating arbitrary paths of a JSON copy
  const cases: [string, (p: Record<string, any>) => void, RegExp][] = [
    ['an unknown key', (p) => (p.checksum = {}), /profile has the unknown key "checksum"/],
    ['a placeholder its context does not define', (p) => (p.checksums.name = 'flux_{name}_checksums.txt'), /profile\.checksums\.name uses \{name\}/],
    ['{name} in the checksums identity', (p) => (p.checksums.identities[0].certificateIdentity = 'https://x/{name}'), /uses \{name\}/],
    ['an empty identity list', (p) => (p.checksums.identities = []), /at least one identity/],
    ['an identity with both exact and regexp', (p) => (p.checksums.identities[0].certificateIdentityRegexp = 'x'), /exactly one of/],
    ['an identity without issuer', (p) => delete p.checksums.identities[0].certificateOidcIssuer, /certificateOidcIssuer must be/],
    ['an identity regexp that does not compile', (p) => (p.images.identities[1].certificateIdentityRegexp = 'a(b'), /not a valid regular expression/],
    ['an asset name that expands to a path', (p) => (p.assets[2].name = '../install.yaml'), /must expand to a plain file name/],
    ['a cli-archive rule without {os}', (p) => (p.assets[0].name = 'flux_{version}_{arch}.tar.gz'), /must contain \{os\} and \{arch\}/],
    ['fromAsset naming no install-manifest asset', (p) => (p.images.fromAsset = 'manifests.tar.gz'), /fromAsset must be the name/],
    ['an extra image with a nested name', (p) => (p.images.extra[0].name = 'a/b'), /one lowercase path component/],
    ['a bad canonical prefix', (p) => (p.images.canonicalPrefix = 'ghcr.io/fluxcd:v1'), /canonicalPrefix/],
    ['no signature material', (p) => ((p.checksums.bundles = []), delete p.checksums.signature), /needs a signature/],
    ['a repository that is not owner/name', (p) => (p.repository = 'fluxcd/../x'), /owner\/repository/],
  ];
  for (const [what, mutate, message] of cases) {
    it(what, () => {
      const p = base();
      mutate(p);
      try {
        toReleaseProfile(p);
        expect.unreachable();
      } catch (e) {
        expect(isAirlockError(e, 'BAD_INPUT')).toBe(true);
        expect((e as Error).message).toMatch(message);
      }
    });
  }
});
