import { BlockList, isIP } from 'node:net';
import { bareHostname } from './endpoint.js';

/**
 * Proxy selection from the environment, as curl does it. Node's fetch ignores HTTPS_PROXY/HTTP_PROXY/NO_PROXY,
 * but air-gapped and corporate networks rely on them, so we pick the proxy per URL ourselves.
 *
 * curl's rules, which we follow: `https_proxy`/`HTTPS_PROXY` for https URLs, `http_proxy` for http URLs (the
 * lower-case name wins; curl ignores upper-case HTTP_PROXY because CGI servers set it from a request header, we
 * accept it after the lower-case one since containers commonly set only upper-case); `no_proxy`/`NO_PROXY` is a
 * comma (or space) separated list where `*` matches everything, a name matches itself and its sub-domains
 * (a leading `.` or `*.` is ignored), IP addresses match exactly or by CIDR (`10.0.0.0/8`), IPv6 without
 * brackets. An entry may carry `:port` to match only that port. Loopback is NOT bypassed implicitly: like curl,
 * a loopback registry goes through the proxy unless NO_PROXY lists it.
 */
export interface ProxyEnv {
  httpsProxy?: string;
  httpProxy?: string;
  noProxy?: string;
}

function pick(env: NodeJS.ProcessEnv, lower: string, upper: string): string | undefined {
  const v = env[lower] ?? env[upper];
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

export function proxyEnvFrom(env: NodeJS.ProcessEnv = process.env): ProxyEnv {
  const out: ProxyEnv = {};
  const https = pick(env, 'https_proxy', 'HTTPS_PROXY');
  const http = pick(env, 'http_proxy', 'HTTP_PROXY');
  const no = env.no_proxy ?? env.NO_PROXY;
  if (https) out.httpsProxy = https;
  if (http) out.httpProxy = http;
  if (no !== undefined) out.noProxy = no;
  return out;
}

/** The proxy URL to use for `url`, or undefined to connect directly. */
export function proxyFor(url: URL, env: ProxyEnv): string | undefined {
  const proxy = url.protocol === 'https:' ? env.httpsProxy : env.httpProxy;
  if (!proxy) return undefined;
  if (matchesNoProxy(url, env.noProxy ?? '')) return undefined;
  // A proxy written without a scheme (`proxy:3128`) means http://, as in curl.
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
}

function defaultPort(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

/** True when NO_PROXY says `url` is reached directly. */
export function matchesNoProxy(url: URL, noProxy: string): boolean {
  const host = bareHostname(url.hostname).replace(/\.$/, '');
  const port = defaultPort(url);
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const { name, entryPort } = splitEntry(entry);
    if (entryPort !== undefined && entryPort !== port) continue;
    if (matchesName(host, name)) return true;
  }
  return false;
}

function splitEntry(entry: string): { name: string; entryPort?: string } {
  // [v6]:port, v4:port, name:port; a bare IPv6 address (several colons) has no port.
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed?.[1]) return bracketed[2] ? { name: bracketed[1], entryPort: bracketed[2] } : { name: bracketed[1] };
  const colons = entry.split(':').length - 1;
  if (colons === 1 && !entry.includes('/')) {
    const [name = '', p = ''] = entry.split(':');
    if (/^\d+$/.test(p)) return { name, entryPort: p };
  }
  return { name: entry };
}

function matchesName(host: string, entry: string): boolean {
  const slash = entry.indexOf('/');
  const addr = slash >= 0 ? entry.slice(0, slash) : entry;
  const family = isIP(addr);
  if (family !== 0) {
    const hostFamily = isIP(host);
    if (hostFamily === 0) return false;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) {
      const list = new BlockList();
      list.addAddress(addr, type);
      return list.check(host, hostFamily === 4 ? 'ipv4' : 'ipv6');
    }
    const bits = Number(entry.slice(slash + 1));
    if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) return false;
    const list = new BlockList();
    list.addSubnet(addr, bits, type);
    return list.check(host, hostFamily === 4 ? 'ipv4' : 'ipv6');
  }
  const name = entry.replace(/^\*?\./, '').replace(/\.$/, '');
  if (name === '') return false;
  return host === name || host.endsWith(`.${name}`);
}

/** The proxy's host[:port] for messages; never the credentials a proxy URL may carry. */
export function proxyDisplay(proxy: string): string {
  try {
    return new URL(proxy).host;
  } catch {
    return 'the configured proxy';
  }
}
