import { Args } from '@oclif/core';
import { AirlockCommand } from '../../src/cli/command.js';
import { ledgerFlags, ledgerSettingsFromFlags } from '../../src/cli/ledger-flags.js';
import { renderShow } from '../../src/cli/ledger-render.js';
import { showLedger, type LedgerShowResult } from '../../src/ledger/actions.js';

export default class LedgerShow extends AirlockCommand<LedgerShowResult> {
  static override summary = 'Show one entry, or the whole story of a digest: discovered, verified or refused, copied, its signatures.';
  static override examples = ['<%= config.bin %> ledger show 42', '<%= config.bin %> ledger show sha256:… --json'];
  static override args = { id: Args.string({ required: true, description: 'an entry number (from 0) or a sha256:… digest' }) };
  static override flags = { ...ledgerFlags };

  async run(): Promise<LedgerShowResult> {
    const { args, flags } = await this.parse(LedgerShow);
    const result = showLedger(ledgerSettingsFromFlags(flags), args.id);
    if (!this.jsonEnabled()) this.say(renderShow(result));
    return result;
  }
}
