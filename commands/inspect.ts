import { Args } from '@oclif/core';
import { AirlockCommand } from '../src/cli/command.js';
import { inspectReference, type InspectResult } from '../src/inspect.js';
import { storeFlags, storeOptionsFromFlags } from '../src/cli/store-flags.js';
import { renderInspect } from '../src/cli/render.js';

export default class Inspect extends AirlockCommand<InspectResult> {
  static override summary = 'Show what a reference resolves to: digest, media type, platforms, sizes, and its signatures and attestations.';
  static override examples = [
    '<%= config.bin %> inspect ghcr.io/fluxcd/source-controller:v1.9.4',
    '<%= config.bin %> inspect oci:./mirror/source-controller:v1.9.4 --json',
  ];
  static override args = {
    ref: Args.string({ required: true, description: 'registry/repository[:tag][@digest], oci:DIR[:TAG] or oci-archive:FILE[:TAG]' }),
  };
  static override flags = { ...storeFlags };

  async run(): Promise<InspectResult> {
    const { args, flags } = await this.parse(Inspect);
    const result = await inspectReference(args.ref, storeOptionsFromFlags(flags, this.logger()));
    if (!this.jsonEnabled()) this.say(renderInspect(result));
    return result;
  }
}
