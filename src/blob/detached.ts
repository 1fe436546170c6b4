/**
 * Reads cosign v2's detached signature files (pure): the `.sig` (base64 of the raw signature) and the `.pem`
 * (base64 of the PEM certificate, as `sign-blob --output-certificate` writes it; a plain PEM is accepted too, as
 * cosign does). Input given by the user: anything malformed is BAD_INPUT, with the file named.
 */
import { X509Certificate } from 'node:crypto';
import { AirlockError } from '../errors.js';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_SIGNATURE_BYTES = 1024; // an ECDSA/Ed25519 signature is < 150 bytes, RSA-4096 is 512
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

function decodeBase64(text: string, path: string, what: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || !BASE64.test(compact) || compact.length % 4 !== 0) {
    throw new AirlockError('BAD_INPUT', `The ${what} ${path} is not base64 text; give the file cosign sign-blob wrote.`);
  }
  return Buffer.from(compact, 'base64');
}

/** The raw signature from a `.sig` file's contents. */
export function parseSignatureFile(contents: Buffer, path: string): Buffer {
  const sig = decodeBase64(contents.toString('utf8'), path, 'signature');
  if (sig.length > MAX_SIGNATURE_BYTES) throw new AirlockError('BAD_INPUT', `The signature ${path} is ${sig.length} bytes, too long to be a signature.`);
  return sig;
}

/** The signing (first) certificate, as DER, from a `.pem` file's contents. */
export function parseCertificateFile(contents: Buffer, path: string): Buffer {
  const text = contents.toString('utf8');
  const pem = text.includes('-----BEGIN') ? text : decodeBase64(text, path, 'certificate').toString('utf8');
  const m = PEM_CERT.exec(pem);
  if (!m) throw new AirlockError('BAD_INPUT', `The certificate ${path} holds no PEM certificate.`);
  try {
    return Buffer.from(new X509Certificate(m[0]).raw);
  } catch (e) {
    throw new AirlockError('BAD_INPUT', `The certificate ${path} is not a valid X.509 certificate.`, { cause: e });
  }
}
