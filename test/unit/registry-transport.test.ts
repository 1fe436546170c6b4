import { describe, expect, it } from 'vitest';
import { assertSchemeAllowed, caFileFor, isLoopbackHost, schemeFor } from '../../src/store/registry/endpoint.js';
import { isDroppedConnection, unreachable } from '../../src/store/registry/network-errors.js';
import { matchesNoProxy, proxyDisplay, proxyEnvFrom, proxyFor } from '../../src/store/registry/proxy-env.js';
import { failFromResponse } from '../../src/store/registry/response-errors.js';
import { backoffMs, isRetryableStatus, parseRetryAfter } from '../../src/store/registry/retry.js';
import { Semaphore } from '../../src/store/registry/semaphore.js';

describe('loopback and scheme policy', () => {
  it('recognises loopback as Docker does, and nothing that only looks like it', () => {
    for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1', '[::ffff:127.0.0.1]', new URL('http://[::ffff:127.0.0.1]').hostname]) {
      expect(isLoopbackHost(h), h).toBe(true);
    }
    for (const h of ['localhost.evil.com', '127.0.0.1.nip.io', '128.0.0.1', '10.0.0.1', '[::2]', 'example.com', '0.0.0.0']) {
      expect(isLoopbackHost(h), h).toBe(false);
    }
  });

  it('uses http for loopback and listed hosts, https otherwise and whenever a CA file is given', () => {
    expect(schemeFor('127.0.0.1:5000', {})).toBe('http');
    expect(schemeFor('localhost:5000', {})).toBe('http');
    expect(schemeFor('127.0.0.1:5000', { caFiles: { '127.0.0.1:5000': '/ca.pem' } })).toBe('https');
    expect(schemeFor('registry.lan:5000', {})).toBe('https');
    expect(schemeFor('registry.lan:5000', { insecureRegistries: ['registry.lan:5000'] })).toBe('http');
    expect(schemeFor('ghcr.io', {})).toBe('https');
  });

  it('looks CA files up by host:port, then host', () => {
    expect(caFileFor('r.lan:5000', { caFiles: { 'r.lan': '/a' } })).toBe('/a');
    expect(caFileFor('r.lan:5000', { caFiles: { 'r.lan:5000': '/b', 'r.lan': '/a' } })).toBe('/b');
    expect(caFileFor('other.lan', { caFiles: { 'r.lan': '/a' } })).toBeUndefined();
  });

  it('refuses plain HTTP off loopback (downgrades, http realms) and odd schemes', () => {
    expect(() => assertSchemeAllowed(new URL('http://registry.example/v2/'), {}, 'x')).toThrow(expect.objectContaining({ code: 'INSECURE_REFUSED' }));
    expect(() => assertSchemeAllowed(new URL('file:///etc/passwd'), {}, 'x')).toThrow(expect.objectContaining({ code: 'INSECURE_REFUSED' }));
    expect(() => assertSchemeAllowed(new URL('http://127.0.0.1:1/'), {}, 'x')).not.toThrow();
    expect(() => assertSchemeAllowed(new URL('http://r.lan:5000/'), { insecureRegistries: ['r.lan:5000'] }, 'x')).not.toThrow();
    // Listing one port of a host does not open the others.
    expect(() => assertSchemeAllowed(new URL('http://r.lan:6000/'), { insecureRegistries: ['r.lan:5000'] }, 'x')).toThrow();
  });
});

