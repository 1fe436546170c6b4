import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { AirlockError } from '../../errors.js';
import { debug, type Logger } from '../../log.js';
import { isRepositoryPath } from '../../oci/reference.js';
import type { StoreOptions } from '../options.js';
import type { Repository } from '../types.js';
import { DEFAULT_ARCHIVE_LIMITS, extractArchive, writeArchive, type ArchiveLimits } from './archive.js';
import { statOrUndefined } from './fs-util.js';
import { hasLayoutFile, INDEX_FILE, LAYOUT_FILE, readIndexFile } from './index-file.js';
import { LayoutRepository, type LayoutRepositoryHost } from './repository.js';

export interface LayoutStoreOptions extends StoreOptions {
  kind: 'oci' | 'oci-archive';
  /** Create layouts (and the archive) on first write; otherwise the path must exist. Opening never creates anything. */
  create: boolean;
  /** Where an oci-archive is unpacked; default os.tmpdir() ($TMPDIR). It must hold the whole archive. */
  tempDir?: string;
  archiveLimits?: Partial<ArchiveLimits>;
}

/** Names that are parts of a layout and so cannot be repository directories inside one. */
const RESERVED = new Set(['blobs', INDEX_FILE, LAYOUT_FILE]);
const MAX_DEPTH = 8;

/**
 * `oci:DIR` / `oci-archive:FILE` as a ContentStore. A repository is one OCI image layout: `''` is the layout at
 * the root (skopeo's `oci:DIR:TAG`), `fluxcd/x` the layout at `ROOT/fluxcd/x/`. An archive is unpacked into a
 * private directory, served the same way, and packed back on close() if anything was written.
 */
export class LayoutStore implements LayoutRepositoryHost {
  readonly location: string;
  readonly create: boolean;
  private readonly repositories = new Map<string, LayoutRepository>();
  private dirty = false;
  private closed = false;

  constructor(
    readonly kind: 'oci' | 'oci-archive',
    /** The user's path: the layout directory, or the archive file. */
    readonly path: string,
    /** The directory served: `path` itself, or the unpacked archive. */
    readonly root: string,
    create: boolean,
    private readonly logger?: Logger,
  ) {
    this.location = `${kind}:${path}`;
    this.create = create;
  }

  assertOpen(): void {
    if (this.closed) throw new AirlockError('INTERNAL', `${this.location} was used after close().`);
  }

  markDirty(): void {
    this.dirty = true;
  }

  /**
   * The layout for `name`. Names are repository paths (lowercase components, no `..`, not absolute), so the
   * directory is always inside the root; the containment check below is a second lock on the same door.
   */
  repository(name: string): Repository {
    const existing = this.repositories.get(name);
    if (existing) return existing;
    if (name !== '' && (!isRepositoryPath(name) || name.split('/').some((c) => RESERVED.has(c)))) {
      throw new AirlockError('BAD_INPUT', `"${name.slice(0, 140)}" is not a valid repository name for a layout (lowercase path components, no "..", not blobs/index.json/oci-layout).`);
    }
    const dir = name === '' ? this.root : resolve(this.root, ...name.split('/'));
    if (name !== '' && !dir.startsWith(this.root + sep)) {
      throw new AirlockError('BAD_INPUT', `The repository name "${name.slice(0, 140)}" leaves ${this.location}.`);
    }
    const repo = new LayoutRepository(this, name, dir);
    this.repositories.set(name, repo);
    return repo;
  }

  layoutDirOf(name: string): string {
    return (this.repository(name) as LayoutRepository).dir;
  }

  /** The root is there (or may be created) and, when it is itself a layout, its two files are valid. */
  async ping(): Promise<void> {
    this.assertOpen();
    const st = await statOrUndefined(this.root);
    if (!st) {
      if (this.create) return;
      throw new AirlockError('LAYOUT_INVALID', `${this.path} does not exist; check the path.`);
    }
    if (!st.isDirectory()) throw new AirlockError('LAYOUT_INVALID', `${this.path} is not a directory; oci: needs a layout directory.`);
    if (await hasLayoutFile(this.root)) await readIndexFile(this.root);
  }

  /** Directories below the root that hold an `oci-layout` file ('' for the root itself), sorted. */
  async listRepositories(): Promise<string[]> {
    this.assertOpen();
    const out: string[] = [];
    const walk = async (rel: string[], depth: number): Promise<void> => {
      const dir = join(this.root, ...rel);
      const isLayout = await hasLayoutFile(dir);
      const name = rel.join('/');
      if (isLayout && (name === '' || isRepositoryPath(name))) out.push(name);
      if (depth >= MAX_DEPTH) return;
      let children;
      try {
        children = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      // Symbolic links are not followed: a repository is a real directory inside the root.
      for (const c of children) {
        if (!c.isDirectory() || c.name.startsWith('.') || RESERVED.has(c.name)) continue;
        await walk([...rel, c.name], depth + 1);
      }
    };
    if (await statOrUndefined(this.root)) await walk([], 0);
    return out.sort();
  }

  /** Packs an archive that was written to, then removes the unpacked copy. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.kind !== 'oci-archive') return;
    try {
      if (this.dirty) {
        await mkdir(dirname(resolve(this.path)), { recursive: true });
        await writeArchive(this.root, resolve(this.path));
        debug(this.logger, 'oci-archive written', { path: this.path });
      }
    } finally {
      await rm(this.root, { recursive: true, force: true });
    }
  }
}

/**
 * Opens `oci:DIR` or `oci-archive:FILE`. A missing path is LAYOUT_INVALID unless `create`, and even then nothing
 * is created until the first write — a read-only open leaves the filesystem as it was.
 */
export async function openLayoutStore(path: string, options: LayoutStoreOptions): Promise<LayoutStore> {
  const absolute = resolve(path);
  const st = await statOrUndefined(absolute);
  if (!st && !options.create) {
    throw new AirlockError('LAYOUT_INVALID', `${path} does not exist; check the path of ${options.kind}:${path}.`);
  }
  if (options.kind === 'oci') {
    if (st && !st.isDirectory()) throw new AirlockError('LAYOUT_INVALID', `${path} is not a directory; oci: needs a layout directory (oci-archive: reads a tar).`);
    return new LayoutStore('oci', path, absolute, options.create, options.logger);
  }
  if (st && !st.isFile()) throw new AirlockError('LAYOUT_INVALID', `${path} is not a file; oci-archive: needs a tar file (oci: reads a directory).`);
  const unpacked = await mkdtemp(join(options.tempDir ?? tmpdir(), 'airlock-archive-'));
  try {
    if (st) {
      await extractArchive(absolute, unpacked, { ...DEFAULT_ARCHIVE_LIMITS, ...options.archiveLimits });
      debug(options.logger, 'oci-archive unpacked', { path, into: unpacked });
    }
  } catch (e) {
    await rm(unpacked, { recursive: true, force: true });
    throw e;
  }
  return new LayoutStore('oci-archive', path, unpacked, options.create, options.logger);
}
