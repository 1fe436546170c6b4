import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';

/**
 * ONE content-store interface; the backends (registry/, layout/) implement it and nothing above this layer knows
 * which one it has. Everything a store returns is *unverified* in the supply-chain sense: digests and sizes are
 * checked against the bytes, but whether content is trusted is decided only in src/verify/.
 */
export interface ContentStore {
  /** Human-readable location, e.g. `127.0.0.1:5000` or `oci:/srv/mirror`. Never contains credentials. */
  readonly location: string;
  /**
   * A repository of this store. Registry: the repository path (`fluxcd/source-controller`). Layout: a
   * sub-directory holding one OCI layout (`source-controller` → DIR/source-controller/); `''` is DIR itself.
   */
  repository(name: string): Repository;
  /** Checks that the store is reachable and the credentials (if any) work. */
  ping(): Promise<void>;
  /** Lists repositories (registry: `_catalog`; layout: sub-directories that hold a layout). */
  listRepositories?(): Promise<string[]>;
  /** Flushes and releases resources (an oci-archive is written here). */
  close(): Promise<void>;
}

export interface FetchedManifest {
  /** mediaType (from the registry's Content-Type or the layout's index), digest of `bytes`, size. */
  descriptor: Descriptor;
  bytes: Uint8Array;
}

export interface Repository {
  readonly store: ContentStore;
  readonly name: string;
  /** `location/name`, for messages. */
  readonly display: string;

  /** The descriptor a tag or digest resolves to, or undefined when it does not exist. */
  headManifest(reference: string): Promise<Descriptor | undefined>;
  /**
   * Manifest bytes by tag or digest. Throws NOT_FOUND, LIMIT_EXCEEDED (over 4 MiB, refused before it is read
   * whole) or INTEGRITY (the bytes do not hash to the digest asked for or to the registry's Docker-Content-Digest).
   */
  getManifest(reference: string): Promise<FetchedManifest>;
  /**
   * Stores manifest bytes under their digest and, when `tag` is given, points the tag at them. The caller
   * pushes children first; a registry may refuse a manifest whose children are missing.
   */
  putManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor>;
  /** Removes a tag only (layouts) or the manifest by digest (registries); used by tests and rollback. */
  deleteManifest?(reference: string): Promise<void>;

  /** The stored size of a blob, or undefined when absent. */
  statBlob(digest: Digest): Promise<number | undefined>;
  /**
   * The blob's bytes as a stream, verified as it goes: the iterator throws INTEGRITY at the end (or as soon as
   * too many bytes arrive) unless the bytes match the descriptor's digest and size.
   */
  openBlob(descriptor: Descriptor): Promise<AsyncIterable<Uint8Array>>;
  /**
   * Writes a blob from a stream; the bytes are hashed as they stream and the blob only becomes visible
   * (rename / PUT ?digest=) when digest and size match the descriptor. Nothing is buffered whole.
   */
  putBlob(descriptor: Descriptor, body: AsyncIterable<Uint8Array>, opts?: { knownAbsent?: boolean }): Promise<void>;

  /** All tags, following pagination. */
  listTags(): Promise<string[]>;
  /**
   * Manifests whose `subject` is `digest`: the referrers API where the store has one, else the fallback index
   * at tag `sha256-<hex>`. Optional filter by artifactType. Unverified.
   */
  referrers(digest: Digest, artifactType?: string): Promise<Descriptor[]>;
}

/** Optional capability: cross-repository blob mount within one registry. */
export interface MountableRepository extends Repository {
  /** Asks the registry to mount `descriptor` from `fromRepository`; false when the registry started an upload instead. */
  mountBlob(descriptor: Descriptor, fromRepository: string): Promise<boolean>;
}

export function isMountable(r: Repository): r is MountableRepository {
  return typeof (r as Partial<MountableRepository>).mountBlob === 'function';
}

/** The tag cosign and the OCI spec use for a digest's signatures, attestations, or referrers fallback index. */
export function signatureTag(digest: Digest, suffix: '' | '.sig' | '.att' | '.sbom'): string {
  return `${digest.replace(':', '-')}${suffix}`;
}
