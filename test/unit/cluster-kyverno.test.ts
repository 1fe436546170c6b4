/**
 * The Kyverno policy generator on a hand-made mirrored release: how each kind of verified identity becomes a
 * keyless attestor (an exact SAN as `subject`, a regexp anchored, a SAN with wildcard characters escaped), which
 * keys of the trusted root are chosen (the logs that vouched for the signature, the CAs valid when it was logged),
 * and what it refuses to write.
 */
import { describe, expect, it } from 'vitest';
import type { MirroredImage, MirroredRelease } from '../../src/cluster/mirrored-release.js';
import { kyvernoPolicies } from '../../src/cluster/kyverno.js';
import { pemOf } from '../../src/cluster/trust-material.js';
import type { Digest } from '../../src/oci/digest.js';
import type { TrustAnchor } from '../../src/trust/index.js';
import { GITHUB_ACTIONS_ISSUER } from '../../src/upstream/profile.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const b64 = (s: string) => Buffer.from(s).toString('base64');
const hex = (s: string) => Buffer.from(s).toString('hex');
const id32 = (c: string) => c.repeat(32);
const TRUSTED_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  certificateAuthorities: [
    { certChain: { certificates: [{ rawBytes: b64('old-ca') }] }, validFor: { start: '2021-01-01T00:00:00Z', end: '2022-01-01T00:00:00Z' } },
    { certChain: { certificates: [{ rawBytes: b64('intermediate') }, { rawBytes: b64('root') }] }, validFor: { start: '2022-01-01T00:00:00Z' } },
  ],
  tlogs: [
    { baseUrl: 'https://rekor.old', publicKey: { rawBytes: b64('rekor-old-key') }, logId: { keyId: b64(id32('a')) } },
    { baseUrl: 'https://rekor.example', publicKey: { rawBytes: b64('rekor-key') }, logId: { keyId: b64(id32('b')) } },
  ],
  ctlogs: [
    { baseUrl: 'https://ct.one', publicKey: { rawBytes: b64('ct-one-key') }, logId: { keyId: b64(id32('c')) } },
    { baseUrl: 'https://ct.two', publicKey: { rawBytes: b64('ct-two-key') }, logId: { keyId: b64(id32('d')) } },
  ],
};
const trust = {
  source: 'file',
  digest: 'sha256:' + '0'.repeat(64),
  trustedRoot: TRUSTED_ROOT,
  bytes: Buffer.from(JSON.stringify(TRUSTED_ROOT)),
  origin: 'test',
  entries: [],
} as unknown as TrustAnchor;

const SIGNED = { tlogIds: [hex(id32('b'))], ctlogIds: [hex(id32('d'))], integratedTimes: ['2026-08-07T10:00:00.000Z'] };

function controller(name: string, tag: string, over: Partial<MirroredImage> = {}): MirroredImage {
  const gha = {
    certificateIdentityRegexp: 'https://github\\.com/fluxcd/gha-workflows/\\.github/workflows/controller-release\\.yaml@refs/tags/v\\d+\\.\\d+\\.\\d+',
    certificateOidcIssuer: GITHUB_ACTIONS_ISSUER,
    sourceRepositoryUri: `https://github.com/fluxcd/${name}`,
    sourceRepositoryRef: `refs/tags/${tag}`,
  };
  return {
    name,
    tag,
    source: 'install-manifest',
    target: `oci:/m/${name}:${tag}`,
    digest: `sha256:${'1'.repeat(64)}` as Digest,
    identities: [gha],
    verifiedIdentities: [gha],
    signatures: [{ ...SIGNED, extensions: { githubWorkflowRepository: `fluxcd/${name}`, githubWorkflowRef: `refs/tags/${tag}` } }],
    refusal: null,
    ...over,
  };
}

function release(images: MirroredImage[]): MirroredRelease {
  return { release: 'v2.9.4', target: 'oci:/m', artifact: { reference: 'oci:/m/flux-release:v2.9.4', digest: `sha256:${'2'.repeat(64)}` as Digest }, installYaml: undefined, images, ignored: [] };
}

function keylessOf(docs: Obj[], rule: number): Obj {
  return docs[0]!.spec.rules[rule].verifyImages[0].attestors[0].entries[0].keyless as Obj;
}

