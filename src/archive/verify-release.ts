/**
 * One release, verified again offline from a store that holds it the way sync mirrors it: the release artifact
 * `<prefix>/<profile>-release:<tag>` and each image at `<prefix>/<name>:<tag>`. Used by `archive save` (reading the
 * mirror) and `archive load` (reading the unpacked, untrusted archive) — the same checks in the same order:
 *
 *   checksums' signature (the bundle sync kept: Rekor's entry with its inclusion proof, or the release's own
 *   bundle) against the release identity of THIS tag, from the verifier's profile → every file of the artifact
 *   against the verified checksums → the images named by the verified install.yaml (the profile's identities,
 *   bound to each image's version) → each image's digest verified with its signatures and attestations.
 *
 * No Rekor, no TUF, no network: the bundles carry their transparency evidence (SETs, inclusion proofs). Nothing
 * the store says is trusted before it verified; an image the store does not hold is reported as absent.
 */
import { AirlockError, isAirlockError } from '../errors.js';
import { authorizeImageCopy, type CopyVerification } from '../image/authorize.js';
import type { SourceAuthorization } from '../copy/references.js';
import type { Digest } from '../oci/digest.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { MediaTypes } from '../oci/mediatypes.js';
import { openReference } from '../store/open.js';
import type { StoreOptions } from '../store/options.js';
import type { Repository } from '../store/types.js';
import type { TrustAnchor } from '../trust/index.js';
import { imagesFromInstallYaml, parseChecksums, profileRelease, releaseImages, type ChecksumsFile, type ReleaseProfile, type UnverifiedRelease } from '../upstream/index.js';
import type { UnverifiedAsset } from '../upstream/release.js';
import { summarizeVerdict, type VerdictSummary } from '../verify/index.js';
import { planImage, targetFor, type ImagePlan } from '../pipeline/sync-image.js';
import { RELEASE_ARTIFACT_TYPE, releaseRepository } from '../pipeline/release-artifact.js';
import { verifyAgainstAny } from '../pipeline/sync-checksums.js';

const TITLE = 'org.opencontainers.image.title';
const MAX_SMALL_FILE = 16 * 1024 * 1024;

export interface ReleaseLayer {
  name: string;
  descriptor: Descriptor;
}

export interface VerifiedReleaseArtifact {
  reference: string;
  digest: Digest;
  manifest: Uint8Array;
  config: Descriptor;
  layers: ReleaseLayer[];
  checksums: { name: string; bytes: Buffer; digest: Digest; file: ChecksumsFile; verdict: VerdictSummary; bundle: unknown; bundleSource: 'release-bundle' | 'rekor' };
  /** The signature material layers (.sig/.pem, a shipped bundle), by name. */
  material: string[];
}

export interface VerifiedImage {
  plan: ImagePlan;
  /** Where it was read: `<prefix>/<name>:<tag>`. */
  reference: string;
  digest: Digest;
  auth: SourceAuthorization<CopyVerification>;
}

export interface VerifiedRelease {
  tag: string;
  artifact: VerifiedReleaseArtifact;
  images: VerifiedImage[];
  /** Images the verified install.yaml names that the store does not hold (refused upstream, never mirrored). */
  absent: { name: string; tag: string }[];
  /** Images outside the canonical prefix that install.yaml names: never mirrored. */
  ignored: string[];
}

export interface VerifyReleaseOptions {
  /** `oci:DIR` or a registry prefix: the layout of a mirror. */
  prefix: string;
  tag: string;
  profile: ReleaseProfile;
  canonicalPrefix: string;
  requireProvenance: boolean;
  trust: TrustAnchor;
  storeOptions: StoreOptions;
  /** Called before each image is verified (progress). */
  onImage?: (name: string) => void;
}

async function readAll(repo: Repository, d: Descriptor, what: string): Promise<Buffer> {
  if (d.size > MAX_SMALL_FILE) throw new AirlockError('LIMIT_EXCEEDED', `${what} is ${d.size} bytes, over the ${MAX_SMALL_FILE}-byte limit for a release file read whole.`);
  const chunks: Uint8Array[] = [];
  for await (const c of await repo.openBlob(d)) chunks.push(c);
  return Buffer.concat(chunks);
}

