/**
 * Shared setup for the image-signature tests: identities as Flux signs (a controller through gha-workflows, its
 * SLSA provenance through the SLSA generator), the matching policies, and a signed multi-arch image in a store.
 */
import type { Digest } from '../../src/oci/digest.js';
import type { Repository } from '../../src/store/types.js';
import { controllerReleaseClaims, githubClaims, type GitHubActionsClaims } from '../../src/testkit/identity.js';
import { toPolicy, toPredicateTypes, type AttestationRule, type Policy } from '../../src/verify/index.js';
import { multiArchOf, pushIndex, type PushedIndex } from './copy-images.js';

export const ISSUER = 'https://token.actions.githubusercontent.com';
export const CONTROLLER_SAN = 'https://github.com/fluxcd/gha-workflows/.github/workflows/controller-release.yaml@refs/tags/v0.4.0';
export const SLSA_SAN = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0';

export const controllerClaims = (): GitHubActionsClaims => controllerReleaseClaims('source-controller', 'v1.9.4');
export const attackerClaims = (): GitHubActionsClaims =>
  githubClaims({ repository: 'attacker/source-controller', workflowPath: '.github/workflows/release.yml', ref: 'refs/tags/v1.9.4' });
/** The SLSA generator, called as a reusable workflow by the controller's release. */
export const slsaClaims = (): GitHubActionsClaims =>
  githubClaims({
    repository: 'fluxcd/source-controller',
    workflowPath: '.github/workflows/release.yml',
    ref: 'refs/tags/v1.9.4',
    jobWorkflowRef: 'slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0',
  });

export const controllerPolicy = (): Policy =>
  toPolicy({ certificateIdentity: CONTROLLER_SAN, certificateOidcIssuer: ISSUER, sourceRepositoryUri: 'https://github.com/fluxcd/source-controller' });
export const slsaRule = (): AttestationRule => ({
  predicateTypes: toPredicateTypes('slsaprovenance'),
  policy: toPolicy({ certificateIdentity: SLSA_SAN, certificateOidcIssuer: ISSUER }),
});

/** The flags of `verify image` / `copy` for the controller policy. */
export const CONTROLLER_FLAGS = ['--certificate-identity', CONTROLLER_SAN, '--certificate-oidc-issuer', ISSUER, '--certificate-source-repository-uri', 'https://github.com/fluxcd/source-controller'];
export const SLSA_FLAGS = ['--certificate-identity', SLSA_SAN, '--certificate-oidc-issuer', ISSUER];

/** Pushes a fresh multi-arch index (three platforms, BuildKit attestations inside) and returns it with its digest. */
export async function pushImage(repo: Repository, tag: string): Promise<{ index: PushedIndex; digest: Digest }> {
  const index = multiArchOf({ layerSizes: [512], attestations: true });
  await pushIndex(repo, index, tag);
  return { index, digest: index.descriptor.digest };
}

/** The policy file (version 1) carrying SLSA provenance signed by the generator, for `copy --policy`. */
export const SLSA_POLICY_YAML = `version: 1
attestations:
  - type: slsaprovenance
    certificateIdentity: ${SLSA_SAN}
    certificateOidcIssuer: ${ISSUER}
`;
