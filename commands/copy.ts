import { Args, Flags } from '@oclif/core';
import { AirlockCommand } from '../src/cli/command.js';
import { CopyProgressBars } from '../src/cli/copy-progress.js';
import { imageOptionsFromFlags, imagePolicyFlags } from '../src/cli/image-flags.js';
import { storeFlags, storeOptionsFromFlags } from '../src/cli/store-flags.js';
import { ledgerFlags, ledgerSettingsFromFlags } from '../src/cli/ledger-flags.js';
import { copyAndRecord, type CopyAndRecordResult } from '../src/pipeline/copy-and-record.js';
import { renderCopyVerification } from '../src/image/render.js';
import { neutralize } from '../src/log.js';

export default class Copy extends AirlockCommand<CopyAndRecordResult> {
  static override summary =
    'Copy one verified digest — an index with all its platforms and attestations — with the signatures that verified, between registries and OCI layouts, the tag last.';
  static override description =
    'The source is verified first (the same policy flags as `verify image`, or --policy FILE); nothing reaches the target unless a signature verifies. ' +
    'Only the signature and attestation objects that verified are copied: a .sig/.att manifest in which some layers failed is replaced by one holding ' +
    'only the verified layers. Attestations are carried only under a --policy that names their predicate types and signers. ' +
    'Exit codes: 0 copied, 10 no signature verified, 11 no signature found, 16 tag conflict, 2 bad flags.';
  static override examples = [
    '<%= config.bin %> copy ghcr.io/fluxcd/source-controller:v1.9.4 registry.internal/fluxcd/source-controller ' +
      '--certificate-identity https://github.com/fluxcd/gha-workflows/.github/workflows/controller-release.yaml@refs/tags/v0.4.0 ' +
      '--certificate-oidc-issuer https://token.actions.githubusercontent.com --certificate-source-repository-uri https://github.com/fluxcd/source-controller',
    '<%= config.bin %> copy ghcr.io/fluxcd/source-controller:v1.9.4 oci:./mirror/source-controller --policy flux-policy.yaml --json',
    '<%= config.bin %> copy registry.internal/unsigned/tool:v1 oci-archive:./tool.tar --insecure-skip-verify',
  ];
  static override args = {
    src: Args.string({ required: true, description: 'source: registry/repository[:tag][@digest], oci:DIR[:TAG] or oci-archive:FILE[:TAG]' }),
    dst: Args.string({ required: true, description: "target; without a tag it gets the source's tag" }),
  };
  static override flags = {
    ...imagePolicyFlags,
    policy: Flags.string({ description: 'YAML policy: who may sign images, and who may sign which attestation predicate types (attestations are carried only under one)' }),
    'insecure-skip-verify': Flags.boolean({ description: 'copy without verifying signatures (unsigned content); the result is marked unverified and no signature is carried' }),
    'allow-tag-move': Flags.boolean({ description: 'move a target tag that points to another digest (refused by default)' }),
    concurrency: Flags.integer({ description: 'blob transfers at once', default: 4, min: 1, max: 32 }),
    ...storeFlags,
    ...ledgerFlags,
  };

  async run(): Promise<CopyAndRecordResult> {
    const { args, flags } = await this.parse(Copy);
    const logger = this.logger();
    if (flags['insecure-skip-verify']) {
      process.stderr.write(`UNVERIFIED COPY: ${neutralize(args.src)} is copied without verifying any signature (--insecure-skip-verify); the result is marked unverified.\n`);
    }
    const bars = CopyProgressBars.forStream(process.stderr);
    try {
      const policy = imageOptionsFromFlags(flags);
      const result = await copyAndRecord({
        ledger: ledgerSettingsFromFlags(flags),
        toolVersion: this.config.version,
        policyDescription: JSON.parse(JSON.stringify({ policy, policyFile: flags.policy ?? null, insecureSkipVerify: flags['insecure-skip-verify'] })),
        source: args.src,
        target: args.dst,
        insecureSkipVerify: flags['insecure-skip-verify'],
        ...policy,
        ...(flags.policy !== undefined ? { policyFile: flags.policy } : {}),
        allowTagMove: flags['allow-tag-move'],
        concurrency: flags.concurrency,
        storeOptions: storeOptionsFromFlags(flags, logger),
        ...(bars ? { onProgress: bars.onProgress } : {}),
        logger,
      });
      bars?.finish();
      if (!this.jsonEnabled()) {
        if (result.verification) this.say(renderCopyVerification(result.verification));
        this.say(summary(result));
      }
      return result;
    } catch (e) {
      bars?.finish();
      throw e;
    }
  }
}

function summary(r: CopyAndRecordResult): string {
  const mib = (r.bytesMoved / (1024 * 1024)).toFixed(1);
  const what = r.alreadyPresent ? 'already present' : `${r.blobsCopied.length} blobs copied (${mib} MiB), ${r.blobsSkipped} present, ${r.blobsMounted} mounted, ${r.manifestsWritten.length} manifests written`;
  const recorded = r.ledger.appended > 0 ? `\nRecorded ${r.ledger.appended} events in the ledger ${r.ledger.path}.` : '';
  return `${neutralize(r.source)} → ${neutralize(r.target)}: ${r.digest}, ${what}${r.tagged ? `, tagged ${neutralize(r.tag ?? '')}` : ''}${r.unverified ? ' (UNVERIFIED)' : ''}.${recorded}`;
}
