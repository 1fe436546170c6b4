import { Flags } from '@oclif/core';
import { AirlockError } from '../errors.js';
import type { Logger } from '../log.js';
import type { StoreOptions } from '../store/options.js';

/** Flags every command that talks to a store accepts. */
export const storeFlags = {
  'insecure-registry': Flags.string({
    multiple: true,
    description: 'host[:port] that may be reached over plain HTTP (loopback hosts always may)',
  }),
  'registry-ca': Flags.string({
    multiple: true,
    description: 'host[:port]=FILE: a PEM CA bundle trusted for that registry, in addition to the system store',
  }),
  'authfile': Flags.string({
    description: 'docker config.json with credentials (default: $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json, ~/.docker/config.json)',
  }),
};

export function storeOptionsFromFlags(
  flags: { 'insecure-registry'?: string[]; 'registry-ca'?: string[]; authfile?: string },
  logger?: Logger,
): StoreOptions {
  const caFiles: Record<string, string> = {};
  for (const pair of flags['registry-ca'] ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) {
      throw new AirlockError('BAD_INPUT', `--registry-ca "${pair}" is not host[:port]=FILE; name the registry and the PEM file, e.g. --registry-ca registry.internal:5000=/etc/ssl/internal-ca.pem.`);
    }
    caFiles[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const o: StoreOptions = { caFiles };
  if (flags['insecure-registry']) o.insecureRegistries = flags['insecure-registry'];
  if (flags.authfile) o.authFile = flags.authfile;
  if (logger) o.logger = logger;
  return o;
}
