/**
 * A `demo: true` config (written only by `airlock demo`) trusts the demo's local Sigstore, whose CA key sits in the
 * demo directory, and lets the ledger key sit beside the ledger. Such a config must never be used against a real
 * upstream: every upstream it names — the releases API, the image source, Rekor — must be on loopback (where the
 * demo's in-process stand-ins listen), and the trusted root must be the demo's own, inside the config's directory.
 */
import { dirname } from 'node:path';
import { AirlockError } from '../errors.js';
import type { SyncConfig } from './config.js';
import { isInside } from './paths.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

const isLoopbackHost = (host: string | undefined): boolean => host !== undefined && LOOPBACK.has(host.toLowerCase());

/** Throws BAD_INPUT naming the first setting of a demo config that points outside the demo's stand-in upstream. */
export function assertDemoUpstream(config: SyncConfig): void {
  const refuse = (what: string, value: string | undefined): never => {
    throw new AirlockError(
      'BAD_INPUT',
      `This is a demo config (demo: true${config.configFile ? ` in ${config.configFile}` : ''}): it trusts the demo's local Sigstore, so it is refused for any upstream but the demo's own stand-in, and ${what} is ${JSON.stringify(value ?? null)}. Use a config written by airlock init for a real mirror.`,
    );
  };
  if (!isLoopbackHost(hostOf(config.upstream.githubApi))) refuse('upstream.github_api', config.upstream.githubApi);
  const source = config.images.source;
  if (source === undefined || !isLoopbackHost(hostOf(`http://${source}`))) refuse('images.source', source);
  const rekor = config.trust.rekorUrl;
  if (rekor === undefined || !isLoopbackHost(hostOf(rekor))) refuse('trust.rekor_url', rekor);
  const root = config.trust.trustedRoot;
  if (root === undefined || config.configFile === null || !isInside(root, dirname(config.configFile))) refuse('trust.trusted_root', root);
}

/**
 * A demo's stand-in upstream runs only while `airlock demo` runs: an unreachable upstream under a demo config says
 * so, and how to run the demo again, instead of only "connection refused".
 */
export async function withDemoHint<T>(demo: boolean, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (!demo || !(e instanceof AirlockError) || e.code !== 'UNREACHABLE') throw e;
    throw new AirlockError('UNREACHABLE', `${e.message} This is a demo directory: its stand-in upstream runs only while \`airlock demo\` runs; run \`airlock demo --dir .\` again (it reuses this directory and mirrors nothing new).`, { cause: e });
  }
}
