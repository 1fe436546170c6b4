/**
 * In-toto predicate types: cosign's short names (`cosign attest --type`, `verify-attestation --type`) and the URIs
 * they stand for, plus the type cosign 3 uses for image signatures. `slsaprovenance` accepts both SLSA provenance
 * versions in use (cosign itself maps it to v0.2 only; the SLSA generator moved to v1).
 */
import { AirlockError } from '../errors.js';

/** The predicate type of cosign 3's image signatures (a DSSE in-toto statement about the image digest). */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

const SLSA_V02 = 'https://slsa.dev/provenance/v0.2';
const SLSA_V1 = 'https://slsa.dev/provenance/v1';

export const PREDICATE_SHORT_NAMES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  slsaprovenance: [SLSA_V02, SLSA_V1],
  slsaprovenance02: [SLSA_V02],
  slsaprovenance1: [SLSA_V1],
  spdx: ['https://spdx.dev/Document'],
  spdxjson: ['https://spdx.dev/Document'],
  cyclonedx: ['https://cyclonedx.org/bom'],
  link: ['https://in-toto.io/Link/v1'],
  vuln: ['https://cosign.sigstore.dev/attestation/vuln/v1'],
  openvex: ['https://openvex.dev/ns'],
  custom: ['https://cosign.sigstore.dev/attestation/v1'],
});

/** The URIs a `--type` value accepts: a short name's, or the value itself when it is an absolute URI. */
export function toPredicateTypes(type: string): readonly string[] {
  const known = PREDICATE_SHORT_NAMES[type.toLowerCase()];
  if (known) return known;
  let url: URL | undefined;
  try {
    url = new URL(type);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol)) {
    throw new AirlockError(
      'BAD_INPUT',
      `The predicate type "${type.slice(0, 100)}" is neither one of cosign's names (${Object.keys(PREDICATE_SHORT_NAMES).join(', ')}) nor an http(s) URI.`,
      { details: { check: 'policy' } },
    );
  }
  return [type];
}
