import { AirlockError } from '../../errors.js';
import type { Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import { isRepositoryPath } from '../../oci/reference.js';
import type { StoreOptions } from '../options.js';
import type { ContentStore, FetchedManifest, MountableRepository } from '../types.js';
import { openBlob, statBlob } from './blobs.js';
import { failFromResponse, RegistryClient } from './client.js';
import { deleteManifest, discard, getManifest, headManifest, putManifest, readBounded, type RepoContext } from './manifests.js';
import { referrers } from './referrers.js';
import { DEFAULT_PAGE_SIZE, forEachPage, listTags, MAX_LIST_PAGE_BYTES, parseListPage } from './tags.js';
import { mountBlob, putBlob, UploadState, type PutBlobOptions, type UploadMode } from './uploads.js';

/** Protocol knobs that are not user options (tests use small pages to exercise pagination). */
export interface RegistryTuning {
  /** `n` of tag listings; default 1000. */
  tagPageSize?: number;
  /** `n` of `_catalog`; default 100 (docker-registry refuses more than its `maxentries`, 1000 by default). */
  catalogPageSize?: number;
  /**
   * How blobs too large for a single PUT are uploaded: `streamed` (one PATCH with the whole blob) or `chunked`
   * (PATCH chunks of `chunkSize`). Default: `chunked` when `options.chunkSize` is given, else `streamed`.
   */
  uploadMode?: UploadMode;
}

/** A registry speaking OCI Distribution 1.1 (with the Docker v2 manifest types and the referrers fallback tag). */
export class RegistryStore implements ContentStore {
  readonly location: string;
  readonly client: RegistryClient;
  private readonly uploads = new UploadState();

  constructor(
    readonly registry: string,
    readonly options: StoreOptions = {},
    readonly tuning: RegistryTuning = {},
  ) {
    this.location = registry;
    this.client = new RegistryClient(registry, options);
  }

  repository(name: string): RegistryRepository {
    // The name becomes part of every URL path: only a valid repository path (no `..`, `?`, `%`) is accepted.
    if (!isRepositoryPath(name)) {
      throw new AirlockError('BAD_INPUT', `"${name.slice(0, 140)}" is not a valid repository path in ${this.registry}; use lowercase letters, digits and separators.`);
    }
    const ctx: RepoContext = { client: this.client, name, display: `${this.registry}/${name}`, options: this.options, uploads: this.uploads };
    if (this.tuning.uploadMode) ctx.uploadMode = this.tuning.uploadMode;
    return new RegistryRepository(this, ctx);
  }

  async ping(): Promise<void> {
    const res = await this.client.request({ method: 'GET', url: '/v2/', retry: true });
    if (res.ok) return discard(res);
    if (res.status === 404) {
      await discard(res);
      throw new AirlockError('REGISTRY_ERROR', `${this.registry} does not serve the registry API at /v2/; check the address.`);
    }
    return failFromResponse(res, `the registry ${this.registry}`);
  }

  async listRepositories(): Promise<string[]> {
    const names: string[] = [];
    await forEachPage(this.client, `/v2/_catalog?n=${this.tuning.catalogPageSize ?? 100}`, async (url) => {
      const res = await this.client.request({ method: 'GET', url, headers: { Accept: 'application/json' }, retry: true });
      if (!res.ok) return failFromResponse(res, `the repository catalog of ${this.registry}`);
      const page = parseListPage(await readBounded(res, MAX_LIST_PAGE_BYTES, `repository catalog of ${this.registry}`), 'repositories', 'catalog');
      names.push(...page.filter(isRepositoryPath));
      return res.headers.get('link');
    });
    return names;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

export class RegistryRepository implements MountableRepository {
  readonly name: string;
  readonly display: string;

  constructor(
    readonly store: RegistryStore,
    private readonly ctx: RepoContext,
  ) {
    this.name = ctx.name;
    this.display = ctx.display;
  }

  headManifest(reference: string): Promise<Descriptor | undefined> {
    return headManifest(this.ctx, reference);
  }

  getManifest(reference: string): Promise<FetchedManifest> {
    return getManifest(this.ctx, reference);
  }

  putManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
    return putManifest(this.ctx, bytes, mediaType, tag);
  }

  deleteManifest(reference: string): Promise<void> {
    return deleteManifest(this.ctx, reference);
  }

  statBlob(digest: Digest): Promise<number | undefined> {
    return statBlob(this.ctx, digest);
  }

  openBlob(descriptor: Descriptor): Promise<AsyncIterable<Uint8Array>> {
    return openBlob(this.ctx, descriptor);
  }

  putBlob(descriptor: Descriptor, body: AsyncIterable<Uint8Array>, opts?: PutBlobOptions): Promise<void> {
    return putBlob(this.ctx, descriptor, body, opts);
  }

  mountBlob(descriptor: Descriptor, fromRepository: string): Promise<boolean> {
    return mountBlob(this.ctx, descriptor, fromRepository);
  }

  listTags(): Promise<string[]> {
    return listTags(this.ctx, this.store.tuning.tagPageSize ?? DEFAULT_PAGE_SIZE);
  }

  referrers(digest: Digest, artifactType?: string): Promise<Descriptor[]> {
    return referrers(this.ctx, digest, artifactType);
  }
}
