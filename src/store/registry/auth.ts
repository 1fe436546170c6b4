import { AirlockError } from '../../errors.js';
import { debug } from '../../log.js';
import type { StoreOptions } from '../options.js';
import { findCredentials, type RegistryCredentials } from './credentials.js';
import { assertSchemeAllowed, redactUrl } from './endpoint.js';
import { parseWwwAuthenticate } from './challenge.js';
import { discardBody, failFromResponse, readBodyLimited } from './response-errors.js';

export { parseWwwAuthenticate, type Challenge } from './challenge.js';

/** What a request needs access to; becomes the token scope `repository:NAME:pull,push`. */
export interface Scope {
  repository: string;
  actions: ('pull' | 'push')[];
}

/** How the authenticator reaches the token realm: one exchange, redirects and retries handled by the client. */
export type TokenSender = (url: URL, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Uint8Array }) => Promise<Response>;

/** Scope strings, one per repository with merged, sorted actions, sorted: also the token cache key. */
export function scopeStrings(scopes: readonly Scope[] | undefined): string[] {
  const byRepo = new Map<string, Set<string>>();
  for (const s of scopes ?? []) {
    const set = byRepo.get(s.repository) ?? new Set<string>();
    for (const a of s.actions) set.add(a);
    byRepo.set(s.repository, set);
  }
  return [...byRepo.entries()].map(([repo, acts]) => `repository:${repo}:${[...acts].sort().join(',')}`).sort();
}

interface CachedToken {
  token: string;
  /** ms epoch after which we fetch a new one instead of risking a 401 */
  refreshAt: number;
}

const TOKEN_BODY_LIMIT = 1024 * 1024;

/**
 * Registry authentication, per client: anonymous until the registry challenges; then Basic with credentials, or
 * the bearer-token flow (RFC 6750 with the distribution token spec): a token per scope set, cached until shortly
 * before it expires, fetched once for concurrent requests, refreshed on 401. Once the scheme is known, headers
 * are sent up front so later requests (including streamed uploads that cannot be replayed) need no 401 round trip.
 */
export class Authenticator {
  private scheme: 'unknown' | 'none' | 'basic' | 'bearer' = 'unknown';
  private bearer: { realm: URL; service?: string } | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();
  /** Scopes a challenge asked for beyond ours (e.g. `registry:catalog:*`), per cache key. */
  private readonly extraScopes = new Map<string, string[]>();
  private credentials: Promise<RegistryCredentials | undefined> | undefined;

  constructor(
    private readonly registry: string,
    private readonly options: StoreOptions,
    private readonly send: TokenSender,
  ) {}

  /** True until a response told us whether this registry needs authentication. */
  get unknown(): boolean {
    return this.scheme === 'unknown';
  }

  noteAnonymousSuccess(): void {
    if (this.scheme === 'unknown') this.scheme = 'none';
  }

  private creds(): Promise<RegistryCredentials | undefined> {
    this.credentials ??= findCredentials(this.registry, this.options);
    return this.credentials;
  }

