import { AirlockError } from '../../errors.js';
import { isLoopbackHost } from '../../loopback.js';
import type { StoreOptions } from '../options.js';

/**
 * Where a registry name points and which scheme it may be spoken to over. Plain HTTP carries credentials and
 * content unprotected, so it is allowed only where nobody else can be on the wire (loopback) or where the user
 * said so (`insecureRegistries`); every URL the client is about to contact — registry, redirect target, token
 * realm, upload Location — passes `assertSchemeAllowed` first, before any network attempt.
 */

/** Docker Hub's name as users write it maps to the host that actually serves the API (Docker's convention). */
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

export function isDockerHub(registry: string): boolean {
  return DOCKER_HUB_ALIASES.has(registry.toLowerCase());
}

/** The host[:port] that serves the API for a registry name. */
export function apiHost(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_API_HOST : registry;
}

export { bareHostname, isLoopbackHost } from '../../loopback.js';


/** host[:port] of a URL as the registry name would be written (brackets kept for IPv6, default port dropped). */
export function hostOf(url: URL): string {
  return url.host.toLowerCase();
}

function isListedInsecure(url: URL, options: StoreOptions): boolean {
  const list = (options.insecureRegistries ?? []).map((h) => h.toLowerCase());
  return list.includes(hostOf(url)) || list.includes(url.hostname.toLowerCase());
}

/**
 * The scheme for a registry. Loopback registries are spoken to over plain HTTP by default: Docker treats them as
 * insecure too (a local or kind registry usually has no certificate, and nobody else is on the wire). Docker
 * probes HTTPS first and falls back to HTTP; we do not, because a scheme chosen by a failure is a downgrade an
 * attacker can provoke and it doubles the round trips. A loopback registry that does serve TLS is reached over
 * HTTPS when a CA file is configured for it (`--registry-ca`): naming its CA says it speaks TLS (and a TLS
 * server reached over HTTP gets a message saying so). Hosts listed as insecure use plain HTTP; all others HTTPS.
 */
export function schemeFor(registry: string, options: StoreOptions): 'http' | 'https' {
  const host = apiHost(registry).toLowerCase();
  if (caFileFor(host, options) !== undefined) return 'https';
  const url = new URL(`http://${host}`);
  if (isLoopbackHost(url.hostname) || isListedInsecure(url, options)) return 'http';
  return 'https';
}

/** The per-host CA file: `host:port` first, then the bare host name. */
export function caFileFor(host: string, options: StoreOptions): string | undefined {
  const files = options.caFiles ?? {};
  const lower = host.toLowerCase();
  for (const [k, v] of Object.entries(files)) if (k.toLowerCase() === lower) return v;
  const hostname = new URL(`http://${lower}`).hostname;
  for (const [k, v] of Object.entries(files)) if (k.toLowerCase() === hostname) return v;
  return undefined;
}

/**
 * Refuses a URL the client must not contact: a scheme other than http(s), or plain HTTP to a host that is
 * neither loopback nor listed as insecure (this also stops https→http redirect downgrades and plain-HTTP token
 * realms). `purpose` says what the URL is for, in the message.
 */
export function assertSchemeAllowed(url: URL, options: StoreOptions, purpose: string): void {
  if (url.protocol === 'https:') return;
  if (url.protocol !== 'http:') {
    throw new AirlockError('INSECURE_REFUSED', `Refusing ${purpose} at ${url.protocol}//${hostOf(url)}: only http and https URLs are used.`);
  }
  if (isLoopbackHost(url.hostname) || isListedInsecure(url, options)) return;
  throw new AirlockError(
    'INSECURE_REFUSED',
    `Refusing plain HTTP to ${hostOf(url)} for ${purpose}; use HTTPS, or pass --insecure-registry ${hostOf(url)} if that host really has no TLS.`,
  );
}

/** Origin comparison for credential scoping: scheme, host and port must all match. */
export function sameOrigin(a: URL, b: URL): boolean {
  return a.origin === b.origin;
}

/** The URL without query and fragment, for messages and logs (presigned URLs carry signatures in the query). */
export function redactUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}
