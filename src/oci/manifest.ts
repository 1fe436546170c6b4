import { AirlockError } from '../errors.js';
import { isDigest, type Digest } from './digest.js';
import { isAnyManifestMediaType, isIndexMediaType, MediaTypes } from './mediatypes.js';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
  urls?: string[];
  data?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; index: ImageIndex }
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest };

export function platformString(p: Platform | undefined): string {
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(what: string): never {
  throw new AirlockError('INTEGRITY', `The manifest is malformed: ${what}; the source is corrupt or not an OCI/Docker manifest.`);
}

/** Validates a descriptor object, rejecting anything that would let a hostile manifest smuggle bad digests or sizes. */
export function toDescriptor(v: unknown, where: string): Descriptor {
  if (!isRecord(v)) bad(`${where} is not an object`);
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== 'string' || mediaType.length === 0 || mediaType.length > 255) bad(`${where}.mediaType is missing or invalid`);
  if (typeof digest !== 'string' || !isDigest(digest)) bad(`${where}.digest is not a valid digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) bad(`${where}.size is not a non-negative integer`);
  if (v.annotations !== undefined) {
    if (!isRecord(v.annotations) || Object.values(v.annotations).some((a) => typeof a !== 'string')) bad(`${where}.annotations is not a string map`);
  }
  if (v.urls !== undefined && (!Array.isArray(v.urls) || v.urls.some((u) => typeof u !== 'string'))) bad(`${where}.urls is not a list of strings`);
  return v as unknown as Descriptor;
}

/**
 * Parses and validates manifest bytes. `mediaType` is the Content-Type the store reported (or the descriptor's);
 * the document's own mediaType, when present, must agree with it.
 */
export function parseManifest(bytes: Uint8Array, mediaType?: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    bad('it is not UTF-8 JSON');
  }
  if (!isRecord(doc)) bad('it is not a JSON object');
  if (doc.schemaVersion !== 2) bad('schemaVersion is not 2');
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  let mt = declared ?? mediaType;
  if (declared && mediaType && isAnyManifestMediaType(mediaType) && declared !== mediaType) {
    bad(`its mediaType ${declared} differs from the reported ${mediaType}`);
  }
  if (!mt) mt = Array.isArray(doc.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
  if (doc.subject !== undefined) toDescriptor(doc.subject, 'subject');
  if (isIndexMediaType(mt) || (!isAnyManifestMediaType(mt) && Array.isArray(doc.manifests))) {
    if (!Array.isArray(doc.manifests)) bad('an index has no manifests list');
    doc.manifests.forEach((m, i) => toDescriptor(m, `manifests[${i}]`));
    return { kind: 'index', mediaType: mt, index: doc as unknown as ImageIndex };
  }
  toDescriptor(doc.config, 'config');
  if (!Array.isArray(doc.layers)) bad('layers is not a list');
  doc.layers.forEach((l, i) => toDescriptor(l, `layers[${i}]`));
  return { kind: 'manifest', mediaType: mt, manifest: doc as unknown as ImageManifest };
}

/** The descriptors a manifest points to (children of an index; config and layers of an image manifest). */
export function childrenOf(m: ParsedManifest): Descriptor[] {
  return m.kind === 'index' ? m.index.manifests : [m.manifest.config, ...m.manifest.layers];
}
