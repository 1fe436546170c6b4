import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { Flags } from '@oclif/core';
import { AirlockCommand } from '../../src/cli/command.js';
import { ledgerFlags, ledgerSettingsFromFlags } from '../../src/cli/ledger-flags.js';
import { AirlockError } from '../../src/errors.js';
import { exportLedgerTo, type LedgerExportResult } from '../../src/ledger/actions.js';

export default class LedgerExport extends AirlockCommand<LedgerExportResult> {
  static override summary = 'Export every entry as JSON (lossless, with leaf hashes) or CSV (formula-looking cells neutralised with a leading \').';
  static override examples = ['<%= config.bin %> ledger export --format csv > ledger.csv', '<%= config.bin %> ledger export --format json --output ledger.json --json'];
  static override flags = {
    ...ledgerFlags,
    format: Flags.string({ description: 'output format', options: ['json', 'csv'] as const, default: 'json' }),
    output: Flags.string({ description: 'write to this file instead of stdout' }),
  };

  async run(): Promise<LedgerExportResult> {
    const { flags } = await this.parse(LedgerExport);
    // With --json, stdout carries the summary; the export itself must then go to a file.
    if (this.jsonEnabled() && !flags.output) throw new AirlockError('BAD_INPUT', 'With --json, name the export file with --output FILE.');
    const format = flags.format === 'csv' ? 'csv' : 'json';
    const settings = ledgerSettingsFromFlags(flags);
    if (!flags.output) return exportLedgerTo(settings, format, process.stdout, null);
    const out = createWriteStream(flags.output, { flags: 'wx' });
    try {
      const result = await exportLedgerTo(settings, format, out, flags.output);
      out.end();
      await finished(out);
      if (!this.jsonEnabled()) process.stderr.write(`Exported ${result.count} entries to ${flags.output}.\n`);
      return result;
    } catch (e) {
      out.destroy();
      throw e;
    }
  }
}
