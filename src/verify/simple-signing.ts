/**
 * The binding of a legacy cosign signature to an image. A `.sig` signature signs a small JSON document (the
 * "simple signing" payload), not the image: a perfectly valid signature of ANOTHER image's payload can be attached
 * to this one (copied from the other image's `.sig` tag). So after the signature verifies over the payload bytes,
 * the payload must name this exact digest in `critical.image.docker-manifest-digest` (FACTS §3).
 * `critical.identity.docker-reference` is deliberately not compared: a mirror renames repositories, and cosign
 * does not check it either unless asked.
 */
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';

export interface SimpleSigningClaims {
  readonly dockerManifestDigest: string;
  readonly dockerReference: string;
  /** The `optional` map (cosign `-a key=value` annotations), as signed. */
  readonly optional: Readonly<Record<string, unknown>> | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses the VERIFIED payload bytes and checks they name `digest`. Throws an Error with a one-line reason (the
 * caller names the check, subject-digest).
 */
export function verifySimpleSigningPayload(payload: Uint8Array, digest: string): SimpleSigningClaims {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw new Error('the signed payload is not UTF-8 JSON');
  }
  const critical = isObject(doc) && isObject(doc.critical) ? doc.critical : undefined;
  if (!critical) throw new Error('the signed payload has no "critical" section');
  if (critical.type !== SIMPLE_SIGNING_TYPE) {
    throw new Error(`the signed payload's type is ${JSON.stringify(critical.type)}, not ${JSON.stringify(SIMPLE_SIGNING_TYPE)}`);
  }
  const image = isObject(critical.image) ? critical.image : undefined;
  const named = image?.['docker-manifest-digest'];
  if (typeof named !== 'string') throw new Error('the signed payload names no docker-manifest-digest');
  // Digests are lowercase hex by the OCI spec; an exact comparison refuses any other spelling.
  if (named !== digest) throw new Error(`the signed payload names ${named.slice(0, 140)}, and the image is ${digest}`);
  const identity = isObject(critical.identity) ? critical.identity : undefined;
  const ref = identity?.['docker-reference'];
  const optional = isObject(doc) && isObject(doc.optional) ? doc.optional : null;
  return Object.freeze({ dockerManifestDigest: named, dockerReference: typeof ref === 'string' ? ref : '', optional });
}
