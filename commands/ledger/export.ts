import { createWriteStream, openSync, rmSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Flags } from '@oclif/core';
import { AirlockCommand } from '../../src/cli/command.js';
import { ledgerFlags, ledgerSettingsFromFlags } from '../../src/cli/ledger-flags.js';
import { AirlockError } from '../../src/errors.js';
import { exportHtmlReportTo, exportLedgerTo, type LedgerExportResult } from '../../src/ledger/actions.js';
import type { ReportFilter } from '../../src/ledger/html/index.js';
import { parseTimeBound } from '../../src/ledger/query.js';

export default class LedgerExport extends AirlockCommand<LedgerExportResult> {
  static override summary =
    "Export every entry as JSON (lossless, with leaf hashes) or CSV (formula-looking cells neutralised with a leading '), or the auditor's report as one self-contained HTML page.";
  static override examples = [
    '<%= config.bin %> ledger export --format csv > ledger.csv',
    '<%= config.bin %> ledger export --format json --output ledger.json --json',
    '<%= config.bin %> ledger export --format html --out report.html --since 30d',
  ];
  static override flags = {
    ...ledgerFlags,
    format: Flags.string({ description: 'output format', options: ['json', 'csv', 'html'] as const, default: 'json' }),
    output: Flags.string({ description: 'write to this file instead of stdout (never overwritten)', aliases: ['out'] }),
    release: Flags.string({ description: 'html: only this release (e.g. v2.4.0)' }),
    since: Flags.string({ description: 'html: only entries from this time on (ISO 8601, or back from now: 24h, 7d)' }),
  };

  async run(): Promise<LedgerExportResult> {
    const { flags } = await this.parse(LedgerExport);
    // With --json, stdout carries the summary; the export itself must then go to a file.
    if (this.jsonEnabled() && !flags.output) throw new AirlockError('BAD_INPUT', 'With --json, name the export file with --output FILE.');
    const html = flags.format === 'html';
    if (!html && (flags.release !== undefined || flags.since !== undefined)) {
      throw new AirlockError('BAD_INPUT', 'The JSON and CSV exports hold every entry (they are the lossless record); --release and --since select what the HTML report shows.');
    }
    const filter: ReportFilter = {};
    if (flags.release !== undefined) filter.release = flags.release;
    if (flags.since !== undefined) filter.since = parseTimeBound(flags.since, new Date(), '--since');
    const format = flags.format === 'csv' ? 'csv' : 'json';
    const settings = ledgerSettingsFromFlags(flags);
    const write = (out: Writable, output: string | null) =>
      html ? exportHtmlReportTo(settings, out, output, { filter, toolVersion: this.config.version }) : exportLedgerTo(settings, format, out, output);
    if (!flags.output) return write(process.stdout, null);
    let fd: number;
    try {
      fd = openSync(flags.output, 'wx');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      throw new AirlockError(code === 'EEXIST' ? 'BAD_INPUT' : 'NOT_FOUND', `The file ${flags.output} cannot be created (${code}); name a new file, it is never overwritten.`, { cause: e });
    }
    const out = createWriteStream('', { fd });
    try {
      const result = await write(out, flags.output);
      out.end();
      await finished(out);
      if (!this.jsonEnabled()) process.stderr.write(`Exported ${result.count} entries to ${flags.output}.\n`);
      return result;
    } catch (e) {
      out.destroy();
      // Nothing half-written: the file this run created is removed (an existing one was never opened).
      rmSync(flags.output, { force: true });
      throw e;
    }
  }
}
