/**
 * A FAKE content store, in memory, implementing the store interface (src/store/types.ts) for unit tests of code
 * that sees only that interface (the copy engine). It is a fake, not a registry: it exists for request counting
 * and fault injection, which a real registry cannot give. It behaves like docker-registry where that matters:
 * a manifest whose children are absent is refused, blobs are hashed as they stream and committed only whole and
 * matching, reads are verified as they go.
 */
import { AirlockError } from '../../src/errors.js';
import { DigestVerifier, digestOf, isDigest, type Digest } from '../../src/oci/digest.js';
import { childrenOf, parseManifest, type Descriptor } from '../../src/oci/manifest.js';
import type { ContentStore, FetchedManifest, MountableRepository, Repository } from '../../src/store/types.js';

export interface MemoryStoreOptions {
  location?: string;
  /** Repositories offer cross-repository mount (the optional capability). Default false. */
  mountable?: boolean;
  /** openBlob verifies as it streams, as the interface requires; false simulates a broken backend. Default true. */
  verifyReads?: boolean;
  /** Chunk size of openBlob. Default 64 KiB. */
  chunkSize?: number;
}

interface StoredManifest {
  bytes: Uint8Array;
  mediaType: string;
}

export class MemoryStore implements ContentStore {
  readonly location: string;
  readonly repos = new Map<string, MemoryRepository>();
  /** Operations over all repositories, by method name. */
  readonly counts: Record<string, number> = {};
  closed = false;

  constructor(readonly options: MemoryStoreOptions = {}) {
    this.location = options.location ?? 'memory';
  }

  repository(name: string): MemoryRepository {
    let r = this.repos.get(name);
    if (!r) {
      r = this.options.mountable ? new MountableMemoryRepository(this, name) : new MemoryRepository(this, name);
      this.repos.set(name, r);
    }
    return r;
  }

  async ping(): Promise<void> {}
  async listRepositories(): Promise<string[]> {
    return [...this.repos.keys()];
  }
  async close(): Promise<void> {
    this.closed = true;
  }

  count(op: string): number {
    return this.counts[op] ?? 0;
  }
}

export class MemoryRepository implements Repository {
  readonly manifests = new Map<Digest, StoredManifest>();
  readonly tags = new Map<string, Digest>();
  readonly blobs = new Map<Digest, Uint8Array>();
  readonly counts: Record<string, number> = {};
  /** Fault injection: called before a blob upload commits; throw to fail it. */
  beforeBlobCommit?: (d: Descriptor) => void | Promise<void>;
  /** Fault injection: served instead of the stored bytes by openBlob. */
  readonly tampered = new Map<Digest, Uint8Array>();

  constructor(
    readonly store: MemoryStore,
    readonly name: string,
  ) {}

  get display(): string {
    return `${this.store.location}/${this.name}`;
  }

  protected tick(op: string): void {
    this.counts[op] = (this.counts[op] ?? 0) + 1;
    this.store.counts[op] = (this.store.counts[op] ?? 0) + 1;
  }

  private resolve(reference: string): Digest | undefined {
    if (isDigest(reference)) return this.manifests.has(reference) ? reference : undefined;
    return this.tags.get(reference);
  }

  async headManifest(reference: string): Promise<Descriptor | undefined> {
    this.tick('headManifest');
    const d = this.resolve(reference);
    const m = d && this.manifests.get(d);
    return d && m ? { mediaType: m.mediaType, digest: d, size: m.bytes.byteLength } : undefined;
  }

  async getManifest(reference: string): Promise<FetchedManifest> {
    this.tick('getManifest');
    const d = this.resolve(reference);
    const m = d && this.manifests.get(d);
    if (!d || !m) throw new AirlockError('NOT_FOUND', `The manifest ${reference} does not exist in ${this.display}.`);
    return { descriptor: { mediaType: m.mediaType, digest: d, size: m.bytes.byteLength }, bytes: m.bytes };
  }

  async putManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
    this.tick('putManifest');
    const digest = digestOf(bytes);
    const parsed = parseManifest(bytes, mediaType);
    // Like docker-registry: an index whose children are absent, or a manifest whose blobs are, is refused.
    for (const c of childrenOf(parsed)) {
      const there = parsed.kind === 'index' ? this.manifests.has(c.digest) : this.blobs.has(c.digest);
      if (!there) throw new AirlockError('REGISTRY_ERROR', `${this.display} refused ${digest}: its child ${c.digest} is unknown.`);
    }
    this.manifests.set(digest, { bytes: Uint8Array.from(bytes), mediaType: parsed.mediaType });
    if (tag !== undefined) this.tags.set(tag, digest);
    return { mediaType: parsed.mediaType, digest, size: bytes.byteLength };
  }

  async deleteManifest(reference: string): Promise<void> {
    this.tick('deleteManifest');
    if (isDigest(reference)) this.manifests.delete(reference);
    else this.tags.delete(reference);
  }

  async statBlob(digest: Digest): Promise<number | undefined> {
    this.tick('statBlob');
    return this.blobs.get(digest)?.byteLength;
  }

  async openBlob(descriptor: Descriptor): Promise<AsyncIterable<Uint8Array>> {
    this.tick('openBlob');
    const bytes = this.tampered.get(descriptor.digest) ?? this.blobs.get(descriptor.digest);
    if (!bytes) throw new AirlockError('NOT_FOUND', `The blob ${descriptor.digest} does not exist in ${this.display}.`);
    const chunk = this.store.options.chunkSize ?? 64 * 1024;
    const verify = this.store.options.verifyReads !== false;
    return (async function* () {
      const v = new DigestVerifier(descriptor.digest, descriptor.size);
      for (let i = 0; i < bytes.byteLength; i += chunk) {
        const part = bytes.subarray(i, i + chunk);
        if (verify) v.update(part);
        await Promise.resolve();
        yield part;
      }
      if (verify) v.finish();
    })();
  }

  async putBlob(descriptor: Descriptor, body: AsyncIterable<Uint8Array>): Promise<void> {
    this.tick('putBlob');
    const v = new DigestVerifier(descriptor.digest, descriptor.size);
    const parts: Uint8Array[] = [];
    for await (const chunk of body) {
      v.update(chunk);
      parts.push(Uint8Array.from(chunk));
    }
    v.finish();
    await this.beforeBlobCommit?.(descriptor);
    this.blobs.set(descriptor.digest, Buffer.concat(parts));
  }

  async listTags(): Promise<string[]> {
    this.tick('listTags');
    return [...this.tags.keys()].sort();
  }

  async referrers(): Promise<Descriptor[]> {
    this.tick('referrers');
    return [];
  }
}

export class MountableMemoryRepository extends MemoryRepository implements MountableRepository {
  async mountBlob(descriptor: Descriptor, fromRepository: string): Promise<boolean> {
    this.tick('mountBlob');
    const bytes = this.store.repos.get(fromRepository)?.blobs.get(descriptor.digest);
    if (!bytes || bytes.byteLength !== descriptor.size) return false;
    this.blobs.set(descriptor.digest, bytes);
    return true;
  }
}
