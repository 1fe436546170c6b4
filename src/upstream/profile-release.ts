/**
 * A release seen through its profile: which asset is the checksums file and its signature material, what role
 * each other asset plays, and which images the release consists of with the identities that must have signed
 * each. Still unverified: this says what to verify and against whom, never that anything passed.
 */
import { AirlockError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { toCanonicalPrefix, type InstallImages } from './install-yaml.js';
import type { AssetRole, ReleaseProfile } from './profile.js';
import { safeDetail, shown, upstreamError } from './refusal.js';
import { assetNamed, versionOfTag, type UnverifiedAsset, type UnverifiedRelease } from './release.js';
import { escapeRegExp, expandIdentities, expandTemplate, type ExpandedIdentity } from './template.js';

export interface ChecksumsMaterial {
  readonly checksums: UnverifiedAsset;
  /** cosign v2 detached signature and certificate, when the release has both. */
  readonly detached: { readonly signature: UnverifiedAsset; readonly certificate: UnverifiedAsset } | undefined;
  /** Sigstore bundles the release ships (cosign v3); preferred when present, as they carry transparency evidence. */
  readonly bundles: readonly UnverifiedAsset[];
  /** Who must have signed the checksums file. */
  readonly identities: readonly ExpandedIdentity[];
}

export interface MatchedAsset {
  readonly asset: UnverifiedAsset;
  readonly role: AssetRole;
  /** Must be listed in the verified checksums file (checksums.ts `requireChecksums`). */
  readonly checksummed: boolean;
  readonly platform: { readonly os: string; readonly arch: string } | undefined;
}

export interface ProfiledRelease {
  readonly release: UnverifiedRelease;
  readonly checksums: ChecksumsMaterial;
  readonly assets: readonly MatchedAsset[];
  /** Assets no rule names (source archive, SBOM…): not mirrored. */
  readonly unmatched: readonly string[];
}

function nameVars(release: UnverifiedRelease): Record<string, string> {
  return { tag: release.tag, version: versionOfTag(release.tag) };
}

/** Finds the profile's assets in a release; refuses it when the checksums, their signature or a required asset is missing. */
export function profileRelease(profile: ReleaseProfile, release: UnverifiedRelease): ProfiledRelease {
  const vars = nameVars(release);
  const checksumsName = expandTemplate(profile.checksums.name, vars);
  const checksums = assetNamed(release, checksumsName);
  if (!checksums) {
    throw upstreamError('NOT_FOUND', 'checksums-missing', `The release ${shown(release.tag)} has no ${shown(checksumsName)}, so nothing in it can be verified.`, {
      tag: release.tag,
      asset: checksumsName,
    });
  }
  const materialVars = { ...vars, checksums: checksumsName };
  const sig = profile.checksums.signature;
  const signature = sig ? assetNamed(release, expandTemplate(sig.signature, materialVars)) : undefined;
  const certificate = sig ? assetNamed(release, expandTemplate(sig.certificate, materialVars)) : undefined;
  const bundles = profile.checksums.bundles.map((b) => assetNamed(release, expandTemplate(b, materialVars))).filter((a): a is UnverifiedAsset => a !== undefined);
  const detached = signature && certificate ? { signature, certificate } : undefined;
  if (!detached && bundles.length === 0) {
    throw upstreamError('NO_SIGNATURE', 'checksums-signature-missing', `The release ${shown(release.tag)} has ${shown(checksumsName)} but no signature and certificate or bundle for it.`, {
      tag: release.tag,
    });
  }
  const material = new Set([checksums, signature, certificate, ...bundles].filter((a) => a !== undefined).map((a) => a.name));

  const matchers = profile.assets.map((rule) => ({ rule, re: ruleRegExp(rule.name, vars, profile.platforms) }));
  const assets: MatchedAsset[] = [];
  const unmatched: string[] = [];
  for (const asset of release.assets) {
    if (material.has(asset.name)) continue;
    const hit = matchers.map((m) => ({ m, match: m.re.exec(asset.name) })).find((x) => x.match !== null);
    if (!hit) {
      unmatched.push(asset.name);
      continue;
    }
    const g = hit.match!.groups;
    assets.push({ asset, role: hit.m.rule.role, checksummed: hit.m.rule.checksummed, platform: g?.os && g.arch ? { os: g.os, arch: g.arch } : undefined });
  }
  const missing = profile.assets.filter((r) => r.required && !assets.some((a) => matchers.find((m) => m.rule === r)!.re.test(a.asset.name)));
  if (missing.length > 0) {
    const names = missing.map((r) => expandTemplate(r.name, { ...vars, os: '{os}', arch: '{arch}' }));
    throw upstreamError('NOT_FOUND', 'profile-asset-missing', `The release ${shown(release.tag)} lacks ${names.map((n) => shown(n)).join(', ')}, which the ${profile.name} profile requires.`, {
      tag: release.tag,
      missing: names.map((n) => safeDetail(n)),
    });
  }
  const identities = expandIdentities(profile.checksums.identities, { releaseTag: release.tag, version: release.tag });
  return { release, checksums: { checksums, detached, bundles, identities }, assets, unmatched };
}

/** A rule's name template as an anchored regexp; `{os}` and `{arch}` only take the profile's platform values. */
function ruleRegExp(template: string, vars: Record<string, string>, platforms: ReleaseProfile['platforms']): RegExp {
  const alternatives = (values: readonly string[] | undefined) => `(?:${(values ?? []).map(escapeRegExp).join('|') || '(?!)'})`;
  const source = template
    .split(/(\{[A-Za-z]+\})/)
    .map((part) => {
      if (part === '{os}') return `(?<os>${alternatives(platforms?.os)})`;
      if (part === '{arch}') return `(?<arch>${alternatives(platforms?.arch)})`;
      return /^\{[A-Za-z]+\}$/.test(part) ? escapeRegExp(expandTemplate(part, vars)) : escapeRegExp(part);
    })
    .join('');
  return new RegExp(`^${source}$`);
}

export interface ReleaseImage {
  readonly name: string;
  readonly tag: string;
  /** When install.yaml pins one; the tag must then resolve to it. */
  readonly digest: Digest | undefined;
  /** Upstream, under the canonical prefix: `ghcr.io/fluxcd/source-controller:v1.9.4`. */
  readonly reference: string;
  readonly source: 'install-manifest' | 'extra';
  /** Who must have signed this image's digest (any one of them). */
  readonly identities: readonly ExpandedIdentity[];
  /** Who must have signed its SLSA provenance; undefined when the profile names nobody. */
  readonly provenance: readonly ExpandedIdentity[] | undefined;
}

/**
 * The release's images: those `install` (from the verified install manifest, or undefined when the profile reads
 * none) names under the canonical prefix, then the profile's extra images. A name in both is one image.
 */
export function releaseImages(profile: ReleaseProfile, release: UnverifiedRelease, install: InstallImages | undefined): ReleaseImage[] {
  if (profile.images.fromAsset !== undefined && install === undefined) {
    throw new AirlockError('INTERNAL', `The ${profile.name} profile reads its images from ${profile.images.fromAsset}, which was not given.`);
  }
  const canonical = toCanonicalPrefix(profile.images.canonicalPrefix);
  const prefix = `${canonical.registry}/${canonical.repository}`;
  const out: ReleaseImage[] = [];
  const extraNames = new Set(profile.images.extra.map((e) => e.name));
  for (const image of install?.images ?? []) {
    if (extraNames.has(image.name)) continue;
    const values = { releaseTag: release.tag, version: image.tag, name: image.name };
    out.push({
      name: image.name,
      tag: image.tag,
      digest: image.digest,
      reference: image.reference,
      source: 'install-manifest',
      identities: expandIdentities(profile.images.identities, values),
      provenance: profile.images.provenance ? expandIdentities(profile.images.provenance, values) : undefined,
    });
  }
  for (const rule of profile.images.extra) {
    const tag = expandTemplate(rule.tag, nameVars(release));
    const values = { releaseTag: release.tag, version: tag, name: rule.name };
    out.push({
      name: rule.name,
      tag,
      digest: undefined,
      reference: `${prefix}/${rule.name}:${tag}`,
      source: 'extra',
      identities: expandIdentities(rule.identities, values),
      provenance: rule.provenance ? expandIdentities(rule.provenance, values) : undefined,
    });
  }
  return out;
}
