import { AirlockError } from '../../errors.js';
import { debug } from '../../log.js';
import { isTag } from '../../oci/reference.js';
import { failFromResponse, type RegistryClient } from './client.js';
import { discard, pullScope, readBounded, type RepoContext } from './manifests.js';

/** Pages followed at most, so a registry whose Link points on forever cannot keep a run busy forever. */
export const MAX_PAGES = 10_000;
/** One page of a tag or catalog listing; a thousand 128-character tags is ~150 KB. */
export const MAX_LIST_PAGE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_PAGE_SIZE = 1000;

/**
 * The target of the `rel="next"` link in an RFC 8288 `Link` header, or undefined. The URI is taken from between
 * `<` and `>` first, so commas and semicolons inside it do not split it; `rel` may be quoted, unquoted, or a
 * space-separated list, compared case-insensitively.
 */
export function parseNextLink(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const re = /<([^>]*)>([^<]*)/g;
  for (let m = re.exec(header); m; m = re.exec(header)) {
    const params = (m[2] ?? '').split(';').slice(1);
    for (const p of params) {
      const eq = p.indexOf('=');
      if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== 'rel') continue;
      const value = p
        .slice(eq + 1)
        .replace(/,\s*$/, '')
        .trim()
        .replace(/^"(.*)"$/, '$1');
      if (value.toLowerCase().split(/\s+/).includes('next')) return m[1];
    }
  }
  return undefined;
}

/**
 * Resolves a next-page link against the page it came from. The link is registry-controlled: one pointing at
 * another origin is refused, because following it would send this registry's credentials (and trust) there.
 */
export function nextPageUrl(client: RegistryClient, currentUrl: string, link: string): string {
  const base = new URL(client.baseUrl);
  const next = new URL(link, new URL(client.resolveUrl(currentUrl)));
  if (next.origin !== base.origin) {
    throw new AirlockError('REGISTRY_ERROR', `The registry ${client.registry} paginated to another origin (${next.origin}); refusing to follow it.`);
  }
  return `${next.pathname}${next.search}`;
}

/**
 * Visits the first page and every `rel="next"` page after it. `visit` requests and reads one page and returns
 * that page's Link header (or null to stop).
 */
export async function forEachPage(client: RegistryClient, firstUrl: string, visit: (url: string) => Promise<string | null | undefined>): Promise<void> {
  const seen = new Set<string>();
  let url: string | undefined = firstUrl;
  while (url !== undefined) {
    if (seen.has(url) || seen.size >= MAX_PAGES) {
      throw new AirlockError('REGISTRY_ERROR', `The registry ${client.registry} paginates in a loop or without end; refusing to follow it further.`);
    }
    seen.add(url);
    const link = parseNextLink(await visit(url));
    url = link === undefined ? undefined : nextPageUrl(client, url, link);
  }
}

/** Parses one page of JSON, a registry-controlled document: malformed input is a protocol error, not a crash. */
export function parseListPage(bytes: Uint8Array, field: string, what: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    doc = undefined;
  }
  if (typeof doc !== 'object' || doc === null) {
    throw new AirlockError('REGISTRY_ERROR', `The registry sent a ${what} that is not JSON; it is not speaking the distribution protocol correctly.`);
  }
  const list = (doc as Record<string, unknown>)[field];
  if (list === null || list === undefined) return []; // docker-registry sends "tags": null for an emptied repository
  if (!Array.isArray(list) || list.some((t) => typeof t !== 'string')) {
    throw new AirlockError('REGISTRY_ERROR', `The registry sent a ${what} whose "${field}" is not a list of strings; it is not speaking the distribution protocol correctly.`);
  }
  return list as string[];
}

/**
 * All tags of a repository, following pagination. A repository the registry does not know (404) has no tags:
 * [] — a mirror target that was never pushed to is the common case, not an error.
 */
export async function listTags(ctx: RepoContext, pageSize = DEFAULT_PAGE_SIZE): Promise<string[]> {
  const tags: string[] = [];
  let first = true;
  await forEachPage(ctx.client, `/v2/${ctx.name}/tags/list?n=${pageSize}`, async (url) => {
    const res = await ctx.client.request({ method: 'GET', url, headers: { Accept: 'application/json' }, scope: pullScope(ctx), retry: true });
    if (res.status === 404 && first) {
      await discard(res);
      return null;
    }
    first = false;
    if (!res.ok) return failFromResponse(res, `the tag list of ${ctx.display}`);
    const page = parseListPage(await readBounded(res, MAX_LIST_PAGE_BYTES, `tag list of ${ctx.display}`), 'tags', 'tag list');
    for (const t of page) {
      // Tags are used in URLs and printed later; one that is not a valid tag can only be an attack or a bug.
      if (isTag(t)) tags.push(t);
      else debug(ctx.options.logger, 'ignoring an invalid tag in the tag list', { repository: ctx.display });
    }
    return res.headers.get('link');
  });
  return tags;
}
