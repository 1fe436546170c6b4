/**
 * The one definition of "loopback" airlock uses wherever plain HTTP or a stand-in is allowed only on this machine
 * (registries, GitHub API, Rekor, checkpoint sinks): Docker's convention.
 */
import { isIP } from 'node:net';

/** Hostname without brackets (`[::1]` → `::1`), lower-cased. */
export function bareHostname(hostname: string): string {
  const h = hostname.toLowerCase();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/**
 * Loopback as Docker defines it: `localhost`, 127.0.0.0/8 and ::1 (also IPv4-mapped, ::ffff:127.x). Only the
 * literal name `localhost` counts among names: other names could resolve anywhere.
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = bareHostname(hostname);
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    if (mapped?.[1]) return mapped[1].startsWith('127.');
    // ::ffff:7f00:1 — the hex spelling URL parsing produces for a mapped 127.0.0.1.
    return /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(h);
  }
  return false;
}
