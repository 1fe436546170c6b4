/**
 * `airlock policy kyverno`: Kyverno policies that make a cluster enforce, at admission, what airlock enforced when
 * it mirrored a release — each controller's image under the mirror's prefix must carry a keyless signature by the
 * identity that verified it upstream (anchored subject, exact issuer, and the controller's repository and ref
 * where the policy kind can express them), checked against the trust material airlock used, given inline so the
 * cluster needs no TUF access for it.
 *
 * Two kinds: a ClusterPolicy (kyverno.io/v1, verifyImages; deprecated from Kyverno 1.17 but still served) with one
 * rule per controller, and one ImageValidatingPolicy (policies.kyverno.io/v1, Kyverno >= 1.17) per controller.
 */
import { stringify } from 'yaml';
import { AirlockError } from '../errors.js';
import type { TrustAnchor } from '../trust/index.js';
import type { ExpandedIdentity } from '../upstream/index.js';
import { escapeRegExp } from '../upstream/template.js';
import type { MirroredImage, MirroredRelease } from './mirrored-release.js';
import { policyTrust, type PolicyTrust } from './trust-material.js';

export type PolicyKind = 'clusterpolicy' | 'imagevalidatingpolicy' | 'both';

export interface KyvernoInput {
  mirrored: MirroredRelease;
  /** The prefix the cluster pulls the mirror from, e.g. `registry.internal/fluxcd`. */
  registry: string;
  trust: TrustAnchor;
  kind: PolicyKind;
  /** Controllers to cover (default: every controller of the release). */
  components?: readonly string[];
  /** Rekor URL for the cluster (default: the trusted root's tlog baseUrl). */
  rekorUrl?: string;
}

export interface KyvernoOutput {
  yaml: string;
  documents: Record<string, unknown>[];
  controllers: { name: string; tag: string; digest: string; identity: string; repository: string | null; ref: string | null }[];
}

/** A Kubernetes object name from free text: lowercase DNS-1123 label characters. */
function dnsName(...parts: string[]): string {
  const name = parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return name.slice(0, 63).replace(/-$/, '');
}

/** The SAN matcher as Kyverno fields: an exact SAN without wildcard characters as `subject`, else an anchored RE2 regexp. */
function subjectOf(id: ExpandedIdentity): { subject: string } | { subjectRegExp: string } {
  if (id.certificateIdentity !== undefined) {
    // ClusterPolicy matches `subject` as a wildcard pattern (* and ?): a SAN containing either is given as a regexp.
    if (!/[*?]/.test(id.certificateIdentity)) return { subject: id.certificateIdentity };
    return { subjectRegExp: `^${escapeRegExp(id.certificateIdentity)}$` };
  }
  if (id.certificateIdentityRegexp !== undefined) return { subjectRegExp: `^(?:${id.certificateIdentityRegexp})$` };
  throw new AirlockError('INTERNAL', 'A keyless identity without a certificate identity reached the policy generator.');
}

function issuerOf(id: ExpandedIdentity): { issuer: string } {
  if (/[*?]/.test(id.certificateOidcIssuer)) throw new AirlockError('BAD_INPUT', `The issuer ${JSON.stringify(id.certificateOidcIssuer)} holds a wildcard character, which Kyverno would read as a pattern.`);
  return { issuer: id.certificateOidcIssuer };
}

const GITHUB = 'https://github.com/';

/**
 * The repository and ref an identity binds, as the legacy GitHub extensions (…1.5 owner/repo, …1.6 ref) that
 * ClusterPolicy's additionalExtensions can match. Fulcio sets them from the same token claims as the Source
 * Repository URI/Ref (…1.12/…1.14) airlock checked; the verified certificate must carry exactly these values.
 */
function legacyExtensions(image: MirroredImage, id: ExpandedIdentity): Record<string, string> {
  const out: Record<string, string> = {};
  if (id.githubWorkflowRepository !== undefined) out.githubWorkflowRepository = id.githubWorkflowRepository;
  else if (id.sourceRepositoryUri?.startsWith(GITHUB)) out.githubWorkflowRepository = id.sourceRepositoryUri.slice(GITHUB.length);
  if (id.githubWorkflowRef !== undefined) out.githubWorkflowRef = id.githubWorkflowRef;
  else if (id.sourceRepositoryRef !== undefined) out.githubWorkflowRef = id.sourceRepositoryRef;
  for (const k of ['githubWorkflowTrigger', 'githubWorkflowSha', 'githubWorkflowName'] as const) if (id[k] !== undefined) out[k] = id[k];
  for (const [k, v] of Object.entries(out)) {
    if (/[*?]/.test(v)) throw new AirlockError('BAD_INPUT', `The ${k} value ${JSON.stringify(v)} of ${image.name} holds a wildcard character, which Kyverno would read as a pattern.`);
    // The policy must admit the mirror's own signatures: the verified certificate carries these exact values.
    if (!image.signatures.some((s) => s.extensions[k] === v)) {
      throw new AirlockError('VERIFY_FAILED', `The verified certificate of ${image.name} does not carry ${k}=${JSON.stringify(v)}, so a policy binding it would refuse the mirror's own image.`);
    }
  }
  return out;
}

