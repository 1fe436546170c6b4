import { Args, Flags } from '@oclif/core';
import { AirlockCommand } from '../src/cli/command.js';
import { identityPolicyFlags, policyInputFromFlags } from '../src/cli/identity-flags.js';
import { trustDirFlag } from '../src/trust/flags.js';
import { verifyBundleFiles } from '../src/verify-bundle.js';
import { renderVerdict, type VerdictSummary } from '../src/verify/summary.js';

export default class VerifyBundle extends AirlockCommand<VerdictSummary> {
  static override summary = 'Verify a Sigstore bundle for a file or a sha256 digest against an identity policy or a public key.';
  static override description =
    'Exit codes: 0 verified, 10 verification failed, 11 no bundle or no signature in it, 2 bad flags. ' +
    'Regexps must match the whole value (compiled as ^(?:RE)$). Works offline: the trust root is --trusted-root, else the last ' +
    '`airlock trust update`, else the Sigstore public-good root embedded in airlock.';
  static override examples = [
    '<%= config.bin %> verify-bundle --bundle flux.sigstore.json --certificate-identity https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.9.4 --certificate-oidc-issuer https://token.actions.githubusercontent.com flux_2.9.4_checksums.txt',
    '<%= config.bin %> verify-bundle --bundle b.json --key cosign.pub sha256:0123…',
  ];
  static override args = {
    artifact: Args.string({ required: true, description: 'the artifact FILE, or sha256:<hex> of it' }),
  };
  static override flags = {
    bundle: Flags.string({ required: true, description: 'the Sigstore bundle (.sigstore.json)' }),
    ...identityPolicyFlags,
    key: Flags.string({ description: 'PEM public key for key-based signatures (instead of the certificate flags)' }),
    'insecure-ignore-tlog': Flags.boolean({ description: 'with --key only: accept a signature that is not in a transparency log' }),
    'trusted-root': Flags.string({ description: 'trusted_root.json to verify against (private Sigstore, or from `airlock trust export`)' }),
    ...trustDirFlag,
  };

  async run(): Promise<VerdictSummary> {
    const { args, flags } = await this.parse(VerifyBundle);
    const { summary } = verifyBundleFiles({
      bundlePath: flags.bundle,
      artifact: args.artifact,
      policy: policyInputFromFlags(flags),
      keyPath: flags.key,
      insecureIgnoreTlog: flags['insecure-ignore-tlog'],
      trustedRootPath: flags['trusted-root'],
      trustDir: flags['trust-dir'],
    });
    if (!this.jsonEnabled()) this.say(renderVerdict(summary, args.artifact));
    return summary;
  }
}
