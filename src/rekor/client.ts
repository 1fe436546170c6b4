/**
 * A small Rekor v1 HTTP client: search the index by an artifact's SHA-256 and read entries, bounded in the number
 * of entries and in response sizes (anyone can log entries for a hash, so a search can return any number of them).
 * It fetches and parses; it never decides whether an entry is trustworthy (src/verify does).
 */
import { isLoopbackHost } from '../loopback.js';
import { AirlockError, messageOf } from '../errors.js';
import { debug, type Logger } from '../log.js';
import { toRekorEntries, type RekorEntry } from './entry.js';

export const PUBLIC_GOOD_REKOR_URL = 'https://rekor.sigstore.dev';
/** Entries read per search at most. */
export const DEFAULT_MAX_ENTRIES = 32;
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
const PARALLEL_READS = 4;
const ENTRY_ID = /^(?:[0-9a-f]{16})?[0-9a-f]{64}$/;

export interface RekorClientOptions {
  baseUrl: string;
  maxEntries?: number;
  timeoutMs?: number;
  logger?: Logger;
}

export interface EntriesForHash {
  entries: RekorEntry[];
  /** How many UUIDs the search returned (entries beyond `maxEntries` were not read). */
  found: number;
}


/** Parses `--rekor-url`: https anywhere, plain http only to a loopback address (a test or local Rekor). */
export function toRekorBaseUrl(input: string): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new AirlockError('BAD_INPUT', `--rekor-url ${JSON.stringify(input)} is not a URL; give e.g. ${PUBLIC_GOOD_REKOR_URL}.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AirlockError('BAD_INPUT', `--rekor-url must be an https URL, not ${url.protocol}.`);
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new AirlockError('INSECURE_REFUSED', `Refusing plain http to Rekor at ${url.host}: use https (plain http is allowed only to loopback addresses).`);
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

async function readCapped(res: Response, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_RESPONSE_BYTES) {
    throw new AirlockError('LIMIT_EXCEEDED', `Rekor's answer to ${what} is ${declared} bytes, over the ${MAX_RESPONSE_BYTES}-byte limit.`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) throw new AirlockError('LIMIT_EXCEEDED', `Rekor's answer to ${what} exceeds the ${MAX_RESPONSE_BYTES}-byte limit.`);
      chunks.push(Buffer.from(chunk));
    }
  }
  return Buffer.concat(chunks);
}

export class RekorClient {
  readonly baseUrl: URL;
  private readonly maxEntries: number;
  private readonly timeoutMs: number;

  constructor(private readonly o: RekorClientOptions) {
    this.baseUrl = toRekorBaseUrl(o.baseUrl);
    this.maxEntries = o.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** JSON from `path`, or undefined on 404. */
  private async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const url = `${this.baseUrl.href.replace(/\/+$/, '')}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new AirlockError('UNREACHABLE', `Rekor at ${this.baseUrl.host} could not be reached (${messageOf(e)}); check --rekor-url and the network.`, { cause: e });
    }
    debug(this.o.logger, 'rekor', { method, path, status: res.status });
    const text = await readCapped(res, `${method} ${path}`);
    if (res.status === 404) return undefined;
    if (!res.ok) {
      throw new AirlockError('REGISTRY_ERROR', `Rekor at ${this.baseUrl.host} answered ${res.status} to ${method} ${path}.`, {
        details: { status: res.status },
      });
    }
    try {
      return JSON.parse(text.toString('utf8'));
    } catch (e) {
      throw new AirlockError('REGISTRY_ERROR', `Rekor at ${this.baseUrl.host} answered ${method} ${path} with something that is not JSON.`, { cause: e });
    }
  }

  /** UUIDs of the entries indexed under `sha256:<hex>`, deduplicated, in the order Rekor gave them. */
  async searchByHash(sha256Hex: string): Promise<string[]> {
    const json = await this.request('POST', '/api/v1/index/retrieve', { hash: `sha256:${sha256Hex.toLowerCase()}` });
    if (json === undefined) return [];
    if (!Array.isArray(json)) throw new AirlockError('REGISTRY_ERROR', `Rekor at ${this.baseUrl.host} answered its index search with something other than a list.`);
    const seen = new Set<string>();
    for (const id of json) {
      if (typeof id === 'string' && ENTRY_ID.test(id.toLowerCase())) seen.add(id.toLowerCase().slice(-64));
    }
    return [...seen];
  }

  /** One entry by UUID; undefined if Rekor does not have it (or answers with an entry that is not it). */
  async getEntry(uuid: string): Promise<RekorEntry | undefined> {
    if (!ENTRY_ID.test(uuid)) throw new AirlockError('BAD_INPUT', `${JSON.stringify(uuid)} is not a Rekor entry UUID.`);
    const json = await this.request('GET', `/api/v1/log/entries/${uuid}`);
    return json === undefined ? undefined : toRekorEntries(json).find((e) => e.uuid === uuid.slice(-64));
  }

  /** Searches by hash and reads at most `maxEntries` of the entries found. */
  async entriesForHash(sha256Hex: string): Promise<EntriesForHash> {
    const uuids = await this.searchByHash(sha256Hex);
    const toRead = uuids.slice(0, this.maxEntries);
    const entries: RekorEntry[] = [];
    for (let i = 0; i < toRead.length; i += PARALLEL_READS) {
      const batch = await Promise.all(toRead.slice(i, i + PARALLEL_READS).map((u) => this.getEntry(u)));
      for (const e of batch) if (e) entries.push(e);
    }
    return { entries, found: uuids.length };
  }
}
