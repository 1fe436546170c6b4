import { Flags } from '@oclif/core';
import { AirlockCommand } from '../../src/cli/command.js';
import { trustDirFlag } from '../../src/trust/flags.js';
import { loadOfflineTrustAnchor } from '../../src/trust/load.js';
import { exportTrust, type TrustExportResult } from '../../src/trust/report.js';

export default class TrustExport extends AirlockCommand<TrustExportResult> {
  static override summary = 'Write the trust root in use to a trusted_root.json file, for the air-gapped side (pass it there with --trusted-root).';
  static override examples = ['<%= config.bin %> trust update && <%= config.bin %> trust export --output trusted_root.json'];
  static override flags = {
    output: Flags.string({ char: 'o', required: true, description: 'file to write' }),
    force: Flags.boolean({ description: 'overwrite the file if it exists' }),
    ...trustDirFlag,
  };

  async run(): Promise<TrustExportResult> {
    const { flags } = await this.parse(TrustExport);
    const result = exportTrust(loadOfflineTrustAnchor(flags['trust-dir']), flags.output, flags.force);
    if (!this.jsonEnabled()) this.say(`Wrote ${result.path}: ${result.source} trust root ${result.digest} (${result.bytes} bytes).`);
    return result;
  }
}