function globsOf(registry: string, name: string): string[] {
  return [`${registry}/${name}:*`, `${registry}/${name}@*`];
}

function header(lines: string[]): string {
  return lines.map((l) => (l === '' ? '#' : `# ${l}`)).join('\n');
}

const COMMON_NOTES = (m: MirroredRelease, trust: TrustAnchor, tufFree: boolean): string[] => [
  `Generated by airlock from its ledger: release ${m.release}, mirrored to ${m.target}; release artifact ${m.artifact.digest}.`,
  `Trust material (Fulcio roots, Rekor and CT log keys) from the trusted root ${trust.digest} (${trust.source}), inline${tufFree ? ': no TUF access is needed for it.' : ' (but see the TUF note below).'}`,
  '',
  'mutateDigest: true  - Kyverno rewrites a matching image given by tag to the digest it verified, so the kubelet',
  '                      pulls exactly those bytes; a tag moved in the registry afterwards changes nothing.',
  'verifyDigest: true  - an image given with a digest must be the one the signature names (a tag alone is resolved',
  '                      and pinned by mutateDigest first); required: true - a matching image must be verified.',
  '',
  "Stricter than the policy in Flux's documentation (subject regexp ^https://github\\.com/fluxcd/.*$): that",
  "accepts a controller's image signed by ANOTHER controller's pipeline (they share the gha-workflows identity),",
  'and any older release under a newer tag. Here each controller has its own attestor: its exact signing identity,',
  'anchored (^...$, dots escaped), the exact issuer, and where the kind can express it its repository and ref.',
];

export function kyvernoPolicies(input: KyvernoInput): KyvernoOutput {
  const { mirrored, trust } = input;
  const controllers = selectControllers(mirrored, input.components);
  const docs: { comment: string; doc: Record<string, unknown> }[] = [];
  const summary: KyvernoOutput['controllers'] = [];
  const prepared = controllers.map((image) => {
    const id = image.verifiedIdentities[0]!;
    const t = policyTrust(trust.trustedRoot, `${image.target}@${image.digest}`, image.signatures);
    const ext = legacyExtensions(image, id);
    summary.push({
      name: image.name,
      tag: image.tag,
      digest: image.digest!,
      identity: id.certificateIdentity ?? `^(?:${id.certificateIdentityRegexp})$`,
      repository: ext.githubWorkflowRepository ?? null,
      ref: ext.githubWorkflowRef ?? null,
    });
    return { image, id, trust: t, ext };
  });
  const rekorUrl = (t: PolicyTrust) => input.rekorUrl ?? t.rekor.baseUrl;

  if (input.kind === 'clusterpolicy' || input.kind === 'both') {
    const doc = {
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: {
        name: dnsName('airlock', mirrored.release, 'flux-images'),
        annotations: {
          'policies.kyverno.io/title': `Flux ${mirrored.release} images as airlock verified them`,
          'airlock/release': mirrored.release,
          'airlock/trusted-root': trust.digest,
        },
      },
      spec: {
        background: false,
        webhookConfiguration: { failurePolicy: 'Fail', timeoutSeconds: 30 },
        rules: prepared.map(({ image, id, trust: t, ext }) => ({
          name: dnsName(image.name),
          match: { any: [{ resources: { kinds: ['Pod'] } }] },
          verifyImages: [
            {
              imageReferences: globsOf(input.registry, image.name),
              failureAction: 'Enforce',
              type: 'Cosign',
              mutateDigest: true,
              verifyDigest: true,
              required: true,
              attestors: [
                {
                  count: 1,
                  entries: [
                    {
                      keyless: {
                        ...subjectOf(id),
                        ...issuerOf(id),
                        ...(Object.keys(ext).length > 0 ? { additionalExtensions: ext } : {}),
                        roots: t.roots,
                        rekor: { url: rekorUrl(t), pubkey: t.rekor.pem, ignoreTlog: false },
                        ctlog: { pubkey: t.ctlog.pem, ignoreSCT: false },
                      },
                    },
                  ],
                },
              ],
            },
          ],
        })),
      },
    };
    docs.push({
      comment: header([
        `Kyverno ClusterPolicy (kyverno.io/v1; deprecated in favour of ImageValidatingPolicy from Kyverno 1.17): one rule and`,
        `one keyless attestor per controller of Flux ${mirrored.release}.`,
        ...COMMON_NOTES(mirrored, trust, true),
        '',
        'The repository and ref are bound through additionalExtensions githubWorkflowRepository/githubWorkflowRef (Fulcio',
        'OIDs 1.3.6.1.4.1.57264.1.5/.6, set from the same token claims as the Source Repository URI/Ref .12/.14 airlock',
        "checked; ClusterPolicy cannot match .12/.14 themselves). additionalExtensions values are Kyverno wildcard patterns:",
        'airlock writes only literal values (no * or ?), so they match exactly.',
        ...LIMITS,
      ]),
      doc,
    });
  }
  if (input.kind === 'imagevalidatingpolicy' || input.kind === 'both') {
    for (const { image, id, trust: t, ext } of prepared) {
      const doc = {
        apiVersion: 'policies.kyverno.io/v1',
        kind: 'ImageValidatingPolicy',
        metadata: {
          name: dnsName('airlock', mirrored.release, image.name),
          annotations: { 'airlock/release': mirrored.release, 'airlock/image': `${image.name}:${image.tag}@${image.digest}`, 'airlock/trusted-root': trust.digest },
        },
        spec: {
          validationActions: ['Deny'],
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] }] },
          matchImageReferences: globsOf(input.registry, image.name).map((glob) => ({ glob })),
          validationConfigurations: { mutateDigest: true, verifyDigest: true, required: true },
          attestors: [
            {
              name: 'airlock',
              cosign: {
                keyless: {
                  identities: [{ ...subjectOf(id), ...issuerOf(id) }],
                  ...(Object.keys(ext).length > 0 ? { additionalExtensions: ext } : {}),
                  roots: t.roots,
                },
                ctlog: { url: rekorUrl(t), rekorPubKey: t.rekor.pem, ctLogPubKey: t.ctlog.pem, insecureIgnoreTlog: false, insecureIgnoreSCT: false },
                trustedRoot: { value: Buffer.from(trust.bytes).toString('utf8') },
              },
            },
          ],
          validations: [
            {
              expression: 'images.containers.map(image, verifyImageSignatures(image, [attestors.airlock])).all(e, e > 0)',
              message: `${image.name} must be signed by ${id.certificateIdentity ?? 'the identity airlock verified'} (airlock, Flux ${mirrored.release})`,
            },
          ],
        },
      };
      const unbound = Object.entries(ext).map(([k, v]) => `${k}=${v}`);
      docs.push({
        comment: header([
          `Kyverno ImageValidatingPolicy (policies.kyverno.io/v1, Kyverno >= 1.17) for ${image.name} ${image.tag} (${image.digest}).`,
          ...COMMON_NOTES(mirrored, trust, false),
          '',
          'cosign.trustedRoot carries the trusted root airlock verified with, byte for byte; keyless.roots and the',
          'ctlog keys are the entries of it that vouched for this image.',
          ...(unbound.length > 0
            ? [
                `keyless.additionalExtensions binds ${unbound.join(', ')} (the legacy OIDs .5/.6, as in the`,
                'ClusterPolicy). CAUTION: the CRD accepts the field, but Kyverno enforces it for this kind only from',
                'kyverno/kyverno#16008 on (kyverno/kyverno#15809); an older Kyverno ignores it silently and checks only the',
                'anchored subject — the SHARED signing workflow — and the issuer: there apply the ClusterPolicy too, and pin the',
                'digests with `airlock flux install-args`.',
              ]
            : []),
          'Kyverno initialises its TUF client for every keyless attestor of this kind even when the trust material is',
          'inline; in an air-gapped cluster point cosign.tuf.mirror at a TUF mirror you serve, or use the ClusterPolicy.',
          ...LIMITS,
        ]),
        doc,
      });
    }
  }
  const yaml = docs.map((d) => `${d.comment}\n${stringify(d.doc, { lineWidth: 0 })}`).join('---\n');
  return { yaml, documents: docs.map((d) => d.doc), controllers: summary };
}

