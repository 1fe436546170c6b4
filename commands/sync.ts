import { Flags } from '@oclif/core';
import { AirlockCommand } from '../src/cli/command.js';
import { ledgerFlags, ledgerSettingsFromFlags } from '../src/cli/ledger-flags.js';
import { syncConfigFlags, syncFlagValues } from '../src/cli/sync-flags.js';
import { renderSync } from '../src/cli/sync-render.js';
import { resolveSyncConfig } from '../src/config/sync-flags.js';
import { AirlockError } from '../src/errors.js';
import { sync, syncExitError, type SyncResult } from '../src/pipeline/sync.js';

export default class Sync extends AirlockCommand<SyncResult> {
  static override summary = 'Mirror the selected Flux releases: checksums, files and images verified end to end, only what verified copied, every decision recorded.';
  static override description =
    'Per release: the checksums signature is verified against the release identity (a release whose checksums fail mirrors nothing), the files are ' +
    'checked against the verified checksums, and each image named by the verified install.yaml is resolved once, verified against its own ' +
    'controller identity at its own version, and copied with its verified signatures to <target>/<name>:<tag>. There is no way to skip verification. ' +
    'Exit codes: 0 all mirrored, 12 refusals outstanding (each recorded once in the ledger), others as for copy.';
  static override examples = [
    '<%= config.bin %> sync',
    '<%= config.bin %> sync --release v2.9.4 --target registry.internal/fluxcd',
    '<%= config.bin %> sync --github-api https://ghe.example/api/v3 --source cache.internal/ghcr/fluxcd --json',
  ];
  static override flags = {
    ...syncConfigFlags,
    ...ledgerFlags,
    wait: Flags.integer({ min: 0, default: 0, description: 'seconds to wait for another sync on the same ledger or target to finish (default: exit 13 at once)' }),
    'adopt-target': Flags.boolean({
      description: 'let a new, empty ledger start against a target that already holds mirrored content: every tag met is verified again and recorded as reconciled',
    }),
  };

  async run(): Promise<SyncResult> {
    const { flags } = await this.parse(Sync);
    const config = resolveSyncConfig({ config: flags.config, flags: syncFlagValues(flags) });
    const result = await sync({ config, ledger: ledgerSettingsFromFlags(flags), toolVersion: this.config.version, adoptTarget: flags['adopt-target'], waitMs: flags.wait * 1000, logger: this.logger() });
    if (!this.jsonEnabled()) this.say(renderSync(result));
    const failed = syncExitError(result);
    // The result travels in the error's details, so --json still carries all of it.
    if (failed) throw new AirlockError(failed.code, failed.message, { details: { result } });
    return result;
  }
}
