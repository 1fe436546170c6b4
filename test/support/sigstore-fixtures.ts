/**
 * A private Sigstore for tests, built from @sigstore/mock's building blocks (no HTTP): a Fulcio-like CA with an
 * embedded-SCT CT log, a Rekor-like transparency log, and the trusted_root.json that trusts them. It mints real
 * bundles — v0.3 (inclusion proof + SET) or legacy v0.1 (SET only, what a converted cosign `.sig` looks like) —
 * for any SAN, issuer and Fulcio extensions, so attack tests can choose exactly what the attacker controls.
 *
 * Imports only packages (no src/), so bench/verify.ts can load it directly with Node's type stripping.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { initializeCA, initializeCTLog, initializeTLog } from '@sigstore/mock';

export const MOCK_REKOR_URL = 'https://rekor.local';
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
export const FLUX_SAN = 'https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.9.4';

type TLog = Awaited<ReturnType<typeof initializeTLog>>;

export interface CertExtension {
  oid: string;
  value: string;
  /** Deprecated Fulcio encoding (…1.1–1.6): raw bytes instead of a DER UTF8String. */
  legacy?: boolean;
}

export interface SignOptions {
  san?: string;
  issuer?: string;
  /** Extra certificate extensions; by default a GitHub-Actions-like set for the flux2 release workflow. */
  extensions?: CertExtension[];
  /** 'v0.3' (default): certificate + inclusion proof + SET; 'v0.1': cosign-legacy shape, SET only. */
  bundleVersion?: 'v0.1' | 'v0.3';
  /** Issue the certificate from a CA that the trusted root does not know. */
  untrustedCA?: boolean;
  /** Log the entry at this time (default now); a time after the certificate's 10 minutes makes it expired. */
  logTime?: Date;
  /** Log the entry with this verifier (PEM) instead of the signing certificate: the key-substitution attack. */
  logVerifierPem?: string;
  /** Log the entry for these bytes' digest instead of the signed artifact's: a Rekor entry for another artifact. */
  logArtifact?: Uint8Array;
}

export interface MockSigstore {
  /** trusted_root.json bytes trusting this CA, CT log and transparency log. */
  trustedRootBytes: Uint8Array;
  /** A certificate for a fresh key, as PEM (an attacker's certificate). */
  certificatePem(o?: SignOptions): Promise<string>;
  /** A message-signature bundle over `artifact`, as parsed JSON. */
  signBlob(artifact: Uint8Array, o?: SignOptions): Promise<Record<string, unknown>>;
  /** A DSSE bundle of an in-toto statement whose single subject is `subjectSha256Hex`. */
  signInToto(subjectSha256Hex: string, o?: SignOptions): Promise<Record<string, unknown>>;
  /** A key-based (cosign --key) message-signature bundle; `withTlog: false` makes one never logged. */
  signBlobWithKey(artifact: Uint8Array, key: KeyObject, o?: { withTlog?: boolean }): Promise<Record<string, unknown>>;
}

export function githubExtensions(issuer = GITHUB_ISSUER, repo = 'fluxcd/flux2', ref = 'refs/tags/v2.9.4'): CertExtension[] {
  return [
    { oid: '1.3.6.1.4.1.57264.1.1', value: issuer, legacy: true },
    { oid: '1.3.6.1.4.1.57264.1.2', value: 'push', legacy: true },
    { oid: '1.3.6.1.4.1.57264.1.5', value: repo, legacy: true },
    { oid: '1.3.6.1.4.1.57264.1.6', value: ref, legacy: true },
    { oid: '1.3.6.1.4.1.57264.1.8', value: issuer },
    { oid: '1.3.6.1.4.1.57264.1.12', value: `https://github.com/${repo}` },
    { oid: '1.3.6.1.4.1.57264.1.14', value: ref },
  ];
}

const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');
const ecKeys = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = (k: KeyObject) => k.export({ format: 'der', type: 'spki' });

