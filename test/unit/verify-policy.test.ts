import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { parsePublicKey } from '../../src/trust/keys.js';
import { describeMatcher, matches, summarizePolicy, toPolicy, wholeMatchRegExp } from '../../src/verify/index.js';

const ISSUER = 'https://token.actions.githubusercontent.com';

function badInput(f: () => unknown): AirlockError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AirlockError);
    expect((e as AirlockError).code).toBe('BAD_INPUT');
    return e as AirlockError;
  }
  throw new Error('expected BAD_INPUT');
}

describe('regexps match the whole value: ^(?:RE)$', () => {
  it('an alternation a|b accepts a and b, and refuses xb and ax (which ^a|b$ would accept)', () => {
    const re = wholeMatchRegExp('a|b');
    expect(re.source).toBe('^(?:a|b)$');
    expect(['a', 'b'].map((s) => re.test(s))).toEqual([true, true]);
    expect(['xb', 'ax', 'ab', '', 'a\n'].map((s) => re.test(s))).toEqual([false, false, false, false, false]);
    const naive = new RegExp('^a|b$');
    expect([naive.test('xb'), naive.test('ax')]).toEqual([true, true]); // why not '^' + re + '$'
  });

  it('a pattern that only matches a substring does not match', () => {
    const re = wholeMatchRegExp('https://github\\.com/fluxcd/.*');
    expect(re.test('https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.9.4')).toBe(true);
    expect(re.test('https://evil.example/?https://github.com/fluxcd/x')).toBe(false);
  });

  it('refuses a pattern that would escape the wrapper group (a)|(b) or does not compile', () => {
    // `a)|(b` wrapped naively gives ^(?:a)|(b)$ — unanchored again; it must be refused, not compiled.
    expect(badInput(() => wholeMatchRegExp('a)|(b')).details?.check).toBe('policy');
    badInput(() => wholeMatchRegExp('('));
    badInput(() => wholeMatchRegExp('a\\'));
  });

  it('a trailing newline does not sneak past $ (no m flag)', () => {
    expect(wholeMatchRegExp('abc').test('abc\n')).toBe(false);
  });
});

describe('toPolicy: cosign flags and meanings', () => {
  it('exact identity and issuer are compared as strings, not patterns', () => {
    const p = toPolicy({ certificateIdentity: 'https://x/a.b', certificateOidcIssuer: ISSUER });
    if (p.kind !== 'keyless') throw new Error('keyless expected');
    expect(matches(p.identity, 'https://x/a.b')).toBe(true);
    expect(matches(p.identity, 'https://x/aXb')).toBe(false);
    expect(matches(p.identity, undefined)).toBe(false);
    expect(describeMatcher(p.identity)).toBe('"https://x/a.b"');
  });

  it('keyless needs an identity and an issuer (any GitHub account can get a certificate)', () => {
    expect(badInput(() => toPolicy({})).message).toMatch(/any GitHub account/);
    badInput(() => toPolicy({ certificateIdentity: 'x' }));
    badInput(() => toPolicy({ certificateOidcIssuer: ISSUER }));
    badInput(() => toPolicy({ certificateIdentity: '', certificateOidcIssuer: ISSUER }));
  });

  it('exact and regexp variants of the same flag are exclusive', () => {
    badInput(() => toPolicy({ certificateIdentity: 'a', certificateIdentityRegexp: 'a', certificateOidcIssuer: ISSUER }));
    badInput(() => toPolicy({ certificateIdentity: 'a', certificateOidcIssuer: ISSUER, certificateOidcIssuerRegexp: '.*' }));
  });

  it('extension flags are kept as exact values; empty values are refused', () => {
    const p = toPolicy({ certificateIdentity: 'a', certificateOidcIssuer: ISSUER, githubWorkflowRepository: 'fluxcd/flux2', sourceRepositoryRef: 'refs/tags/v1' });
    expect(summarizePolicy(p)).toEqual({
      kind: 'keyless',
      identity: { exact: 'a' },
      issuer: { exact: ISSUER },
      extensions: { githubWorkflowRepository: 'fluxcd/flux2', sourceRepositoryRef: 'refs/tags/v1' },
    });
    badInput(() => toPolicy({ certificateIdentity: 'a', certificateOidcIssuer: ISSUER, sourceRepositoryUri: '' }));
  });

  it('--insecure-ignore-tlog only with --key; --key excludes the certificate flags', () => {
    const key = parsePublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' }).toString());
    expect(badInput(() => toPolicy({ certificateIdentity: 'a', certificateOidcIssuer: ISSUER, insecureIgnoreTlog: true })).message).toMatch(/only allowed with --key/);
    badInput(() => toPolicy({ key, certificateIdentity: 'a' }));
    const p = toPolicy({ key, insecureIgnoreTlog: true });
    expect(summarizePolicy(p)).toEqual({ kind: 'key', keyDigest: key.digest, algorithm: 'ecdsa-p256', insecureIgnoreTlog: true });
  });
});

describe('parsePublicKey', () => {
  it('accepts ECDSA P-256/P-384, Ed25519 and RSA public keys', () => {
    const pem = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => k.export({ format: 'pem', type: 'spki' }).toString();
    expect(parsePublicKey(pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)).algorithm).toBe('ecdsa-p256');
    expect(parsePublicKey(pem(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)).algorithm).toBe('ecdsa-p384');
    expect(parsePublicKey(pem(generateKeyPairSync('ed25519').publicKey)).algorithm).toBe('ed25519');
    expect(parsePublicKey(pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)).algorithm).toBe('rsa');
  });

  it('refuses private keys, small RSA keys, other curves and non-PEM input', () => {
    const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(badInput(() => parsePublicKey(priv)).message).toMatch(/private key/);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    badInput(() => parsePublicKey(small));
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    badInput(() => parsePublicKey(k1));
    badInput(() => parsePublicKey('not a key'));
    badInput(() => parsePublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'));
  });
});
