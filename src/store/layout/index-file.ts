import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError, isAirlockError } from '../../errors.js';
import { MediaTypes } from '../../oci/mediatypes.js';
import { toDescriptor, type Descriptor } from '../../oci/manifest.js';
import { atomicWriteFile, readSmallFile, statOrUndefined, TEMP_PREFIX, writeError } from './fs-util.js';
import { withLock, type LockOptions } from '../../file-lock.js';
import { sortEntries } from './tags.js';

/** The two files that make a directory an OCI image layout, and their reading, validation and atomic writing. */
export const LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const LOCK_FILE = 'index.json.lock';
const LAYOUT_VERSION = '1.0.0';
const LAYOUT_FILE_BYTES = new TextEncoder().encode(`{"imageLayoutVersion":"${LAYOUT_VERSION}"}`);

/** index.json of a mirror repository lists one entry per tag; 16 MiB is ~50 000 entries. */
export const MAX_INDEX_BYTES = 16 * 1024 * 1024;

export interface IndexFile {
  manifests: Descriptor[];
  /** Top-level annotations of a foreign index.json, kept as they were. */
  annotations?: Record<string, string>;
}

function invalid(path: string, what: string, cause?: unknown): AirlockError {
  return new AirlockError('LAYOUT_INVALID', `${path} ${what}; point airlock at an OCI image layout or re-create it.`, { cause });
}

function parseJson(bytes: Uint8Array, path: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw invalid(path, 'is not valid JSON', e);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** true when `dir/oci-layout` exists and says version 1.0.0; false when it is absent; LAYOUT_INVALID otherwise. */
export async function hasLayoutFile(dir: string): Promise<boolean> {
  const path = join(dir, LAYOUT_FILE);
  const bytes = await readSmallFile(path, 4096, 'oci-layout file').catch((e: unknown) => {
    if (isAirlockError(e)) throw e;
    // ENOTDIR (a file where the layout directory should be), EACCES…: not a layout we can use.
    throw invalid(path, 'cannot be read', e);
  });
  if (bytes === undefined) return false;
  const doc = parseJson(bytes, path);
  if (!isRecord(doc) || doc.imageLayoutVersion !== LAYOUT_VERSION) {
    throw invalid(path, `does not declare imageLayoutVersion ${LAYOUT_VERSION}`);
  }
  return true;
}

/**
 * Reads and validates index.json. Every entry must be a well-formed descriptor with a valid digest: entries are
 * turned into blob paths, so a malformed digest here must never reach the filesystem layer.
 */
export async function readIndexFile(dir: string): Promise<IndexFile | undefined> {
  const path = join(dir, INDEX_FILE);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readSmallFile(path, MAX_INDEX_BYTES, 'index.json');
  } catch (e) {
    if (isAirlockError(e)) throw e;
    throw invalid(path, 'cannot be read', e);
  }
  if (bytes === undefined) return undefined;
  const doc = parseJson(bytes, path);
  if (!isRecord(doc) || doc.schemaVersion !== 2 || !Array.isArray(doc.manifests)) {
    throw invalid(path, 'is not an OCI image index (schemaVersion 2 with a manifests list)');
  }
  if (doc.mediaType !== undefined && doc.mediaType !== MediaTypes.ociIndex) {
    throw invalid(path, `has mediaType ${String(doc.mediaType).slice(0, 100)} where ${MediaTypes.ociIndex} is expected`);
  }
  const manifests = doc.manifests.map((m, i) => {
    try {
      return toDescriptor(m, `manifests[${i}]`);
    } catch (e) {
      throw invalid(path, `has an invalid entry manifests[${i}] (bad mediaType, digest or size)`, e);
    }
  });
  const out: IndexFile = { manifests };
  if (isRecord(doc.annotations) && Object.values(doc.annotations).every((v) => typeof v === 'string')) {
    out.annotations = doc.annotations as Record<string, string>;
  }
  return out;
}

/**
 * The bytes of index.json: keys in a fixed order, entries sorted (tags.ts), compact — the same content always
 * gives the same file.
 */
export function serializeIndex(index: IndexFile): Uint8Array {
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: sortEntries([...index.manifests]).map(canonicalDescriptor),
  };
  if (index.annotations && Object.keys(index.annotations).length > 0) doc.annotations = sortedRecord(index.annotations);
  return new TextEncoder().encode(JSON.stringify(doc));
}

const DESCRIPTOR_KEYS = ['mediaType', 'digest', 'size', 'artifactType', 'urls', 'platform', 'annotations', 'data'];

function canonicalDescriptor(d: Descriptor): Record<string, unknown> {
  const src = d as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const extra = Object.keys(src).filter((k) => !DESCRIPTOR_KEYS.includes(k)).sort();
  for (const k of [...DESCRIPTOR_KEYS, ...extra]) {
    const v = src[k];
    if (v === undefined) continue;
    out[k] = k === 'annotations' && isRecord(v) ? sortedRecord(v) : v;
  }
  return out;
}

function sortedRecord<T>(r: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Makes `dir` a layout if it is not one yet: oci-layout, blobs/, an empty index.json. Refuses a directory that
 * holds anything else (a home directory, a mirror root of sub-layouts) so a mistyped path is not littered.
 */
export async function initLayout(dir: string): Promise<void> {
  if (await hasLayoutFile(dir)) return;
  try {
    await mkdir(dir, { recursive: true });
    const foreign = (await readdir(dir)).filter(
      (n) => ![INDEX_FILE, LOCK_FILE, 'blobs', LAYOUT_FILE].includes(n) && !n.startsWith(TEMP_PREFIX),
    );
    if (foreign.length > 0) {
      throw invalid(dir, `exists, is not empty and has no ${LAYOUT_FILE} file`);
    }
    await mkdir(join(dir, 'blobs'), { recursive: true });
  } catch (e) {
    throw writeError(dir, e);
  }
  await withLock(join(dir, LOCK_FILE), async () => {
    // An existing index.json (a half-initialised layout) is validated and kept, never overwritten with an empty one.
    if ((await readIndexFile(dir)) === undefined) await atomicWriteFile(join(dir, INDEX_FILE), serializeIndex({ manifests: [] }));
    // oci-layout last: a directory with it is a complete layout.
    if ((await statOrUndefined(join(dir, LAYOUT_FILE))) === undefined) await atomicWriteFile(join(dir, LAYOUT_FILE), LAYOUT_FILE_BYTES);
  });
}

/**
 * The one way index.json changes: under the in-process and cross-process lock, read the current entries, apply
 * `change` (pure functions from tags.ts), write the result atomically if it differs.
 */
export async function updateIndex(
  dir: string,
  change: (entries: Descriptor[]) => Descriptor[],
  lockOptions?: LockOptions,
): Promise<void> {
  await withLock(
    join(dir, LOCK_FILE),
    async () => {
      const current = (await readIndexFile(dir)) ?? { manifests: [] };
      const next: IndexFile = { ...current, manifests: change([...current.manifests]) };
      const before = serializeIndex(current);
      const after = serializeIndex(next);
      if (Buffer.from(before).equals(after) && (await statOrUndefined(join(dir, INDEX_FILE))) !== undefined) return;
      await atomicWriteFile(join(dir, INDEX_FILE), after);
    },
    lockOptions,
  );
}
