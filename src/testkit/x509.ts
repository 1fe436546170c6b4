/**
 * Fulcio-like certificates for the local Sigstore test kit (see sigstore.ts): a self-signed root and short-lived
 * code-signing leaves with a URI (or email) SAN, Fulcio's OIDC extensions and an embedded SCT.
 *
 * Built by hand with der.ts rather than with @sigstore/mock's CA because the mock mints a new root on every start
 * (older signatures then stop verifying) and would pull webcrypto/pkijs/nock into the shipped CLI for `airlock demo`.
 */
import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { ASN1Obj } from '@sigstore/core';
import * as der from './der.js';
import { signPrecertificateSct, sctListExtensionValue, type CtLogSigner } from './ct.js';

const OID_ECDSA_SHA384 = '1.2.840.10045.4.3.3';
const OID_ORGANIZATION = '2.5.4.10';
const OID_COMMON_NAME = '2.5.4.3';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const OID_SUBJECT_KEY_ID = '2.5.29.14';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_SCT_LIST = '1.3.6.1.4.1.11129.2.4.2';

const KEY_USAGE_DIGITAL_SIGNATURE = 0;
const KEY_USAGE_CERT_SIGN = 5;
const KEY_USAGE_CRL_SIGN = 6;

/** A certificate extension: `value` is the DER placed inside extnValue's OCTET STRING. */
export interface CertExtension {
  oid: string;
  critical?: boolean;
  value: Buffer;
}

/**
 * A Fulcio OIDC extension (OID 1.3.6.1.4.1.57264.1.*). Fulcio writes the deprecated …1.1–1.6 as the raw string
 * bytes (`legacy`) and the newer ones as a DER UTF8String; verifiers parse them accordingly.
 */
export interface FulcioExtension {
  oid: string;
  value: string;
  legacy?: boolean;
}

export interface CertificateAuthority {
  privateKey: KeyObject;
  certificateDer: Buffer;
}

export interface LeafRequest {
  /** DER SubjectPublicKeyInfo of the key to certify. */
  publicKeySpki: Buffer;
  san: { uri: string } | { email: string };
  extensions: FulcioExtension[];
  notBefore: Date;
  notAfter: Date;
}