describe('proxy selection (curl rules)', () => {
  const u = (s: string) => new URL(s);

  it('picks HTTPS_PROXY for https and HTTP_PROXY for http, lower case first', () => {
    const env = proxyEnvFrom({ HTTPS_PROXY: 'http://up:1', https_proxy: 'http://low:1', HTTP_PROXY: 'proxy:3128' });
    expect(proxyFor(u('https://r.example/'), env)).toBe('http://low:1');
    expect(proxyFor(u('http://r.example/'), env)).toBe('http://proxy:3128');
    expect(proxyFor(u('https://r.example/'), proxyEnvFrom({}))).toBeUndefined();
  });

  it('matches NO_PROXY names, sub-domains, leading dots, ports, IPs, CIDRs and *', () => {
    const m = (url: string, np: string) => matchesNoProxy(u(url), np);
    expect(m('https://r.example/', 'r.example')).toBe(true);
    expect(m('https://a.r.example/', '.r.example')).toBe(true);
    expect(m('https://a.r.example/', '*.r.example')).toBe(true);
    expect(m('https://evilr.example/', 'r.example')).toBe(false);
    expect(m('https://r.example.evil/', 'r.example')).toBe(false);
    expect(m('https://r.example:5000/', 'r.example:5000')).toBe(true);
    expect(m('https://r.example:6000/', 'r.example:5000')).toBe(false);
    expect(m('https://r.example/', 'r.example:443')).toBe(true);
    expect(m('http://127.0.0.1:5000/', '127.0.0.1')).toBe(true);
    expect(m('http://127.0.0.1:5000/', '127.0.0.0/8')).toBe(true);
    expect(m('http://10.1.2.3/', '10.0.0.0/8, 192.168.0.0/16')).toBe(true);
    expect(m('http://11.1.2.3/', '10.0.0.0/8')).toBe(false);
    expect(m('http://[::1]:5000/', '::1')).toBe(true);
    expect(m('http://[::1]:5000/', '[::1]:5000')).toBe(true);
    expect(m('https://anything/', '*')).toBe(true);
    expect(m('https://r.example/', '')).toBe(false);
  });

  it('does not bypass loopback implicitly', () => {
    expect(proxyFor(u('http://127.0.0.1:5000/'), proxyEnvFrom({ http_proxy: 'http://p:1' }))).toBe('http://p:1');
    expect(proxyFor(u('http://localhost:5000/'), proxyEnvFrom({ http_proxy: 'http://p:1', no_proxy: 'localhost' }))).toBeUndefined();
  });

  it('never shows proxy credentials', () => {
    expect(proxyDisplay('http://user:hunter2@proxy.corp:3128')).toBe('proxy.corp:3128');
  });
});

describe('retry policy', () => {
  it('retries 429 and 502-504 always, 500 only for reads', () => {
    for (const s of [429, 502, 503, 504]) expect(isRetryableStatus(s, 'PUT')).toBe(true);
    expect(isRetryableStatus(500, 'GET')).toBe(true);
    expect(isRetryableStatus(500, 'PUT')).toBe(false);
    for (const s of [400, 401, 403, 404, 501]) expect(isRetryableStatus(s, 'GET')).toBe(false);
  });

  it('parses Retry-After seconds and HTTP dates, ignores junk', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
    for (const v of [null, undefined, '', '-1', '1.5', 'soon', '2015-10-21']) expect(parseRetryAfter(v, now)).toBeUndefined();
  });

  it('backs off exponentially with jitter, capped', () => {
    const p = { retries: 4, baseMs: 100, maxWaitMs: 1000 };
    expect(backoffMs(0, p, () => 0)).toBe(50);
    expect(backoffMs(0, p, () => 1)).toBe(100);
    expect(backoffMs(3, p, () => 1)).toBe(800);
    expect(backoffMs(10, p, () => 1)).toBe(1000);
    expect(backoffMs(10, p, () => 0)).toBe(500);
  });
});

