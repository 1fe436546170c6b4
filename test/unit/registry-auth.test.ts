import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors.js';
import { parseWwwAuthenticate, scopeStrings } from '../../src/store/registry/auth.js';
import {
  authFilePath,
  credentialsFromEntry,
  findAuthEntry,
  findCredentials,
  helperServerUrl,
  normalizeConfigKey,
  runCredentialHelper,
} from '../../src/store/registry/credentials.js';

describe('parseWwwAuthenticate', () => {
  it('parses a distribution bearer challenge', () => {
    expect(parseWwwAuthenticate('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } },
    ]);
  });

  it('parses Basic, case-insensitive names, tokens without quotes and spaces around =', () => {
    expect(parseWwwAuthenticate('basic REALM = "Registry Realm", charset=UTF-8')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm', charset: 'UTF-8' } },
    ]);
  });

  it('keeps commas, = and escaped quotes inside quoted strings', () => {
    const [c] = parseWwwAuthenticate('Bearer realm="https://a.example/t?x=1,y=2",error="insufficient_scope",error_description="say \\"hi\\", ok"');
    expect(c?.params).toEqual({ realm: 'https://a.example/t?x=1,y=2', error: 'insufficient_scope', error_description: 'say "hi", ok' });
  });

  it('splits several challenges in one header (as fetch joins repeated headers)', () => {
    const cs = parseWwwAuthenticate('Bearer realm="https://a/t",service="s", Basic realm="b", Negotiate');
    expect(cs.map((c) => c.scheme)).toEqual(['bearer', 'basic', 'negotiate']);
    expect(cs[1]?.params.realm).toBe('b');
  });

  it('lets the first realm win so a duplicate parameter cannot redirect the token request', () => {
    const [c] = parseWwwAuthenticate('Bearer realm="https://good.example/t", realm="http://evil.example/t"');
    expect(c?.params.realm).toBe('https://good.example/t');
  });

  it('survives malformed input without looping or throwing', () => {
    for (const h of ['', ',,,', '=x', 'Bearer realm="unterminated', 'Bearer realm=', '"quoted', 'Bearer ;;; realm="x"', '\u0000\u001b[31m']) {
      expect(() => parseWwwAuthenticate(h)).not.toThrow();
    }
    expect(parseWwwAuthenticate('Bearer realm="unterminated')[0]?.params.realm).toBe('unterminated');
    expect(parseWwwAuthenticate('=x')).toEqual([]);
  });

  it('does not let a parameter named __proto__ pollute objects', () => {
    const [c] = parseWwwAuthenticate('Bearer __proto__="x", realm="r"');
    expect(c?.params.realm).toBe('r');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('bounds the work on a huge header', () => {
    const cs = parseWwwAuthenticate(`Bearer realm="r",${'a=b,'.repeat(100_000)}`);
    expect(cs).toHaveLength(1);
  });
});

describe('scopeStrings', () => {
  it('merges actions per repository and sorts, so equal scope sets share a cache key', () => {
    expect(scopeStrings([{ repository: 'b', actions: ['push'] }, { repository: 'a', actions: ['pull'] }, { repository: 'b', actions: ['pull'] }])).toEqual([
      'repository:a:pull',
      'repository:b:pull,push',
    ]);
    expect(scopeStrings(undefined)).toEqual([]);
  });
});

describe('docker config.json lookup', () => {
  const auth = (u: string, p: string) => Buffer.from(`${u}:${p}`).toString('base64');

  it('normalises keys as docker does', () => {
    expect(normalizeConfigKey('https://registry.example:5000/v1/')).toBe('registry.example:5000');
    expect(normalizeConfigKey('http://Registry.Example')).toBe('registry.example');
    expect(normalizeConfigKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normalizeConfigKey('registry-1.docker.io')).toBe('docker.io');
  });

  it('finds `host`, `https://host` and `http://host` keys, exact spellings first', () => {
    const cfg = { auths: { 'https://r.example/v2/': { auth: auth('a', '1') }, 'r.example': { auth: auth('b', '2') } } };
    expect(findAuthEntry(cfg, 'r.example')?.key).toBe('r.example');
    expect(findAuthEntry({ auths: { 'https://r.example': { auth: auth('a', '1') } } }, 'r.example')?.key).toBe('https://r.example');
    expect(findAuthEntry({ auths: { 'https://r.example/v2/': { auth: auth('a', '1') } } }, 'r.example')?.key).toBe('https://r.example/v2/');
    expect(findAuthEntry(cfg, 'other.example')).toBeUndefined();
  });

  it("maps docker.io to docker's https://index.docker.io/v1/ key", () => {
    const cfg = { auths: { 'https://index.docker.io/v1/': { auth: auth('d', 'h') } } };
    expect(findAuthEntry(cfg, 'docker.io')?.key).toBe('https://index.docker.io/v1/');
    expect(findAuthEntry(cfg, 'registry-1.docker.io')?.key).toBe('https://index.docker.io/v1/');
    expect(helperServerUrl('docker.io')).toBe('https://index.docker.io/v1/');
    expect(helperServerUrl('r.example:5000')).toBe('r.example:5000');
  });

  it('does not match a host that merely starts or ends like the registry', () => {
    const cfg = { auths: { 'r.example.evil.com': { auth: auth('a', '1') }, 'evil-r.example': { auth: auth('a', '1') } } };
    expect(findAuthEntry(cfg, 'r.example')).toBeUndefined();
  });

  it('decodes auth (password may contain colons), username/password and identitytoken', () => {
    expect(credentialsFromEntry({ auth: auth('u', 'p:a:ss') }, 'r', 'F')).toEqual({ username: 'u', password: 'p:a:ss', source: 'F' });
    expect(credentialsFromEntry({ username: 'u', password: 'p' }, 'r', 'F')).toEqual({ username: 'u', password: 'p', source: 'F' });
    expect(credentialsFromEntry({ identitytoken: 'tok' }, 'r', 'F')).toEqual({ identityToken: 'tok', source: 'F' });
    expect(credentialsFromEntry({}, 'r', 'F')).toBeUndefined();
  });

  it('rejects a malformed auth value without echoing it', () => {
    const bad = Buffer.from('no-colon-secret').toString('base64');
    try {
      credentialsFromEntry({ auth: bad }, 'r.example', '/cfg.json');
      expect.unreachable();
    } catch (e) {
      expect(isAirlockError(e, 'BAD_INPUT')).toBe(true);
      expect(String((e as Error).message)).not.toContain('no-colon-secret');
      expect(String((e as Error).message)).not.toContain(bad);
    }
  });

  it('picks the auth file: option, $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json, ~/.docker/config.json', () => {
    expect(authFilePath({ authFile: '/a.json' }, { REGISTRY_AUTH_FILE: '/b.json' })).toEqual({ path: '/a.json', explicit: true });
    expect(authFilePath({}, { REGISTRY_AUTH_FILE: '/b.json', DOCKER_CONFIG: '/d' })).toEqual({ path: '/b.json', explicit: true });
    expect(authFilePath({}, { DOCKER_CONFIG: '/d' })).toEqual({ path: join('/d', 'config.json'), explicit: false });
    expect(authFilePath({}, { HOME: '/home/u' })).toEqual({ path: join('/home/u', '.docker', 'config.json'), explicit: false });
  });
});

describe('findCredentials', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlock-cred-unit-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('prefers credentials given in the options over the auth file', async () => {
    const file = join(dir, 'c1.json');
    await writeFile(file, JSON.stringify({ auths: { 'r.example': { username: 'file', password: 'f' } } }));
    const c = await findCredentials('r.example', { authFile: file, credentials: { 'r.example': { username: 'opt', password: 'o' } } }, {});
    expect(c?.username).toBe('opt');
    expect((await findCredentials('r.example', { authFile: file }, {}))?.username).toBe('file');
  });

  it('is anonymous when the default file does not exist, an error when a named one does not', async () => {
    expect(await findCredentials('r.example', {}, { DOCKER_CONFIG: join(dir, 'nowhere') })).toBeUndefined();
    await expect(findCredentials('r.example', { authFile: join(dir, 'missing.json') }, {})).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('reports an unparsable file by name without quoting its contents', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{"auths": {"r.example": {"password": "leaky-secret"');
    const e = await findCredentials('r.example', { authFile: file }, {}).catch((x: unknown) => x as Error);
    expect(isAirlockError(e, 'BAD_INPUT')).toBe(true);
    expect((e as Error).message).toContain(file);
    expect(`${(e as Error).message} ${String((e as Error).cause ?? '')}`).not.toContain('leaky-secret');
  });

  it('refuses a credential helper name that is a path (would run a program outside PATH)', async () => {
    for (const name of ['../../tmp/evil', '/bin/sh', 'a b', '$(id)', '']) {
      await expect(runCredentialHelper(name, 'r.example', {})).rejects.toMatchObject({ code: 'BAD_INPUT' });
    }
    const file = join(dir, 'evil.json');
    await writeFile(file, JSON.stringify({ credHelpers: { 'r.example': '../../../tmp/x' } }));
    await expect(findCredentials('r.example', { authFile: file }, {})).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('says when a named helper is not installed', async () => {
    const file = join(dir, 'nohelper.json');
    await writeFile(file, JSON.stringify({ credsStore: 'airlock-absent-helper' }));
    const e = await findCredentials('r.example', { authFile: file }, { PATH: dir }).catch((x: unknown) => x as Error);
    expect(isAirlockError(e, 'AUTH_FAILED')).toBe(true);
    expect((e as Error).message).toMatch(/docker-credential-airlock-absent-helper .*not installed/);
  });
});
