/**
 * `copy --policy FILE`: the identity policy for signatures and attestations, parsed with file:line errors, and
 * combined with the command line's policy flags.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { loadImagePolicies } from '../../src/image/policies.js';
import { parsePolicyFile } from '../../src/image/policy-file.js';
import { ISSUER, SLSA_POLICY_YAML, SLSA_SAN } from '../support/image-signing.js';

function refusal(fn: () => unknown): AirlockError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AirlockError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('parsePolicyFile', () => {
  it('reads signature identities and attestation rules, expanding cosign predicate names', () => {
    const p = parsePolicyFile(
      `version: 1
signatures:
  - certificateIdentityRegexp: ^https://github\\.com/fluxcd/.*$
    certificateOidcIssuer: ${ISSUER}
    sourceRepositoryUri: https://github.com/fluxcd/source-controller
  - key: keys/cosign.pub
attestations:
  - types: [slsaprovenance1, https://example.com/custom/v1]
    certificateIdentity: ${SLSA_SAN}
    certificateOidcIssuer: ${ISSUER}
`,
      '/etc/airlock/policy.yaml',
    );
    expect(p.signatures).toEqual([
      { input: { certificateIdentityRegexp: '^https://github\\.com/fluxcd/.*$', certificateOidcIssuer: ISSUER, sourceRepositoryUri: 'https://github.com/fluxcd/source-controller' } },
      { input: {}, keyPath: '/etc/airlock/keys/cosign.pub' },
    ]);
    expect(p.attestations[0]!.predicateTypes).toEqual(['https://slsa.dev/provenance/v1', 'https://example.com/custom/v1']);
    expect(parsePolicyFile(SLSA_POLICY_YAML, 'p.yaml').attestations[0]!.predicateTypes).toEqual(['https://slsa.dev/provenance/v0.2', 'https://slsa.dev/provenance/v1']);
  });

  it('refuses mistakes naming file and line', () => {
    const typo = refusal(() => parsePolicyFile(`version: 1\nattestations:\n  - type: slsaprovenance\n    certificateIdentiy: x\n`, 'p.yaml'));
    expect(typo.code).toBe('BAD_INPUT');
    expect(typo.message).toMatch(/^p\.yaml:4: attestations\[0\] has the unknown key "certificateIdentiy"/);
    expect(refusal(() => parsePolicyFile('signatures: []\n', 'p.yaml')).message).toMatch(/^p\.yaml:1: must say version: 1/);
    expect(refusal(() => parsePolicyFile('version: 1\nattestations:\n  - certificateIdentity: x\n', 'p.yaml')).message).toMatch(/needs exactly one of type and types/);
    expect(refusal(() => parsePolicyFile('version: 1\nattestations:\n  - type: provenance\n', 'p.yaml')).message).toMatch(/^p\.yaml:3: attestations\[0\]: The predicate type "provenance" is neither/);
    expect(refusal(() => parsePolicyFile('version: 1\nsignatures: {}\n', 'p.yaml')).message).toMatch(/^p\.yaml:2: signatures must be a list/);
    expect(refusal(() => parsePolicyFile('version: 1\nextra: 1\n', 'p.yaml')).message).toMatch(/unknown key "extra"/);
  });
});

describe('loadImagePolicies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-policy-'));

  it('flags first, then the file; attestation rules only from the file; keys read relative to it', () => {
    const pub = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' });
    writeFileSync(join(dir, 'cosign.pub'), pub);
    writeFileSync(join(dir, 'policy.yaml'), `version: 1\nsignatures:\n  - key: cosign.pub\n${SLSA_POLICY_YAML.replace('version: 1\n', '')}`);
    const p = loadImagePolicies({ policy: { certificateIdentity: 'https://x', certificateOidcIssuer: ISSUER }, policyFile: join(dir, 'policy.yaml') });
    expect(p.signatures.map((s) => s.kind)).toEqual(['keyless', 'key']);
    expect(p.attestations).toHaveLength(1);
    expect(loadImagePolicies({ policyFile: join(dir, 'policy.yaml') }).signatures.map((s) => s.kind)).toEqual(['key']);
  });

  it('no policy at all is BAD_INPUT saying what is missing; a policy file with only attestation rules too', () => {
    expect(refusal(() => loadImagePolicies({})).message).toMatch(/needs --certificate-identity .* or use --key/);
    writeFileSync(join(dir, 'only-att.yaml'), SLSA_POLICY_YAML);
    expect(refusal(() => loadImagePolicies({ policyFile: join(dir, 'only-att.yaml') })).code).toBe('BAD_INPUT');
  });
});
