/**
 * Public keys for key-based (cosign `--key`) verification. Pure: takes the PEM text, the caller reads the file.
 *
 * Only public keys are accepted. Node's createPublicKey() happily derives a public key from a *private* key PEM,
 * which would let a user verify against a key they were never meant to hold (and hints that a private key is lying
 * around), so a PEM labelled as a private key is refused before it reaches crypto.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { AirlockError, messageOf } from '../errors.js';
import { sha256Digest, type Digest } from '../oci/digest.js';

export type PublicKeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'ed25519' | 'rsa';

export interface PublicKeyMaterial {
  readonly keyObject: KeyObject;
  readonly algorithm: PublicKeyAlgorithm;
  /** sha256 of the SubjectPublicKeyInfo DER: a stable name for the key in verdicts and logs. */
  readonly digest: Digest;
  /** The key re-encoded as SPKI PEM (normalised: whatever the input form was). */
  readonly pem: string;
}

const CURVES: Readonly<Record<string, PublicKeyAlgorithm>> = {
  prime256v1: 'ecdsa-p256',
  secp384r1: 'ecdsa-p384',
  secp521r1: 'ecdsa-p521',
};

/** RSA keys below this size are refused (NIST SP 800-131A; cosign generates ECDSA P-256 anyway). */
const MIN_RSA_BITS = 2048;

export function parsePublicKey(pem: string | Uint8Array, what = 'the public key'): PublicKeyMaterial {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8');
  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
  if (label === undefined) {
    throw new AirlockError('BAD_INPUT', `${cap(what)} is not a PEM file; give a "-----BEGIN PUBLIC KEY-----" file such as cosign.pub.`);
  }
  if (label.includes('PRIVATE')) {
    throw new AirlockError('BAD_INPUT', `${cap(what)} is a private key; give the public key (cosign.pub), and keep the private key off this machine.`);
  }
  if (label !== 'PUBLIC KEY' && label !== 'RSA PUBLIC KEY') {
    throw new AirlockError('BAD_INPUT', `${cap(what)} is a PEM "${label}", not a public key; give a "-----BEGIN PUBLIC KEY-----" file.`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (e) {
    throw new AirlockError('BAD_INPUT', `${cap(what)} could not be parsed (${messageOf(e)}).`, { cause: e });
  }
  const algorithm = algorithmOf(key, what);
  const der = key.export({ format: 'der', type: 'spki' });
  return Object.freeze({
    keyObject: key,
    algorithm,
    digest: sha256Digest(der),
    pem: key.export({ format: 'pem', type: 'spki' }).toString(),
  });
}

function algorithmOf(key: KeyObject, what: string): PublicKeyAlgorithm {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
      const alg = CURVES[curve];
      if (!alg) throw new AirlockError('BAD_INPUT', `${cap(what)} is an ECDSA key on curve ${curve || '(unknown)'}; only P-256, P-384 and P-521 are supported.`);
      return alg;
    }
    case 'ed25519':
      return 'ed25519';
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) throw new AirlockError('BAD_INPUT', `${cap(what)} is a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required.`);
      return 'rsa';
    }
    default:
      throw new AirlockError(
        'BAD_INPUT',
        `${cap(what)} is a ${key.asymmetricKeyType ?? 'unknown'} key; supported are ECDSA (P-256, P-384, P-521), Ed25519 and RSA (PKCS#1 v1.5).`,
      );
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
