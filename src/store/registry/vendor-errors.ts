import { AirlockError } from '../../errors.js';
import { neutralize } from '../../log.js';

/**
 * Real registries refuse a push for reasons the OCI distribution spec leaves to them, each with its own status,
 * code and wording. These are the refusals a mirror meets in practice, turned into one sentence that says what
 * to do — instead of "404 not found" for a repository ECR wants created first:
 *
 *  - a repository that must exist before a push: Amazon ECR answers the upload's POST with 404 NAME_UNKNOWN
 *    "The repository with name 'x' does not exist in the registry with id '…'"; Harbor answers a push into a
 *    project that does not exist with 404 NOT_FOUND (or NAME_UNKNOWN) "project p not found";
 *  - an immutable tag: ECR 400 TAG_INVALID "The image tag 't' already exists in the 'x' repository and cannot be
 *    overwritten because the repository (or tag) is immutable"; Harbor 412 PRECONDITION "Failed to process request
 *    due to 'x:t' configured as immutable" (older Harbor: 403 DENIED "… is immutable, cannot be overwrite");
 *    others 409 TAG_IMMUTABLE;
 *  - a storage quota: Harbor 403 DENIED "adding 1.3 MiB of storage resource, which when updated to current usage
 *    of … will exceed the configured upper limit of …"; GAR/GHCR 403/429 with "quota" in the message.
 *
 * Only write operations are classified (the caller says which repository and tag it was writing): on a read, a
 * 404 NAME_UNKNOWN means what it says. The registry's own words stay in the message, neutralised and cut short.
 */

export interface WriteContext {
  /** The repository path being written, e.g. `fluxcd/source-controller`. */
  repository: string;
  /** The tag being pointed, for a manifest push by tag. */
  tag?: string | undefined;
}

export interface RegistryRefusal {
  status: number;
  /** The registry's error codes (`errors[].code`), in order. */
  codes: readonly string[];
  /** The registry's first code and message, already neutralised and shortened. */
  said: string;
  host: string;
}

export type VendorRefusalKind = 'repository-missing' | 'project-missing' | 'tag-immutable' | 'quota-exceeded';

const ECR_MISSING = /repository with name '([^']{1,256})' does not exist/i;
const HARBOR_PROJECT_MISSING = /project (\S{1,256}) not found/i;
const IMMUTABLE = /immutable/i;
const QUOTA = /quota|exceed(?:s|ed)? the configured upper limit/i;

/** The first path segment of a repository: Harbor's project. */
function projectOf(repository: string): string {
  const slash = repository.indexOf('/');
  return slash < 0 ? repository : repository.slice(0, slash);
}

function isEcrHost(host: string): boolean {
  return /\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?(:\d+)?$/i.test(host) || /^public\.ecr\.aws(:\d+)?$/i.test(host);
}

/**
 * The AirlockError for a vendor's refusal of a write, or undefined when the answer is none of the known ones (the
 * generic mapping then applies).
 */
export function classifyVendorRefusal(r: RegistryRefusal, write: WriteContext): AirlockError | undefined {
  const { status, codes, host } = r;
  const said = neutralize(r.said); // the caller's text is neutralised already; this keeps the function safe on its own
  const repo = neutralize(write.repository);
  const where = `${host}/${repo}`;
  const quoted = said ? ` (${status} ${said})` : ` (${status})`;
  const details = (kind: VendorRefusalKind, extra: Record<string, unknown> = {}) => ({
    details: { status, host, vendorRefusal: kind, repository: write.repository, ...(codes.length ? { registryErrors: codes.slice(0, 10).map((c) => neutralize(c).slice(0, 64)) } : {}), ...extra },
  });

  // Quota first: Harbor's quota refusal is a 403 DENIED, which would otherwise read as a permission problem.
  if ([400, 403, 412, 413, 429, 507].includes(status) && QUOTA.test(said)) {
    return new AirlockError(
      'LIMIT_EXCEEDED',
      `The storage quota is exceeded on ${host}: it refused a write to ${repo}${quoted}; raise the quota of the project or registry, or free space, then run again (nothing was tagged).`,
      details('quota-exceeded'),
    );
  }

  if (write.tag !== undefined && [400, 403, 409, 412].includes(status) && (IMMUTABLE.test(said) || codes.includes('TAG_IMMUTABLE'))) {
    const tag = neutralize(write.tag);
    const signatureTag = /^sha256-[0-9a-f]{64}(\.(sig|att|sbom))?$/.test(write.tag);
    const advice = signatureTag
      ? 'a signature tag must be able to take new signatures, so exclude the signature tags (sha256-*) from the immutability rule of the repository'
      : `the target already holds another manifest under ${tag}: remove it from the target if it is not what should be mirrored, or exclude the tag from the immutability rule`;
    return new AirlockError('TAG_CONFLICT', `The target tag ${tag} is immutable: ${where} refused to point it at a new manifest${quoted}; ${advice}.`, details('tag-immutable', { tag: write.tag }));
  }

  if (status === 404) {
    const harbor = HARBOR_PROJECT_MISSING.exec(said);
    if (harbor && (codes.length === 0 || codes.some((c) => c === 'NOT_FOUND' || c === 'NAME_UNKNOWN'))) {
      const project = neutralize(harbor[1]!.replace(/[.;,:]+$/, '')) || neutralize(projectOf(write.repository));
      return new AirlockError(
        'REGISTRY_ERROR',
        `Harbor project ${project} does not exist on ${host}${quoted}: create it (Harbor does not create projects on push), give the account push rights in it, then run again.`,
        details('project-missing', { project }),
      );
    }
    if (codes.includes('NAME_UNKNOWN')) {
      const ecr = ECR_MISSING.test(said) || isEcrHost(host);
      const sentence = ecr
        ? `Create the repository ${repo} first (ECR does not create repositories on push): ${host} refused the write${quoted}; e.g. aws ecr create-repository --repository-name ${repo}, then run again.`
        : `Create the repository ${repo} first: ${host} does not create repositories on push and refused the write${quoted}; then run again.`;
      return new AirlockError('REGISTRY_ERROR', sentence, details('repository-missing'));
    }
  }
  return undefined;
}
