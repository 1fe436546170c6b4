import { Flags } from '@oclif/core';
import { AirlockCommand } from '../../src/cli/command.js';
import { ledgerFlags, ledgerSettingsFromFlags } from '../../src/cli/ledger-flags.js';
import { renderVerify } from '../../src/cli/ledger-render.js';
import { AirlockError } from '../../src/errors.js';
import { verifyLedgerFile } from '../../src/ledger/actions.js';
import type { LedgerVerifyResult } from '../../src/ledger/verify.js';

export default class LedgerVerify extends AirlockCommand<LedgerVerifyResult> {
  static override summary = 'Recompute every leaf and the root, check every checkpoint, and prove the ledger extends a checkpoint you kept.';
  static override description =
    'Opens the ledger read-only (it never migrates or writes). Without --checkpoint and --public-key it proves internal consistency only; ' +
    'with them, that nothing recorded before your checkpoint was changed, removed or reordered. Exits 14 naming the first entry that does not match.';
  static override examples = ['<%= config.bin %> ledger verify', '<%= config.bin %> ledger verify --checkpoint kept.checkpoint --public-key ledger.vkey'];
  static override flags = {
    ...ledgerFlags,
    checkpoint: Flags.string({ description: 'a checkpoint (signed note) you kept earlier, e.g. from a sink or `ledger checkpoint`' }),
    'public-key': Flags.string({ description: 'the ledger key you pinned: the verifier key line (`ledger checkpoint --json` .verifierKey) or a PEM public key' }),
  };

  async run(): Promise<LedgerVerifyResult> {
    const { flags } = await this.parse(LedgerVerify);
    const result = verifyLedgerFile(ledgerSettingsFromFlags(flags), { checkpointFile: flags.checkpoint, publicKeyFile: flags['public-key'] });
    if (!result.ok) {
      if (!this.jsonEnabled()) process.stderr.write(`${renderVerify(result)}\n`);
      throw new AirlockError('LEDGER_INVALID', `The ledger does not verify: ${result.problems[0]!.message}`, { details: { ...result } });
    }
    if (!this.jsonEnabled()) this.say(renderVerify(result));
    return result;
  }
}
