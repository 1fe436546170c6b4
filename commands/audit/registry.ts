import { Flags } from '@oclif/core';
import { auditTargetSummary, type AuditResult } from '../../src/audit/audit.js';
import { renderAudit } from '../../src/audit/render.js';
import { runAudit } from '../../src/audit/run.js';
import { AirlockCommand } from '../../src/cli/command.js';
import { ledgerFlags, ledgerSettingsFromFlags } from '../../src/cli/ledger-flags.js';
import { resolveSyncConfig } from '../../src/config/sync-flags.js';
import { AirlockError } from '../../src/errors.js';

export default class AuditRegistry extends AirlockCommand<AuditResult> {
  static override summary = 'Compare everything the target holds with the ledger: untracked, moved, incomplete or insecure content, invalid checkpoints.';
  static override description =
    'Lists every repository and tag under the target, walks each graph for completeness and compares each tag → digest with the ledger (opened read-only); ' +
    'checkpoints in airlock-ledger are verified by their signature. --verify re-verifies every mirrored image’s signatures in the target against the trust root ' +
    'and the identity policy recorded when it was copied (offline). Exit 0 when clean (warnings allowed), 19 when anything is found.';
  static override examples = ['<%= config.bin %> audit registry', '<%= config.bin %> audit registry --target registry.internal/fluxcd --verify --json'];
  static override flags = {
    ...ledgerFlags,
    target: Flags.string({ description: 'the mirror to audit: a registry prefix such as registry.internal/fluxcd, or oci:DIR (default: the config’s target)' }),
    'recorded-as': Flags.string({ description: 'where the ledger recorded this target, when it has moved since (e.g. a layout carried across the air gap): oci:OLD_DIR or an old registry prefix' }),
    verify: Flags.boolean({ description: 're-verify every mirrored image’s signatures in the target against the trust root', default: false }),
    'trusted-root': Flags.string({ description: 'the trusted_root.json for --verify (default: the config’s, else the embedded or last updated root)' }),
    'public-key': Flags.string({ description: 'the ledger key you pinned, for the checkpoints (default: the key file, else the ledger’s record)' }),
  };

  async run(): Promise<AuditResult> {
    const { flags } = await this.parse(AuditRegistry);
    const config = resolveSyncConfig({
      config: flags.config,
      flags: { ...(flags.target !== undefined ? { target: flags.target } : {}), ...(flags['trusted-root'] !== undefined ? { trustedRoot: flags['trusted-root'] } : {}) },
    });
    const result = await runAudit({ config, ledger: ledgerSettingsFromFlags(flags), verify: flags.verify, recordedAs: flags['recorded-as'], publicKeyFile: flags['public-key'], logger: this.logger() });
    if (!this.jsonEnabled()) this.say(renderAudit(result));
    if (result.errors > 0) {
      throw new AirlockError('AUDIT_FINDINGS', auditTargetSummary(result), { details: { result } });
    }
    return result;
  }
}
