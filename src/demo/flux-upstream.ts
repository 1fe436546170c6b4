/**
 * A generated Flux-shaped upstream — a STAND-IN for Flux's real releases, for sync tests and `airlock demo`: releases
 * on the FAKE GitHub (checksums with detached .sig/.pem
 * logged in the kit's Rekor, install.yaml naming controllers under ghcr.io/fluxcd, manifests.tar.gz, CLI
 * archives) and the images themselves — three-platform indexes for the controllers and flux-cli, a Flux
 * OCI artifact for flux-manifests — in a store standing in for ghcr.io (a REAL docker-registry in the tests, the demo's read-only stand-in registry), signed by the kit as cosign 2
 * signs (legacy .sig tags), controllers with SLSA provenance (.att). Who signs what is the test's choice, so the
 * attack cases are one option away.
 */
import { createHash, randomBytes } from 'node:crypto';
import { MediaTypes } from '../oci/mediatypes.js';
import type { Digest } from '../oci/digest.js';
import type { ContentStore } from '../store/types.js';
import { controllerReleaseClaims, fluxReleaseClaims, githubClaims, type GitHubActionsClaims } from '../testkit/identity.js';
import { attestImageLikeCosign2, signImageLikeCosign2 } from '../testkit/image-signers.js';
import { signBlobLikeFlux } from '../testkit/signers.js';
import type { LocalSigstore } from '../testkit/sigstore.js';
import { blobOf, jsonBlob, multiArchOf, pushIndex, pushManifest, type PushedManifest } from './images.js';
import type { FakeAsset, FakeGitHub } from './fake-github.js';

export const SLSA_GENERATOR = 'slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0';

export interface UpstreamImage {
  name: string;
  tag: string;
  /** Who signs it; null: unsigned. Default: the controller's own pipeline at its version (or flux2's release). */
  signedBy?: Partial<GitHubActionsClaims> | null;
  /** Whether it is named in install.yaml (controllers) or an extra image (flux-cli, flux-manifests). */
  kind: 'controller' | 'extra';
}

export interface UpstreamRelease {
  tag: string;
  images: UpstreamImage[];
  /** Who signs the checksums; default flux2's release workflow at this tag. */
  checksumsSignedBy?: Partial<GitHubActionsClaims>;
  /** Asset names whose bytes upstream differ from what the signed checksums list. */
  tampered?: string[];
  /** Layer sizes of each platform image; default [256]. */
  layerSizes?: number[];
}

export interface PublishedRelease {
  tag: string;
  digests: Map<string, Digest>;
  checksums: Buffer;
  /** What the release lists on the fake GitHub (so a caller can keep it and serve the same bytes again). */
  assets: FakeAsset[];
}

export function controllers(versions: Record<string, string>): UpstreamImage[] {
  return Object.entries(versions).map(([name, tag]) => ({ name, tag, kind: 'controller' as const }));
}

export const forkClaims = (tag: string): GitHubActionsClaims =>
  githubClaims({ repository: 'attacker/flux2', workflowPath: '.github/workflows/release.yaml', ref: `refs/tags/${tag}`, workflow: 'release' });

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A Flux OCI artifact as `flux push artifact` writes it: Flux's config and content media types, source annotations. */
function fluxArtifact(tag: string): PushedManifest {
  const content = blobOf(randomBytes(256), 'application/vnd.cncf.flux.content.v1.tar+gzip');
  const config = blobOf(new TextEncoder().encode('{}'), 'application/vnd.cncf.flux.config.v1+json');
  const manifest = jsonBlob(
    {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: config.descriptor,
      layers: [content.descriptor],
      annotations: { 'org.opencontainers.image.source': 'https://github.com/fluxcd/flux2', 'org.opencontainers.image.revision': `${tag}@sha1:${'0'.repeat(40)}` },
    },
    MediaTypes.ociManifest,
  );
  return { ...manifest, blobs: [config, content] };
}