  /**
   * The Authorization header for a request with these scopes, fetching a token if needed. Takes no abort
   * signal: concurrent requests share one token fetch, and one caller's abort must not fail the others.
   */
  async headerFor(scopes: readonly Scope[] | undefined): Promise<string | undefined> {
    if (this.scheme === 'basic') {
      const c = await this.creds();
      return c?.username !== undefined && c.password !== undefined ? basicHeader(c.username, c.password) : undefined;
    }
    if (this.scheme !== 'bearer') return undefined;
    const key = scopeStrings(scopes).join(' ');
    const cached = this.tokens.get(key);
    if (cached && Date.now() < cached.refreshAt) return `Bearer ${cached.token}`;
    let p = this.pending.get(key);
    if (!p) {
      p = this.fetchToken(key).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    const t = await p;
    this.tokens.set(key, t);
    return `Bearer ${t.token}`;
  }

  /**
   * Learns from a 401 (with `sent`, the Authorization we had sent) so the next attempt can succeed; throws
   * AUTH_FAILED when no further attempt can help (credentials refused, or none to offer).
   */
  async onUnauthorized(res: Response, scopes: readonly Scope[] | undefined, sent: string | undefined): Promise<void> {
    const challenges = parseWwwAuthenticate(res.headers.get('www-authenticate') ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    const repo = repoOf(scopes);
    if (bearer) {
      const realm = bearer.params.realm;
      if (!realm) throw new AirlockError('REGISTRY_ERROR', `Registry ${this.registry} asked for a bearer token without saying where to get one (no realm); check the registry's auth configuration.`);
      let realmUrl: URL;
      try {
        realmUrl = new URL(realm);
      } catch {
        throw new AirlockError('REGISTRY_ERROR', `Registry ${this.registry} named a token realm that is not a URL; check the registry's auth configuration.`);
      }
      // Refused before any token request: a plain-HTTP realm would carry the password in clear.
      assertSchemeAllowed(realmUrl, this.options, `the token service of ${this.registry}`);
      this.scheme = 'bearer';
      this.bearer = bearer.params.service !== undefined ? { realm: realmUrl, service: bearer.params.service } : { realm: realmUrl };
      const key = scopeStrings(scopes).join(' ');
      this.tokens.delete(key);
      const ours = new Set([...(key ? key.split(' ') : []), ...(this.extraScopes.get(key) ?? [])]);
      const asked = (bearer.params.scope ?? '').split(' ').filter((s) => s);
      const added = asked.filter((s) => !ours.has(s));
      if (added.length) this.extraScopes.set(key, [...(this.extraScopes.get(key) ?? []), ...added]);
      debug(this.options.logger, 'registry asked for a bearer token', { registry: this.registry, realm: redactUrl(realmUrl) });
      // A token that lacked a scope we did not ask for is worth one more try; lacking one we asked for, it is not.
      if (sent?.startsWith('Bearer ') && bearer.params.error === 'insufficient_scope' && added.length === 0) {
        const c = await this.creds();
        throw new AirlockError(
          'AUTH_FAILED',
          c
            ? `Registry ${this.registry} refused access to ${repo} with the credentials from ${c.source} (insufficient_scope); check that the account may pull or push it.`
            : `Registry ${this.registry} requires credentials for ${repo} (401) and none were found; log in with docker login or pass --authfile.`,
        );
      }
      return;
    }
    if (basic) {
      const c = await this.creds();
      if (sent?.startsWith('Basic ')) throw this.refused(c, repo);
      if (c?.username === undefined || c.password === undefined) throw this.missing(repo);
      this.scheme = 'basic';
      return;
    }
    throw new AirlockError('AUTH_FAILED', `Registry ${this.registry} answered 401 for ${repo} without a usable challenge; check the registry's auth configuration.`);
  }

  /** The error for a 401 that persists after we authenticated. */
  async failure(scopes: readonly Scope[] | undefined): Promise<AirlockError> {
    const c = await this.creds();
    return c ? this.refused(c, repoOf(scopes)) : this.missing(repoOf(scopes));
  }

  private refused(c: RegistryCredentials | undefined, repo: string): AirlockError {
    if (!c) return this.missing(repo);
    return new AirlockError('AUTH_FAILED', `Registry ${this.registry} refused the credentials for ${repo} (401); check the username/password in ${c.source}.`);
  }

  private missing(repo: string): AirlockError {
    return new AirlockError('AUTH_FAILED', `Registry ${this.registry} requires credentials for ${repo} (401) and none were found; log in with docker login or pass --authfile.`);
  }

  private async fetchToken(key: string): Promise<CachedToken> {
    const b = this.bearer;
    if (!b) throw new AirlockError('INTERNAL', 'A token was requested before a bearer challenge.');
    const scopes = [...new Set([...(key ? key.split(' ') : []), ...(this.extraScopes.get(key) ?? [])])];
    const c = await this.creds();
    const url = new URL(b.realm);
    let res: Response;
    if (c?.identityToken) {
      // OAuth2 refresh-token grant: what docker does with an identity token from `docker login`.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.identityToken, client_id: 'airlock' });
      if (b.service !== undefined) form.set('service', b.service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.send(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new TextEncoder().encode(form.toString()) });
    } else {
      if (b.service !== undefined) url.searchParams.set('service', b.service);
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (c?.username !== undefined && c.password !== undefined) {
        url.searchParams.set('account', c.username);
        headers.authorization = basicHeader(c.username, c.password);
      }
      res = await this.send(url, { method: 'GET', headers });
    }
    const repo = repoOfKey(key);
    if (res.status === 401 || res.status === 403) {
      await discardBody(res);
      throw c ? this.refused(c, repo) : this.missing(repo);
    }
    if (!res.ok) return failFromResponse(res, `a token for ${repo} from ${url.host}`);
    const bytes = await readBodyLimited(res, TOKEN_BODY_LIMIT);
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown } | undefined;
    try {
      body = bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof body) : undefined;
    } catch {
      body = undefined;
    }
    const token = typeof body?.access_token === 'string' && body.access_token ? body.access_token : typeof body?.token === 'string' ? body.token : '';
    if (!token) throw new AirlockError('AUTH_FAILED', `The token service ${url.host} of registry ${this.registry} returned no token for ${repo}; check the registry's auth configuration.`);
    // The spec's default lifetime is 60 s; refresh a little early (10 %, at most 30 s) to avoid racing expiry.
    const lifetime = typeof body?.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : 60_000;
    const issued = typeof body?.issued_at === 'string' ? Date.parse(body.issued_at) : NaN;
    const start = Number.isNaN(issued) || issued > Date.now() ? Date.now() : issued;
    return { token, refreshAt: start + lifetime - Math.min(lifetime * 0.1, 30_000) };
  }
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

function repoOf(scopes: readonly Scope[] | undefined): string {
  const names = [...new Set((scopes ?? []).map((s) => s.repository))];
  return names.length ? names.join(', ') : 'the registry';
}

function repoOfKey(key: string): string {
  const names = key.split(' ').filter((s) => s).map((s) => s.split(':')[1] ?? s);
  return names.length ? names.join(', ') : 'the registry';
}
