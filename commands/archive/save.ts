import { Flags } from '@oclif/core';
import { AirlockCommand } from '../../src/cli/command.js';
import { ledgerFlags, ledgerSettingsFromFlags } from '../../src/cli/ledger-flags.js';
import { resolveSyncConfig } from '../../src/config/sync-flags.js';
import { endProgress, progressCounter } from '../../src/archive/format.js';
import { saveArchive, type SaveResult } from '../../src/archive/save.js';
import { neutralize } from '../../src/log.js';

export default class ArchiveSave extends AirlockCommand<SaveResult> {
  static override summary = 'Write one mirrored release, verified again offline, to a tar for the air-gapped side: images, signatures, release files, trust root, ledger excerpt.';
  static override description =
    'Reads the target of the config in effect (like sync). The tar holds one OCI image layout per repository (<name>/, readable by skopeo and oras once unpacked) ' +
    'with every verified image of the release and only its verified signature and attestation objects, the release artifact (<profile>-release/: CLI archives, ' +
    'install.yaml, manifests, checksums, signature bundles), a copy of the trust root used (trusted_root.json) and a ledger excerpt (the release\'s events with ' +
    'inclusion proofs and the signed checkpoint). It prints the trust root\'s sha256: give it to the receiver, who pins it with archive load --trusted-root-sha256.';
  static override examples = ['<%= config.bin %> archive save --release latest --out flux.tar', '<%= config.bin %> archive save --release v2.9.4 --json'];
  static override flags = {
    release: Flags.string({ required: true, description: 'the release to save: vX.Y.Z, or latest (the newest release the mirror holds)' }),
    out: Flags.string({ description: 'the tar to write (default: ./<profile>-<release>.airlock.tar)' }),
    target: Flags.string({ description: 'read this mirror instead of the config\'s target (registry prefix or oci:DIR)' }),
    ...ledgerFlags,
  };

  async run(): Promise<SaveResult> {
    const { flags } = await this.parse(ArchiveSave);
    const config = resolveSyncConfig({ config: flags.config, flags: flags.target !== undefined ? { target: flags.target } : {} });
    const progress = progressCounter('writing archive');
    const result = await saveArchive({
      config,
      ledger: ledgerSettingsFromFlags(flags),
      release: flags.release,
      ...(flags.out !== undefined ? { out: flags.out } : {}),
      toolVersion: this.config.version,
      ...(progress ? { onProgress: progress } : {}),
      logger: this.logger(),
    });
    if (progress) endProgress();
    if (!this.jsonEnabled()) this.say(render(result));
    return result;
  }
}

function render(r: SaveResult): string {
  const lines = [`Saved ${r.release} from ${neutralize(r.source)} to ${neutralize(r.archive)} (${r.bytes} bytes, sha256 ${r.sha256}).`];
  for (const i of r.images) lines.push(`  image ${i.name}:${i.tag} ${i.digest} (${i.signatures} signature objects, ${i.attestations} attestation objects)`);
  for (const a of r.absent) lines.push(`  absent ${a.name}:${a.tag} (not in the mirror: refused upstream or never mirrored)`);
  lines.push(`  release artifact ${r.releaseArtifact.digest}: ${r.releaseArtifact.files.map(neutralize).join(', ')}`);
  lines.push(`  ledger excerpt: ${r.ledger.entries} entries with inclusion proofs, checkpoint ${r.ledger.origin} size ${r.ledger.treeSize}${r.ledger.unproven > 0 ? ` (${r.ledger.unproven} newer entries not covered yet)` : ''}`);
  lines.push(`Trust root sha256 (give it to the receiver, out of band): ${r.trustRoot.sha256}`);
  lines.push(`Load it there with: airlock archive load ${neutralize(r.archive.split('/').pop() ?? r.archive)} --target PREFIX --trusted-root-sha256 ${r.trustRoot.sha256}`);
  return lines.join('\n');
}
