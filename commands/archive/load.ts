import { Args, Flags } from '@oclif/core';
import { AirlockCommand } from '../../src/cli/command.js';
import { ledgerFlags, ledgerSettingsFromFlags } from '../../src/cli/ledger-flags.js';
import { resolveSyncConfig } from '../../src/config/sync-flags.js';
import { resolveTarget } from '../../src/config/config.js';
import { endProgress, progressCounter } from '../../src/archive/format.js';
import { loadArchive, type LoadResult } from '../../src/archive/load.js';
import { neutralize } from '../../src/log.js';

export default class ArchiveLoad extends AirlockCommand<LoadResult> {
  static override summary = 'Load an archive written by archive save into a registry or oci:DIR on the air-gapped side, verifying everything again offline; all or nothing.';
  static override description =
    'The archive is untrusted. It is unpacked into a private content-addressed directory (links, hard links, duplicate entries, absolute or .. names, ' +
    'oversized entries and blobs that do not hash to their name are refused before anything is parsed). The trust anchor comes from outside it: ' +
    '--trusted-root FILE, or --trusted-root-sha256 HEX that the archive\'s copy must match (what the sender\'s archive save printed), else the config\'s ' +
    'trusted root, else the embedded public-good root. The identity policy is this airlock\'s own profile. Everything is verified offline (no Rekor, ' +
    'no TUF); if anything fails, nothing of the release is pushed and the command exits with the refusal\'s code. The load is recorded in the ledger ' +
    '(run archive-load: verified, copied-upstream, copied-signature, composed, and archive-loaded with the sender\'s checkpoint — authenticated only ' +
    'with --ledger-public-key).';
  static override examples = [
    '<%= config.bin %> archive load flux-v2.9.4.airlock.tar --target registry.internal/fluxcd --trusted-root-sha256 db10f7…',
    '<%= config.bin %> archive load flux.tar --target oci:./mirror --trusted-root trusted_root.json --ledger-public-key sender.vkey',
  ];
  static override args = { file: Args.string({ required: true, description: 'the archive (a tar written by archive save)' }) };
  static override flags = {
    target: Flags.string({ required: true, description: 'where the release goes: a registry prefix such as registry.internal/fluxcd, or oci:DIR' }),
    'trusted-root': Flags.string({ description: 'the trusted_root.json to verify against (obtained out of band)' }),
    'trusted-root-sha256': Flags.string({ description: 'use the archive\'s trusted_root.json only if its sha256 is this (printed by the sender\'s archive save)' }),
    'ledger-public-key': Flags.string({ description: 'the sender\'s ledger verifier key (<name>+<id>+<key> or PEM): authenticates the archive\'s ledger excerpt' }),
    ...ledgerFlags,
  };

  async run(): Promise<LoadResult> {
    const { args, flags } = await this.parse(ArchiveLoad);
    const config = resolveSyncConfig({ config: flags.config, flags: {} });
    const progress = progressCounter('reading archive');
    try {
      const result = await loadArchive({
        file: args.file,
        target: resolveTarget(flags.target, process.cwd()),
        config,
        ledger: ledgerSettingsFromFlags(flags),
        ...(flags['trusted-root'] !== undefined ? { trustedRoot: flags['trusted-root'] } : {}),
        ...(flags['trusted-root-sha256'] !== undefined ? { trustedRootSha256: flags['trusted-root-sha256'] } : {}),
        ...(flags['ledger-public-key'] !== undefined ? { ledgerPublicKey: flags['ledger-public-key'] } : {}),
        toolVersion: this.config.version,
        ...(progress ? { onProgress: progress } : {}),
        logger: this.logger(),
      });
      if (!this.jsonEnabled()) this.say(render(result));
      return result;
    } finally {
      if (progress) endProgress();
    }
  }
}

function render(r: LoadResult): string {
  const lines = [`Loaded ${r.release} from ${neutralize(r.archive)} (sha256 ${r.sha256}) into ${neutralize(r.target)}; everything verified offline.`];
  lines.push(`  trust root sha256 ${r.trustRoot.sha256} (${r.trustRoot.pinnedBy})`);
  for (const i of r.images) lines.push(`  image ${neutralize(i.target)} ${i.status} ${i.digest}`);
  for (const a of r.absent) lines.push(`  absent ${a.name}:${a.tag} (not in the archive)`);
  lines.push(`  release artifact ${neutralize(r.releaseArtifact.reference)} ${r.releaseArtifact.status} ${r.releaseArtifact.digest}`);
  lines.push(`  sender's ledger: ${neutralize(r.excerpt.origin)} size ${r.excerpt.treeSize}, ${r.excerpt.entries} entries proven; ${r.excerpt.authenticated ? 'authenticated' : 'UNAUTHENTICATED'} (${neutralize(r.excerpt.note)})`);
  lines.push(`Ledger ${neutralize(r.ledger.path)}: ${r.ledger.appended} entries appended${r.ledger.checkpoint ? `; checkpoint size ${r.ledger.checkpoint.size}, root ${r.ledger.checkpoint.rootHash}` : ''}.`);
  return lines.join('\n');
}
