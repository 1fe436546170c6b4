import { AirlockError } from '../../errors.js';
import { algorithmOf, checkBytes, isDigest, sha256Digest, type Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import { parseManifest } from '../../oci/manifest.js';
import { isAnyManifestMediaType, MANIFEST_MEDIA_TYPES, MAX_MANIFEST_BYTES } from '../../oci/mediatypes.js';
import { isTag } from '../../oci/reference.js';
import type { StoreOptions } from '../options.js';
import type { FetchedManifest } from '../types.js';
import { failFromResponse, type RegistryClient, type Scope } from './client.js';
import { readBodyLimited } from './response-errors.js';
import type { UploadMode, UploadState } from './uploads.js';

/** What every registry operation on one repository needs. */
export interface RepoContext {
  client: RegistryClient;
  /** The repository path, already checked by isRepositoryPath. */
  name: string;
  /** `registry/name`, for messages. */
  display: string;
  options: StoreOptions;
  /** How large blobs are uploaded; default from `options.chunkSize` (see UploadMode). */
  uploadMode?: UploadMode;
  /** Upload state shared by the store's repositories (reused chunk buffers, a registry that refused streaming). */
  uploads?: UploadState;
}

export const ACCEPT_MANIFESTS = MANIFEST_MEDIA_TYPES.join(', ');

export function pullScope(ctx: RepoContext): Scope[] {
  return [{ repository: ctx.name, actions: ['pull'] }];
}

export function pushScope(ctx: RepoContext): Scope[] {
  return [{ repository: ctx.name, actions: ['pull', 'push'] }];
}

/** Releases a response's connection without reading it. */
export async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // Already consumed or errored: nothing left to release.
  }
}

/**
 * Tags and digests are pasted into URL paths: anything but a valid tag or digest (a `/`, `..`, `?`, `%2F`) could
 * address another resource of the registry, so it is refused before any request is made.
 */
export function checkReference(ctx: RepoContext, reference: string): void {
  if (!isTag(reference) && !isDigest(reference)) {
    throw new AirlockError(
      'BAD_INPUT',
      `"${reference.slice(0, 140)}" is neither a tag nor a sha256 digest, so it cannot be looked up in ${ctx.display}; give a valid tag or digest.`,
    );
  }
}

/** `repo:tag` or `repo@digest`, for messages. */
export function where(ctx: RepoContext, reference: string): string {
  return isDigest(reference) ? `${ctx.display}@${reference}` : `${ctx.display}:${reference}`;
}

/** The media type of a response, without parameters (`; charset=…`), lowercased. */
export function contentTypeOf(res: Response): string | undefined {
  const ct = res.headers.get('content-type');
  if (!ct) return undefined;
  const mt = ct.split(';')[0]?.trim().toLowerCase();
  return mt ? mt : undefined;
}

function tooLarge(what: string, limit: number): AirlockError {
  return new AirlockError(
    'LIMIT_EXCEEDED',
    `The ${what} is larger than ${limit} bytes and was refused; a registry serving a document that large is misbehaving or hostile.`,
  );
}

/**
 * Reads a response body into memory, but never more than `limit` bytes. A hostile or broken registry can lie
 * in Content-Length or omit it, so the declared length is checked first (cheap refusal) and the read itself
 * counts bytes and aborts as soon as the limit is passed: the whole body is never held when it is too large.
 */
export async function readBounded(res: Response, limit: number, what: string): Promise<Uint8Array> {
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) {
    await discard(res);
    throw tooLarge(what, limit);
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readBodyLimited(res, limit);
  } catch (e) {
    throw new AirlockError('UNREACHABLE', `The connection was cut while reading the ${what}; check the network and try again.`, { cause: e });
  }
  if (bytes === undefined) throw tooLarge(what, limit);
  return bytes;
}

function manifestUrl(ctx: RepoContext, reference: string): string {
  return `/v2/${ctx.name}/manifests/${reference}`;
}

export function manifestNotFound(ctx: RepoContext, reference: string): AirlockError {
  return new AirlockError('NOT_FOUND', `The manifest ${where(ctx, reference)} does not exist; check the repository, tag or digest.`);
}

/**
 * The digest of manifest bytes, checked: against the digest asked for, or — fetched by tag — against the
 * registry's Docker-Content-Digest, so a registry cannot serve one document while claiming another's digest.
 */
function verifiedDigest(reference: string, bytes: Uint8Array, header: string | null): Digest {
  if (isDigest(reference)) {
    checkBytes(bytes, reference, undefined, 'manifest');
    return reference;
  }
  if (header === null) return sha256Digest(bytes);
  const claimed = header.trim();
  if (!isDigest(claimed)) {
    throw new AirlockError('REGISTRY_ERROR', `The registry sent a malformed Docker-Content-Digest for the tag ${reference}; it is not speaking the distribution protocol correctly.`);
  }
  checkBytes(bytes, claimed, undefined, 'manifest');
  return claimed;
}

