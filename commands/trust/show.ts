import { Flags } from '@oclif/core';
import { AirlockCommand } from '../../src/cli/command.js';
import { trustDirFlag } from '../../src/trust/flags.js';
import { loadOfflineTrustAnchor, loadTrustAnchorFile } from '../../src/trust/load.js';
import { describeTrustAnchor, renderTrustShow, type TrustShowResult } from '../../src/trust/report.js';

export default class TrustShow extends AirlockCommand<TrustShowResult> {
  static override summary = 'Show the Sigstore trust root verification uses: its source, digest and the validity window of every CA, TSA and log.';
  static override examples = ['<%= config.bin %> trust show', '<%= config.bin %> trust show --trusted-root ./trusted_root.json --json'];
  static override flags = {
    'trusted-root': Flags.string({ description: 'show this trusted_root.json instead of the one in use' }),
    ...trustDirFlag,
  };

  async run(): Promise<TrustShowResult> {
    const { flags } = await this.parse(TrustShow);
    const anchor = flags['trusted-root'] !== undefined ? loadTrustAnchorFile(flags['trusted-root']) : loadOfflineTrustAnchor(flags['trust-dir']);
    const result = describeTrustAnchor(anchor);
    if (!this.jsonEnabled()) this.say(renderTrustShow(result));
    return result;
  }
}
