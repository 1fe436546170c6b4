/**
 * The local Fulcio of the test kit (see sigstore.ts): certifies a key for the identity in an OIDC token, with the
 * HTTP API cosign 2.x (v1) and sigstore-js (v2) call. Like @sigstore/mock's Fulcio it does not check the token's
 * signature — the kit is a test CA and trusts whoever asks — but it does check proof of possession of the key.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { ASN1Obj } from '@sigstore/core';
import { decodeTokenClaims, fulcioExtensions, subjectAlternativeName, type GitHubActionsClaims } from './identity.js';
import { issueLeafCertificate, toPem, type CertificateAuthority } from './x509.js';
import type { CtLogSigner } from './ct.js';

const LEAF_LIFETIME_MS = 10 * 60_000; // Fulcio's certificates live ten minutes
const SIGNATURE_HASHES: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

export class FulcioRequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface Fulcio {
  ca: CertificateAuthority;
  ct: CtLogSigner;
  clock: () => Date;
}

export interface IssuedCertificate {
  /** Leaf first, then the root: what Fulcio's `pem-certificate-chain` reply lists. */
  chainPem: string[];
  leafDer: Buffer;
}

/** Certifies `publicKey` for the identity in `claims` (in-process; the HTTP handlers end here too). */
export function issueForClaims(f: Fulcio, claims: Partial<GitHubActionsClaims>, publicKey: KeyObject): IssuedCertificate {
  const now = new Date(Math.floor(f.clock().getTime() / 1000) * 1000);
  const leafDer = issueLeafCertificate(
    {
      publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
      san: subjectAlternativeName(claims),
      extensions: fulcioExtensions(claims),
      notBefore: now,
      notAfter: new Date(now.getTime() + LEAF_LIFETIME_MS),
    },
    f.ca,
    f.ct,
  );
  return { leafDer, chainPem: [toPem(leafDer), toPem(f.ca.certificateDer)] };
}

function stringClaims(token: string): Partial<GitHubActionsClaims> {
  let raw: Record<string, unknown>;
  try {
    raw = decodeTokenClaims(token);
  } catch {
    throw new FulcioRequestError(401, 'the identity token is not a JWT');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The challenge a client signs to prove it holds the key: the token's email if verified, else its subject. */
function challengeSubject(claims: Partial<GitHubActionsClaims>): string {
  return claims.email ?? claims.sub ?? '';
}

function parsePublicKey(text: string): KeyObject {
  try {
    return text.includes('-----BEGIN') ? createPublicKey(text) : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new FulcioRequestError(400, 'unparsable public key');
  }
}

/** A PKCS#10 request: its SubjectPublicKeyInfo, after checking the request is self-signed by that key. */
function keyFromCsr(pemOrB64: string): KeyObject {
  const pem = pemOrB64.includes('-----BEGIN') ? pemOrB64 : Buffer.from(pemOrB64, 'base64').toString('utf8');
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  try {
    const csr = ASN1Obj.parseBuffer(der);
    const [info, alg, sig] = csr.subs;
    const spki = info?.subs[2];
    const hash = SIGNATURE_HASHES[alg?.subs[0]?.toOID() ?? ''];
    if (!info || !spki || !sig || !hash) throw new Error('malformed');
    const key = createPublicKey({ key: spki.toDER(), format: 'der', type: 'spki' });
    if (!verify(hash, info.toDER(), key, sig.value.subarray(1))) throw new Error('bad self-signature');
    return key;
  } catch {
    throw new FulcioRequestError(400, 'invalid certificate signing request');
  }
}

function checkProof(key: KeyObject, claims: Partial<GitHubActionsClaims>, proofB64: string | undefined): void {
  const proof = Buffer.from(proofB64 ?? '', 'base64');
  if (proof.length === 0 || !verify('sha256', Buffer.from(challengeSubject(claims)), key, proof)) {
    throw new FulcioRequestError(400, 'proof of possession of the key does not verify');
  }
}

function bearer(authorization: string | undefined): string {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!m) throw new FulcioRequestError(401, 'missing bearer identity token');
  return m[1]!;
}

function field(obj: unknown, ...path: string[]): string | undefined {
  let cur = obj;
  for (const p of path) cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[p] : undefined;
  return typeof cur === 'string' ? cur : undefined;
}

/**
 * Fulcio v1 `POST /api/v1/signingCert` (cosign 2.x): token in Authorization; body `{publicKey:{content: base64 of
 * the PEM}, signedEmailAddress}` or `{certificateSigningRequest}`. Answers the PEM chain, leaf first.
 */
export function handleSigningCertV1(f: Fulcio, authorization: string | undefined, body: unknown): string {
  const claims = stringClaims(bearer(authorization));
  const csr = field(body, 'certificateSigningRequest');
  let key: KeyObject;
  if (csr) {
    key = keyFromCsr(csr);
  } else {
    const content = field(body, 'publicKey', 'content');
    if (!content) throw new FulcioRequestError(400, 'missing publicKey.content or certificateSigningRequest');
    const decoded = Buffer.from(content, 'base64').toString('utf8');
    key = parsePublicKey(decoded.includes('-----BEGIN') ? decoded : content);
    checkProof(key, claims, field(body, 'signedEmailAddress'));
  }
  return issueForClaims(f, claims, key).chainPem.join('');
}

/** Fulcio v2 `POST /api/v2/signingCert` (sigstore-js): everything in the JSON body; answers JSON. */
export function handleSigningCertV2(f: Fulcio, body: unknown): Record<string, unknown> {
  const token = field(body, 'credentials', 'oidcIdentityToken');
  if (!token) throw new FulcioRequestError(401, 'missing credentials.oidcIdentityToken');
  const claims = stringClaims(token);
  const csr = field(body, 'certificateSigningRequest');
  let key: KeyObject;
  if (csr) {
    key = keyFromCsr(csr);
  } else {
    const pem = field(body, 'publicKeyRequest', 'publicKey', 'content');
    if (!pem) throw new FulcioRequestError(400, 'missing publicKeyRequest.publicKey.content');
    key = parsePublicKey(pem);
    checkProof(key, claims, field(body, 'publicKeyRequest', 'proofOfPossession'));
  }
  return { signedCertificateEmbeddedSct: { chain: { certificates: issueForClaims(f, claims, key).chainPem } } };
}
