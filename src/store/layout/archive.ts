import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { extract as tarExtract, pack as tarPack, type Pack } from 'tar-stream';
import { AirlockError, isAirlockError, messageOf } from '../../errors.js';
import { fsyncDir, TEMP_PREFIX, writeError } from './fs-util.js';
import { LOCK_FILE } from './index-file.js';

/**
 * oci-archive: an OCI layout inside a plain tar (skopeo's format). Reading unpacks the tar once into a private
 * temp directory that is then served as a layout; writing packs such a directory deterministically.
 */
export interface ArchiveLimits {
  /** Largest single entry; default 16 GiB. */
  maxEntryBytes: number;
  /** Sum of all entries; default 256 GiB. */
  maxTotalBytes: number;
  /** Number of entries; default 1 000 000. */
  maxEntries: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntryBytes: 16 * 1024 ** 3,
  maxTotalBytes: 256 * 1024 ** 3,
  maxEntries: 1_000_000,
};

function hostile(file: string, what: string): AirlockError {
  return new AirlockError('LAYOUT_INVALID', `The archive ${file} ${what}; it is refused — use an oci-archive written by airlock or skopeo.`);
}

/**
 * Checks an entry name before it touches the filesystem: relative, no `..`, no empty or `.` component (so two
 * spellings of one path cannot both pass the duplicate check), no NUL. Returns the normalised name, '' for the root.
 */
export function toSafeEntryName(raw: string, file: string): string {
  const shown = JSON.stringify(raw.slice(0, 200));
  if (raw.includes('\0')) throw hostile(file, `has an entry name with a NUL byte (${shown})`);
  if (raw.startsWith('/')) throw hostile(file, `has an absolute entry name ${shown}`);
  let name = raw;
  while (name.startsWith('./')) name = name.slice(2);
  if (name === '.' || name === '') return '';
  if (name.endsWith('/')) name = name.slice(0, -1);
  const parts = name.split('/');
  if (parts.includes('..')) throw hostile(file, `has an entry ${shown} that climbs out with ..`);
  if (parts.some((p) => p === '' || p === '.')) throw hostile(file, `has an entry name ${shown} with an empty or . component`);
  return name;
}

/**
 * Unpacks `file` into `dest` (an empty private directory). Every header is checked before its bytes are written
 * and before anything in the archive is parsed: only regular files and directories (no symlinks, hard links,
 * devices or fifos — they could point outside `dest` or at something other than content), safe names, no
 * duplicates (a second index.json must not silently win), sizes within limits. Files are created with O_EXCL.
 */
export interface ExtractOptions {
  /** Called with the number of archive bytes read so far (for a progress counter). */
  onProgress?: (bytes: number) => void;
  /**
   * Content-addressed check as the bytes stream in: every file under a `blobs/` directory must be named
   * `blobs/sha256/<hex>` and hash to that name, else INTEGRITY (a changed byte) or LAYOUT_INVALID (another name).
   */
  verifyBlobs?: boolean;
}

const BLOB_NAME = /(?:^|\/)blobs\/sha256\/([0-9a-f]{64})$/;

