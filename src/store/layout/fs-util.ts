import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AirlockError, messageOf } from '../../errors.js';

/** Prefix of every temporary file airlock writes inside a layout; never a blob, never archived. */
export const TEMP_PREFIX = '.tmp-';

export function tempPathIn(dir: string): string {
  return join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
}

export function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** stat, or undefined when the path does not exist. */
export async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * fsyncs a directory so a rename inside it survives a crash; a rename alone is atomic but not yet durable.
 * Some filesystems refuse fsync on directories: that only loses durability, never correctness, so it is ignored.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // see above
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * Writes `data` to the new file `tmp` (beside `path`), fsyncs it and renames it over `path`: readers see old or new,
 * never half. On failure `tmp` is removed and the error thrown as it came.
 */
export async function replaceFile(path: string, tmp: string, data: Uint8Array | string): Promise<void> {
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** replaceFile inside a layout (a TEMP_PREFIX temp name), then the directory fsynced; failures are LAYOUT_INVALID. */
export async function atomicWriteFile(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `${TEMP_PREFIX}${basename(path)}-${randomBytes(6).toString('hex')}`);
  try {
    await replaceFile(path, tmp, bytes);
  } catch (e) {
    throw writeError(path, e);
  }
  await fsyncDir(dirname(path));
}

/**
 * Reads a whole small file (index.json, oci-layout, a manifest), refusing it before reading when it is larger
 * than `limit`. The size is taken from the open handle so a file swapped after a path stat cannot slip through.
 * Returns undefined when the file does not exist.
 */
export async function readSmallFile(path: string, limit: number, what: string): Promise<Uint8Array | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new AirlockError('LAYOUT_INVALID', `${path} is not a regular file; the layout is corrupt, re-create it.`);
    if (st.size > limit) {
      throw new AirlockError('LIMIT_EXCEEDED', `The ${what} at ${path} has ${st.size} bytes, over the ${limit}-byte limit; it is refused.`);
    }
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await fh.read(buf, off, st.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return buf.subarray(0, off);
  } finally {
    await fh.close();
  }
}

/** Wraps a filesystem failure while writing into one sentence naming the path. */
export function writeError(path: string, e: unknown): Error {
  if (e instanceof AirlockError) return e;
  return new AirlockError('LAYOUT_INVALID', `Could not write ${path} (${messageOf(e)}); check free space and permissions.`, { cause: e });
}
