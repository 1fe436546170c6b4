import { Flags } from '@oclif/core';

/** Where refreshed trust roots and the TUF cache live (shared by the trust commands and verification commands). */
export const trustDirFlag = {
  'trust-dir': Flags.string({
    description: 'directory for the TUF cache and the last refreshed trusted root (default: $AIRLOCK_TRUST_DIR, else $XDG_CACHE_HOME/airlock/trust)',
  }),
};
