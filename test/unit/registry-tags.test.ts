import { describe, expect, it } from 'vitest';
import type { RegistryClient } from '../../src/store/registry/client.js';
import { forEachPage, nextPageUrl, parseListPage, parseNextLink } from '../../src/store/registry/tags.js';

const client = {
  registry: 'reg.example:5000',
  baseUrl: 'https://reg.example:5000',
  resolveUrl: (l: string) => new URL(l, 'https://reg.example:5000/').toString(),
} as unknown as RegistryClient;

describe('parseNextLink', () => {
  it('finds rel="next" in the forms registries send', () => {
    expect(parseNextLink('</v2/foo/tags/list?last=b&n=2>; rel="next"')).toBe('/v2/foo/tags/list?last=b&n=2');
    expect(parseNextLink('</v2/_catalog?last=a&n=1>; rel=next')).toBe('/v2/_catalog?last=a&n=1');
    expect(parseNextLink('<https://r/x?a=1,2;b>; rel="Next"')).toBe('https://r/x?a=1,2;b');
    expect(parseNextLink('</prev>; rel="prev", </next>; title="x"; rel="last next"')).toBe('/next');
  });
  it('returns undefined without a next link', () => {
    expect(parseNextLink(null)).toBeUndefined();
    expect(parseNextLink('')).toBeUndefined();
    expect(parseNextLink('</prev>; rel="prev"')).toBeUndefined();
    expect(parseNextLink('/v2/no/brackets; rel="next"')).toBeUndefined();
    expect(parseNextLink('</x>; relx="next"')).toBeUndefined();
  });
});

describe('nextPageUrl', () => {
  it('resolves relative and same-origin absolute links to a path', () => {
    expect(nextPageUrl(client, '/v2/a/tags/list?n=2', '/v2/a/tags/list?n=2&last=b')).toBe('/v2/a/tags/list?n=2&last=b');
    expect(nextPageUrl(client, '/v2/a/tags/list?n=2', 'https://reg.example:5000/v2/a/tags/list?last=c')).toBe('/v2/a/tags/list?last=c');
    expect(nextPageUrl(client, '/v2/a/tags/list?n=2', 'list?last=d')).toBe('/v2/a/tags/list?last=d');
  });
  it('refuses a link to another origin (credentials would follow it)', () => {
    expect(() => nextPageUrl(client, '/v2/a/tags/list', 'https://evil.example/v2/a/tags/list')).toThrow(/another origin/);
    expect(() => nextPageUrl(client, '/v2/a/tags/list', 'http://reg.example:5000/v2/a/tags/list')).toThrow(/another origin/);
    expect(() => nextPageUrl(client, '/v2/a/tags/list', '//evil.example/x')).toThrow(/another origin/);
  });
});

describe('forEachPage', () => {
  it('stops on a pagination loop', async () => {
    const urls: string[] = [];
    await expect(
      forEachPage(client, '/p1', async (u) => {
        urls.push(u);
        return u === '/p1' ? '</p2>; rel="next"' : '</p1>; rel="next"';
      }),
    ).rejects.toThrow(/in a loop/);
    expect(urls).toEqual(['/p1', '/p2']);
  });
});

describe('parseListPage', () => {
  const b = (s: string) => new TextEncoder().encode(s);
  it('reads the list, null as empty', () => {
    expect(parseListPage(b('{"name":"x","tags":["a","b"]}'), 'tags', 'tag list')).toEqual(['a', 'b']);
    expect(parseListPage(b('{"name":"x","tags":null}'), 'tags', 'tag list')).toEqual([]);
  });
  it('refuses what is not a list of strings', () => {
    expect(() => parseListPage(b('<html>'), 'tags', 'tag list')).toThrow(/not JSON/);
    expect(() => parseListPage(b('{"tags":[1]}'), 'tags', 'tag list')).toThrow(/not a list of strings/);
    expect(() => parseListPage(b('{"tags":"a"}'), 'tags', 'tag list')).toThrow(/not a list of strings/);
  });
});
