/**
 * `airlock init`: a minimal airlock.yaml with the ledger beside it and its key under the user's config
 * directory. The ledger (and key, with a notice) is created now, so the config can name the key's real path.
 * Nothing existing is ever overwritten.
 */
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AirlockError } from '../errors.js';
import type { Logger } from '../log.js';
import { Ledger } from '../ledger/ledger.js';
import { CONFIG_FILE_NAME, defaultKeyPath, isInside, type Env } from './paths.js';

export interface InitResult {
  config: string;
  ledger: string;
  origin: string;
  key: string;
}

function configText(keyPath: string): string {
  return `# airlock configuration, written by \`airlock init\`. Sync settings (upstream, images, trust, target…):
# see config.example.yaml; without them sync mirrors the newest Flux release to oci:./mirror beside this file.
ledger:
  # The audit ledger (one SQLite file), relative to this file.
  path: airlock.db
  # Its Ed25519 signing key, kept outside the ledger's directory so that whoever can replace the ledger cannot
  # also re-sign it. Mode 0600; back it up, and give auditors its public key (airlock ledger checkpoint --json).
  key: ${JSON.stringify(keyPath)}
  # Where each checkpoint is published besides the ledger. Mark a sink leaves_host: true only when it really
  # leaves this machine (another host's volume, a forwarded syslog); airlock cannot tell.
  checkpoint_sinks: []
  #  - file: /mnt/audit/airlock.checkpoint
  #    leaves_host: true
  #  - command: [logger, -t, airlock-checkpoint]
`;
}

export function initConfig(opts: { dir?: string; env?: Env; cwd?: string; logger?: Logger } = {}): InitResult {
  const env = opts.env ?? process.env;
  const dir = resolve(opts.cwd ?? process.cwd(), opts.dir ?? '.');
  const config = join(dir, CONFIG_FILE_NAME);
  const ledgerPath = join(dir, 'airlock.db');
  if (existsSync(config)) throw new AirlockError('BAD_INPUT', `${config} already exists; airlock init never overwrites a config.`);
  if (existsSync(ledgerPath)) throw new AirlockError('BAD_INPUT', `${ledgerPath} already exists; airlock init never reuses or replaces a ledger.`);
  const keysDir = dirname(defaultKeyPath('airlock.ledger/x', env));
  if (isInside(keysDir, dir)) {
    throw new AirlockError('LEDGER_KEY', `The key directory ${keysDir} is inside ${dir}; run airlock init in another directory or set XDG_CONFIG_HOME.`);
  }
  let keyPath = '';
  const ledger = Ledger.open(ledgerPath, {
    create: true,
    logger: opts.logger,
    key: (origin) => (keyPath = defaultKeyPath(origin, env)),
  });
  const origin = ledger.origin;
  ledger.close();
  const fd = openSync(config, 'wx', 0o644);
  try {
    writeSync(fd, configText(keyPath));
  } finally {
    closeSync(fd);
  }
  return { config, ledger: ledgerPath, origin, key: keyPath };
}
