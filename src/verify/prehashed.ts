/**
 * Signature verification when only the artifact's sha256 is known (`verify-bundle … sha256:<hex>`).
 *
 * A Sigstore message signature is ECDSA/RSA over sha256(artifact). Node's crypto.verify() always hashes its input
 * itself and cannot take a digest, so:
 *  - ECDSA (P-256/P-384/P-521): @noble/curves (audited, no dependencies) with `prehash: false`, DER signatures and
 *    `lowS: false` — Go and OpenSSL signers do not normalise s, and a high-s signature is just as unforgeable.
 *  - RSA PKCS#1 v1.5: the signature is "decrypted" with the public key (OpenSSL checks the type-1 padding) and the
 *    result must equal, byte for byte, the DER DigestInfo for sha256 and this digest. Comparing the whole encoded
 *    block — never parsing it — is what avoids the Bleichenbacher-2006 family of forgeries.
 *  - Ed25519 and RSA-PSS keys are refused: Ed25519 (pure) signs the message itself, so a digest cannot be checked;
 *    PSS would need the salt length the signer used. The user is told to give the file instead.
 */
import { constants, publicDecrypt, type KeyObject } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { AirlockError } from '../errors.js';

const CURVES = { prime256v1: p256, secp384r1: p384, secp521r1: p521 } as const;

// DER prefix of DigestInfo { AlgorithmIdentifier sha256 (with NULL params), OCTET STRING (32) } — RFC 8017 §9.2 note 1.
const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * True when `signature` is a valid signature by `key` over the pre-computed sha256 `digest`. Throws BAD_INPUT
 * (details.check = 'signature') for key types that cannot be verified from a digest.
 */
export function verifyPrehashedSignature(key: KeyObject, digest: Uint8Array, signature: Uint8Array): boolean {
  if (digest.length !== 32) return false;
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curveName = key.asymmetricKeyDetails?.namedCurve ?? '';
      const curve = CURVES[curveName as keyof typeof CURVES];
      if (!curve) throw refuse(`an ECDSA key on curve ${curveName || '(unknown)'}`);
      const point = uncompressedPoint(key);
      try {
        return curve.verify(signature, digest, point, { prehash: false, format: 'der', lowS: false });
      } catch {
        return false; // malformed DER or point: not a valid signature
      }
    }
    case 'rsa': {
      let block: Buffer;
      try {
        block = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
      } catch {
        return false;
      }
      const expected = Buffer.concat([SHA256_DIGEST_INFO_PREFIX, digest]);
      return block.length === expected.length && block.equals(expected);
    }
    default:
      throw refuse(`a ${key.asymmetricKeyType ?? 'unknown'} key`);
  }
}

function uncompressedPoint(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') throw refuse('an EC key without coordinates');
  return Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
}

function refuse(what: string): AirlockError {
  return new AirlockError(
    'BAD_INPUT',
    `The bundle is signed with ${what}, whose signatures cannot be checked against a digest alone; give the artifact file instead of sha256:<hex>.`,
    { details: { check: 'signature' } },
  );
}
