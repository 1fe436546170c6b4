/**
 * FAKE vendor refusals: Amazon ECR, Harbor, GAR cannot run here, so a fault proxy (proxies.ts) in front of the
 * real docker-registry answers chosen requests with the status and error body those registries send (shapes from
 * their public issue trackers and sources: ECR's NAME_UNKNOWN / TAG_INVALID wording, Harbor's NOT_FOUND "project
 * … not found", PRECONDITION "… configured as immutable" and DENIED quota sentence). Everything else is forwarded
 * to the real registry unchanged.
 */
import type { Fault, FaultRule } from './proxies.js';

function errors(code: string, message: string): string {
  return JSON.stringify({ errors: [{ code, message, detail: null }] });
}

function status(s: number, code: string, message: string): Fault {
  return { kind: 'status', status: s, body: errors(code, message) };
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** ECR: every request under a repository never created answers 404 NAME_UNKNOWN (the upload's POST first). */
export function ecrRepositoryMissing(repository: string, registryId = '123456789012'): FaultRule {
  return {
    path: new RegExp(`^/v2/${escape(repository)}/`),
    fault: status(404, 'NAME_UNKNOWN', `The repository with name '${repository}' does not exist in the registry with id '${registryId}'`),
  };
}

/** ECR with IMMUTABLE tag mutability: a PUT of a manifest onto an existing tag answers 400 TAG_INVALID. */
export function ecrImmutableTag(repository: string, tag: string): FaultRule {
  return {
    method: 'PUT',
    path: new RegExp(`^/v2/${escape(repository)}/manifests/${escape(tag)}$`),
    fault: status(400, 'TAG_INVALID', `The image tag '${tag}' already exists in the '${repository}' repository and cannot be overwritten because the repository is immutable.`),
  };
}

/** Harbor with a tag immutability rule: 412 PRECONDITION. */
export function harborImmutableTag(repository: string, tag: string): FaultRule {
  return {
    method: 'PUT',
    path: new RegExp(`^/v2/${escape(repository)}/manifests/${escape(tag)}$`),
    fault: status(412, 'PRECONDITION', `Failed to process request due to '${repository}:${tag}' configured as immutable.`),
  };
}

/** Harbor: a push into a project that does not exist answers 404 NOT_FOUND "project p not found". */
export function harborProjectMissing(project: string): FaultRule {
  return {
    path: new RegExp(`^/v2/${escape(project)}/`),
    fault: status(404, 'NOT_FOUND', `project ${project} not found`),
  };
}

/** Harbor over its storage quota: the blob upload's final PUT answers 403 DENIED with the quota sentence. */
export function harborQuotaExceeded(repository: string): FaultRule {
  return {
    method: 'PUT',
    path: new RegExp(`^/v2/${escape(repository)}/blobs/uploads/`),
    fault: status(
      403,
      'DENIED',
      'adding 29.0 MiB of storage resource, which when updated to current usage of 152.4 MiB will exceed the configured upper limit of 10.0 MiB.',
    ),
  };
}
