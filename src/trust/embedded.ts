/**
 * The offline default: the public-good trusted_root.json that @sigstore/tuf ships as a seed target in its
 * `seeds.json` (next to the TUF root.json it bootstraps from). Read from the installed package at run time — not
 * copied into our source — so upgrading @sigstore/tuf upgrades the snapshot, and no key material lives in this repo.
 * It is a frozen snapshot: `airlock trust update` refreshes it through TUF when the machine is online.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AirlockError, messageOf } from '../errors.js';

export const PUBLIC_GOOD_TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';
const TRUSTED_ROOT_TARGET = 'trusted_root.json';

export interface EmbeddedRoot {
  bytes: Uint8Array;
  /** e.g. "@sigstore/tuf 5.0.1 seeds.json (https://tuf-repo-cdn.sigstore.dev)" */
  origin: string;
  /** The seed TUF root.json bytes, for bootstrapping a TUF client of the same mirror. */
  tufRoot: Uint8Array;
}

let cached: EmbeddedRoot | undefined;

export function readEmbeddedRoot(): EmbeddedRoot {
  if (cached) return cached;
  try {
    const require = createRequire(import.meta.url);
    const pkgPath = require.resolve('@sigstore/tuf/package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version?: string };
    const seeds = JSON.parse(readFileSync(join(dirname(pkgPath), 'seeds.json'), 'utf8')) as Record<
      string,
      { 'root.json'?: string; targets?: Record<string, string> }
    >;
    const seed = seeds[PUBLIC_GOOD_TUF_MIRROR];
    const target = seed?.targets?.[TRUSTED_ROOT_TARGET];
    const root = seed?.['root.json'];
    if (!target || !root) throw new Error(`no ${TRUSTED_ROOT_TARGET} seed for ${PUBLIC_GOOD_TUF_MIRROR}`);
    cached = {
      bytes: Buffer.from(target, 'base64'),
      tufRoot: Buffer.from(root, 'base64'),
      origin: `@sigstore/tuf ${pkg.version ?? '?'} seeds.json (${PUBLIC_GOOD_TUF_MIRROR})`,
    };
    return cached;
  } catch (e) {
    throw new AirlockError('INTERNAL', `The embedded Sigstore trusted root could not be read from @sigstore/tuf (${messageOf(e)}); reinstall airlock or pass --trusted-root.`, {
      cause: e,
    });
  }
}
