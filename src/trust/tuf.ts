/**
 * Refreshing the trusted root through TUF (@sigstore/tuf, which verifies the root → timestamp → snapshot → targets
 * chain and the target's hash), and keeping the last verified result on disk so later offline runs use it.
 *
 * Layout of the trust directory (default `$XDG_CACHE_HOME/airlock/trust`, `AIRLOCK_TRUST_DIR`, or `--trust-dir`):
 *   tuf/<mirror>/…             the TUF client's metadata cache (managed by @sigstore/tuf)
 *   trusted_root.json          the target bytes of the last successful refresh
 *   trusted_root.meta.json     {mirror, fetchedAt, digest}: where and when; the digest guards against a torn write
 *
 * The TUF cache alone cannot tell us whether a refresh ever happened (@sigstore/tuf seeds its targets directory
 * with the embedded snapshot), hence our own copy, written only after getTarget() succeeded.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { initTUF } from '@sigstore/tuf';
import { AirlockError, messageOf } from '../errors.js';
import { sha256Digest } from '../oci/digest.js';
import { PUBLIC_GOOD_TUF_MIRROR } from './embedded.js';

export interface TufRefreshOptions {
  trustDir: string;
  /** Default: the public-good mirror https://tuf-repo-cdn.sigstore.dev. */
  mirrorURL?: string;
  /** TUF root.json to bootstrap a mirror other than the public-good one (its seed ships with @sigstore/tuf). */
  tufRootPath?: string;
  timeoutMs?: number;
  retries?: number;
}

export interface SavedRoot {
  bytes: Uint8Array;
  mirror: string;
  fetchedAt: string;
}

const ROOT_FILE = 'trusted_root.json';
const META_FILE = 'trusted_root.meta.json';

/** `AIRLOCK_TRUST_DIR`, else `$XDG_CACHE_HOME/airlock/trust`, else `~/.cache/airlock/trust`. */
export function defaultTrustDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AIRLOCK_TRUST_DIR) return env.AIRLOCK_TRUST_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'airlock', 'trust');
}

/** Runs a TUF refresh and returns the verified trusted_root.json target bytes. Network: the mirror only. */
export async function fetchTrustedRootViaTuf(o: TufRefreshOptions): Promise<SavedRoot> {
  const mirror = (o.mirrorURL ?? PUBLIC_GOOD_TUF_MIRROR).replace(/\/+$/, '');
  if (mirror !== PUBLIC_GOOD_TUF_MIRROR && !o.tufRootPath) {
    throw new AirlockError('BAD_INPUT', `The TUF mirror ${mirror} has no built-in root of trust; pass its initial root.json with --tuf-root.`);
  }
  let text: string;
  try {
    const tuf = await initTUF({
      cachePath: join(o.trustDir, 'tuf'),
      mirrorURL: mirror,
      ...(o.tufRootPath ? { rootPath: o.tufRootPath } : {}),
      timeout: o.timeoutMs ?? 5000,
      retry: { retries: o.retries ?? 1 },
    });
    text = await tuf.getTarget(ROOT_FILE);
  } catch (e) {
    throw classifyTufError(e, mirror);
  }
  return { bytes: Buffer.from(text, 'utf8'), mirror, fetchedAt: new Date().toISOString() };
}

/** Writes the refreshed root and its metadata (each via a temp file + rename, so readers never see half a file). */
export function saveRefreshedRoot(trustDir: string, saved: SavedRoot): void {
  mkdirSync(trustDir, { recursive: true, mode: 0o700 });
  const meta = { mirror: saved.mirror, fetchedAt: saved.fetchedAt, digest: sha256Digest(saved.bytes) };
  atomicWrite(join(trustDir, ROOT_FILE), saved.bytes);
  atomicWrite(join(trustDir, META_FILE), Buffer.from(`${JSON.stringify(meta, null, 2)}\n`));
}

/** The root saved by the last successful refresh, or undefined when there is none (or it is torn/corrupt). */
export function readSavedRoot(trustDir: string): SavedRoot | undefined {
  let bytes: Buffer;
  let meta: { mirror?: unknown; fetchedAt?: unknown; digest?: unknown };
  try {
    bytes = readFileSync(join(trustDir, ROOT_FILE));
    meta = JSON.parse(readFileSync(join(trustDir, META_FILE), 'utf8')) as typeof meta;
  } catch {
    return undefined;
  }
  // The meta file is written second: a root without matching meta is from an interrupted update; ignore it.
  if (meta.digest !== sha256Digest(bytes) || typeof meta.mirror !== 'string' || typeof meta.fetchedAt !== 'string') return undefined;
  return { bytes, mirror: meta.mirror, fetchedAt: meta.fetchedAt };
}

function atomicWrite(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes, { mode: 0o644 });
  renameSync(tmp, path);
}

// tuf-js signals a repository that does not verify (bad signature, rollback, expired, hash mismatch) with error
// classes named like these; anything else (DNS, refused, timeout, HTTP status) means we did not get an answer.
const SECURITY_ERRORS = /Repository|Unsigned|Mismatch|Expired|BadVersion|EqualVersion|Crypto|ValueError/;

function classifyTufError(e: unknown, mirror: string): AirlockError {
  if (e instanceof AirlockError) return e;
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 8; c = c.cause, depth++) {
    if (SECURITY_ERRORS.test(c.constructor.name)) {
      return new AirlockError('VERIFY_FAILED', `The TUF repository at ${mirror} did not verify (${c.constructor.name}: ${messageOf(c)}); keeping the current trusted root.`, {
        cause: e,
        details: { check: 'tuf' },
      });
    }
  }
  return new AirlockError('UNREACHABLE', `The TUF repository at ${mirror} could not be reached (${deepestMessage(e)}); on an air-gapped machine use --offline with a root from \`airlock trust export\`.`, {
    cause: e,
  });
}

function deepestMessage(e: unknown): string {
  let msg = messageOf(e);
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 8; c = c.cause, depth++) msg = messageOf(c);
  return msg;
}
