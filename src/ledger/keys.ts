/**
 * The ledger's Ed25519 signing key, in the signed-note key formats (golang.org/x/mod/sumdb/note, used by the
 * transparency-dev tools): a private key file `PRIVATE+KEY+<name>+<keyid hex>+<base64(0x01 || seed)>` and a
 * verifier key `<name>+<keyid hex>+<base64(0x01 || public key)>` that an auditor pins. The key name is the
 * ledger's origin, so a key can never sign for another ledger by mistake.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { AirlockError } from '../errors.js';

const ED25519 = 0x01;
// DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS#8) or public key (SPKI), per RFC 8410.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A public key that checks signed-note signatures. */
export interface VerifierKey {
  readonly name: string;
  readonly keyId: Buffer;
  readonly publicKey: Buffer;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** The private half, held only by writers. */
export interface SigningKey extends VerifierKey {
  sign(message: Uint8Array): Buffer;
}

/** Signed-note key names: non-empty, no Unicode spaces, no '+'. */
export function isValidKeyName(name: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what a key name must not hold
  return name.length > 0 && name.length <= 256 && !/[\s+]/u.test(name) && !/[\u0000-\u001f]/.test(name);
}

/** key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4] (C2SP signed-note, Ed25519). */
export function keyIdOf(name: string, publicKey: Uint8Array): Buffer {
  return createHash('sha256').update(name).update(Buffer.from([0x0a, ED25519])).update(publicKey).digest().subarray(0, 4);
}

function toVerifier(name: string, publicKey: Buffer): VerifierKey {
  const keyObject = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  return {
    name,
    keyId: keyIdOf(name, publicKey),
    publicKey,
    verify: (message, signature) => signature.length === 64 && verify(null, message, keyObject, signature),
  };
}

function fromSeed(name: string, seed: Buffer): SigningKey {
  const privateKey: KeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
  return { ...toVerifier(name, Buffer.from(publicKey)), sign: (message) => sign(null, message, privateKey) };
}

export function generateSigningKey(name: string): { key: SigningKey; text: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
  const key = fromSeed(name, Buffer.from(seed));
  return { key, text: formatPrivateKey(name, key.keyId, Buffer.from(seed)) };
}

function formatPrivateKey(name: string, keyId: Buffer, seed: Buffer): string {
  return `PRIVATE+KEY+${name}+${keyId.toString('hex')}+${Buffer.concat([Buffer.from([ED25519]), seed]).toString('base64')}\n`;
}

export function formatVerifierKey(key: VerifierKey): string {
  return `${key.name}+${key.keyId.toString('hex')}+${Buffer.concat([Buffer.from([ED25519]), key.publicKey]).toString('base64')}`;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Reads `name+keyid+base64(0x01||key)`; `what` names the source in errors. Returns null when the shape is wrong. */
function parseKeyParts(name: string, idHex: string, data: string): { name: string; keyId: Buffer; key: Buffer } | null {
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex) || !B64.test(data)) return null;
  const raw = Buffer.from(data, 'base64');
  if (raw.length !== 33 || raw[0] !== ED25519) return null;
  return { name, keyId: Buffer.from(idHex, 'hex'), key: raw.subarray(1) };
}

/** Splits on the first `n - 1` '+' signs: the last field is standard base64, which has '+' of its own. */
function splitKey(text: string, n: number): string[] | null {
  const parts = text.split('+');
  if (parts.length < n) return null;
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join('+')];
}

/** Parses a private key file's text. */
export function parsePrivateKey(text: string, what: string): SigningKey {
  const parts = splitKey(text.trim(), 5);
  const parsed = parts && parts[0] === 'PRIVATE' && parts[1] === 'KEY' ? parseKeyParts(parts[2]!, parts[3]!, parts[4]!) : null;
  if (!parsed) throw new AirlockError('LEDGER_KEY', `${what} is not an airlock ledger key (PRIVATE+KEY+<name>+<id>+<Ed25519 seed>).`);
  const key = fromSeed(parsed.name, parsed.key);
  if (!key.keyId.equals(parsed.keyId)) throw new AirlockError('LEDGER_KEY', `${what} is damaged: its key ID does not match its key.`);
  return key;
}

/**
 * Parses a verifier key an auditor pinned: the signed-note form `<name>+<keyid>+<base64>` (what `airlock ledger
 * checkpoint` prints), or a PEM SPKI Ed25519 public key, which carries no name and takes `defaultName`.
 */
export function parseVerifierKey(text: string, what: string, defaultName: string): VerifierKey {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) {
    let der: Buffer;
    try {
      der = createPublicKey({ key: trimmed, format: 'pem' }).export({ format: 'der', type: 'spki' });
    } catch (e) {
      throw new AirlockError('BAD_INPUT', `${what} is not a readable PEM public key.`, { cause: e });
    }
    if (der.length !== SPKI_PREFIX.length + 32 || !der.subarray(0, SPKI_PREFIX.length).equals(SPKI_PREFIX)) {
      throw new AirlockError('BAD_INPUT', `${what} is not an Ed25519 public key.`);
    }
    return toVerifier(defaultName, Buffer.from(der.subarray(SPKI_PREFIX.length)));
  }
  const parts = splitKey(trimmed, 3);
  const parsed = parts ? parseKeyParts(parts[0]!, parts[1]!, parts[2]!) : null;
  if (!parsed) throw new AirlockError('BAD_INPUT', `${what} is not a verifier key (<name>+<key id>+<base64 Ed25519 key>) or a PEM public key.`);
  const key = toVerifier(parsed.name, Buffer.from(parsed.key));
  if (!key.keyId.equals(parsed.keyId)) throw new AirlockError('BAD_INPUT', `${what} is damaged: its key ID does not match its key.`);
  return key;
}

/** The verifier for a stored raw public key (the one a ledger records at creation). */
export function verifierFromPublicKey(name: string, publicKey: Buffer): VerifierKey {
  return toVerifier(name, publicKey);
}
