/**
 * Who must have signed: cosign's verification flags, with cosign's meanings, as a value.
 *
 * Keyless (Fulcio certificate) policies need BOTH an identity and an issuer, exact or regexp, as in cosign: anyone
 * with a GitHub account can obtain a Fulcio certificate, so "signed by somebody via Sigstore" proves nothing.
 *
 * Regexps must match the WHOLE value. They are compiled as `^(?:RE)$`, not `'^' + RE + '$'`: with the latter,
 * `a|b` becomes `^a|b$`, which accepts "ax" and "xb" — one branch anchored at each end only. The source is also
 * compiled on its own first, so an unbalanced pattern such as `a)|(b` (which would close our group early and
 * produce the unanchored `^(?:a)|(b)$`) is rejected as bad input. Syntax is JavaScript's RegExp without flags
 * (Go RE2 patterns as used with cosign work unchanged in the common cases: `.`, `\.`, `.*`, classes, alternations).
 *
 * Identities are matched by us on the Signer returned by @sigstore/verify — not through its policy option, whose
 * SAN check is an unanchored `String.match()` — and extensions are read from the verified leaf (extensions.ts).
 */
import { AirlockError } from '../errors.js';
import type { PublicKeyMaterial } from '../trust/keys.js';

export type Matcher = { readonly kind: 'exact'; readonly value: string } | { readonly kind: 'regexp'; readonly source: string; readonly re: RegExp };

/** Fulcio extensions a policy may pin to an exact value, with the cosign/airlock flag that sets each. */
export const POLICY_EXTENSIONS = {
  githubWorkflowTrigger: '--certificate-github-workflow-trigger', // OID …1.2 (legacy)
  githubWorkflowSha: '--certificate-github-workflow-sha', // …1.3 (legacy)
  githubWorkflowName: '--certificate-github-workflow-name', // …1.4 (legacy)
  githubWorkflowRepository: '--certificate-github-workflow-repository', // …1.5 (legacy), value owner/repo
  githubWorkflowRef: '--certificate-github-workflow-ref', // …1.6 (legacy)
  sourceRepositoryUri: '--certificate-source-repository-uri', // …1.12
  sourceRepositoryRef: '--certificate-source-repository-ref', // …1.14
} as const;
export type PolicyExtension = keyof typeof POLICY_EXTENSIONS;

export interface KeylessPolicy {
  readonly kind: 'keyless';
  readonly identity: Matcher;
  readonly issuer: Matcher;
  readonly extensions: Readonly<Partial<Record<PolicyExtension, string>>>;
}

export interface KeyPolicy {
  readonly kind: 'key';
  readonly key: PublicKeyMaterial;
  /** cosign --insecure-ignore-tlog: accept a key-based signature that was never logged. Never for keyless. */
  readonly insecureIgnoreTlog: boolean;
}

export type Policy = KeylessPolicy | KeyPolicy;

export interface PolicyInput extends Partial<Record<PolicyExtension, string>> {
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  key?: PublicKeyMaterial;
  insecureIgnoreTlog?: boolean;
}

/** Validates flag values into a Policy; every mistake is BAD_INPUT with the flag named. */
export function toPolicy(input: PolicyInput): Policy {
  const bad = (msg: string): never => {
    throw new AirlockError('BAD_INPUT', msg, { details: { check: 'policy' } });
  };
  const extensions: Partial<Record<PolicyExtension, string>> = {};
  for (const name of Object.keys(POLICY_EXTENSIONS) as PolicyExtension[]) {
    const v = input[name];
    if (v === undefined) continue;
    if (v === '') bad(`${POLICY_EXTENSIONS[name]} is empty; give the exact value the certificate must carry.`);
    extensions[name] = v;
  }
  const hasCertFlags =
    [input.certificateIdentity, input.certificateIdentityRegexp, input.certificateOidcIssuer, input.certificateOidcIssuerRegexp].some((v) => v !== undefined) ||
    Object.keys(extensions).length > 0;

  if (input.key) {
    if (hasCertFlags) bad('--key verifies a key-based signature, and the --certificate-* flags apply to certificates; give one or the other.');
    return Object.freeze({ kind: 'key', key: input.key, insecureIgnoreTlog: input.insecureIgnoreTlog === true });
  }
  if (input.insecureIgnoreTlog) {
    bad('--insecure-ignore-tlog is only allowed with --key: a keyless certificate lives ten minutes, and only the transparency log proves it signed within them.');
  }
  const identity = matcherOf(input.certificateIdentity, input.certificateIdentityRegexp, '--certificate-identity', bad);
  const issuer = matcherOf(input.certificateOidcIssuer, input.certificateOidcIssuerRegexp, '--certificate-oidc-issuer', bad);
  if (!identity || !issuer) {
    bad(
      'A keyless verification needs --certificate-identity (or -regexp) and --certificate-oidc-issuer (or -regexp), or use --key: any GitHub account can get a Fulcio certificate, so the signer must be named.',
    );
  }
  return Object.freeze({ kind: 'keyless', identity: identity!, issuer: issuer!, extensions: Object.freeze(extensions) });
}

function matcherOf(exact: string | undefined, regexp: string | undefined, flag: string, bad: (m: string) => never): Matcher | undefined {
  if (exact !== undefined && regexp !== undefined) bad(`Give ${flag} or ${flag}-regexp, not both.`);
  if (exact !== undefined) {
    if (exact === '') bad(`${flag} is empty.`);
    return Object.freeze({ kind: 'exact', value: exact });
  }
  if (regexp !== undefined) {
    if (regexp === '') bad(`${flag}-regexp is empty.`);
    return Object.freeze({ kind: 'regexp', source: regexp, re: wholeMatchRegExp(regexp, `${flag}-regexp`) });
  }
  return undefined;
}

/** Compiles a user pattern so that it matches whole values only; see the module comment for why this form. */
export function wholeMatchRegExp(source: string, flag = 'the regexp'): RegExp {
  try {
    new RegExp(source); // must be well-formed on its own (no unbalanced group escaping our wrapper)
    return new RegExp(`^(?:${source})$`);
  } catch (e) {
    throw new AirlockError('BAD_INPUT', `${flag} ${JSON.stringify(source)} is not a valid regular expression (${(e as Error).message}).`, {
      cause: e,
      details: { check: 'policy' },
    });
  }
}

export function matches(m: Matcher, value: string | undefined): boolean {
  if (value === undefined) return false;
  return m.kind === 'exact' ? value === m.value : m.re.test(value);
}

export function describeMatcher(m: Matcher): string {
  return m.kind === 'exact' ? JSON.stringify(m.value) : `/^(?:${m.source})$/`;
}

/** A JSON-able description of a policy, for verdicts and --json (no key material, only its digest). */
export type PolicySummary =
  | {
      kind: 'keyless';
      identity: { exact: string } | { regexp: string };
      issuer: { exact: string } | { regexp: string };
      extensions: Partial<Record<PolicyExtension, string>>;
    }
  | { kind: 'key'; keyDigest: string; algorithm: string; insecureIgnoreTlog: boolean };

export function summarizePolicy(p: Policy): PolicySummary {
  if (p.kind === 'key') return { kind: 'key', keyDigest: p.key.digest, algorithm: p.key.algorithm, insecureIgnoreTlog: p.insecureIgnoreTlog };
  const m = (x: Matcher | undefined) => (x === undefined ? { exact: '' } : x.kind === 'exact' ? { exact: x.value } : { regexp: x.source });
  return { kind: 'keyless', identity: m(p.identity), issuer: m(p.issuer), extensions: { ...p.extensions } };
}