describe('failFromResponse', () => {
  const res = (status: number, body: string, url = 'https://r.example/v2/x/manifests/v1?X-Amz-Signature=SECRETSIG') => {
    const r = new Response(body, { status });
    Object.defineProperty(r, 'url', { value: url });
    return r;
  };
  const fail = (r: Response, what = 'the manifest x:v1') => failFromResponse(r, what).catch((e: unknown) => e as Error & { code: string });

  it('maps statuses to codes with one sentence that includes the registry error', async () => {
    const e404 = await fail(res(404, JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { big: 'x'.repeat(1000) } }] })));
    expect(e404.code).toBe('NOT_FOUND');
    expect(e404.message).toBe('The manifest x:v1 was not found on r.example (404 MANIFEST_UNKNOWN: manifest unknown); check the repository, tag or digest.');
    expect((await fail(res(401, ''))).code).toBe('AUTH_FAILED');
    expect((await fail(res(403, ''))).code).toBe('AUTH_FAILED');
    expect((await fail(res(429, ''))).code).toBe('REGISTRY_ERROR');
    expect((await fail(res(503, ''))).code).toBe('REGISTRY_ERROR');
    expect((await fail(res(413, ''))).code).toBe('LIMIT_EXCEEDED');
    expect((await fail(res(400, JSON.stringify({ errors: [{ code: 'DIGEST_INVALID', message: 'x' }] })))).code).toBe('INTEGRITY');
    expect((await fail(res(405, 'nope'))).code).toBe('REGISTRY_ERROR');
  });

  it('neutralises and truncates what the registry says, and never shows the URL query', async () => {
    const evil = `\u001b[2J\u001b]0;pwned\u0007${'A'.repeat(5000)}`;
    const e = await fail(res(500, JSON.stringify({ errors: [{ code: 'X', message: evil }] })));
    // eslint-disable-next-line no-control-regex
    expect(e.message).not.toMatch(/[\u0000-\u001f]/);
    expect(e.message.length).toBeLessThan(400);
    expect(e.message).not.toContain('SECRETSIG');
    const plain = await fail(res(502, '<html>\n<b>Bad gateway</b>\n</html>'));
    expect(plain.message).not.toContain('\n');
  });

  it('reads at most a bounded amount of an error body', async () => {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled += 65536;
        if (pulled > 100 * 1024 * 1024) c.close();
        else c.enqueue(new Uint8Array(65536));
      },
    });
    const r = new Response(stream, { status: 500 });
    await fail(r);
    expect(pulled).toBeLessThan(1024 * 1024);
  });
});

describe('network errors', () => {
  const fetchFailed = (code: string, message = code) => new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) });

  it('classifies dropped connections (retry) apart from refusals (no retry)', () => {
    expect(isDroppedConnection(fetchFailed('ECONNRESET'))).toBe(true);
    expect(isDroppedConnection(fetchFailed('UND_ERR_SOCKET', 'other side closed'))).toBe(true);
    expect(isDroppedConnection(new TypeError('terminated', { cause: new Error('other side closed') }))).toBe(true);
    expect(isDroppedConnection(fetchFailed('ECONNREFUSED'))).toBe(false);
    expect(isDroppedConnection(fetchFailed('ENOTFOUND'))).toBe(false);
    expect(isDroppedConnection(Object.assign(new Error('x'), { name: 'AbortError' }))).toBe(false);
  });

  it('says what happened and what to do, naming --registry-ca for certificate failures', () => {
    expect(unreachable(fetchFailed('ENOTFOUND'), 'r.example', 'registry').message).toBe(
      'Cannot reach registry r.example: the host name does not resolve; check the address and your DNS settings.',
    );
    const tls = unreachable(fetchFailed('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'r.example:5000', 'registry', 'proxy.corp:3128');
    expect(tls.code).toBe('UNREACHABLE');
    expect(tls.message).toBe(
      'Cannot reach registry r.example:5000 through proxy proxy.corp:3128: its TLS certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE); pass --registry-ca r.example:5000=FILE with the CA certificate (PEM) that signed it.',
    );
  });
});

describe('Semaphore', () => {
  it('admits at most the limit and hands slots over in order', async () => {
    const s = new Semaphore(2);
    const order: number[] = [];
    const r1 = await s.acquire();
    const r2 = await s.acquire();
    const p3 = s.acquire().then((r) => (order.push(3), r));
    const p4 = s.acquire().then((r) => (order.push(4), r));
    expect(s.inFlight).toBe(2);
    r1();
    r1(); // double release is harmless
    const r3 = await p3;
    expect(order).toEqual([3]);
    r2();
    const r4 = await p4;
    expect(order).toEqual([3, 4]);
    r3();
    r4();
    expect(s.inFlight).toBe(0);
  });
});
