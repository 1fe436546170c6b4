import { Args, Flags } from '@oclif/core';
import { AirlockCommand } from '../../src/cli/command.js';
import { imageOptionsFromFlags, imagePolicyFlags } from '../../src/cli/image-flags.js';
import { storeFlags, storeOptionsFromFlags } from '../../src/cli/store-flags.js';
import { renderVerifyImage } from '../../src/image/render.js';
import { verifyAttestationReference, type VerifyImageResult } from '../../src/image/verify-image.js';
import { PREDICATE_SHORT_NAMES } from '../../src/verify/index.js';

export default class VerifyAttestation extends AirlockCommand<VerifyImageResult> {
  static override summary = "Verify an image's cosign attestations of one predicate type (cosign verify-attestation): who signed them, and that they are about this digest.";
  static override description =
    'Attestations are signed by other identities than images (Flux provenance by the SLSA generator), so the policy flags here name the attestation signer. ' +
    'Exit codes: 0 at least one attestation of the type verified, 10 none verified, 11 no attestation found, 2 bad flags.';
  static override examples = [
    '<%= config.bin %> verify attestation ghcr.io/fluxcd/source-controller:v1.9.4 --type slsaprovenance ' +
      '--certificate-identity-regexp "^https://github\\.com/slsa-framework/slsa-github-generator/\\.github/workflows/generator_container_slsa3\\.yml@refs/tags/v[0-9.]+$" ' +
      '--certificate-oidc-issuer https://token.actions.githubusercontent.com',
  ];
  static override args = {
    ref: Args.string({ required: true, description: 'registry/repository[:tag][@digest], oci:DIR[:TAG] or oci-archive:FILE[:TAG]' }),
  };
  static override flags = {
    type: Flags.string({ required: true, description: `predicate type: ${Object.keys(PREDICATE_SHORT_NAMES).join(', ')} (cosign's names; slsaprovenance = SLSA v0.2 or v1), or a URI` }),
    ...imagePolicyFlags,
    ...storeFlags,
  };

  async run(): Promise<VerifyImageResult> {
    const { args, flags } = await this.parse(VerifyAttestation);
    const logger = this.logger();
    const result = await verifyAttestationReference({
      reference: args.ref,
      type: flags.type,
      ...imageOptionsFromFlags(flags),
      storeOptions: storeOptionsFromFlags(flags, logger),
      logger,
    });
    if (!this.jsonEnabled()) this.say(renderVerifyImage(result, 'attestation'));
    return result;
  }
}