function refusedArtifact(reference: string, what: string, check: string): AirlockError {
  return new AirlockError('VERIFY_FAILED', `The release artifact ${reference} ${what}, so the release is refused.`, { details: { check } });
}

/** The release artifact: read, its checksums verified offline, every file checked against them. */
export async function verifyReleaseArtifact(o: VerifyReleaseOptions): Promise<{ artifact: VerifiedReleaseArtifact; install: Buffer | undefined; release: UnverifiedRelease }> {
  const reference = targetFor(o.prefix, releaseRepository(o.profile.name), o.tag);
  const opened = await openReference(reference, o.storeOptions);
  try {
    const repo = opened.repository;
    const head = await repo.headManifest(o.tag);
    if (!head) throw new AirlockError('NOT_FOUND', `${opened.display} does not exist; the release ${o.tag} is not there.`);
    const fetched = await repo.getManifest(head.digest);
    if (fetched.descriptor.mediaType !== MediaTypes.ociManifest) throw refusedArtifact(opened.display, 'is not an OCI image manifest', 'release-artifact-format');
    const parsed = parseManifest(fetched.bytes, fetched.descriptor.mediaType);
    if (parsed.kind !== 'manifest') throw refusedArtifact(opened.display, 'is not an OCI image manifest', 'release-artifact-format');
    const manifest = parsed.manifest;
    if (manifest.artifactType !== RELEASE_ARTIFACT_TYPE) throw refusedArtifact(opened.display, `has artifact type ${JSON.stringify(String(manifest.artifactType).slice(0, 80))}, not ${RELEASE_ARTIFACT_TYPE}`, 'release-artifact-format');
    const layers: ReleaseLayer[] = [];
    const names = new Set<string>();
    for (const d of manifest.layers) {
      const name = d.annotations?.[TITLE];
      if (name === undefined || names.has(name)) throw refusedArtifact(opened.display, 'has a file without a name, or a name twice', 'release-artifact-format');
      names.add(name);
      layers.push({ name, descriptor: d });
    }
    // The verifier's profile says which file is the checksums and which identity signs it, for this tag.
    const release: UnverifiedRelease = {
      trust: 'unverified',
      id: undefined,
      tag: o.tag,
      draft: false,
      prerelease: false,
      publishedAt: null,
      assets: layers.map((l): UnverifiedAsset => ({ trust: 'unverified', id: undefined, name: l.name, url: `archive:${l.name}`, size: l.descriptor.size, digest: l.descriptor.digest, state: 'uploaded' })),
    };
    const profiled = profileRelease(o.profile, release);
    const byName = new Map(layers.map((l) => [l.name, l]));
    const layerOf = (name: string): ReleaseLayer => byName.get(name)!;
    const checksumsName = profiled.checksums.checksums.name;
    const checksumsBytes = await readAll(repo, layerOf(checksumsName).descriptor, checksumsName);
    // As sync published it: detached .sig/.pem with the bundle it built from Rekor's entry
    // (`<checksums>.sigstore.json`), or else the release's own bundle.
    const detached = profiled.checksums.detached;
    const kept = detached ? byName.get(`${checksumsName}.sigstore.json`) : undefined;
    const shipped = detached ? undefined : profiled.checksums.bundles[0];
    const material = detached ? [detached.signature.name, detached.certificate.name] : shipped ? [shipped.name] : [];
    const bundleLayer = kept ?? (shipped ? layerOf(shipped.name) : undefined);
    if (!bundleLayer) {
      throw new AirlockError('NO_SIGNATURE', `The release artifact ${opened.display} carries no Sigstore bundle for ${checksumsName}, so it cannot be verified offline; the release is refused.`, {
        details: { check: 'checksums-bundle' },
      });
    }
    let bundle: unknown;
    try {
      bundle = JSON.parse((await readAll(repo, bundleLayer.descriptor, bundleLayer.name)).toString('utf8'));
    } catch (e) {
      if (isAirlockError(e)) throw e;
      throw new AirlockError('VERIFY_FAILED', `The bundle ${bundleLayer.name} in ${opened.display} is not JSON, so the checksums cannot be verified.`, { details: { check: 'bundle-format' } });
    }
    const verdict = verifyAgainstAny(bundle, checksumsBytes, o.trust, profiled.checksums.identities);
    const file = parseChecksums(checksumsBytes);
    // Every other file must be one the signed checksums list, with that digest.
    const skip = new Set([checksumsName, ...material, ...(kept ? [kept.name] : [])]);
    for (const l of layers) {
      if (skip.has(l.name)) continue;
      const listed = file.entries.get(l.name);
      if (listed === undefined) throw refusedArtifact(opened.display, `holds ${JSON.stringify(l.name.slice(0, 120))}, which the signed checksums do not list`, 'checksums-entry-missing');
      if (listed !== l.descriptor.digest) {
        throw new AirlockError('INTEGRITY', `${l.name} in ${opened.display} is ${l.descriptor.digest}, but the signed checksums say ${listed}; the release is refused.`, { details: { check: 'checksums-match' } });
      }
    }
    const fromAsset = o.profile.images.fromAsset;
    const install = fromAsset !== undefined && byName.has(fromAsset) ? await readAll(repo, layerOf(fromAsset).descriptor, fromAsset) : undefined;
    if (fromAsset !== undefined && install === undefined) throw refusedArtifact(opened.display, `has no ${fromAsset}, so no image can be bound to a version`, 'install-manifest-missing');
    return {
      release,
      install,
      artifact: {
        reference: opened.display,
        digest: head.digest,
        manifest: fetched.bytes,
        config: manifest.config,
        layers,
        material,
        checksums: { name: checksumsName, bytes: checksumsBytes, digest: verdict.artifact.digest, file, verdict: summarizeVerdict(verdict), bundle, bundleSource: kept ? 'rekor' : 'release-bundle' },
      },
    };
  } finally {
    await opened.store.close().catch(() => undefined);
  }
}