export function encodeName(organization: string, commonName: string): Buffer {
  return der.seq(
    der.set(der.seq(der.oid(OID_ORGANIZATION), der.printableString(organization))),
    der.set(der.seq(der.oid(OID_COMMON_NAME), der.printableString(commonName))),
  );
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bytes. */
export function keyIdentifier(spki: Buffer): Buffer {
  const bits = parseDer(spki).subs[1];
  if (!bits) throw new Error('malformed SubjectPublicKeyInfo');
  return createHash('sha1').update(bits.value.subarray(1)).digest();
}

/** @sigstore/core's parser wants a Buffer backed by a plain ArrayBuffer. */
const parseDer = (b: Buffer): ASN1Obj => ASN1Obj.parseBuffer(Buffer.from(b));

function encodeExtension(e: CertExtension): Buffer {
  return der.seq(der.oid(e.oid), ...(e.critical ? [der.boolean(true)] : []), der.octetString(e.value));
}

function randomSerial(): bigint {
  // 20 random bytes with the top bit cleared: positive and at most 20 octets, as RFC 5280 asks.
  const bytes = randomBytes(20);
  bytes[0]! &= 0x7f;
  return BigInt(`0x${bytes.toString('hex')}`);
}

interface TbsFields {
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  spki: Buffer;
  extensions: CertExtension[];
}

function encodeTbs(serial: bigint, f: TbsFields): Buffer {
  return der.seq(
    der.explicit(0, der.integer(2n)), // v3
    der.integer(serial),
    der.seq(der.oid(OID_ECDSA_SHA384)),
    f.issuer,
    der.seq(der.time(f.notBefore), der.time(f.notAfter)),
    f.subject,
    f.spki,
    der.explicit(3, der.seq(...f.extensions.map(encodeExtension))),
  );
}

function signTbs(tbs: Buffer, key: KeyObject): Buffer {
  return der.seq(tbs, der.seq(der.oid(OID_ECDSA_SHA384)), der.bitString(sign('sha384', tbs, key)));
}

/** The subject Name of a certificate, as its exact DER bytes (a leaf's issuer must equal them byte for byte). */
export function subjectNameDer(certDer: Buffer): Buffer {
  const tbs = parseDer(certDer).subs[0];
  const subject = tbs?.subs[5]; // [0] version, serial, signature, issuer, validity, subject
  if (!subject) throw new Error('malformed certificate');
  return subject.toDER();
}

export function createRootCertificate(
  privateKey: KeyObject,
  publicKeySpki: Buffer,
  name: { organization: string; commonName: string },
  notBefore: Date,
  notAfter: Date,
): Buffer {
  const subject = encodeName(name.organization, name.commonName);
  const keyId = keyIdentifier(publicKeySpki);
  const tbs = encodeTbs(randomSerial(), {
    issuer: subject,
    subject,
    notBefore,
    notAfter,
    spki: publicKeySpki,
    extensions: [
      { oid: OID_KEY_USAGE, critical: true, value: der.namedBits([KEY_USAGE_CERT_SIGN, KEY_USAGE_CRL_SIGN]) },
      { oid: OID_BASIC_CONSTRAINTS, critical: true, value: der.seq(der.boolean(true)) },
      { oid: OID_SUBJECT_KEY_ID, value: der.octetString(keyId) },
    ],
  });
  return signTbs(tbs, privateKey);
}

function fulcioExtension(e: FulcioExtension): CertExtension {
  return { oid: e.oid, value: e.legacy ? Buffer.from(e.value, 'utf8') : der.utf8String(e.value) };
}

/**
 * Issues a leaf as Fulcio does: empty subject, critical SAN, codeSigning EKU, the OIDC extensions, and an SCT from
 * the CT log over the precertificate (the same TBS without the SCT extension, which is appended last so that
 * removing it — what verifiers do — gives back exactly the bytes the log signed).
 */
export function issueLeafCertificate(req: LeafRequest, ca: CertificateAuthority, ct: CtLogSigner): Buffer {
  const caSpki = parseDer(ca.certificateDer).subs[0]?.subs[6]?.toDER();
  if (!caSpki) throw new Error('malformed CA certificate');
  const sanEntry = 'uri' in req.san
    ? der.implicitPrimitive(6, Buffer.from(req.san.uri, 'utf8'))
    : der.implicitPrimitive(1, Buffer.from(req.san.email, 'utf8'));
  const extensions: CertExtension[] = [
    { oid: OID_KEY_USAGE, critical: true, value: der.namedBits([KEY_USAGE_DIGITAL_SIGNATURE]) },
    { oid: OID_EXT_KEY_USAGE, value: der.seq(der.oid(OID_CODE_SIGNING)) },
    { oid: OID_SUBJECT_KEY_ID, value: der.octetString(keyIdentifier(req.publicKeySpki)) },
    { oid: OID_AUTHORITY_KEY_ID, value: der.seq(der.implicitPrimitive(0, keyIdentifier(caSpki))) },
    { oid: OID_SUBJECT_ALT_NAME, critical: true, value: der.seq(sanEntry) },
    ...req.extensions.map(fulcioExtension),
  ];
  const fields: TbsFields = {
    issuer: subjectNameDer(ca.certificateDer),
    subject: der.seq(),
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    spki: req.publicKeySpki,
    extensions,
  };
  const serial = randomSerial();
  const precertTbs = encodeTbs(serial, fields);
  const sct = signPrecertificateSct(ct, caSpki, precertTbs, req.notBefore.getTime());
  const tbs = encodeTbs(serial, { ...fields, extensions: [...extensions, { oid: OID_SCT_LIST, value: sctListExtensionValue([sct]) }] });
  return signTbs(tbs, ca.privateKey);
}

export function toPem(der: Buffer, label = 'CERTIFICATE'): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
