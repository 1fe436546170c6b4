/**
 * Fulcio's certificate extensions (OID arc 1.3.6.1.4.1.57264.1), read from the leaf ourselves: @sigstore/verify
 * exposes only the issuer, and policies on the GitHub extensions (cosign's --certificate-github-workflow-*,
 * the source-repository URI/ref that bind a Flux controller to its repository and tag) need the rest.
 *
 * Two encodings exist (Fulcio docs/oid-info.md): the deprecated …1.1–1.6 carry the raw string bytes as the
 * extension value; …1.8 onwards carry a DER UTF8String. Both are decoded strictly — an attacker-influenced value
 * that does not decode exactly is an error, never a best guess — before any comparison.
 */
import type { X509Certificate } from '@sigstore/core';

const ARC = '1.3.6.1.4.1.57264.1.';

/** Names for the extensions we know, by the last OID component. `legacy` = raw bytes, otherwise DER UTF8String. */
const KNOWN: Readonly<Record<number, { name: string; legacy: boolean }>> = {
  1: { name: 'issuerLegacy', legacy: true },
  2: { name: 'githubWorkflowTrigger', legacy: true },
  3: { name: 'githubWorkflowSha', legacy: true },
  4: { name: 'githubWorkflowName', legacy: true },
  5: { name: 'githubWorkflowRepository', legacy: true },
  6: { name: 'githubWorkflowRef', legacy: true },
  8: { name: 'issuer', legacy: false },
  9: { name: 'buildSignerUri', legacy: false },
  10: { name: 'buildSignerDigest', legacy: false },
  11: { name: 'runnerEnvironment', legacy: false },
  12: { name: 'sourceRepositoryUri', legacy: false },
  13: { name: 'sourceRepositoryDigest', legacy: false },
  14: { name: 'sourceRepositoryRef', legacy: false },
  15: { name: 'sourceRepositoryIdentifier', legacy: false },
  16: { name: 'sourceRepositoryOwnerUri', legacy: false },
  17: { name: 'sourceRepositoryOwnerIdentifier', legacy: false },
  18: { name: 'buildConfigUri', legacy: false },
  19: { name: 'buildConfigDigest', legacy: false },
  20: { name: 'buildTrigger', legacy: false },
  21: { name: 'runInvocationUri', legacy: false },
  22: { name: 'sourceRepositoryVisibilityAtSigning', legacy: false },
};

/** Extension name → OID, for documentation and for policies that name an extension. */
export const FULCIO_EXTENSION_OIDS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(KNOWN).map(([n, k]) => [k.name, `${ARC}${n}`]),
);

/** Decoded Fulcio extensions keyed by name (unknown ones of the arc by OID). */
export type FulcioExtensions = Readonly<Record<string, string>>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads every extension of the Fulcio arc from the certificate. Throws on a malformed or duplicated one. */
export function readFulcioExtensions(cert: X509Certificate): FulcioExtensions {
  const out: Record<string, string> = {};
  for (const ext of cert.extensions) {
    const oid = ext.subs[0]?.toOID();
    if (!oid?.startsWith(ARC)) continue;
    const tail = oid.slice(ARC.length);
    if (!/^\d+$/.test(tail)) continue; // a deeper sub-arc: not a Fulcio extension we know how to read
    const known = KNOWN[Number(tail)];
    const key = known?.name ?? oid;
    if (key in out) throw new Error(`the certificate carries extension ${oid} twice`);
    // extnValue is the last element of the Extension SEQUENCE (critical is optional in between).
    const raw = ext.subs[ext.subs.length - 1]?.value;
    if (!raw) throw new Error(`extension ${oid} has no value`);
    if (known) out[key] = known.legacy ? utf8.decode(raw) : decodeDerUtf8String(raw, oid);
    else out[key] = tryDerUtf8String(raw) ?? `hex:${Buffer.from(raw).toString('hex')}`;
  }
  return Object.freeze(out);
}

/**
 * The OIDC issuer: the v2 extension (…1.8), else the legacy one (…1.1). Fulcio writes both with the same value;
 * if they disagree, the certificate is inconsistent and no issuer can be trusted from it.
 */
export function issuerOf(ext: FulcioExtensions): string | undefined {
  const v2 = ext.issuer;
  const v1 = ext.issuerLegacy;
  if (v2 !== undefined && v1 !== undefined && v2 !== v1) throw new Error(`the certificate's issuer extensions disagree (${v2} vs ${v1})`);
  return v2 ?? v1;
}

// DER UTF8String: tag 0x0C, definite minimal length, and the length must cover the buffer exactly (no trailing
// bytes that a laxer parser elsewhere might read differently).
function decodeDerUtf8String(der: Uint8Array, oid: string): string {
  const s = tryDerUtf8String(der);
  if (s === undefined) throw new Error(`extension ${oid} is not a DER UTF8String`);
  return s;
}

function tryDerUtf8String(der: Uint8Array): string | undefined {
  if (der.length < 2 || der[0] !== 0x0c) return undefined;
  const first = der[1]!;
  let len: number;
  let off: number;
  if (first < 0x80) {
    len = first;
    off = 2;
  } else if (first === 0x81 && der.length >= 3 && der[2]! >= 0x80) {
    len = der[2]!;
    off = 3;
  } else if (first === 0x82 && der.length >= 4 && der[2]! !== 0) {
    len = (der[2]! << 8) | der[3]!;
    if (len < 0x100) return undefined;
    off = 4;
  } else {
    return undefined;
  }
  if (off + len !== der.length) return undefined;
  try {
    return utf8.decode(der.subarray(off));
  } catch {
    return undefined;
  }
}
