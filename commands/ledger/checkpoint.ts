import { AirlockCommand } from '../../src/cli/command.js';
import { ledgerFlags, ledgerSettingsFromFlags } from '../../src/cli/ledger-flags.js';
import { renderCheckpoint } from '../../src/cli/ledger-render.js';
import { latestCheckpoint, type LedgerCheckpointResult } from '../../src/ledger/actions.js';

export default class LedgerCheckpoint extends AirlockCommand<LedgerCheckpointResult> {
  static override summary = 'Print the latest signed checkpoint (C2SP signed note: origin, tree size and base64 root hash on lines 1–3).';
  static override description = 'Keep its output somewhere the ledger\'s host cannot reach and pass it to `ledger verify --checkpoint` later. --json adds the verifier key to pin.';
  static override examples = ['<%= config.bin %> ledger checkpoint > /mnt/audit/airlock.checkpoint'];
  static override flags = { ...ledgerFlags };

  async run(): Promise<LedgerCheckpointResult> {
    const { flags } = await this.parse(LedgerCheckpoint);
    const result = latestCheckpoint(ledgerSettingsFromFlags(flags));
    if (!this.jsonEnabled()) this.say(renderCheckpoint(result));
    return result;
  }
}
