/**
 * A TrustAnchor is the trust material one verification runs against, with where it came from and the digest of
 * the exact trusted_root.json bytes, so every verdict can say what it trusted.
 *
 * The digest is over the bytes as obtained (the embedded TUF target, the TUF-downloaded target, or the file), not
 * over a re-serialisation: it is then the same value as `sha256sum` of the file `airlock trust export` writes, and for
 * TUF-sourced roots the same value as the target hash in Sigstore's signed targets.json.
 */
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { AirlockError, messageOf, type ErrorCode } from '../errors.js';
import { sha256Digest, type Digest } from '../oci/digest.js';
import { checkTrustedRoot, type TrustEntrySummary } from './root.js';

/** embedded: the snapshot shipped in @sigstore/tuf's seeds.json; tuf: refreshed through TUF; file: --trusted-root. */
export type TrustSource = 'embedded' | 'tuf' | 'file';

export interface TrustAnchor {
  readonly source: TrustSource;
  /** `sha256:<hex>` of `bytes`. */
  readonly digest: Digest;
  /** The trusted_root.json as parsed JSON (never mutated). */
  readonly trustedRoot: Readonly<Record<string, unknown>>;
  /** What @sigstore/verify verifies against. Built once per anchor: parsing the CA certificates is not free. */
  readonly material: TrustMaterial;
  /** The exact trusted_root.json bytes (what `trust export` writes). */
  readonly bytes: Uint8Array;
  /** Human description of where the bytes came from: a path, a TUF mirror URL, the seeds file. */
  readonly origin: string;
  /** For TUF-sourced roots: when the refresh that produced them succeeded (ISO 8601). */
  readonly fetchedAt?: string;
  /** Every authority with its validity window (see root.ts). */
  readonly entries: readonly TrustEntrySummary[];
}

export interface TrustAnchorSource {
  source: TrustSource;
  origin: string;
  fetchedAt?: string;
}

/**
 * Parses and checks trusted_root.json bytes and builds the trust material. Pure (no I/O). A malformed root is
 * BAD_INPUT when the user gave the file, VERIFY_FAILED otherwise (an embedded or TUF root should never be malformed).
 */
export function toTrustAnchor(bytes: Uint8Array, from: TrustAnchorSource): TrustAnchor {
  const what = from.source === 'file' ? `the trusted root ${from.origin}` : `the ${from.source} trusted root (${from.origin})`;
  const code: ErrorCode = from.source === 'file' ? 'BAD_INPUT' : 'VERIFY_FAILED';
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new AirlockError(code, `${capitalize(what)} is not valid JSON (${messageOf(e)}).`, { cause: e, details: { check: 'trust-root-validity' } });
  }
  const entries = checkTrustedRoot(json, what, code);
  let material: TrustMaterial;
  try {
    material = toTrustMaterial(TrustedRoot.fromJSON(json));
  } catch (e) {
    throw new AirlockError(code, `${capitalize(what)} has an unusable key or certificate (${messageOf(e)}).`, {
      cause: e,
      details: { check: 'trust-root-validity' },
    });
  }
  const anchor: TrustAnchor = {
    source: from.source,
    digest: sha256Digest(bytes),
    trustedRoot: deepFreeze(json as Record<string, unknown>),
    material,
    bytes: Uint8Array.from(bytes),
    origin: from.origin,
    ...(from.fetchedAt ? { fetchedAt: from.fetchedAt } : {}),
    entries: Object.freeze(entries),
  };
  return Object.freeze(anchor);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
