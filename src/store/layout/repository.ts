import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../../errors.js';
import type { Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import type { ContentStore, FetchedManifest, MountableRepository } from '../types.js';
import * as blobs from './blobs.js';
import { isNotFound, statOrUndefined } from './fs-util.js';
import { hasLayoutFile, initLayout, INDEX_FILE, readIndexFile, updateIndex } from './index-file.js';
import { headManifest, readManifest, toTarget, writeManifest } from './manifests.js';
import { findReferrers, type ReferrerSummary } from './referrers.js';
import { removeReference, tagsOf } from './tags.js';

/** What a repository needs from its store: whether layouts may be created, and to be told of writes. */
export interface LayoutRepositoryHost extends ContentStore {
  /** The layout directory of a sibling repository (validated name), for mountBlob. */
  layoutDirOf(name: string): string;
  readonly create: boolean;
  assertOpen(): void;
  markDirty(): void;
}

/**
 * One OCI image layout (one directory) seen as a Repository. The work is in blobs.ts, manifests.ts, tags.ts,
 * referrers.ts and index-file.ts; this class checks the layout's state and routes each call.
 */
export class LayoutRepository implements MountableRepository {
  readonly display: string;
  private layoutSeen = false;
  private readonly referrerCache = new Map<Digest, ReferrerSummary>();
  private indexCache: { key: string; entries: readonly Descriptor[] } | undefined;

  constructor(
    private readonly host: LayoutRepositoryHost,
    readonly name: string,
    /** Absolute path of the layout directory. */
    readonly dir: string,
  ) {
    this.display = name === '' ? host.location : `${host.location}/${name}`;
  }

  get store(): ContentStore {
    return this.host;
  }

  /**
   * true when the layout exists, false when it does not but may be created (then it reads as empty);
   * LAYOUT_INVALID when it must exist and does not.
   */
  private async exists(): Promise<boolean> {
    this.host.assertOpen();
    if (this.layoutSeen) return true;
    if (await hasLayoutFile(this.dir)) {
      this.layoutSeen = true;
      return true;
    }
    if (this.host.create) return false;
    const st = await statOrUndefined(this.dir);
    if (!st) throw new AirlockError('LAYOUT_INVALID', `${this.dir} does not exist; check the path of ${this.display}.`);
    throw new AirlockError('LAYOUT_INVALID', `${this.dir} is not an OCI image layout (no oci-layout file); check the path of ${this.display}.`);
  }

  /**
   * index.json's entries, re-read only when the file changed: every write replaces it by rename, so a new
   * (inode, size, mtime, ctime) means new content — cheap for a copy that resolves hundreds of children.
   */
  private async entries(): Promise<readonly Descriptor[]> {
    if (!(await this.exists())) return [];
    const st = await stat(join(this.dir, INDEX_FILE), { bigint: true }).catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    const key = st && `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    if (key !== undefined && this.indexCache?.key === key) return this.indexCache.entries;
    const index = st && (await readIndexFile(this.dir));
    if (key === undefined || !index) {
      throw new AirlockError('LAYOUT_INVALID', `${this.dir} has an oci-layout file but no ${INDEX_FILE}; the layout is incomplete, re-create it.`);
    }
    this.indexCache = { key, entries: index.manifests };
    return index.manifests;
  }

  private async writable(): Promise<void> {
    this.host.assertOpen();
    if (!this.layoutSeen) {
      if (this.host.create) await initLayout(this.dir);
      else await this.exists(); // throws unless the layout is there: without create, layouts are never made
      this.layoutSeen = true;
    }
    this.host.markDirty();
  }

  async headManifest(reference: string): Promise<Descriptor | undefined> {
    return headManifest(this.dir, await this.entries(), reference, this.display);
  }

  async getManifest(reference: string): Promise<FetchedManifest> {
    const { descriptor, bytes } = await readManifest(this.dir, await this.entries(), reference, this.display);
    return { descriptor, bytes };
  }

  async putManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
    await this.writable();
    return writeManifest(this.dir, bytes, mediaType, tag);
  }

  /** Removes a tag, or every index.json entry of a digest; blobs stay (no garbage collection in a layout). */
  async deleteManifest(reference: string): Promise<void> {
    toTarget(reference);
    const before = await this.entries();
    if (removeReference(before, reference).length === before.length) {
      throw new AirlockError('NOT_FOUND', `${reference.slice(0, 140)} is not in ${this.display}.`);
    }
    await this.writable();
    await updateIndex(this.dir, (entries) => removeReference(entries, reference));
  }

  async statBlob(digest: Digest): Promise<number | undefined> {
    if (!(await this.exists())) return undefined;
    return blobs.statBlob(this.dir, digest);
  }

  async openBlob(descriptor: Descriptor): Promise<AsyncIterable<Uint8Array>> {
    if (!(await this.exists())) throw new AirlockError('NOT_FOUND', `The blob ${descriptor.digest} is not in ${this.display}.`);
    return blobs.openBlob(this.dir, descriptor, this.display);
  }

  async putBlob(descriptor: Descriptor, body: AsyncIterable<Uint8Array>): Promise<void> {
    await this.writable();
    await blobs.writeBlob(this.dir, descriptor, body);
  }

  /** Hard-links a blob from a sibling layout of the same store; false when it cannot (the caller then copies). */
  async mountBlob(descriptor: Descriptor, fromRepository: string): Promise<boolean> {
    const from = this.host.layoutDirOf(fromRepository);
    if (from === this.dir) return (await this.statBlob(descriptor.digest)) === descriptor.size;
    await this.writable();
    return blobs.linkBlob(from, this.dir, descriptor);
  }

  async listTags(): Promise<string[]> {
    return tagsOf(await this.entries());
  }

  async referrers(digest: Digest, artifactType?: string): Promise<Descriptor[]> {
    return findReferrers(this.dir, await this.entries(), digest, this.display, this.referrerCache, artifactType);
  }
}