function installYaml(images: readonly UpstreamImage[]): string {
  const docs = images
    .filter((i) => i.kind === 'controller')
    .map((i) => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${i.name}\n  namespace: flux-system\nspec:\n  template:\n    spec:\n      containers:\n        - name: manager\n          image: ghcr.io/fluxcd/${i.name}:${i.tag}\n`);
  // An image outside the canonical prefix: reported and ignored, never mirrored.
  docs.push('apiVersion: v1\nkind: Pod\nmetadata:\n  name: helper\nspec:\n  containers:\n    - name: x\n      image: docker.io/library/busybox:1.36\n');
  return docs.join('---\n');
}

/** Pushes, signs and publishes one release. `repoPrefix` is the path in `registry` standing in for ghcr.io/fluxcd. */
export async function publishRelease(kit: LocalSigstore, github: FakeGitHub, registry: ContentStore, repoPrefix: string, r: UpstreamRelease): Promise<PublishedRelease> {
  const version = r.tag.replace(/^v/, '');
  const digests = new Map<string, Digest>();
  for (const image of r.images) {
    const repo = registry.repository(`${repoPrefix}/${image.name}`);
    let digest: Digest;
    if (image.name === 'flux-manifests') {
      const m = fluxArtifact(r.tag);
      await pushManifest(repo, m, image.tag);
      digest = m.descriptor.digest;
    } else {
      const idx = multiArchOf({ layerSizes: r.layerSizes ?? [256], attestations: image.kind === 'controller' });
      await pushIndex(repo, idx, image.tag);
      digest = idx.descriptor.digest;
    }
    digests.set(image.name, digest);
    const signer = image.signedBy === undefined ? (image.kind === 'controller' ? controllerReleaseClaims(image.name, image.tag) : fluxReleaseClaims(r.tag)) : image.signedBy;
    if (signer !== null) await signImageLikeCosign2(kit, repo, digest, { identity: signer });
    if (image.kind === 'controller' && signer !== null) {
      const slsa = githubClaims({ repository: `fluxcd/${image.name}`, workflowPath: '.github/workflows/release.yml', ref: `refs/tags/${image.tag}`, jobWorkflowRef: SLSA_GENERATOR });
      await attestImageLikeCosign2(kit, repo, digest, { identity: slsa });
    }
  }

  const files: Record<string, Buffer> = {
    'install.yaml': Buffer.from(installYaml(r.images)),
    'manifests.tar.gz': Buffer.from(`manifests of ${r.tag}`),
    [`flux_${version}_linux_amd64.tar.gz`]: Buffer.from(`flux cli ${r.tag} linux amd64`),
    [`flux_${version}_linux_arm64.tar.gz`]: Buffer.from(`flux cli ${r.tag} linux arm64`),
    [`flux_${version}_darwin_arm64.tar.gz`]: Buffer.from(`flux cli ${r.tag} darwin arm64`),
  };
  const checksums = Buffer.from(
    Object.entries(files)
      .map(([name, bytes]) => `${sha256(bytes)}  ${name}\n`)
      .join(''),
  );
  const checksumsName = `flux_${version}_checksums.txt`;
  const sig = signBlobLikeFlux(kit, checksums, r.checksumsSignedBy ?? fluxReleaseClaims(r.tag));
  const assets: FakeAsset[] = Object.entries(files).map(([name, bytes]) => ({
    name,
    // A tampered asset: GitHub stores (and digests) other bytes than the signed checksums list.
    bytes: r.tampered?.includes(name) ? Buffer.concat([bytes, Buffer.from(' (tampered)')]) : bytes,
  }));
  assets.push({ name: checksumsName, bytes: checksums }, { name: `${checksumsName}.sig`, bytes: Buffer.from(sig.signature) }, { name: `${checksumsName}.pem`, bytes: Buffer.from(sig.certificate) });
  github.addRelease({ tag: r.tag, publishedAt: new Date().toISOString(), assets });
  return { tag: r.tag, digests, checksums, assets };
}
