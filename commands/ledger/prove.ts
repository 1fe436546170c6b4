import { Args, Flags } from '@oclif/core';
import { AirlockCommand } from '../../src/cli/command.js';
import { ledgerFlags, ledgerSettingsFromFlags } from '../../src/cli/ledger-flags.js';
import { renderProof } from '../../src/cli/ledger-render.js';
import { AirlockError } from '../../src/errors.js';
import { proveEntry } from '../../src/ledger/actions.js';
import type { InclusionProof } from '../../src/ledger/ledger.js';

export default class LedgerProve extends AirlockCommand<InclusionProof & { ledger: string }> {
  static override summary = 'Print an RFC 6962 inclusion proof of one entry: leaf, leaf hash, index, tree size, audit path, root.';
  static override description =
    'The proof is checkable without airlock: leaf hash = SHA-256(0x00 || leaf), then the RFC 9162 §2.1.3.2 algorithm over the audit path ' +
    'must give the root, which must equal line 3 of a checkpoint you trust. docs/ledger.md has a 20-line Python recipe. ' +
    'By default the proof is against the latest checkpoint that covers the entry.';
  static override examples = ['<%= config.bin %> ledger prove 42 --json | python3 verify_inclusion.py'];
  static override args = { id: Args.string({ required: true, description: 'entry number (from 0)' }) };
  static override flags = {
    ...ledgerFlags,
    size: Flags.integer({ description: 'prove against the tree of this size (e.g. the size of a checkpoint you kept)', min: 1 }),
  };

  async run(): Promise<InclusionProof & { ledger: string }> {
    const { args, flags } = await this.parse(LedgerProve);
    if (!/^\d{1,15}$/.test(args.id)) throw new AirlockError('BAD_INPUT', `"${args.id.slice(0, 40)}" is not an entry number.`);
    const result = proveEntry(ledgerSettingsFromFlags(flags), Number(args.id), flags.size);
    if (!this.jsonEnabled()) this.say(renderProof(result));
    return result;
  }
}
