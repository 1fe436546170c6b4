import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { Dispatcher } from 'undici';
import { AirlockError, messageOf } from '../../errors.js';
import type { StoreOptions } from '../options.js';
import { caFileFor, hostOf } from './endpoint.js';
import { proxyFor, type ProxyEnv } from './proxy-env.js';
import { undici } from './undici-parts.js';

/**
 * undici dispatchers: one per (proxy, trust) pair, created lazily and reused so connections are kept alive.
 * Every request goes through `Dispatcher.request()` of one of them (see http.ts), so TLS trust and proxies
 * apply to every byte, blob bodies included (checked by the TLS and proxy integration tests).
 *
 * Trust: Node's default store (its Mozilla bundle plus NODE_EXTRA_CA_CERTS, or the OS store when Node runs with
 * --use-system-ca) plus, for a host with `caFiles[host]`, that PEM file. The extra CA is trusted for that host
 * only — a private CA named for one registry must not vouch for the token realm, a CDN or any other host the
 * registry redirects us to. One SecureContext per CA file is built once (parsing ~300 roots per connection
 * would be wasteful).
 */
export class DispatcherPool {
  private readonly dispatchers = new Map<string, Dispatcher>();
  private readonly contexts = new Map<string, tls.SecureContext>();

  constructor(
    private readonly options: StoreOptions,
    private readonly proxyEnv: ProxyEnv,
  ) {}

  /** The dispatcher for a URL and the proxy it goes through (undefined: direct). */
  forUrl(url: URL): { dispatcher: Dispatcher; proxy: string | undefined } {
    const proxy = proxyFor(url, this.proxyEnv);
    const caFile = url.protocol === 'https:' ? caFileFor(hostOf(url), this.options) : undefined;
    const key = `${proxy ?? 'direct'}\n${caFile ?? ''}`;
    let d = this.dispatchers.get(key);
    if (!d) {
      d = this.create(proxy, caFile);
      this.dispatchers.set(key, d);
    }
    return { dispatcher: d, proxy };
  }

  private create(proxy: string | undefined, caFile: string | undefined): Dispatcher {
    const secureContext = caFile ? this.contextFor(caFile) : undefined;
    const tlsOptions = secureContext ? { secureContext } : {};
    const { Agent, ProxyAgent } = undici();
    if (!proxy) return new Agent({ connect: tlsOptions });
    try {
      // requestTls applies to the registry inside the CONNECT tunnel; the proxy itself is verified with the
      // default store. Credentials in the proxy URL become Proxy-Authorization (undici does this).
      return new ProxyAgent({ uri: proxy, requestTls: tlsOptions });
    } catch {
      // No cause: URL errors carry the input, and a proxy URL may hold credentials.
      throw new AirlockError('BAD_INPUT', 'The proxy URL in HTTPS_PROXY/HTTP_PROXY is not valid; set it to http://host:port.');
    }
  }

  private contextFor(caFile: string): tls.SecureContext {
    let ctx = this.contexts.get(caFile);
    if (ctx) return ctx;
    let pem: string;
    try {
      pem = readFileSync(caFile, 'utf8');
    } catch (e) {
      throw new AirlockError('BAD_INPUT', `Cannot read the CA file ${caFile} given with --registry-ca (${messageOf(e)}); check the path.`, { cause: e });
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new AirlockError('BAD_INPUT', `The CA file ${caFile} given with --registry-ca holds no PEM certificate; give a PEM CA bundle.`);
    }
    const defaults = typeof tls.getCACertificates === 'function' ? tls.getCACertificates('default') : [...tls.rootCertificates];
    try {
      ctx = tls.createSecureContext({ ca: [...defaults, pem] });
    } catch (e) {
      throw new AirlockError('BAD_INPUT', `The CA file ${caFile} given with --registry-ca could not be loaded (${messageOf(e)}); give a valid PEM CA bundle.`, { cause: e });
    }
    this.contexts.set(caFile, ctx);
    return ctx;
  }

  async close(): Promise<void> {
    const all = [...this.dispatchers.values()];
    this.dispatchers.clear();
    await Promise.all(all.map((d) => d.close().catch(() => undefined)));
  }
}