export async function createMockSigstore(): Promise<MockSigstore> {
  const ctlog = await initializeCTLog(ecKeys());
  const ca = await initializeCA(ecKeys(), ctlog);
  const rogueCA = await initializeCA(ecKeys(), ctlog);
  const tlogKeys = ecKeys();
  const tlogs = new Map<number, TLog>();
  const tlogAt = async (t: Date | undefined): Promise<TLog> => {
    const k = t?.getTime() ?? 0;
    if (!tlogs.has(k)) tlogs.set(k, await initializeTLog(MOCK_REKOR_URL, tlogKeys, t));
    return tlogs.get(k)!;
  };
  const dayAgo = new Date(Date.now() - 86_400_000).toISOString();
  const logKey = spki(tlogKeys.publicKey);
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: MOCK_REKOR_URL,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: b64(logKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: dayAgo } },
        logId: { keyId: b64(createHash('sha256').update(logKey).digest()) },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: 'https://fulcio.local',
        certChain: { certificates: [{ rawBytes: b64(Buffer.from(ca.rootCertificate.buffer)) }] },
        validFor: { start: dayAgo },
      },
    ],
    ctlogs: [
      {
        baseUrl: 'https://ctfe.local',
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: b64(ctlog.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: dayAgo } },
        logId: { keyId: b64(Buffer.from(ctlog.logID.buffer)) },
      },
    ],
    timestampAuthorities: [],
  };

  async function certify(o: SignOptions, signer: { publicKey: KeyObject }): Promise<Buffer> {
    const issuer = o.issuer ?? GITHUB_ISSUER;
    const cert = await (o.untrustedCA ? rogueCA : ca).issueCertificate({
      publicKey: spki(signer.publicKey),
      subjectAltName: o.san ?? FLUX_SAN,
      extensions: o.extensions ?? githubExtensions(issuer),
    });
    return Buffer.from(cert.buffer, cert.byteOffset, cert.byteLength);
  }

  async function logEntry(body: object, kind: string, version: string, o: { bundleVersion?: 'v0.1' | 'v0.3'; logTime?: Date }) {
    const tlog = await tlogAt(o.logTime);
    const logged = Object.values(await tlog.log(body))[0] as {
      body: string;
      integratedTime: number;
      logID: string;
      logIndex: number;
      verification: { signedEntryTimestamp: string; inclusionProof: { logIndex: number; treeSize: number; rootHash: string; hashes: string[]; checkpoint: string } };
    };
    const proof = logged.verification.inclusionProof;
    return {
      logIndex: String(logged.logIndex),
      logId: { keyId: b64(Buffer.from(logged.logID, 'hex')) },
      kindVersion: { kind, version },
      integratedTime: String(logged.integratedTime),
      inclusionPromise: { signedEntryTimestamp: logged.verification.signedEntryTimestamp },
      ...(o.bundleVersion === 'v0.1'
        ? {}
        : {
            inclusionProof: {
              logIndex: String(proof.logIndex),
              rootHash: b64(Buffer.from(proof.rootHash, 'hex')),
              treeSize: String(proof.treeSize),
              hashes: proof.hashes,
              checkpoint: { envelope: proof.checkpoint },
            },
          }),
      canonicalizedBody: logged.body,
    };
  }

  function envelope(material: object, tlogEntries: object[], content: object, version: 'v0.1' | 'v0.3' | undefined) {
    return version === 'v0.1'
      ? { mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1', verificationMaterial: { ...material, tlogEntries }, ...content }
      : { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', verificationMaterial: { ...material, tlogEntries }, ...content };
  }

  function certMaterial(der: Buffer, version: 'v0.1' | 'v0.3' | undefined) {
    return version === 'v0.1' ? { x509CertificateChain: { certificates: [{ rawBytes: b64(der) }] } } : { certificate: { rawBytes: b64(der) } };
  }

  function hashedrekord(digest: Buffer, sig: Buffer, verifierPem: string) {
    return {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: { data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } }, signature: { content: b64(sig), publicKey: { content: b64(verifierPem) } } },
    };
  }

  return {
    trustedRootBytes: Buffer.from(JSON.stringify(trustedRoot)),

    async certificatePem(o = {}) {
      return toPem(await certify(o, ecKeys()));
    },

    async signBlob(artifact, o = {}) {
      const keys = ecKeys();
      const der = await certify(o, keys);
      const digest = createHash('sha256').update(artifact).digest();
      const sig = sign('sha256', artifact, keys.privateKey);
      const logged = o.logArtifact ? createHash('sha256').update(o.logArtifact).digest() : digest;
      const entry = await logEntry(hashedrekord(logged, sig, o.logVerifierPem ?? toPem(der)), 'hashedrekord', '0.0.1', o);
      const content = { messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: b64(digest) }, signature: b64(sig) } };
      return envelope(certMaterial(der, o.bundleVersion), [entry], content, o.bundleVersion);
    },

    async signInToto(subjectSha256Hex, o = {}) {
      const keys = ecKeys();
      const der = await certify(o, keys);
      const payloadType = 'application/vnd.in-toto+json';
      const statement = {
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'artifact', digest: { sha256: subjectSha256Hex } }],
        predicateType: 'https://sigstore.dev/cosign/sign/v1',
        predicate: {},
      };
      const payload = Buffer.from(JSON.stringify(statement));
      const pae = Buffer.concat([Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `), payload]);
      const sig = sign('sha256', pae, keys.privateKey);
      const env = { payload: b64(payload), payloadType, signatures: [{ sig: b64(sig), keyid: '' }] };
      // The body real Rekor stores for dsse 0.0.1 (it canonicalises the proposed entry; FACTS §5).
      const body = {
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          envelopeHash: { algorithm: 'sha256', value: createHash('sha256').update(JSON.stringify(env)).digest('hex') },
          payloadHash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') },
          signatures: [{ signature: b64(sig), verifier: b64(toPem(der)) }],
        },
      };
      const entry = await logEntry(body, 'dsse', '0.0.1', o);
      return envelope(certMaterial(der, o.bundleVersion), [entry], { dsseEnvelope: env }, o.bundleVersion);
    },

    async signBlobWithKey(artifact, key, o = {}) {
      const digest = createHash('sha256').update(artifact).digest();
      const sig = sign(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', artifact, key);
      const publicPem = createPublicKey(key).export({ format: 'pem', type: 'spki' }).toString();
      const entries = o.withTlog === false ? [] : [await logEntry(hashedrekord(digest, sig, publicPem), 'hashedrekord', '0.0.1', {})];
      const content = { messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: b64(digest) }, signature: b64(sig) } };
      return envelope({ publicKey: { hint: b64(createHash('sha256').update(publicPem).digest()) } }, entries, content, 'v0.3');
    },
  };
}

function toPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