const LIMITS = [
  '',
  'What the mirror enforced that this policy cannot: trust on first use (a release whose checksums, or an image',
  'whose tag, changed upstream after the ledger recorded it is refused), the version binding read from the verified',
  'install.yaml (the ref binds it only where the kind can express the ref), the check that the Rekor entry logged',
  'this very certificate, SLSA provenance when images.require_provenance is set, and a ledger of every decision.',
  'Kyverno checks whatever signatures the registry serves for the image; it does not pin the digest airlock',
  'verified: `airlock flux install-args` pins every controller by that digest.'];

function selectControllers(m: MirroredRelease, components: readonly string[] | undefined): MirroredImage[] {
  const controllers = m.images.filter((i) => i.source === 'install-manifest');
  const names = new Set(controllers.map((c) => c.name));
  const wanted = components ?? controllers.map((c) => c.name);
  const unknown = wanted.filter((w) => !names.has(w));
  if (unknown.length > 0) {
    throw new AirlockError('BAD_INPUT', `${unknown.join(', ')} ${unknown.length > 1 ? 'are not controllers' : 'is not a controller'} of ${m.release} (it has ${[...names].join(', ')}).`);
  }
  const chosen = controllers.filter((c) => wanted.includes(c.name));
  const missing = chosen.filter((c) => c.digest === null);
  if (missing.length > 0) {
    throw new AirlockError(
      'NOT_FOUND',
      `${missing.map((c) => `${c.name} ${c.tag}`).join(', ')} of ${m.release} ${missing.length > 1 ? 'are' : 'is'} not in the mirror (${missing.map((c) => c.refusal ?? 'never copied').join('; ')}); pass --components naming only mirrored controllers.`,
    );
  }
  if (chosen.length === 0) throw new AirlockError('BAD_INPUT', `No controller of ${m.release} was selected.`);
  return chosen;
}

export { selectControllers };
