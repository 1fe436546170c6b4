/**
 * Attack tests, mutation style. Each attack is built with a private Sigstore (@sigstore/mock) where the attacker
 * controls what a real attacker controls (their own Fulcio certificate with any SAN they can get, entries in the
 * public log, the bundle bytes). Each test:
 *   1. shows the attack is refused, and by the named check (details.check);
 *   2. switches that check off (test-only entry point) and shows the attack then gets through — or, where two
 *      checks guard the same property, is stopped by the other one, and gets through with both off.
 * So every named check is proven to be what stops its attack; deleting one makes its test fail.
 */
import { Verifier, toSignedEntity } from '@sigstore/verify';
import { bundleFromJSON } from '@sigstore/bundle';
import { beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { toTrustAnchor, type TrustAnchor } from '../../src/trust/anchor.js';
import { toPolicy, wholeMatchRegExp, type CheckName, type Policy, type Verdict } from '../../src/verify/index.js';
import { verifyBundleWithChecksDisabled } from '../../src/verify/testing.js';
import { createMockSigstore, FLUX_SAN, GITHUB_ISSUER, githubExtensions, type MockSigstore } from '../support/sigstore-fixtures.js';

const ARTIFACT = Buffer.from('flux_2.9.4_checksums.txt contents\n');
const FLUX_REGEXP = 'https://github\\.com/fluxcd/.*'; // what the Flux docs recommend (anchored by us)
let mock: MockSigstore;
let trust: TrustAnchor;

beforeAll(async () => {
  mock = await createMockSigstore();
  trust = toTrustAnchor(mock.trustedRootBytes, { source: 'file', origin: 'mock trusted_root.json' });
});

const exactPolicy = (identity = FLUX_SAN, issuer = GITHUB_ISSUER) => toPolicy({ certificateIdentity: identity, certificateOidcIssuer: issuer });

function attempt(bundle: unknown, policy: Policy, disabled: CheckName[] = [], artifact: Uint8Array = ARTIFACT): Verdict | AirlockError {
  try {
    return verifyBundleWithChecksDisabled({ bundle, artifact: { bytes: artifact } }, trust, policy, disabled);
  } catch (e) {
    if (e instanceof AirlockError) return e;
    throw e;
  }
}

function checkOf(r: Verdict | AirlockError): string {
  return r instanceof AirlockError ? String(r.details?.check) : 'passed';
}

/** The attack is stopped by `check`, and passes once `check` is disabled. */
function expectStoppedBy(check: CheckName, bundle: unknown, policy: Policy, artifact: Uint8Array = ARTIFACT): void {
  const refused = attempt(bundle, policy, [], artifact);
  expect(refused).toBeInstanceOf(AirlockError);
  expect(checkOf(refused)).toBe(check);
  const withoutCheck = attempt(bundle, policy, [check], artifact);
  expect(checkOf(withoutCheck), `with ${check} disabled the attack should get through`).toBe('passed');
  expect((withoutCheck as Verdict).disabledChecks).toEqual([check]);
}

describe('attacks on keyless verification, each stopped by a named check', () => {
  it('a genuine signature verifies with every check enabled (the baseline the attacks are mutations of)', async () => {
    const v = attempt(await mock.signBlob(ARTIFACT), exactPolicy());
    expect(checkOf(v)).toBe('passed');
  });

  it('wrong identity: a certificate for another workflow — stopped by identity', async () => {
    const bundle = await mock.signBlob(ARTIFACT, { san: 'https://github.com/attacker/flux2/.github/workflows/release.yaml@refs/tags/v2.9.4' });
    expectStoppedBy('identity', bundle, exactPolicy());
  });

  it('a regexp that matches only as a substring — stopped by identity (anchored ^(?:…)$)', async () => {
    // The attacker's own repository, with the trusted prefix further along the SAN.
    const san = 'https://github.com/attacker/repo/.github/workflows/x.yml@refs/heads/https://github.com/fluxcd/flux2';
    const bundle = await mock.signBlob(ARTIFACT, { san });
    const policy = toPolicy({ certificateIdentityRegexp: FLUX_REGEXP, certificateOidcIssuer: GITHUB_ISSUER });
    expectStoppedBy('identity', bundle, policy);
    // The footgun we avoid: @sigstore/verify's own SAN policy is an unanchored String.match and accepts it.
    const entity = toSignedEntity(bundleFromJSON(bundle), ARTIFACT);
    expect(() => new Verifier(trust.material).verify(entity, { subjectAlternativeName: new RegExp(FLUX_REGEXP) })).not.toThrow();
  });

  it('an alternation a|b: "^"+re+"$" would anchor one branch at each end only — stopped by identity', async () => {
    const alternation = 'https://github\\.com/fluxcd/flux2/.*|https://github\\.com/fluxcd/source-controller/.*';
    // Matches the second branch at the end only, which `^A|B$` would accept.
    const san = 'https://github.com/attacker/x/.github/workflows/y.yml@refs/heads/https://github.com/fluxcd/source-controller/z';
    expect(new RegExp(`^${alternation}$`).test(san)).toBe(true); // the naive compilation is fooled
    expect(wholeMatchRegExp(alternation).test(san)).toBe(false);
    const bundle = await mock.signBlob(ARTIFACT, { san });
    expectStoppedBy('identity', bundle, toPolicy({ certificateIdentityRegexp: alternation, certificateOidcIssuer: GITHUB_ISSUER }));
  });

  it('wrong issuer: a token from another OIDC provider with the expected SAN — stopped by issuer', async () => {
    const evil = 'https://evil-oidc.example.com';
    const bundle = await mock.signBlob(ARTIFACT, { issuer: evil, extensions: githubExtensions(evil) });
    expectStoppedBy('issuer', bundle, exactPolicy());
  });

  it('a certificate from an untrusted CA (a self-made "Fulcio") — stopped by certificate-chain', async () => {
    const bundle = await mock.signBlob(ARTIFACT, { untrustedCA: true });
    expectStoppedBy('certificate-chain', bundle, exactPolicy());
  });

  it('a certificate expired at the integrated time — stopped by certificate-validity, then by certificate-chain', async () => {
    // Fulcio certificates live 10 minutes; the entry was logged an hour later (e.g. a leaked key reused).
    const bundle = await mock.signBlob(ARTIFACT, { logTime: new Date(Date.now() + 3_600_000) });
    expect(checkOf(attempt(bundle, exactPolicy()))).toBe('certificate-validity');
    // Defence in depth: @sigstore/verify's chain check also validates the path at the timestamp.
    expect(checkOf(attempt(bundle, exactPolicy(), ['certificate-validity']))).toBe('certificate-chain');
    expect(checkOf(attempt(bundle, exactPolicy(), ['certificate-validity', 'certificate-chain']))).toBe('passed');
  });

  it('a tampered SET (signed entry timestamp) — stopped by tlog', async () => {
    const bundle = await mock.signBlob(ARTIFACT, { bundleVersion: 'v0.1' });
    const entry = (bundle.verificationMaterial as { tlogEntries: { inclusionPromise: { signedEntryTimestamp: string } }[] }).tlogEntries[0]!;
    const set = Buffer.from(entry.inclusionPromise.signedEntryTimestamp, 'base64');
    set[set.length - 3]! ^= 0x01;
    entry.inclusionPromise.signedEntryTimestamp = set.toString('base64');
    expectStoppedBy('tlog', bundle, exactPolicy());
  });

  it('a log entry for the same signature under another verifier (key substitution) — stopped by tlog-verifier', async () => {
    // The attacker logs this signature and digest with their own certificate (or a key derived from the signature);
    // sigstore-js compares only signature and digest with the body, so its tlog step accepts the entry.
    const attackerPem = await mock.certificatePem({ san: 'https://github.com/attacker/repo/.github/workflows/x.yml@refs/heads/main' });
    const bundle = await mock.signBlob(ARTIFACT, { logVerifierPem: attackerPem });
    expectStoppedBy('tlog-verifier', bundle, exactPolicy());
  });

  it('a keyless policy missing the identity or the issuer — refused by policy (BAD_INPUT)', async () => {
    // Anyone can get a Fulcio certificate: here, a stranger's, which must not satisfy an incomplete policy.
    const bundle = await mock.signBlob(ARTIFACT, { san: 'https://github.com/stranger/repo/.github/workflows/w.yml@refs/heads/main' });
    expect(() => toPolicy({ certificateOidcIssuer: GITHUB_ISSUER })).toThrow(/needs --certificate-identity/);
    expect(() => toPolicy({ certificateIdentityRegexp: '.*' })).toThrow(/--certificate-oidc-issuer/);
    const handMade = { kind: 'keyless', issuer: { kind: 'exact', value: GITHUB_ISSUER }, extensions: {} } as unknown as Policy;
    const refused = attempt(bundle, handMade);
    expect(refused).toBeInstanceOf(AirlockError);
    expect((refused as AirlockError).code).toBe('BAD_INPUT');
    expectStoppedBy('policy', bundle, handMade);
    // Nor may a hand-made policy smuggle in an unanchored RegExp.
    const unanchored = {
      kind: 'keyless',
      identity: { kind: 'regexp', source: 'stranger', re: /stranger/ },
      issuer: { kind: 'exact', value: GITHUB_ISSUER },
      extensions: {},
    } as unknown as Policy;
    expectStoppedBy('policy', bundle, unanchored);
  });

  it('a signature by another controller pipeline (shared workflow SAN, other source repository) — stopped by certificate-extensions', async () => {
    const san = 'https://github.com/fluxcd/gha-workflows/.github/workflows/controller-release.yaml@refs/tags/v0.3.0';
    const bundle = await mock.signBlob(ARTIFACT, { san, extensions: githubExtensions(GITHUB_ISSUER, 'fluxcd/helm-controller', 'refs/tags/v1.6.3') });
    const policy = toPolicy({
      certificateIdentity: san,
      certificateOidcIssuer: GITHUB_ISSUER,
      sourceRepositoryUri: 'https://github.com/fluxcd/source-controller',
      sourceRepositoryRef: 'refs/tags/v1.9.4',
    });
    expectStoppedBy('certificate-extensions', bundle, policy);
  });

  it('a genuine attestation about another artifact (DSSE subject) — stopped by artifact', async () => {
    const bundle = await mock.signInToto('0'.repeat(64));
    expectStoppedBy('artifact', bundle, exactPolicy());
  });

  it("a swapped artifact: the bundle's signature is over other bytes — stopped by artifact, then by signature", async () => {
    const bundle = await mock.signBlob(Buffer.from('the real checksums'));
    expect(checkOf(attempt(bundle, exactPolicy()))).toBe('artifact');
    expect(checkOf(attempt(bundle, exactPolicy(), ['artifact']))).toBe('signature');
    expect(checkOf(attempt(bundle, exactPolicy(), ['artifact', 'signature']))).toBe('passed');
  });
});
