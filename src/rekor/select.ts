/**
 * Picks, among the Rekor entries found for an artifact's hash, the one that logged THIS signature with THIS
 * certificate (pure).
 *
 * Why a selection at all: anyone can log a signature over any hash, so a search by the artifact's hash returns
 * other people's entries too (decoys). Why every check below:
 *  - signature: an entry for another signature over the same hash (another signer, or the same signer's other
 *    signature) is not the transparency evidence of this one; verifiers compare it and would reject the bundle.
 *  - certificate: the body's verifier must be this certificate. Verifiers (sigstore-js) compare only signature and
 *    digest with the body, and for a given ECDSA signature and digest anyone can derive a public key that verifies
 *    it and log that key without proof of possession; without this check such an entry would pass as the log record
 *    of a certificate that was never logged.
 *  - artifact-hash / kind: hashedrekord 0.0.1 over exactly this SHA-256.
 * At most one entry can pass (Rekor stores a body once), so the first match is the match.
 */
import { X509Certificate } from 'node:crypto';
import { json } from '@sigstore/core';
import { rekorLeafHash, type RekorEntry } from './entry.js';

export interface DetachedSignature {
  signature: Buffer;
  certificateDer: Buffer;
  /** Hex SHA-256 of the artifact. */
  digestHex: string;
}

interface HashedRekordBody {
  kind?: unknown;
  apiVersion?: unknown;
  spec?: { data?: { hash?: { algorithm?: unknown; value?: unknown } }; signature?: { content?: unknown; publicKey?: { content?: unknown } } };
}

export type EntryCheckName = 'kind' | 'artifact-hash' | 'signature' | 'certificate';

export interface EntryCheck {
  name: EntryCheckName;
  test(body: HashedRekordBody, given: DetachedSignature): boolean;
}

/** The certificate a hashedrekord body names, as DER; undefined for a bare public key or anything unparsable. */
function bodyCertificateDer(body: HashedRekordBody): Buffer | undefined {
  const content = body.spec?.signature?.publicKey?.content;
  if (typeof content !== 'string') return undefined;
  const pem = Buffer.from(content, 'base64').toString('utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) return undefined;
  try {
    return new X509Certificate(pem).raw;
  } catch {
    return undefined;
  }
}

/** The checks, in order; tests remove one to show what it stops (see the module comment). */
export const ENTRY_CHECKS: readonly EntryCheck[] = Object.freeze([
  { name: 'kind', test: (b) => b.kind === 'hashedrekord' && b.apiVersion === '0.0.1' },
  {
    name: 'artifact-hash',
    test: (b, g) => b.spec?.data?.hash?.algorithm === 'sha256' && typeof b.spec.data.hash.value === 'string' && b.spec.data.hash.value.toLowerCase() === g.digestHex.toLowerCase(),
  },
  {
    name: 'signature',
    test: (b, g) => typeof b.spec?.signature?.content === 'string' && Buffer.from(b.spec.signature.content, 'base64').equals(g.signature),
  },
  {
    name: 'certificate',
    test: (b, g) => bodyCertificateDer(b)?.equals(g.certificateDer) === true,
  },
]);

export interface Rejection {
  uuid: string;
  logIndex: number;
  /** The first check the entry failed. */
  failed: EntryCheckName | 'unparsable';
}

export interface Selection {
  entry: RekorEntry | undefined;
  rejected: Rejection[];
}

function parseBody(entry: RekorEntry): HashedRekordBody | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(entry.body, 'base64').toString('utf8'));
    return typeof v === 'object' && v !== null ? (v as HashedRekordBody) : undefined;
  } catch {
    return undefined;
  }
}

/** The entry that logged `given`, and why each other entry was passed over. */
export function selectRekorEntry(entries: readonly RekorEntry[], given: DetachedSignature, checks: readonly EntryCheck[] = ENTRY_CHECKS): Selection {
  const rejected: Rejection[] = [];
  for (const entry of entries) {
    const body = parseBody(entry);
    const failed = body === undefined ? 'unparsable' : checks.find((c) => !c.test(body, given))?.name;
    if (failed === undefined) return { entry, rejected };
    rejected.push({ uuid: entry.uuid, logIndex: entry.logIndex, failed });
  }
  return { entry: undefined, rejected };
}

/** PEM as Go's encoding/pem writes it (64-column lines): the form Rekor stores a verifier in. */
function goPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/**
 * The UUID Rekor gives the entry that logs `given`, computed from the body Rekor would store (hashedrekord 0.0.1,
 * JCS-canonical, certificate re-encoded as PEM). Used to look the entry up directly when a search's first entries
 * do not include it — e.g. when someone has flooded the hash with decoys. What it returns still goes through
 * selectRekorEntry: a lookup by a computed UUID is a shortcut, not a check.
 */
export function expectedEntryUuid(given: DetachedSignature): string {
  const body = {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: given.digestHex.toLowerCase() } },
      signature: { content: given.signature.toString('base64'), publicKey: { content: Buffer.from(goPem(given.certificateDer)).toString('base64') } },
    },
  };
  return rekorLeafHash(Buffer.from(json.canonicalize(body)));
}
