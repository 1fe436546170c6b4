/**
 * Persistent key material of the local Sigstore test kit (see sigstore.ts), kept in a caller-given state
 * directory: the Fulcio root (key and certificate), the CT log key, the Rekor key and tree ID, and the OIDC key
 * that signs minted tokens. Created on first start and reused afterwards, so signatures made in an earlier run still
 * verify. Also writes the files verifiers need: `trusted_root.json`, and for cosign (which otherwise goes to TUF) the
 * Fulcio root PEM, the CT log and Rekor public keys and an empty TUF root directory.
 */
import { generateKeyPairSync, createPrivateKey, createPublicKey, createHash, randomInt, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRootCertificate, toPem, type CertificateAuthority } from './x509.js';
import type { CtLogSigner } from './ct.js';

/** The tlog baseUrl in the trusted root; checkpoints are signed under its host name. */
export const KIT_REKOR_BASE_URL = 'https://rekor.local';
export const KIT_REKOR_ORIGIN = 'rekor.local';
const KIT_FULCIO_URI = 'https://fulcio.local';
const KIT_CTLOG_BASE_URL = 'https://ctfe.local';
const ROOT_NAME = { organization: 'sigstore.local', commonName: 'sigstore' };
const STATE_VERSION = 1;

export interface KitFiles {
  trustedRoot: string;
  fulcioRootPem: string;
  ctLogPublicKey: string;
  rekorPublicKey: string;
  /** An empty directory for TUF_ROOT, so cosign never reaches for the public-good TUF repository. */
  tufRoot: string;
  rekorEntries: string;
}

export interface KitState {
  dir: string;
  createdAt: Date;
  fulcio: CertificateAuthority & { publicKeySpki: Buffer };
  ctLog: CtLogSigner;
  rekor: { privateKey: KeyObject; publicKeySpki: Buffer; treeId: string };
  oidcKey: KeyObject;
  files: KitFiles;
}

interface Manifest {
  version: number;
  createdAt: string;
  treeId: string;
}

const spki = (k: KeyObject): Buffer => createPublicKey(k).export({ type: 'spki', format: 'der' });

function keyFile(dir: string, name: string, curve: 'P-256' | 'P-384'): KeyObject {
  const path = join(dir, `${name}.key.pem`);
  if (existsSync(path)) return createPrivateKey(readFileSync(path, 'utf8'));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return privateKey;
}

/** Loads the kit's state from `dir`, creating whatever is missing (first start). */
export function loadOrCreateKitState(dir: string, now: Date): KitState {
  mkdirSync(dir, { recursive: true });
  const manifestPath = join(dir, 'kit.json');
  let manifest: Manifest;
  if (existsSync(manifestPath)) {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (manifest.version !== STATE_VERSION) throw new Error(`test kit state in ${dir} has version ${manifest.version}, expected ${STATE_VERSION}`);
  } else {
    // Start a minute early: the trusted root's validity must cover certificates issued right now on any clock.
    manifest = { version: STATE_VERSION, createdAt: new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000).toISOString(), treeId: String(randomInt(1, 2 ** 47)) };
  }
  const createdAt = new Date(manifest.createdAt);

  const fulcioKey = keyFile(dir, 'fulcio-root', 'P-384');
  const ctKey = keyFile(dir, 'ctlog', 'P-256');
  const rekorKey = keyFile(dir, 'rekor', 'P-256');
  const oidcKey = keyFile(dir, 'oidc', 'P-256');

  const rootPath = join(dir, 'fulcio-root.pem');
  let rootDer: Buffer;
  if (existsSync(rootPath)) {
    rootDer = Buffer.from(readFileSync(rootPath, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  } else {
    const notAfter = new Date(createdAt.getTime() + 10 * 365 * 86_400_000);
    rootDer = createRootCertificate(fulcioKey, spki(fulcioKey), ROOT_NAME, createdAt, notAfter);
    writeFileSync(rootPath, toPem(rootDer));
  }

  const files: KitFiles = {
    trustedRoot: join(dir, 'trusted_root.json'),
    fulcioRootPem: rootPath,
    ctLogPublicKey: join(dir, 'ctlog.pub.pem'),
    rekorPublicKey: join(dir, 'rekor.pub.pem'),
    tufRoot: join(dir, 'tuf-empty'),
    rekorEntries: join(dir, 'rekor-entries.jsonl'),
  };
  mkdirSync(files.tufRoot, { recursive: true });
  writeFileSync(files.ctLogPublicKey, toPem(spki(ctKey), 'PUBLIC KEY'));
  writeFileSync(files.rekorPublicKey, toPem(spki(rekorKey), 'PUBLIC KEY'));
  const state: KitState = {
    dir,
    createdAt,
    fulcio: { privateKey: fulcioKey, certificateDer: rootDer, publicKeySpki: spki(fulcioKey) },
    ctLog: { privateKey: ctKey, publicKeySpki: spki(ctKey) },
    rekor: { privateKey: rekorKey, publicKeySpki: spki(rekorKey), treeId: manifest.treeId },
    oidcKey,
    files,
  };
  writeFileSync(files.trustedRoot, `${JSON.stringify(kitTrustedRoot(state), null, 2)}\n`);
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return state;
}

const keyId = (der: Buffer): string => createHash('sha256').update(der).digest('base64');

/** The kit's trusted root (sigstore protobuf-specs TrustedRoot JSON), every validity window with a start. */
export function kitTrustedRoot(s: KitState): Record<string, unknown> {
  const validFor = { start: s.createdAt.toISOString() };
  const log = (baseUrl: string, der: Buffer): Record<string, unknown> => ({
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: der.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor },
    logId: { keyId: keyId(der) },
  });
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [log(KIT_REKOR_BASE_URL, s.rekor.publicKeySpki)],
    certificateAuthorities: [
      {
        subject: ROOT_NAME,
        uri: KIT_FULCIO_URI,
        certChain: { certificates: [{ rawBytes: s.fulcio.certificateDer.toString('base64') }] },
        validFor,
      },
    ],
    ctlogs: [log(KIT_CTLOG_BASE_URL, s.ctLog.publicKeySpki)],
    timestampAuthorities: [],
  };
}
