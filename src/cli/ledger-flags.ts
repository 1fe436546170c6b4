import { Flags } from '@oclif/core';
import { resolveLedgerSettings, type LedgerSettings } from '../config/ledger-config.js';

/** Flags every `ledger …` command accepts: which config, or which ledger file directly. */
export const ledgerFlags = {
  config: Flags.string({
    description: 'config file (default: $AIRLOCK_CONFIG, ./airlock.yaml, $XDG_CONFIG_HOME/airlock/config.yaml)',
  }),
  ledger: Flags.string({
    description: 'the ledger file itself (default: ledger.path of the config, else $XDG_STATE_HOME/airlock/airlock.db)',
  }),
};

export function ledgerSettingsFromFlags(flags: { config?: string; ledger?: string }): LedgerSettings {
  return resolveLedgerSettings({ config: flags.config, ledger: flags.ledger });
}
