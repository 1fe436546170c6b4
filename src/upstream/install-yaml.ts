/**
 * The images a release deploys, read from its `install.yaml` (after src/verify has accepted the checksums that
 * cover it). There is no list of controllers anywhere in the code: whatever `image:` the manifests name under
 * the canonical prefix is what the release consists of, with the version it pins — so a new controller (as
 * source-watcher was in v2.7.0) is mirrored without a code change, and an image outside the prefix is reported
 * and never mirrored.
 *
 * Parsing is bounded (bytes, documents, YAML aliases — a "billion laughs" document expands exponentially) and
 * strict about the images under the prefix: they become repository paths and tags in the target and values in
 * identity policies, so a malformed digest, an invalid tag, a `..` or a nested path refuses the whole file.
 */
import { parseAllDocuments } from 'yaml';
import { isDigest, type Digest } from '../oci/digest.js';
import { isTag, parseRegistryReference, type RegistryReference } from '../oci/reference.js';
import { AirlockError } from '../errors.js';
import { safeDetail, shown, upstreamError } from './refusal.js';

export interface CanonicalImage {
  /** The path under the prefix: `source-controller`. */
  readonly name: string;
  readonly tag: string;
  /** Present when install.yaml pins one (`…:tag@sha256:…`). */
  readonly digest: Digest | undefined;
  /** `ghcr.io/fluxcd/source-controller:v1.9.4` (with `@digest` when pinned). */
  readonly reference: string;
}

export interface IgnoredImage {
  /** As written (control characters neutralised). */
  readonly image: string;
  readonly reason: 'outside-prefix';
}

export interface InstallImages {
  /** In order of first appearance, without repeats. */
  readonly images: readonly CanonicalImage[];
  readonly ignored: readonly IgnoredImage[];
}

export interface InstallYamlOptions {
  /** `ghcr.io/fluxcd`. */
  canonicalPrefix: string;
  maxBytes?: number;
}

export const DEFAULT_MAX_INSTALL_YAML_BYTES = 16 * 1024 * 1024;
const MAX_DOCUMENTS = 10_000;
const MAX_ALIASES = 100;
const MAX_DEPTH = 128;

/** Parses the canonical prefix (`registry/path`, no tag or digest). */
export function toCanonicalPrefix(prefix: string): { registry: string; repository: string } {
  let ref: RegistryReference;
  try {
    ref = parseRegistryReference(prefix, { requireTagOrDigest: false });
  } catch (e) {
    throw new AirlockError('BAD_INPUT', `The canonical image prefix ${shown(prefix)} is not a registry/path such as ghcr.io/fluxcd.`, { cause: e });
  }
  if (ref.tag !== undefined || ref.digest !== undefined || !prefix.includes('/')) {
    throw new AirlockError('BAD_INPUT', `The canonical image prefix ${shown(prefix)} must be a registry and path without tag or digest, such as ghcr.io/fluxcd.`);
  }
  return { registry: ref.registry.toLowerCase(), repository: ref.repository };
}

function malformed(why: string, cause?: unknown): never {
  throw upstreamError('REGISTRY_ERROR', 'install-yaml-malformed', `install.yaml cannot be read (${why}); refusing the release's images.`, {}, cause);
}

