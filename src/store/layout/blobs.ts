import { createReadStream } from 'node:fs';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AirlockError } from '../../errors.js';
import { algorithmOf, DigestVerifier, hexOf, isDigest, verifyingStream, type Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import { fsyncDir, statOrUndefined, tempPathIn, writeError } from './fs-util.js';

/**
 * Blobs of one layout: `blobs/<alg>/<hex>`. Digests reaching here passed parseDigest/isDigest (index.json entries
 * and descriptors are validated first), so the path is always two fixed components below `blobs/`.
 */
export function blobPath(layoutDir: string, digest: Digest): string {
  // Re-checked here because this string becomes a path: a digest with '/' or '..' must never get this far.
  if (!isDigest(digest)) throw new AirlockError('BAD_INPUT', `"${String(digest).slice(0, 140)}" is not a valid digest.`);
  return join(layoutDir, 'blobs', algorithmOf(digest), hexOf(digest));
}

export async function statBlob(layoutDir: string, digest: Digest): Promise<number | undefined> {
  const st = await statOrUndefined(blobPath(layoutDir, digest));
  return st?.isFile() ? st.size : undefined;
}

/** Streams a blob from disk, verified against the descriptor as it goes (a layout on disk is as untrusted as a registry). */
export async function openBlob(layoutDir: string, descriptor: Descriptor, display: string): Promise<AsyncIterable<Uint8Array>> {
  const path = blobPath(layoutDir, descriptor.digest);
  const size = await statBlob(layoutDir, descriptor.digest);
  if (size === undefined) {
    throw new AirlockError('NOT_FOUND', `The blob ${descriptor.digest} is not in ${display}.`);
  }
  if (size !== descriptor.size) {
    throw new AirlockError(
      'INTEGRITY',
      `The blob ${descriptor.digest} in ${display} has ${size} bytes where its descriptor says ${descriptor.size}; the layout is corrupt.`,
    );
  }
  return verifyingStream(createReadStream(path), descriptor.digest, descriptor.size);
}

/**
 * Writes a blob: streamed into a temp file in blobs/ (same filesystem, so the rename is atomic), hashed and
 * counted as it goes, fsynced, and renamed into place only when digest and size match. On any failure the temp
 * file is removed, so a wrong byte never leaves a file behind. A blob already present with the right size is
 * kept (content-addressed: same name, same bytes) and the source is closed unread.
 */
export async function writeBlob(layoutDir: string, descriptor: Descriptor, body: AsyncIterable<Uint8Array>): Promise<void> {
  const final = blobPath(layoutDir, descriptor.digest);
  if ((await statBlob(layoutDir, descriptor.digest)) === descriptor.size) {
    await closeSource(body);
    return;
  }
  const blobsDir = join(layoutDir, 'blobs');
  const tmp = tempPathIn(blobsDir);
  const verifier = new DigestVerifier(descriptor.digest, descriptor.size);
  try {
    await mkdir(dirname(final), { recursive: true });
    const fh = await open(tmp, 'wx', 0o644);
    try {
      for await (const chunk of body) {
        verifier.update(chunk);
        await fh.write(chunk);
      }
      verifier.finish();
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, final);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    await closeSource(body);
    throw writeError(final, e);
  }
  await fsyncDir(dirname(final));
}

/**
 * "Mounts" a blob from a sibling layout by hard-linking it (a mirror's repositories share base layers; a link
 * costs no space or copy). The source is one of this store's own layouts, held to the same standard as a blob
 * already present here: right name, right size; every read verifies the bytes. false when the source lacks the
 * blob or the filesystem cannot link (another device, no hard links) — the caller then copies it.
 */
export async function linkBlob(fromLayoutDir: string, toLayoutDir: string, descriptor: Descriptor): Promise<boolean> {
  if ((await statBlob(toLayoutDir, descriptor.digest)) === descriptor.size) return true;
  if ((await statBlob(fromLayoutDir, descriptor.digest)) !== descriptor.size) return false;
  const final = blobPath(toLayoutDir, descriptor.digest);
  const tmp = tempPathIn(join(toLayoutDir, 'blobs'));
  try {
    await mkdir(dirname(final), { recursive: true });
    await link(blobPath(fromLayoutDir, descriptor.digest), tmp);
    await rename(tmp, final);
  } catch {
    await unlink(tmp).catch(() => undefined);
    return false;
  }
  await fsyncDir(dirname(final));
  return true;
}

/**
 * Tells a source we stopped reading, so a registry response body is released instead of left open. Harmless when
 * the source is already finished (a for-await that threw has closed it).
 */
async function closeSource(body: AsyncIterable<Uint8Array>): Promise<void> {
  try {
    await body[Symbol.asyncIterator]().return?.();
  } catch {
    // already closed or locked: nothing left to release
  }
}
