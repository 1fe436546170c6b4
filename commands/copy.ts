import { Args, Flags } from '@oclif/core';
import { AirlockCommand } from '../src/cli/command.js';
import { CopyProgressBars } from '../src/cli/copy-progress.js';
import { storeFlags, storeOptionsFromFlags } from '../src/cli/store-flags.js';
import { copyReferences, type CopyCommandResult } from '../src/copy/references.js';
import { neutralize } from '../src/log.js';

export default class Copy extends AirlockCommand<CopyCommandResult> {
  static override summary = 'Copy the graph of one digest — an index with all its platforms and attestations — between registries and OCI layouts, the tag last.';
  static override examples = [
    '<%= config.bin %> copy ghcr.io/fluxcd/source-controller:v1.9.4 registry.internal/fluxcd/source-controller --insecure-skip-verify',
    '<%= config.bin %> copy ghcr.io/fluxcd/flux-cli:v2.9.4 oci-archive:./flux-cli.tar --insecure-skip-verify --json',
  ];
  static override args = {
    src: Args.string({ required: true, description: 'source: registry/repository[:tag][@digest], oci:DIR[:TAG] or oci-archive:FILE[:TAG]' }),
    dst: Args.string({ required: true, description: "target; without a tag it gets the source's tag" }),
  };
  static override flags = {
    'insecure-skip-verify': Flags.boolean({ description: 'copy without verifying signatures; the result is marked unverified' }),
    'allow-tag-move': Flags.boolean({ description: 'move a target tag that points to another digest (refused by default)' }),
    concurrency: Flags.integer({ description: 'blob transfers at once', default: 4, min: 1, max: 32 }),
    ...storeFlags,
  };

  async run(): Promise<CopyCommandResult> {
    const { args, flags } = await this.parse(Copy);
    const logger = this.logger();
    if (flags['insecure-skip-verify']) {
      process.stderr.write(`UNVERIFIED COPY: ${neutralize(args.src)} is copied without verifying any signature (--insecure-skip-verify); the result is marked unverified.\n`);
    }
    const bars = CopyProgressBars.forStream(process.stderr);
    try {
      const result = await copyReferences({
        source: args.src,
        target: args.dst,
        insecureSkipVerify: flags['insecure-skip-verify'],
        allowTagMove: flags['allow-tag-move'],
        concurrency: flags.concurrency,
        storeOptions: storeOptionsFromFlags(flags, logger),
        ...(bars ? { onProgress: bars.onProgress } : {}),
        logger,
      });
      bars?.finish();
      if (!this.jsonEnabled()) this.say(summary(result));
      return result;
    } catch (e) {
      bars?.finish();
      throw e;
    }
  }
}

function summary(r: CopyCommandResult): string {
  const mib = (r.bytesMoved / (1024 * 1024)).toFixed(1);
  const what = r.alreadyPresent ? 'already present' : `${r.blobsCopied.length} blobs copied (${mib} MiB), ${r.blobsSkipped} present, ${r.blobsMounted} mounted, ${r.manifestsWritten.length} manifests written`;
  return `${neutralize(r.source)} → ${neutralize(r.target)}: ${r.digest}, ${what}${r.tagged ? `, tagged ${neutralize(r.tag ?? '')}` : ''}${r.unverified ? ' (UNVERIFIED)' : ''}.`;
}
