import { createRequire } from 'node:module';
import type * as Undici from 'undici';
import type { Agent, Dispatcher, ProxyAgent } from 'undici';

/**
 * The three parts of undici the registry backend uses — Agent, ProxyAgent and `Dispatcher.request()` — loaded
 * from their own modules on first use. The package's entry point loads all of undici (fetch, WebSocket,
 * EventSource, caches, mocks…): ~60–100 ms of start-up for every command, ~2/5 of what importing `airlock copy`
 * costs; these three take ~35 ms, and only when a registry is contacted. undici 7 has no `exports` map, so the
 * paths resolve; if a later undici moves them, the entry point is used instead (same classes either way).
 */
export interface UndiciParts {
  Agent: typeof Agent;
  ProxyAgent: typeof ProxyAgent;
  request(dispatcher: Dispatcher, opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
}

type RequestFn = (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

let parts: UndiciParts | undefined;

export function undici(): UndiciParts {
  if (parts) return parts;
  const require = createRequire(import.meta.url);
  try {
    const requestFn = require('undici/lib/api/api-request.js') as RequestFn;
    parts = {
      Agent: require('undici/lib/dispatcher/agent.js') as typeof Agent,
      ProxyAgent: require('undici/lib/dispatcher/proxy-agent.js') as typeof ProxyAgent,
      request: (dispatcher, opts) => requestFn.call(dispatcher, opts),
    };
    if (typeof parts.Agent !== 'function' || typeof parts.ProxyAgent !== 'function' || typeof requestFn !== 'function') throw new TypeError('moved');
  } catch {
    const all = require('undici') as typeof Undici;
    parts = { Agent: all.Agent, ProxyAgent: all.ProxyAgent, request: (dispatcher, opts) => dispatcher.request(opts) };
  }
  return parts;
}