/** The whole release: artifact, then each image named by the verified install.yaml, verified offline. */
export async function verifyReleaseOffline(o: VerifyReleaseOptions): Promise<VerifiedRelease> {
  const { artifact, install, release } = await verifyReleaseArtifact(o);
  const installed = install !== undefined ? imagesFromInstallYaml(install, { canonicalPrefix: o.canonicalPrefix }) : undefined;
  const images: VerifiedImage[] = [];
  const absent: VerifiedRelease['absent'] = [];
  for (const image of releaseImages(o.profile, release, installed)) {
    const plan = planImage(image, { canonicalPrefix: o.canonicalPrefix, source: o.prefix, target: o.prefix, requireProvenance: o.requireProvenance });
    const reference = targetFor(o.prefix, image.name, image.tag);
    o.onImage?.(image.name);
    const opened = await openReference(reference, o.storeOptions).catch((e: unknown) => {
      if (isAirlockError(e, 'LAYOUT_INVALID') || isAirlockError(e, 'NOT_FOUND')) return undefined;
      throw e;
    });
    try {
      const head = opened ? await opened.repository.headManifest(image.tag).catch((e: unknown) => (isAirlockError(e, 'LAYOUT_INVALID') || isAirlockError(e, 'NOT_FOUND') ? undefined : Promise.reject(e))) : undefined;
      if (!opened || !head) {
        absent.push({ name: image.name, tag: image.tag });
        continue;
      }
      if (image.digest !== undefined && image.digest !== head.digest) {
        throw new AirlockError('VERIFY_FAILED', `${reference} is ${head.digest}, but the verified install.yaml pins ${image.digest}; the release is refused.`, { details: { check: 'pinned-digest', digest: head.digest } });
      }
      let auth: SourceAuthorization<CopyVerification>;
      try {
        auth = await authorizeImageCopy(opened.repository, head.digest, { policies: plan.policies, trust: o.trust });
      } catch (e) {
        if (isAirlockError(e)) throw new AirlockError(e.code, `${reference}: ${e.message}`, { cause: e, details: { ...e.details, digest: head.digest, image: image.name } });
        throw e;
      }
      if (plan.requireProvenance && (auth.report?.attestations.verified.length ?? 0) === 0) {
        throw new AirlockError('VERIFY_FAILED', `${reference} (${head.digest}) has no SLSA provenance signed by the expected identity, and provenance is required.`, {
          details: { check: 'provenance-required', digest: head.digest },
        });
      }
      images.push({ plan, reference, digest: head.digest, auth });
    } finally {
      await opened?.store.close().catch(() => undefined);
    }
  }
  return { tag: o.tag, artifact, images, absent, ignored: installed?.ignored.map((i) => i.image) ?? [] };
}
