import { Flags } from '@oclif/core';
import { readMirroredRelease, type MirroredRelease } from '../cluster/mirrored-release.js';
import type { SyncConfig } from '../config/config.js';
import { resolveLedgerSettings } from '../config/ledger-config.js';
import { resolveSyncConfig } from '../config/sync-flags.js';
import { AirlockError } from '../errors.js';
import type { Logger } from '../log.js';
import { loadOfflineTrustAnchor, loadTrustAnchorFile, type TrustAnchor } from '../trust/index.js';

/** Flags of the cluster-side outputs (`policy kyverno`, `flux install-args`): which mirror, release and cluster prefix. */
export const clusterFlags = {
  config: Flags.string({ description: 'config file (default: $AIRLOCK_CONFIG, ./airlock.yaml, $XDG_CONFIG_HOME/airlock/config.yaml)' }),
  ledger: Flags.string({ description: 'the ledger file itself (default: ledger.path of the config)' }),
  release: Flags.string({ default: 'latest', description: 'the mirrored release: vX.Y.Z, or latest (the newest this ledger published to the target)' }),
  target: Flags.string({ description: 'the mirror as sync wrote it (default: the config’s target)' }),
  registry: Flags.string({
    description: 'the registry prefix the cluster pulls the mirror from (default: the target, when it is a registry; required for an oci: target)',
  }),
  components: Flags.string({ multiple: true, description: 'Flux controllers to cover (comma-separated or repeated; default: every controller of the release)' }),
  'check-mirror': Flags.boolean({ default: true, allowNo: true, description: 'look every verified digest up in the mirror (default on)' }),
};

export interface ClusterInputs {
  config: SyncConfig;
  mirrored: MirroredRelease;
  registry: string;
}

export async function clusterInputs(flags: { config?: string; ledger?: string; release: string; target?: string; registry?: string; 'check-mirror': boolean }, logger: Logger): Promise<ClusterInputs> {
  const config = resolveSyncConfig({ config: flags.config, flags: { ...(flags.target !== undefined ? { target: flags.target } : {}) } });
  const ledger = resolveLedgerSettings({ config: flags.config, ledger: flags.ledger });
  if (flags.release !== 'latest' && !/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(flags.release)) {
    throw new AirlockError('BAD_INPUT', `--release ${JSON.stringify(flags.release.slice(0, 130))} is not a release tag such as v2.9.4, or latest.`);
  }
  const registry = registryOf(config.target, flags.registry);
  const mirrored = await readMirroredRelease({ config, ledgerPath: ledger.path, release: flags.release, checkMirror: flags['check-mirror'], logger });
  return { config, mirrored, registry };
}

function registryOf(target: string, flag: string | undefined): string {
  const value = (flag ?? (target.startsWith('oci:') ? undefined : target))?.replace(/\/+$/, '');
  if (value === undefined) {
    throw new AirlockError('BAD_INPUT', `The mirror ${target} is an OCI layout, which a cluster cannot pull from; pass --registry with the prefix it will be served under (e.g. registry.internal/fluxcd).`);
  }
  if (value.startsWith('oci:') || !/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/i.test(value) || !value.includes('/')) {
    throw new AirlockError('BAD_INPUT', `--registry ${JSON.stringify(value.slice(0, 130))} is not a registry and path such as registry.internal/fluxcd.`);
  }
  return value;
}

export const trustedRootFlag = {
  'trusted-root': Flags.string({ description: 'the trusted_root.json the sync verified with (default: the config’s, else the saved or embedded root; never fetched)' }),
};

/** The trust root the policy's keys come from: the configured file, else the saved or embedded root. No network. */
export function clusterTrust(config: SyncConfig, flag: string | undefined): TrustAnchor {
  if (flag !== undefined) return loadTrustAnchorFile(flag);
  if (config.trust.trustedRoot !== undefined) return loadTrustAnchorFile(config.trust.trustedRoot);
  return loadOfflineTrustAnchor();
}