/** Every string value of a key named `image`, anywhere (containers, initContainers, ephemeralContainers, …). */
function collectImages(root: unknown, out: string[]): void {
  const stack: { value: unknown; depth: number }[] = [{ value: root, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (depth > MAX_DEPTH) malformed(`it nests deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], depth: depth + 1 });
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, v] = entries[i]!;
        if (k === 'image' && typeof v === 'string') out.push(v);
        else stack.push({ value: v, depth: depth + 1 });
      }
    }
  }
}

export function imagesFromInstallYaml(input: Uint8Array | string, o: InstallYamlOptions): InstallImages {
  const max = o.maxBytes ?? DEFAULT_MAX_INSTALL_YAML_BYTES;
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > max) throw upstreamError('LIMIT_EXCEEDED', 'install-yaml-too-large', `install.yaml is ${size} bytes, over the ${max}-byte limit.`, { limit: max });
  const prefix = toCanonicalPrefix(o.canonicalPrefix);
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch (e) {
    malformed('it is not UTF-8', e);
  }
  const raw: string[] = [];
  try {
    const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
    const list = Array.isArray(docs) ? docs : [];
    if (list.length > MAX_DOCUMENTS) malformed(`more than ${MAX_DOCUMENTS} documents`);
    for (const doc of list) {
      const first = doc.errors[0];
      if (first) malformed(safeDetail(first.message.split('\n')[0] ?? 'a YAML error', 200));
      collectImages(doc.toJS({ maxAliasCount: MAX_ALIASES }), raw);
    }
  } catch (e) {
    if (e instanceof AirlockError) throw e;
    malformed(e instanceof RangeError ? 'it nests too deeply' : safeDetail(String((e as Error).message ?? e).split('\n')[0] ?? '', 200), e);
  }

  const images: CanonicalImage[] = [];
  const ignored: IgnoredImage[] = [];
  const seen = new Set<string>();
  for (const image of raw) {
    const parsed = toCanonicalImage(image, prefix);
    if (parsed === undefined) {
      if (!ignored.some((i) => i.image === safeDetail(image))) ignored.push({ image: safeDetail(image), reason: 'outside-prefix' });
    } else if (!seen.has(parsed.reference)) {
      seen.add(parsed.reference);
      images.push(parsed);
    }
  }
  return { images, ignored };
}

type ImageRefusal = 'image-reference-malformed' | 'image-digest-malformed' | 'image-tag-invalid' | 'image-tag-missing' | 'image-name-dotdot' | 'image-name-nested';

function refuseImage(reason: ImageRefusal, image: string, why: string, cause?: unknown): never {
  throw upstreamError('REGISTRY_ERROR', reason, `install.yaml names the image ${shown(image)}, which ${why}; refusing the release's images.`, { image: safeDetail(image) }, cause);
}

/** The image as a canonical image, undefined when it is outside the prefix; throws for anything malformed. */
function toCanonicalImage(image: string, prefix: { registry: string; repository: string }): CanonicalImage | undefined {
  // Each check first on the raw string, so the refusal names what is wrong rather than "does not parse".
  if (image.includes('..')) refuseImage('image-name-dotdot', image, 'contains ".."');
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  if (digest !== undefined && !isDigest(digest)) refuseImage('image-digest-malformed', image, 'has a digest that is not sha256:<64 hex>');
  const nameAndTag = at >= 0 ? image.slice(0, at) : image;
  const colon = nameAndTag.lastIndexOf(':');
  const tag = colon > nameAndTag.lastIndexOf('/') ? nameAndTag.slice(colon + 1) : undefined;
  if (tag !== undefined && !isTag(tag)) refuseImage('image-tag-invalid', image, 'has an invalid tag');
  let ref: RegistryReference;
  try {
    ref = parseRegistryReference(image, { requireTagOrDigest: false });
  } catch (e) {
    refuseImage('image-reference-malformed', image, 'is not a valid image reference', e);
  }
  const under = ref.registry.toLowerCase() === prefix.registry && ref.repository.startsWith(`${prefix.repository}/`);
  if (!under) return undefined;
  const name = ref.repository.slice(prefix.repository.length + 1);
  if (name.includes('/')) refuseImage('image-name-nested', image, `is nested below ${prefix.registry}/${prefix.repository} rather than directly under it`);
  if (ref.tag === undefined) refuseImage('image-tag-missing', image, 'has no tag, so it cannot be mirrored as <prefix>/<name>:<tag>');
  const reference = `${prefix.registry}/${prefix.repository}/${name}:${ref.tag}${ref.digest ? `@${ref.digest}` : ''}`;
  return Object.freeze({ name, tag: ref.tag, digest: ref.digest, reference });
}
