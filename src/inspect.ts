import { AirlockError } from './errors.js';
import type { Digest } from './oci/digest.js';
import { parseManifest, platformString, type Descriptor } from './oci/manifest.js';
import { openReference } from './store/open.js';
import type { StoreOptions } from './store/options.js';
import { signatureTag, type Repository } from './store/types.js';

export interface InspectChild {
  digest: Digest;
  mediaType: string;
  size: number;
  platform: string;
  /** BuildKit puts SBOM/provenance manifests inside an index, marked with this annotation. */
  attestationFor?: string;
}

export interface InspectArtifact {
  /** How it was found: a cosign tag (`.sig`, `.att`, `.sbom`) or an OCI 1.1 referrer (API or fallback tag). */
  source: 'tag' | 'referrer';
  tag?: string;
  digest: Digest;
  mediaType: string;
  artifactType?: string;
}

export interface InspectResult {
  reference: string;
  location: string;
  repository: string;
  digest: Digest;
  mediaType: string;
  size: number;
  kind: 'index' | 'manifest';
  artifactType?: string;
  /** Index children: platform manifests and attestation manifests. */
  manifests?: InspectChild[];
  config?: { digest: Digest; mediaType: string; size: number };
  layers?: { digest: Digest; mediaType: string; size: number }[];
  /** Sum of config and layer sizes (manifest), or of the children's manifests (index). */
  totalSize: number;
  /** Signature and attestation artifacts that exist for this digest. Unverified: `verify image` checks them. */
  artifacts: InspectArtifact[];
}

const ATTESTATION_REF = 'vnd.docker.reference.digest';

export async function inspectReference(input: string, options: StoreOptions = {}): Promise<InspectResult> {
  const opened = await openReference(input, options);
  try {
    const target = opened.target;
    if (target === undefined) {
      throw new AirlockError('BAD_INPUT', `"${opened.display}" names no tag or digest; add :TAG or @sha256:… to say which manifest to inspect.`);
    }
    const { descriptor, bytes } = await opened.repository.getManifest(target);
    const parsed = parseManifest(bytes, descriptor.mediaType);
    const base = {
      reference: opened.display,
      location: opened.store.location,
      repository: opened.repository.name,
      digest: descriptor.digest,
      mediaType: parsed.mediaType,
      size: descriptor.size,
      artifacts: await findArtifacts(opened.repository, descriptor.digest),
    };
    if (parsed.kind === 'index') {
      const manifests = parsed.index.manifests.map(toChild);
      return {
        ...base,
        kind: 'index',
        ...(parsed.index.artifactType ? { artifactType: parsed.index.artifactType } : {}),
        manifests,
        totalSize: manifests.reduce((n, m) => n + m.size, 0),
      };
    }
    const m = parsed.manifest;
    const artifactType = m.artifactType ?? (m.config.mediaType.includes('oci.image.config') ? undefined : m.config.mediaType);
    return {
      ...base,
      kind: 'manifest',
      ...(artifactType ? { artifactType } : {}),
      config: pick(m.config),
      layers: m.layers.map(pick),
      totalSize: m.config.size + m.layers.reduce((n, l) => n + l.size, 0),
    };
  } finally {
    await opened.store.close();
  }
}

function pick(d: Descriptor): { digest: Digest; mediaType: string; size: number } {
  return { digest: d.digest, mediaType: d.mediaType, size: d.size };
}

function toChild(d: Descriptor): InspectChild {
  const c: InspectChild = { ...pick(d), platform: platformString(d.platform) };
  const ref = d.annotations?.[ATTESTATION_REF];
  if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' && ref) c.attestationFor = ref;
  return c;
}

/** cosign's legacy tags first (every Flux release so far), then OCI 1.1 referrers (cosign 3). */
async function findArtifacts(repo: Repository, digest: Digest): Promise<InspectArtifact[]> {
  const found: InspectArtifact[] = [];
  const tags = (['.sig', '.att', '.sbom'] as const).map((s) => signatureTag(digest, s));
  const heads = await Promise.all(tags.map((t) => repo.headManifest(t)));
  heads.forEach((d, i) => {
    if (d) found.push({ source: 'tag', tag: tags[i]!, digest: d.digest, mediaType: d.mediaType });
  });
  for (const r of await repo.referrers(digest)) {
    found.push({ source: 'referrer', digest: r.digest, mediaType: r.mediaType, ...(r.artifactType ? { artifactType: r.artifactType } : {}) });
  }
  return found;
}
