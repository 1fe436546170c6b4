import { Flags } from '@oclif/core';
import { AirlockCommand } from '../../src/cli/command.js';
import { trustDirFlag } from '../../src/trust/flags.js';
import { renderTrustShow, updateTrust, type TrustUpdateResult } from '../../src/trust/report.js';

export default class TrustUpdate extends AirlockCommand<TrustUpdateResult> {
  static override summary = 'Refresh the Sigstore trust root through TUF and keep it for later (offline) runs.';
  static override examples = ['<%= config.bin %> trust update', '<%= config.bin %> trust update --tuf-mirror https://tuf.internal --tuf-root root.json'];
  static override flags = {
    offline: Flags.boolean({ description: 'forbid network access (trust update then refuses to run)' }),
    'tuf-mirror': Flags.string({ description: 'TUF repository URL (default: https://tuf-repo-cdn.sigstore.dev)' }),
    'tuf-root': Flags.string({ description: 'initial TUF root.json for a mirror other than the public-good one' }),
    ...trustDirFlag,
  };

  async run(): Promise<TrustUpdateResult> {
    const { flags } = await this.parse(TrustUpdate);
    const result = await updateTrust({
      offline: flags.offline,
      trustDir: flags['trust-dir'],
      mirrorURL: flags['tuf-mirror'],
      tufRootPath: flags['tuf-root'],
      logger: this.logger(),
    });
    if (!this.jsonEnabled()) {
      this.say(result.changed ? `Trust root updated (was ${result.previous.source} ${result.previous.digest}).` : 'Trust root unchanged.');
      this.say(renderTrustShow(result.current));
    }
    return result;
  }
}