export async function getManifest(ctx: RepoContext, reference: string): Promise<FetchedManifest> {
  checkReference(ctx, reference);
  const res = await ctx.client.request({
    method: 'GET',
    url: manifestUrl(ctx, reference),
    headers: { Accept: ACCEPT_MANIFESTS },
    scope: pullScope(ctx),
    retry: true,
  });
  if (res.status === 404) {
    await discard(res);
    throw manifestNotFound(ctx, reference);
  }
  if (!res.ok) return failFromResponse(res, `the manifest ${where(ctx, reference)}`);
  const bytes = await readBounded(res, MAX_MANIFEST_BYTES, `manifest ${where(ctx, reference)}`);
  const digest = verifiedDigest(reference, bytes, res.headers.get('docker-content-digest'));
  // Content-Type is authoritative when it names a manifest type (parseManifest checks the document agrees);
  // otherwise (application/json, octet-stream from odd registries) the document's own mediaType decides.
  const ct = contentTypeOf(res);
  const parsed = parseManifest(bytes, ct && isAnyManifestMediaType(ct) ? ct : undefined);
  return { descriptor: { mediaType: parsed.mediaType, digest, size: bytes.byteLength }, bytes };
}

export async function headManifest(ctx: RepoContext, reference: string): Promise<Descriptor | undefined> {
  checkReference(ctx, reference);
  const res = await ctx.client.request({
    method: 'HEAD',
    url: manifestUrl(ctx, reference),
    headers: { Accept: ACCEPT_MANIFESTS },
    scope: pullScope(ctx),
    retry: true,
  });
  await discard(res);
  if (res.status === 404) return undefined;
  if (!res.ok) return failFromResponse(res, `the manifest ${where(ctx, reference)}`);
  const header = res.headers.get('docker-content-digest')?.trim();
  const mediaType = contentTypeOf(res);
  const size = Number(res.headers.get('content-length') ?? NaN);
  const digest = isDigest(reference) ? reference : header !== undefined && isDigest(header) ? header : undefined;
  if (isDigest(reference) && header !== undefined && isDigest(header) && algorithmOf(header) === algorithmOf(reference) && header !== reference) {
    throw new AirlockError('INTEGRITY', `The registry answered for ${where(ctx, reference)} with the digest ${header}; it is corrupt or was tampered with.`);
  }
  // Registries that leave out the digest, size or a manifest Content-Type on HEAD: ask for the document.
  if (!digest || !mediaType || !isAnyManifestMediaType(mediaType) || !Number.isSafeInteger(size) || size < 0) {
    return (await getManifest(ctx, reference)).descriptor;
  }
  return { mediaType, digest, size };
}

export async function putManifest(ctx: RepoContext, bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
  if (!isAnyManifestMediaType(mediaType)) {
    throw new AirlockError('BAD_INPUT', `"${mediaType.slice(0, 100)}" is not an OCI or Docker manifest or index media type, so it cannot be pushed as a manifest.`);
  }
  if (bytes.byteLength > MAX_MANIFEST_BYTES) throw tooLarge('manifest to push', MAX_MANIFEST_BYTES);
  const digest = sha256Digest(bytes);
  const reference = tag ?? digest;
  checkReference(ctx, reference);
  const res = await ctx.client.request({
    method: 'PUT',
    url: manifestUrl(ctx, reference),
    headers: { 'Content-Type': mediaType },
    body: bytes,
    scope: pushScope(ctx),
    retry: true,
  });
  if (!res.ok) return failFromResponse(res, `the push of the manifest ${where(ctx, reference)}`, { repository: ctx.name, tag });
  await discard(res);
  const stored = res.headers.get('docker-content-digest')?.trim();
  if (stored && stored !== digest) {
    throw new AirlockError(
      'INTEGRITY',
      `The registry stored the manifest ${where(ctx, reference)} as ${stored} where its bytes hash to ${digest}; the registry altered it, so it cannot be trusted as a mirror.`,
    );
  }
  return { mediaType, digest, size: bytes.byteLength };
}

/** Deletes a manifest by digest (a tag is resolved first: registries delete by digest, and so every tag on it). */
export async function deleteManifest(ctx: RepoContext, reference: string): Promise<void> {
  checkReference(ctx, reference);
  let digest: string = reference;
  if (!isDigest(reference)) {
    const d = await headManifest(ctx, reference);
    if (!d) throw manifestNotFound(ctx, reference);
    digest = d.digest;
  }
  const res = await ctx.client.request({ method: 'DELETE', url: manifestUrl(ctx, digest), scope: pushScope(ctx), retry: true });
  if (res.status === 404) {
    await discard(res);
    throw manifestNotFound(ctx, reference);
  }
  if (!res.ok) return failFromResponse(res, `the deletion of the manifest ${where(ctx, reference)}`);
  await discard(res);
}
