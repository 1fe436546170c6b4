import { AirlockCommand } from '../src/cli/command.js';
import { ledgerFlags, ledgerSettingsFromFlags } from '../src/cli/ledger-flags.js';
import { syncConfigFlags, syncFlagValues } from '../src/cli/sync-flags.js';
import { resolveSyncConfig } from '../src/config/sync-flags.js';
import { neutralize } from '../src/log.js';
import { listReleasesBeside, type ReleasesResult } from '../src/pipeline/releases.js';

export default class Releases extends AirlockCommand<ReleasesResult> {
  static override summary = 'Upstream releases side by side with what the mirror holds: selected or skipped, verified and recorded, refused, published to the target.';
  static override description = 'Read-only: lists the GitHub releases, the ledger (opened read-only) and the target; nothing is verified or written.';
  static override examples = ['<%= config.bin %> releases', '<%= config.bin %> releases --target registry.internal/fluxcd --json'];
  static override flags = { ...syncConfigFlags, ...ledgerFlags };

  async run(): Promise<ReleasesResult> {
    const { flags } = await this.parse(Releases);
    const config = resolveSyncConfig({ config: flags.config, flags: syncFlagValues(flags) });
    const result = await listReleasesBeside({ config, ledger: ledgerSettingsFromFlags(flags), logger: this.logger() });
    if (!this.jsonEnabled()) {
      this.say(`${neutralize(result.repository)} → ${neutralize(result.target)}`);
      for (const r of result.releases) {
        const state = r.heldInTarget ? `held ${r.heldInTarget}` : r.recordedChecksums ? 'verified, not published' : 'not mirrored';
        const pick = r.selected ? 'selected' : `skipped (${r.skipped ?? 'not selected'})`;
        this.say(`${neutralize(r.tag).padEnd(16)} ${pick.padEnd(30)} ${state}${r.refusals > 0 ? `, ${r.refusals} refused` : ''}`);
      }
    }
    return result;
  }
}
