// Public surface of src/upstream: fetches and parses upstream releases; never decides trust (src/verify does).
export { parseChecksums, missingFromChecksums, requireChecksums, DEFAULT_MAX_CHECKSUMS_BYTES, type ChecksumsFile } from './checksums.js';
export { downloadAsset, DEFAULT_MAX_ASSET_BYTES, type AssetDownload, type DownloadOptions } from './download.js';
export {
  GitHubReleases,
  type CachedResponse,
  type GitHubClientOptions,
  type RefusedRelease,
  type ReleaseListing,
  type ResponseCache,
} from './github.js';
export { isLoopbackHost, toApiBase } from './http.js';
export {
  imagesFromInstallYaml,
  toCanonicalPrefix,
  DEFAULT_MAX_INSTALL_YAML_BYTES,
  type CanonicalImage,
  type IgnoredImage,
  type InstallImages,
  type InstallYamlOptions,
} from './install-yaml.js';
export { fileNameProblem, isPlainFileName, type FileNameProblem } from './names.js';
export {
  FLUX_PROFILE,
  GITHUB_ACTIONS_ISSUER,
  type AssetRole,
  type AssetRule,
  type IdentityTemplate,
  type ImageRule,
  type ReleaseProfile,
} from './profile.js';
export { toReleaseProfile } from './profile-config.js';
export {
  profileRelease,
  releaseImages,
  type ChecksumsMaterial,
  type MatchedAsset,
  type ProfiledRelease,
  type ReleaseImage,
} from './profile-release.js';
export { refusalReasonOf, UPSTREAM_REFUSAL_REASONS, type UpstreamRefusalReason } from './refusal.js';
export {
  assetNamed,
  defaultDownloadHosts,
  toUnverifiedRelease,
  versionOfTag,
  MAX_ASSETS,
  PUBLIC_GITHUB_DOWNLOAD_HOSTS,
  type ReleaseModelOptions,
  type UnverifiedAsset,
  type UnverifiedRelease,
} from './release.js';
export { selectReleases, type ReleaseSelection, type SelectionResult, type SkipReason } from './select.js';
export { compareSemVer, isPrerelease, parseRange, parseSemVer, satisfies, type SemVer, type SemVerRange } from './semver.js';
export { expandIdentities, TEMPLATE_CONTEXTS, type ExpandedIdentity, type IdentityValues } from './template.js';
