/**
 * A release profile: what a project's GitHub release consists of and who must have signed each part, as plain
 * data (a YAML config can provide one; profile-config.ts validates it). Flux is built in as FLUX_PROFILE.
 *
 * Templates use `{variable}` placeholders (letters only, so regexp quantifiers like `\d{1,3}` are left alone):
 *
 *   context                                      variables
 *   asset names, checksums name                  {tag} v2.9.4 · {version} 2.9.4 (the tag without its `v`, as
 *                                                goreleaser names files) · {os} {arch} (cli-archive rules only)
 *   signature / bundle names                     {checksums} (the checksums file's name) · {tag} · {version}
 *   extra image tags                             {tag} · {version}
 *   identities                                   {releaseTag} and its alias {fluxVersion}: the release tag ·
 *                                                {version}: the signed artifact's own tag (an image's tag; the
 *                                                release tag for the checksums) · {name}: the image name
 *
 * In `certificateIdentityRegexp` the expanded values are regexp-escaped, so `v1.9.4` matches only itself.
 */
export type AssetRole = 'cli-archive' | 'install-manifest' | 'manifests' | 'crd-schemas' | 'provenance' | 'other';

/** Who must have signed, as cosign's flags (the same names as src/verify's PolicyInput), with templates. */
export interface IdentityTemplate {
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer: string;
  sourceRepositoryUri?: string;
  sourceRepositoryRef?: string;
  githubWorkflowRepository?: string;
  githubWorkflowRef?: string;
  githubWorkflowTrigger?: string;
  githubWorkflowName?: string;
  githubWorkflowSha?: string;
}

export interface AssetRule {
  /** Name template. */
  name: string;
  role: AssetRole;
  /** A release without it is refused (`profile-asset-missing`). */
  required: boolean;
  /** Whether the signed checksums file must list it: then it is trusted once the checksums verify. */
  checksummed: boolean;
}

export interface ImageRule {
  /** The path under the canonical prefix. */
  name: string;
  /** Tag template. */
  tag: string;
  identities: IdentityTemplate[];
  /** Who must have signed its SLSA provenance, when provenance is required. */
  provenance?: IdentityTemplate[];
}

export interface ReleaseProfile {
  name: string;
  /** `owner/repo` on GitHub. */
  repository: string;
  checksums: {
    name: string;
    /** cosign v2 `sign-blob --output-signature --output-certificate`: both files must be present. */
    signature?: { signature: string; certificate: string };
    /** Sigstore bundle names (cosign v3 writes one with `--bundle`); any one present is enough. */
    bundles: string[];
    identities: IdentityTemplate[];
  };
  /** The values `{os}` and `{arch}` may take in cli-archive rules (so `source_code` is not a platform). */
  platforms?: { os: string[]; arch: string[] };
  assets: AssetRule[];
  images: {
    /** Where the release's images live upstream, e.g. `ghcr.io/fluxcd`; images outside it are ignored. */
    canonicalPrefix: string;
    /** The asset (a Kubernetes manifest) whose `image:` values under the prefix are the release's images. */
    fromAsset?: string;
    /** Identities for images read from `fromAsset`. */
    identities: IdentityTemplate[];
    provenance?: IdentityTemplate[];
    /** Images every release has besides those in `fromAsset`. */
    extra: ImageRule[];
  };
}

export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';
const FLUX2_RELEASE_WORKFLOW: IdentityTemplate = {
  certificateIdentity: 'https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/{fluxVersion}',
  certificateOidcIssuer: GITHUB_ACTIONS_ISSUER,
};

/**
 * Flux (FACTS §1 and §2). Controllers are signed either by their own release workflow, whose SAN names the
 * controller and its version, or by the shared gha-workflows workflow, whose SAN names neither: then the Source
 * Repository URI and Ref extensions (the calling repository and tag) bind the signature to this controller at this
 * version, so another controller's signature or an older release's cannot pass. The SLSA generator is matched over
 * its versions for the same reason: the binding is in the extensions, not in the generator's own tag.
 */
export const FLUX_PROFILE: ReleaseProfile = deepFreeze({
  name: 'flux',
  repository: 'fluxcd/flux2',
  checksums: {
    name: 'flux_{version}_checksums.txt',
    signature: { signature: '{checksums}.sig', certificate: '{checksums}.pem' },
    bundles: ['{checksums}.bundle', '{checksums}.sigstore.json'],
    identities: [FLUX2_RELEASE_WORKFLOW],
  },
  platforms: { os: ['linux', 'darwin', 'windows'], arch: ['amd64', 'arm64', 'arm', '386'] },
  assets: [
    { name: 'flux_{version}_{os}_{arch}.tar.gz', role: 'cli-archive', required: false, checksummed: true },
    { name: 'flux_{version}_{os}_{arch}.zip', role: 'cli-archive', required: false, checksummed: true },
    { name: 'install.yaml', role: 'install-manifest', required: true, checksummed: true },
    { name: 'manifests.tar.gz', role: 'manifests', required: true, checksummed: true },
    { name: 'crd-schemas.tar.gz', role: 'crd-schemas', required: false, checksummed: true },
    // Written by the SLSA generator after goreleaser ran, so the checksums cannot list it.
    { name: 'provenance.intoto.jsonl', role: 'provenance', required: false, checksummed: false },
  ],
  images: {
    canonicalPrefix: 'ghcr.io/fluxcd',
    fromAsset: 'install.yaml',
    identities: [
      { certificateIdentity: 'https://github.com/fluxcd/{name}/.github/workflows/release.yml@refs/tags/{version}', certificateOidcIssuer: GITHUB_ACTIONS_ISSUER },
      {
        certificateIdentityRegexp: 'https://github\\.com/fluxcd/gha-workflows/\\.github/workflows/controller-release\\.yaml@refs/tags/v\\d+\\.\\d+\\.\\d+',
        certificateOidcIssuer: GITHUB_ACTIONS_ISSUER,
        sourceRepositoryUri: 'https://github.com/fluxcd/{name}',
        sourceRepositoryRef: 'refs/tags/{version}',
      },
    ],
    provenance: [
      {
        certificateIdentityRegexp: 'https://github\\.com/slsa-framework/slsa-github-generator/\\.github/workflows/generator_container_slsa3\\.yml@refs/tags/v\\d+\\.\\d+\\.\\d+',
        certificateOidcIssuer: GITHUB_ACTIONS_ISSUER,
        sourceRepositoryUri: 'https://github.com/fluxcd/{name}',
        sourceRepositoryRef: 'refs/tags/{version}',
      },
    ],
    extra: [
      { name: 'flux-cli', tag: '{tag}', identities: [FLUX2_RELEASE_WORKFLOW] },
      { name: 'flux-manifests', tag: '{tag}', identities: [FLUX2_RELEASE_WORKFLOW] },
    ],
  },
});

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
