import { Flags } from '@oclif/core';
import { AirlockCommand } from '../src/cli/command.js';
import { initConfig, type InitResult } from '../src/config/init.js';

export default class Init extends AirlockCommand<InitResult> {
  static override summary = 'Write a minimal airlock.yaml with the ledger beside it and its signing key under your config directory.';
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init --dir /srv/airlock'];
  static override flags = {
    dir: Flags.string({ description: 'directory for airlock.yaml and airlock.db (default: the current directory)' }),
  };

  async run(): Promise<InitResult> {
    const { flags } = await this.parse(Init);
    const result = initConfig({ dir: flags.dir, logger: this.logger() });
    if (!this.jsonEnabled()) {
      this.say(`Wrote ${result.config}; the ledger is ${result.ledger} (${result.origin}); its signing key is ${result.key} — back it up.`);
    }
    return result;
  }
}
