/**
 * GitHub Actions identities for the local Sigstore test kit (see sigstore.ts): OIDC claims shaped like the tokens
 * GitHub issues to Flux's release workflows, a minter for cosign's `--identity-token`, and the mapping from claims
 * to a Fulcio certificate's SAN and extensions (Fulcio's GitHub principal).
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import type { FulcioExtension } from './x509.js';

export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';
const GITHUB = 'https://github.com';

/** The claims of a GitHub Actions OIDC token that Fulcio reads (all strings, as GitHub sends them). */
export interface GitHubActionsClaims {
  iss: string;
  sub: string;
  /** `owner/repo/.github/workflows/file.yaml@ref` of the workflow that runs the job (a reusable one if called). */
  job_workflow_ref: string;
  /** The calling repository `owner/repo` and its ref: for a reusable workflow these are the caller's. */
  repository: string;
  ref: string;
  sha: string;
  workflow: string;
  workflow_ref: string;
  workflow_sha?: string;
  job_workflow_sha?: string;
  event_name: string;
  repository_owner: string;
  repository_id?: string;
  repository_owner_id?: string;
  repository_visibility?: string;
  runner_environment?: string;
  run_id?: string;
  run_attempt?: string;
  [claim: string]: string | undefined;
}

const FAKE_SHA = 'a'.repeat(40);

/** Flux's own release workflow: checksums, flux-cli and flux-manifests are signed by it (FACTS §2). */
export function fluxReleaseClaims(version: string): GitHubActionsClaims {
  return githubClaims({ repository: 'fluxcd/flux2', workflowPath: '.github/workflows/release.yaml', ref: `refs/tags/${version}`, workflow: 'release' });
}

/**
 * A controller released through fluxcd/gha-workflows' reusable workflow: the SAN names gha-workflows at its own
 * tag, while the source repository and ref extensions name the calling controller repository (FACTS §2).
 */
export function controllerReleaseClaims(controller: string, version: string, workflowsVersion = 'v0.4.0'): GitHubActionsClaims {
  return githubClaims({
    repository: `fluxcd/${controller}`,
    workflowPath: '.github/workflows/release.yml',
    ref: `refs/tags/${version}`,
    workflow: 'release',
    jobWorkflowRef: `fluxcd/gha-workflows/.github/workflows/controller-release.yaml@refs/tags/${workflowsVersion}`,
  });
}

export interface GitHubClaimsOptions {
  repository: string;
  workflowPath: string;
  ref: string;
  workflow?: string;
  /** Set for a reusable workflow; defaults to the caller's own workflow at its ref. */
  jobWorkflowRef?: string;
  sha?: string;
  eventName?: string;
  issuer?: string;
}

export function githubClaims(o: GitHubClaimsOptions): GitHubActionsClaims {
  const owner = o.repository.split('/')[0] ?? o.repository;
  const workflowRef = `${o.repository}/${o.workflowPath}@${o.ref}`;
  const sha = o.sha ?? FAKE_SHA;
  return {
    iss: o.issuer ?? GITHUB_ACTIONS_ISSUER,
    sub: `repo:${o.repository}:ref:${o.ref}`,
    job_workflow_ref: o.jobWorkflowRef ?? workflowRef,
    job_workflow_sha: sha,
    repository: o.repository,
    ref: o.ref,
    sha,
    workflow: o.workflow ?? 'release',
    workflow_ref: workflowRef,
    workflow_sha: sha,
    event_name: o.eventName ?? 'push',
    repository_owner: owner,
    repository_id: '1',
    repository_owner_id: '2',
    repository_visibility: 'public',
    runner_environment: 'github-hosted',
    run_id: '100',
    run_attempt: '1',
  };
}

/** The certificate SAN Fulcio derives from a GitHub Actions token. */
export function subjectAlternativeName(claims: Partial<GitHubActionsClaims>): { uri: string } | { email: string } {
  if (claims.job_workflow_ref) return { uri: `${GITHUB}/${claims.job_workflow_ref}` };
  if (claims.email) return { email: claims.email };
  if (claims.sub) return { uri: claims.sub };
  throw new Error('token has no job_workflow_ref, email or sub claim');
}

/** Fulcio's extensions for GitHub tokens: both the deprecated …1.1–1.6 and the newer …1.8–1.22 generations. */
export function fulcioExtensions(c: Partial<GitHubActionsClaims>): FulcioExtension[] {
  const ext: FulcioExtension[] = [];
  const add = (n: number, value: string | undefined, legacy = false): void => {
    if (value !== undefined && value !== '') ext.push({ oid: `1.3.6.1.4.1.57264.1.${n}`, value, legacy });
  };
  add(1, c.iss, true);
  add(2, c.event_name, true);
  add(3, c.sha, true);
  add(4, c.workflow, true);
  add(5, c.repository, true);
  add(6, c.ref, true);
  add(8, c.iss);
  if (!c.job_workflow_ref) return ext; // not a GitHub Actions token: issuer only
  add(9, `${GITHUB}/${c.job_workflow_ref}`);
  add(10, c.job_workflow_sha);
  add(11, c.runner_environment);
  add(12, c.repository && `${GITHUB}/${c.repository}`);
  add(13, c.sha);
  add(14, c.ref);
  add(15, c.repository_id);
  add(16, c.repository_owner && `${GITHUB}/${c.repository_owner}`);
  add(17, c.repository_owner_id);
  add(18, c.workflow_ref && `${GITHUB}/${c.workflow_ref}`);
  add(19, c.workflow_sha);
  add(20, c.event_name);
  if (c.repository && c.run_id && c.run_attempt) add(21, `${GITHUB}/${c.repository}/actions/runs/${c.run_id}/attempts/${c.run_attempt}`);
  add(22, c.repository_visibility);
  return ext;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/**
 * An ES256 JWT with the given claims, for cosign's `--identity-token`. cosign parses it (and insists on a known
 * algorithm) but only Fulcio would check the signature, and the kit's Fulcio deliberately does not: it is signed
 * with the kit's throwaway OIDC key so that it is well-formed, nothing more.
 */
export function mintIdentityToken(claims: Partial<GitHubActionsClaims>, key: KeyObject, now = new Date()): string {
  const iat = Math.floor(now.getTime() / 1000);
  const kid = createHash('sha256').update(key.export({ format: 'jwk' }).x ?? '').digest('hex').slice(0, 16);
  const header = { alg: 'ES256', typ: 'JWT', kid };
  const payload = { aud: 'sigstore', iat, nbf: iat - 5, exp: iat + 600, ...claims };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(sig)}`;
}

/** The claims of a JWT, unverified (the kit's Fulcio trusts whatever token it is given, like the mock). */
export function decodeTokenClaims(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) throw new Error('not a JWT');
  const claims: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new Error('JWT payload is not an object');
  return claims as Record<string, unknown>;
}
