import { AirlockError } from '../errors.js';
import { neutralize } from '../log.js';
import { isDigest, type Digest } from './digest.js';

/** A reference to content in a registry: `host[:port]/path[:tag][@digest]`. */
export interface RegistryReference {
  kind: 'registry';
  /** As written by the user, normalised (docker.io for Docker Hub). */
  registry: string;
  repository: string;
  tag?: string;
  digest?: Digest;
}

/** An OCI image layout directory (`oci:DIR[:TAG]`) or tar archive (`oci-archive:FILE[:TAG]`), skopeo's spelling. */
export interface LayoutReference {
  kind: 'oci' | 'oci-archive';
  path: string;
  tag?: string;
  digest?: Digest;
}

export type Reference = RegistryReference | LayoutReference;

const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

export function isTag(s: string): boolean {
  return TAG_RE.test(s);
}

export function isRepositoryPath(s: string): boolean {
  return s.length > 0 && s.length <= 255 && s.split('/').every((c) => PATH_COMPONENT_RE.test(c));
}

function badRef(input: string, why: string): never {
  throw new AirlockError(
    'BAD_INPUT',
    // The input may come from upstream (an image named in install.yaml): no control character reaches the message.
    `"${neutralize(input.slice(0, 200))}" is not a valid reference (${neutralize(why)}); write registry/repository[:tag][@sha256:…], oci:DIR[:TAG] or oci-archive:FILE[:TAG].`,
  );
}

function splitDigest(input: string, s: string): { rest: string; digest?: Digest } {
  const at = s.indexOf('@');
  if (at < 0) return { rest: s };
  const d = s.slice(at + 1);
  if (!isDigest(d)) badRef(input, `"${d}" is not a sha256 digest`);
  return { rest: s.slice(0, at), digest: d };
}

/** Parses a registry reference; with `requireTagOrDigest` false a bare repository is accepted (a prefix). */
export function parseRegistryReference(input: string, opts: { requireTagOrDigest?: boolean } = {}): RegistryReference {
  if (input.length === 0 || input.length > 1024) badRef(input, 'empty or too long');
  if (/\s/.test(input) || input.includes('://')) badRef(input, 'it contains spaces or a URL scheme');
  const { rest, digest } = splitDigest(input, input);
  const slash = rest.indexOf('/');
  let registry = 'docker.io';
  let remainder = rest;
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[')) {
      registry = first;
      remainder = rest.slice(slash + 1);
    }
  }
  if (!HOST_RE.test(registry)) badRef(input, `"${registry}" is not a host[:port]`);
  let tag: string | undefined;
  const colon = remainder.lastIndexOf(':');
  if (colon >= 0) {
    tag = remainder.slice(colon + 1);
    remainder = remainder.slice(0, colon);
    if (!isTag(tag)) badRef(input, `"${tag}" is not a valid tag`);
  }
  if (registry === 'docker.io' && !remainder.includes('/')) remainder = `library/${remainder}`;
  if (!isRepositoryPath(remainder)) badRef(input, `"${remainder}" is not a valid repository path (lowercase letters, digits, separators)`);
  if (opts.requireTagOrDigest !== false && tag === undefined && digest === undefined) {
    tag = 'latest';
  }
  const ref: RegistryReference = { kind: 'registry', registry, repository: remainder };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

export function parseReference(input: string): Reference {
  for (const kind of ['oci', 'oci-archive'] as const) {
    const prefix = `${kind}:`;
    if (input.startsWith(prefix)) {
      const { rest, digest } = splitDigest(input, input.slice(prefix.length));
      const colon = rest.indexOf(':');
      const path = colon >= 0 ? rest.slice(0, colon) : rest;
      const tag = colon >= 0 ? rest.slice(colon + 1) : undefined;
      if (path.length === 0) badRef(input, 'the path is empty');
      if (tag !== undefined && tag.length > 0 && !isTag(tag)) badRef(input, `"${tag}" is not a valid tag`);
      const ref: LayoutReference = { kind, path };
      if (tag) ref.tag = tag;
      if (digest) ref.digest = digest;
      return ref;
    }
  }
  if (/^[a-z-]+:\/\//.test(input) || /^(docker|docker-archive|dir|containers-storage):/.test(input)) {
    badRef(input, 'unsupported transport');
  }
  return parseRegistryReference(input);
}

/** The tag or digest to ask a store for: the digest wins when both are given (the tag is then only a label). */
export function referenceTarget(ref: Reference): string | undefined {
  return ref.digest ?? ref.tag;
}

export function formatReference(ref: Reference): string {
  const tail = `${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
  if (ref.kind === 'registry') return `${ref.registry}/${ref.repository}${tail}`;
  return `${ref.kind}:${ref.path}${tail}`;
}
