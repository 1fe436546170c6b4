import { Flags } from '@oclif/core';
import type { PolicyInput } from '../verify/index.js';

/**
 * cosign's keyless identity-policy flags, with cosign's meanings (src/verify/policy.ts), for commands that verify
 * Fulcio certificates. Regexps match the whole value.
 */
export const identityPolicyFlags = {
  'certificate-identity': Flags.string({ description: 'exact subject alternative name the certificate must have' }),
  'certificate-identity-regexp': Flags.string({ description: 'regexp the whole SAN must match' }),
  'certificate-oidc-issuer': Flags.string({ description: 'exact OIDC issuer, e.g. https://token.actions.githubusercontent.com' }),
  'certificate-oidc-issuer-regexp': Flags.string({ description: 'regexp the whole OIDC issuer must match' }),
  'certificate-github-workflow-repository': Flags.string({ description: 'owner/repo in the legacy extension 1.3.6.1.4.1.57264.1.5' }),
  'certificate-github-workflow-ref': Flags.string({ description: 'ref in the legacy extension …1.6, e.g. refs/tags/v2.9.4' }),
  'certificate-github-workflow-sha': Flags.string({ description: 'commit in the legacy extension …1.3' }),
  'certificate-github-workflow-name': Flags.string({ description: 'workflow name in the legacy extension …1.4' }),
  'certificate-github-workflow-trigger': Flags.string({ description: 'event name in the legacy extension …1.2' }),
  'certificate-source-repository-uri': Flags.string({ description: 'Source Repository URI extension …1.12, e.g. https://github.com/fluxcd/source-controller' }),
  'certificate-source-repository-ref': Flags.string({ description: 'Source Repository Ref extension …1.14, e.g. refs/tags/v1.9.4' }),
};

type IdentityFlagValues = { [K in keyof typeof identityPolicyFlags]?: string };

export function policyInputFromFlags(f: IdentityFlagValues): PolicyInput {
  return {
    certificateIdentity: f['certificate-identity'],
    certificateIdentityRegexp: f['certificate-identity-regexp'],
    certificateOidcIssuer: f['certificate-oidc-issuer'],
    certificateOidcIssuerRegexp: f['certificate-oidc-issuer-regexp'],
    githubWorkflowRepository: f['certificate-github-workflow-repository'],
    githubWorkflowRef: f['certificate-github-workflow-ref'],
    githubWorkflowSha: f['certificate-github-workflow-sha'],
    githubWorkflowName: f['certificate-github-workflow-name'],
    githubWorkflowTrigger: f['certificate-github-workflow-trigger'],
    sourceRepositoryUri: f['certificate-source-repository-uri'],
    sourceRepositoryRef: f['certificate-source-repository-ref'],
  };
}
