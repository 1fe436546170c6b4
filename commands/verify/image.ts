import { Args } from '@oclif/core';
import { AirlockCommand } from '../../src/cli/command.js';
import { imageOptionsFromFlags, imagePolicyFlags } from '../../src/cli/image-flags.js';
import { storeFlags, storeOptionsFromFlags } from '../../src/cli/store-flags.js';
import { renderVerifyImage } from '../../src/image/render.js';
import { verifyImageReference, type VerifyImageResult } from '../../src/image/verify-image.js';

export default class VerifyImage extends AirlockCommand<VerifyImageResult> {
  static override summary = "Verify an image's cosign signatures (legacy .sig tags and Sigstore bundle referrers) against an identity policy or a key.";
  static override description =
    'The reference is resolved once to a digest; every signature of that digest is verified and must name it. ' +
    'Exit codes: 0 at least one signature verified, 10 none verified, 11 no signature found, 2 bad flags. Works offline: the trust root is ' +
    '--trusted-root, else the last `airlock trust update`, else the Sigstore public-good root embedded in airlock.';
  static override examples = [
    '<%= config.bin %> verify image ghcr.io/fluxcd/source-controller:v1.9.4 ' +
      '--certificate-identity https://github.com/fluxcd/gha-workflows/.github/workflows/controller-release.yaml@refs/tags/v0.4.0 ' +
      '--certificate-oidc-issuer https://token.actions.githubusercontent.com --certificate-source-repository-uri https://github.com/fluxcd/source-controller',
    '<%= config.bin %> verify image registry.internal/app@sha256:… --key cosign.pub --json',
  ];
  static override args = {
    ref: Args.string({ required: true, description: 'registry/repository[:tag][@digest], oci:DIR[:TAG] or oci-archive:FILE[:TAG]' }),
  };
  static override flags = { ...imagePolicyFlags, ...storeFlags };

  async run(): Promise<VerifyImageResult> {
    const { args, flags } = await this.parse(VerifyImage);
    const logger = this.logger();
    const result = await verifyImageReference({
      reference: args.ref,
      ...imageOptionsFromFlags(flags),
      storeOptions: storeOptionsFromFlags(flags, logger),
      logger,
    });
    if (!this.jsonEnabled()) this.say(renderVerifyImage(result, 'signature'));
    return result;
  }
}