describe('kyvernoPolicies', () => {
  const own = (name: string, tag: string) => ({ certificateIdentity: `https://github.com/fluxcd/${name}/.github/workflows/release.yml@refs/tags/${tag}`, certificateOidcIssuer: GITHUB_ACTIONS_ISSUER });

  it('an exact SAN becomes subject (no extensions needed), a regexp is anchored, and the extensions bind repository and ref', () => {
    const m = release([controller('source-controller', 'v1.9.4', { identities: [own('source-controller', 'v1.9.4')], verifiedIdentities: [own('source-controller', 'v1.9.4')] }), controller('helm-controller', 'v1.6.3')]);
    const { documents, controllers } = kyvernoPolicies({ mirrored: m, registry: 'reg.internal/fluxcd', trust, kind: 'clusterpolicy' });
    const source = keylessOf(documents as Obj[], 0);
    expect(source.subject).toBe('https://github.com/fluxcd/source-controller/.github/workflows/release.yml@refs/tags/v1.9.4');
    expect(source.subjectRegExp).toBeUndefined();
    expect(source.additionalExtensions).toBeUndefined();
    const helm = keylessOf(documents as Obj[], 1);
    expect(helm.subjectRegExp).toBe('^(?:https://github\\.com/fluxcd/gha-workflows/\\.github/workflows/controller-release\\.yaml@refs/tags/v\\d+\\.\\d+\\.\\d+)$');
    expect(helm.additionalExtensions).toEqual({ githubWorkflowRepository: 'fluxcd/helm-controller', githubWorkflowRef: 'refs/tags/v1.6.3' });
    expect(controllers.map((c) => [c.name, c.repository, c.ref])).toEqual([
      ['source-controller', null, null],
      ['helm-controller', 'fluxcd/helm-controller', 'refs/tags/v1.6.3'],
    ]);
  });

  it('picks the keys of the logs that vouched for the signature and the CAs valid when it was logged', () => {
    const { documents } = kyvernoPolicies({ mirrored: release([controller('helm-controller', 'v1.6.3')]), registry: 'reg.internal/fluxcd', trust, kind: 'both' });
    const k = keylessOf(documents as Obj[], 0);
    expect(k.roots).toBe(pemOf('CERTIFICATE', b64('intermediate')) + pemOf('CERTIFICATE', b64('root')));
    expect(k.rekor).toEqual({ url: 'https://rekor.example', pubkey: pemOf('PUBLIC KEY', b64('rekor-key')), ignoreTlog: false });
    expect(k.ctlog).toEqual({ pubkey: pemOf('PUBLIC KEY', b64('ct-two-key')), ignoreSCT: false });
    const ivp = (documents as Obj[])[1]!.spec.attestors[0].cosign as Obj;
    expect([ivp.ctlog.rekorPubKey, ivp.ctlog.ctLogPubKey, ivp.ctlog.url]).toEqual([pemOf('PUBLIC KEY', b64('rekor-key')), pemOf('PUBLIC KEY', b64('ct-two-key')), 'https://rekor.example']);
    expect(ivp.trustedRoot.value).toBe(JSON.stringify(TRUSTED_ROOT));
  });

  it('escapes a SAN holding wildcard characters, which ClusterPolicy would read as a pattern', () => {
    const odd = { certificateIdentity: 'https://example.com/a*b?.yml', certificateOidcIssuer: GITHUB_ACTIONS_ISSUER };
    const { documents } = kyvernoPolicies({ mirrored: release([controller('odd', 'v1.0.0', { identities: [odd], verifiedIdentities: [odd] })]), registry: 'r.internal/x', trust, kind: 'clusterpolicy' });
    const re = keylessOf(documents as Obj[], 0).subjectRegExp as string;
    expect(re).toBe('^https://example\\.com/a\\*b\\?\\.yml$');
    expect(new RegExp(re).test('https://example.com/a*b?.yml')).toBe(true);
    expect(new RegExp(re).test('https://example.com/aXXb!.yml')).toBe(false);
  });

  it("refuses to bind a repository or ref the verified certificate does not carry (the policy would refuse the mirror's own image)", () => {
    const foreign = controller('helm-controller', 'v1.6.3', { signatures: [{ ...SIGNED, extensions: { githubWorkflowRepository: 'fluxcd/source-controller', githubWorkflowRef: 'refs/tags/v1.6.3' } }] });
    expect(() => kyvernoPolicies({ mirrored: release([foreign]), registry: 'r.internal/x', trust, kind: 'both' })).toThrow(/does not carry githubWorkflowRepository="fluxcd\/helm-controller"/);
  });

  it('refuses a signature logged by a log the trusted root in use does not hold', () => {
    const unknownLog = controller('helm-controller', 'v1.6.3', { signatures: [{ ...SIGNED, tlogIds: [hex(id32('z'))], extensions: { githubWorkflowRepository: 'fluxcd/helm-controller', githubWorkflowRef: 'refs/tags/v1.6.3' } }] });
    expect(() => kyvernoPolicies({ mirrored: release([unknownLog]), registry: 'r.internal/x', trust, kind: 'both' })).toThrow(/no Rekor key with log id/);
    const beforeAnyCa = controller('helm-controller', 'v1.6.3', { signatures: [{ ...SIGNED, integratedTimes: ['2020-01-01T00:00:00.000Z'], extensions: { githubWorkflowRepository: 'fluxcd/helm-controller', githubWorkflowRef: 'refs/tags/v1.6.3' } }] });
    expect(() => kyvernoPolicies({ mirrored: release([beforeAnyCa]), registry: 'r.internal/x', trust, kind: 'both' })).toThrow(/no Fulcio certificate authority valid/);
  });

  it('refuses a controller the mirror does not hold, unless --components leaves it out', () => {
    const m = release([controller('source-controller', 'v1.9.4'), controller('kustomize-controller', 'v1.9.2', { digest: null, verifiedIdentities: [], signatures: [], refusal: 'VERIFY_FAILED: wrong signer' })]);
    expect(() => kyvernoPolicies({ mirrored: m, registry: 'r.internal/x', trust, kind: 'both' })).toThrow(/kustomize-controller v1\.9\.2 of v2\.9\.4 is not in the mirror \(VERIFY_FAILED: wrong signer\)/);
    const { documents } = kyvernoPolicies({ mirrored: m, registry: 'r.internal/x', trust, kind: 'clusterpolicy', components: ['source-controller'] });
    expect((documents as Obj[])[0]!.spec.rules.map((r: Obj) => r.name)).toEqual(['source-controller']);
  });
});