export async function extractArchive(file: string, dest: string, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS, opts: ExtractOptions = {}): Promise<void> {
  const source = createReadStream(file);
  const extract = tarExtract();
  source.on('error', (e) => extract.destroy(e));
  if (opts.onProgress) {
    const report = opts.onProgress;
    let read = 0;
    source.on('data', (chunk) => report((read += chunk.length)));
  }
  source.pipe(extract);
  const seen = new Set<string>();
  let total = 0;
  let count = 0;
  try {
    for await (const entry of extract) {
      // The type may be null at run time (an unknown typeflag) whatever the typings say.
      const h = entry.header as Omit<typeof entry.header, 'type'> & { type: string | null };
      const name = toSafeEntryName(h.name, file);
      if (++count > limits.maxEntries) {
        throw new AirlockError('LIMIT_EXCEEDED', `The archive ${file} has more than ${limits.maxEntries} entries; it is refused.`);
      }
      if (h.type !== 'file' && h.type !== 'directory') {
        throw hostile(file, `has a ${h.type ?? 'unknown-type'} entry ${JSON.stringify(name)}; only regular files and directories are allowed`);
      }
      if (name !== '' && seen.has(name)) throw hostile(file, `has the entry ${JSON.stringify(name)} twice`);
      seen.add(name);
      const target = join(dest, name);
      if (h.type === 'directory') {
        entry.resume();
        if (name !== '') await mkdir(target, { recursive: true, mode: 0o755 });
        continue;
      }
      const size = h.size ?? 0;
      if (size > limits.maxEntryBytes) {
        throw new AirlockError('LIMIT_EXCEEDED', `The archive entry ${JSON.stringify(name)} in ${file} has ${size} bytes, over the ${limits.maxEntryBytes}-byte limit; it is refused.`);
      }
      total += size;
      if (total > limits.maxTotalBytes) {
        throw new AirlockError('LIMIT_EXCEEDED', `The archive ${file} unpacks to more than ${limits.maxTotalBytes} bytes; it is refused.`);
      }
      const blob = opts.verifyBlobs ? BLOB_NAME.exec(name) : null;
      if (opts.verifyBlobs && !blob && /(?:^|\/)blobs\//.test(name)) throw hostile(file, `has an entry ${JSON.stringify(name)} under blobs/ that is not named blobs/sha256/<hex>`);
      const hash = blob ? createHash('sha256') : undefined;
      await mkdir(dirname(target), { recursive: true, mode: 0o755 });
      const fh = await open(target, 'wx', 0o644);
      try {
        for await (const chunk of entry) {
          hash?.update(chunk as Uint8Array);
          await fh.write(chunk as Uint8Array);
        }
      } finally {
        await fh.close();
      }
      if (hash && blob && hash.digest('hex') !== blob[1]) {
        throw new AirlockError('INTEGRITY', `The archive entry ${JSON.stringify(name)} in ${file} does not hash to its name; the archive was altered or damaged, so it is refused.`, {
          details: { check: 'content-address', entry: name },
        });
      }
    }
  } catch (e) {
    source.destroy();
    extract.destroy();
    if (isAirlockError(e)) throw e;
    throw new AirlockError('LAYOUT_INVALID', `The archive ${file} could not be unpacked (${messageOf(e)}); check that it is an uncompressed oci-archive tar.`, { cause: e });
  }
}

/** Files that are ours and transient: temp files, lock files. They never go into an archive. */
function isTransient(name: string): boolean {
  return name.startsWith(TEMP_PREFIX) || name === LOCK_FILE || name.startsWith(`${LOCK_FILE}.stale-`);
}

/** Relative paths under `root` (directories with a trailing '/'), sorted by code unit: a stable archive order. */
async function listTree(root: string, rel = ''): Promise<{ name: string; size: number }[]> {
  const out: { name: string; size: number }[] = [];
  for (const n of await readdir(join(root, rel))) {
    if (isTransient(n)) continue;
    const relPath = rel === '' ? n : `${rel}/${n}`;
    const st = await lstat(join(root, relPath));
    if (st.isDirectory()) {
      out.push({ name: `${relPath}/`, size: 0 }, ...(await listTree(root, relPath)));
    } else if (st.isFile()) {
      out.push({ name: relPath, size: st.size });
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function addEntry(pack: Pack, root: string, e: { name: string; size: number }): Promise<void> {
  const isDir = e.name.endsWith('/');
  // Fixed metadata: the same layout always packs to the same bytes, whoever packs it and when.
  const header: Parameters<Pack['entry']>[0] = {
    name: e.name,
    type: isDir ? 'directory' : 'file',
    mode: isDir ? 0o755 : 0o644,
    size: e.size,
    mtime: new Date(0),
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
  };
  return new Promise((resolve, reject) => {
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    if (isDir) return;
    const rs = createReadStream(join(root, e.name));
    rs.on('error', (err) => {
      sink.destroy(err);
      reject(err);
    });
    rs.pipe(sink);
  });
}

/**
 * Packs the layout(s) in `root` into `file`: written to a temp file beside it, fsynced, then renamed over it, so
 * a crash leaves the old archive or the new one, never half of one.
 */
export async function writeArchive(root: string, file: string, onProgress?: (bytes: number) => void): Promise<void> {
  const tmp = `${file}${TEMP_PREFIX.slice(0, -1)}-${randomBytes(6).toString('hex')}`;
  const pack = tarPack();
  try {
    const entries = await listTree(root);
    const fh = await open(tmp, 'wx', 0o644);
    try {
      const produce = (async () => {
        try {
          for (const e of entries) await addEntry(pack, root, e);
          pack.finalize();
        } catch (err) {
          pack.destroy(err as Error);
          throw err;
        }
      })();
      const consume = (async () => {
        try {
          let written = 0;
          for await (const chunk of pack) {
            await fh.write(chunk as Uint8Array);
            onProgress?.((written += (chunk as Uint8Array).byteLength));
          }
        } catch (err) {
          // A failed write (disk full) must also stop the producer, which may be waiting on back-pressure.
          pack.destroy(err as Error);
          throw err;
        }
      })();
      await Promise.all([produce, consume]);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw writeError(file, e);
  }
  await fsyncDir(dirname(file));
}
