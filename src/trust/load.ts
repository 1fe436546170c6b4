/**
 * Picks the trust anchor for a run. In order:
 *   1. `--trusted-root FILE` (a private Sigstore, or a root exported from a connected machine): source `file`;
 *   2. a TUF refresh, when the mode allows it (see RefreshMode), saved for later runs: source `tuf`;
 *   3. the root saved by the last successful refresh: source `tuf`, with its fetch time;
 *   4. the snapshot embedded in @sigstore/tuf: source `embedded`.
 * Every verdict records the source and digest of what was picked.
 */
import { readFileSync } from 'node:fs';
import { AirlockError, messageOf } from '../errors.js';
import { warn, type Logger } from '../log.js';
import { toTrustAnchor, type TrustAnchor } from './anchor.js';
import { readEmbeddedRoot } from './embedded.js';
import { defaultTrustDir, fetchTrustedRootViaTuf, readSavedRoot, saveRefreshedRoot } from './tuf.js';

/**
 * never: no network (`--offline`, and commands that never reach upstream such as verify-bundle);
 * if-online: try TUF, and on UNREACHABLE fall back to the saved/embedded root with a warning (sync-style commands
 *   that go online anyway); a repository that answers but does not verify is still an error;
 * always: TUF must succeed (`trust update`).
 */
export type RefreshMode = 'never' | 'if-online' | 'always';

export interface LoadTrustOptions {
  trustedRootPath?: string;
  trustDir?: string;
  refresh?: RefreshMode;
  mirrorURL?: string;
  tufRootPath?: string;
  timeoutMs?: number;
  logger?: Logger;
}

export async function loadTrustAnchor(o: LoadTrustOptions = {}): Promise<TrustAnchor> {
  if (o.trustedRootPath !== undefined) return loadTrustAnchorFile(o.trustedRootPath);
  const trustDir = o.trustDir ?? defaultTrustDir();
  const mode = o.refresh ?? 'never';
  if (mode !== 'never') {
    try {
      const fresh = await fetchTrustedRootViaTuf({
        trustDir,
        ...(o.mirrorURL ? { mirrorURL: o.mirrorURL } : {}),
        ...(o.tufRootPath ? { tufRootPath: o.tufRootPath } : {}),
        ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
      });
      // Check before saving: a root we cannot use must not replace the last good one.
      const anchor = toTrustAnchor(fresh.bytes, { source: 'tuf', origin: fresh.mirror, fetchedAt: fresh.fetchedAt });
      saveRefreshedRoot(trustDir, fresh);
      return anchor;
    } catch (e) {
      if (mode === 'always' || !(e instanceof AirlockError) || e.code !== 'UNREACHABLE') throw e;
      warn(o.logger, 'TUF refresh failed; using the last saved or the embedded trusted root', { reason: e.message });
    }
  }
  return loadOfflineTrustAnchor(trustDir);
}

/** The saved TUF root if there is one, else the embedded snapshot. No network. */
export function loadOfflineTrustAnchor(trustDir: string = defaultTrustDir()): TrustAnchor {
  const saved = readSavedRoot(trustDir);
  if (saved) return toTrustAnchor(saved.bytes, { source: 'tuf', origin: saved.mirror, fetchedAt: saved.fetchedAt });
  return loadEmbeddedTrustAnchor();
}

let embedded: TrustAnchor | undefined;

/** The public-good snapshot shipped with @sigstore/tuf (memoised: it never changes within a process). */
export function loadEmbeddedTrustAnchor(): TrustAnchor {
  if (!embedded) {
    const e = readEmbeddedRoot();
    embedded = toTrustAnchor(e.bytes, { source: 'embedded', origin: e.origin });
  }
  return embedded;
}

export function loadTrustAnchorFile(path: string): TrustAnchor {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_INPUT';
    throw new AirlockError(code, `The trusted root ${path} could not be read (${messageOf(e)}).`, { cause: e });
  }
  return toTrustAnchor(bytes, { source: 'file', origin: path });
}
