import { Args, Flags } from '@oclif/core';
import { AirlockCommand } from '../../src/cli/command.js';
import { identityPolicyFlags, policyInputFromFlags } from '../../src/cli/identity-flags.js';
import { trustDirFlag } from '../../src/trust/flags.js';
import { verifyBlob, type VerifyBlobResult } from '../../src/blob/verify-blob.js';
import { renderVerifyBlob } from '../../src/blob/render.js';
import { PUBLIC_GOOD_REKOR_URL } from '../../src/rekor/client.js';

export default class VerifyBlob extends AirlockCommand<VerifyBlobResult> {
  static override summary = 'Verify a keyless-signed blob (e.g. a Flux release checksums file) from a bundle, or from its .sig and .pem with the Rekor entry.';
  static override description =
    'With --signature and --certificate (cosign v2 sign-blob output, as Flux ships), the transparency evidence is fetched from Rekor: ' +
    'the entries for the file hash are searched (at most 32 read) and the one logging this signature and certificate is selected. ' +
    '--output-bundle writes the verified bundle, so the file verifies later offline with --bundle (or cosign verify-blob --bundle). ' +
    'Exit codes: 0 verified, 10 verification failed, 11 no signature (none given, or none logged in Rekor), 2 bad flags, 15 plain http to a non-loopback Rekor.';
  static override examples = [
    '<%= config.bin %> verify blob flux_2.9.4_checksums.txt --signature flux_2.9.4_checksums.txt.sig --certificate flux_2.9.4_checksums.txt.pem ' +
      '--certificate-identity https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.9.4 ' +
      '--certificate-oidc-issuer https://token.actions.githubusercontent.com --output-bundle flux_2.9.4_checksums.txt.sigstore.json',
    '<%= config.bin %> verify blob flux_2.9.4_checksums.txt --bundle flux_2.9.4_checksums.txt.sigstore.json --certificate-identity … --certificate-oidc-issuer …',
  ];
  static override args = {
    file: Args.string({ required: true, description: 'the signed file' }),
  };
  static override flags = {
    bundle: Flags.string({ description: 'a Sigstore bundle for the file (verified offline)' }),
    signature: Flags.string({ description: 'the detached signature (.sig, base64)' }),
    certificate: Flags.string({ description: 'the signing certificate (.pem, base64 of PEM, or PEM)' }),
    ...identityPolicyFlags,
    'trusted-root': Flags.string({ description: 'trusted_root.json to verify against (private Sigstore, or from `airlock trust export`)' }),
    ...trustDirFlag,
    'rekor-url': Flags.string({ description: 'Rekor to fetch the entry from (https; plain http only to loopback)', default: PUBLIC_GOOD_REKOR_URL }),
    'output-bundle': Flags.string({ description: 'write the verified bundle here' }),
  };

  async run(): Promise<VerifyBlobResult> {
    const { args, flags } = await this.parse(VerifyBlob);
    const result = await verifyBlob({
      file: args.file,
      bundlePath: flags.bundle,
      signaturePath: flags.signature,
      certificatePath: flags.certificate,
      policy: policyInputFromFlags(flags),
      trustedRootPath: flags['trusted-root'],
      trustDir: flags['trust-dir'],
      rekorUrl: flags['rekor-url'],
      outputBundlePath: flags['output-bundle'],
      logger: this.logger(),
    });
    if (!this.jsonEnabled()) this.say(renderVerifyBlob(result));
    return result;
  }
}
