/**
 * `airlock audit registry`: what the target holds, compared with what the ledger says it holds. Every tag under
 * the target is resolved, its graph walked (index → manifests → blobs) for completeness, and its tag → digest
 * mapping compared with the ledger's accounting events; checkpoints published beside the mirror are verified by
 * their signature under the ledger's key instead (they need no event); `--verify` re-verifies each upstream
 * image's signatures found IN THE TARGET against the trust root and the identity policy recorded when it was
 * verified. Read-only everywhere: the ledger is opened read-only and the target is only read.
 */
import { AirlockError, isAirlockError, messageOf } from '../errors.js';
import { checkSignature, decodeNote, parseSignedCheckpoint } from '../ledger/checkpoint.js';
import type { JsonObject } from '../ledger/canonical.js';
import type { Ledger } from '../ledger/ledger.js';
import type { VerifierKey } from '../ledger/keys.js';
import type { Logger } from '../log.js';
import { debug } from '../log.js';
import type { Digest } from '../oci/digest.js';
import { childrenOf, parseManifest, type Descriptor } from '../oci/manifest.js';
import { isAnyManifestMediaType } from '../oci/mediatypes.js';
import { CHECKPOINT_ARTIFACT_TYPE, CHECKPOINT_REPOSITORY } from '../pipeline/checkpoint-artifact.js';
import { findSignatures } from '../signatures/index.js';
import type { ContentStore, Repository } from '../store/types.js';
import type { TrustAnchor } from '../trust/index.js';
import { toPolicy, verifyImageSignatures, type Policy, type PolicyInput } from '../verify/index.js';
import { inScope, ledgerModel, type AuditScope, type RepositoryRecord } from './ledger-model.js';

export const FINDING_KINDS = ['untracked', 'moved', 'incomplete', 'insecure', 'checkpoint-invalid', 'signature-invalid', 'missing'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface Finding {
  kind: FindingKind;
  /** `error` findings fail the audit; `warning` (content the ledger recorded that the target no longer holds) does not. */
  severity: 'error' | 'warning';
  /** The repository as the target names it: `registry/repo` or `oci:DIR/name`. */
  repository: string;
  tag: string | null;
  digest: string | null;
  message: string;
}

export interface AuditResult {
  target: string;
  ledger: string;
  repositories: number;
  tags: number;
  /** Manifests and blobs checked for presence. */
  objectsChecked: number;
  checkpoints: number;
  /** Images whose signatures were re-verified in the target (--verify). */
  reverified: number | null;
  ledgerEvents: number;
  /** False when the ledger held more accounting events than one query reads (the comparison is partial). */
  ledgerComplete: boolean;
  /** Why the registry's catalog could not be listed (then only the repositories the ledger knows were audited). */
  catalogUnavailable: string | null;
  findings: Finding[];
  errors: number;
  warnings: number;
}

export interface AuditOptions {
  store: ContentStore;
  /** The target as given (for the report). */
  target: string;
  scope: AuditScope;
  /** Where the ledger recorded this target, when it has moved since (a layout carried elsewhere); default `scope`. */
  recordedScope?: AuditScope | undefined;
  ledger: Ledger;
  /** The key checkpoints must be signed with (pinned, else the key file's, else the ledger's own). */
  checkpointKey: VerifierKey;
  /** With --verify: the trust root signatures are checked against. */
  verify?: { trust: TrustAnchor } | undefined;
  logger?: Logger | undefined;
}

interface RepoInTarget {
  /** The name inside the store. */
  name: string;
  /** The ledger's key for it. */
  key: string;
  display: string;
}

/** A repository's key under a scope: `registry/name` or `oci:ROOT/name`. */
function keyIn(scope: AuditScope, name: string): string {
  if (scope.kind === 'registry') return `${scope.registry}/${name}`;
  return name === '' ? `oci:${scope.root}` : `oci:${scope.root}/${name}`;
}

/** The part of a registry repository below the scope's prefix (`fluxcd/x` under `fluxcd` → `x`). */
function below(scope: AuditScope, name: string): string {
  if (scope.kind !== 'registry' || scope.prefix === '') return name;
  return name === scope.prefix ? '' : name.slice(scope.prefix.length + 1);
}

function above(scope: AuditScope, rel: string): string {
  if (scope.kind !== 'registry' || scope.prefix === '') return rel;
  return rel === '' ? scope.prefix : `${scope.prefix}/${rel}`;
}

/** Without a catalog: the store names of the repositories the ledger recorded, and the checkpoint repository beside each. */
function knownRepositories(o: AuditOptions, keys: readonly string[]): string[] {
  const recorded = o.recordedScope ?? o.scope;
  if (recorded.kind !== 'registry' || o.scope.kind !== 'registry') return [];
  const names = new Set<string>();
  for (const key of keys) {
    const repo = key.slice(recorded.registry.length + 1);
    const name = above(o.scope, below(recorded, repo));
    names.add(name);
    const slash = name.lastIndexOf('/');
    names.add(slash < 0 ? CHECKPOINT_REPOSITORY : `${name.slice(0, slash)}/${CHECKPOINT_REPOSITORY}`);
  }
  return [...names].sort();
}

function reposInTarget(o: AuditOptions, names: readonly string[]): RepoInTarget[] {
  const out: RepoInTarget[] = [];
  const recorded = o.recordedScope ?? o.scope;
  for (const name of names) {
    const display = keyIn(o.scope, name);
    if (!inScope(o.scope, display)) continue;
    out.push({ name, key: keyIn(recorded, above(recorded, below(o.scope, name))), display });
  }
  return out;
}

function isCheckpointRepository(name: string): boolean {
  return name === CHECKPOINT_REPOSITORY || name.endsWith(`/${CHECKPOINT_REPOSITORY}`);
}

const SIGNATURE_TAG = /^sha256-[0-9a-f]{64}(\.(sig|att|sbom))?$/;
const short = (d: string | null | undefined): string => (d ? d.slice(0, 19) : '?');

/**
 * Walks graphs from their roots and says what is missing. Each digest is checked once per repository (the promise
 * is cached, so graphs sharing children — every platform of an index, the same layer in two images — cost one
 * request); the children of a manifest are checked in parallel.
 */
class GraphWalker {
  checked = 0;
  private readonly seen = new Map<string, Promise<string[]>>();

  constructor(private readonly repo: Repository) {}

  missing(root: Descriptor, depth = 0): Promise<string[]> {
    let p = this.seen.get(root.digest);
    if (!p) {
      p = this.check(root, depth);
      this.seen.set(root.digest, p);
    }
    return p;
  }

  private async check(root: Descriptor, depth: number): Promise<string[]> {
    this.checked++;
    if (!isAnyManifestMediaType(root.mediaType)) {
      const size = await this.repo.statBlob(root.digest as Digest);
      return size === undefined ? [`blob ${root.digest} is missing`] : [];
    }
    let children: Descriptor[];
    try {
      const m = await this.repo.getManifest(root.digest);
      children = childrenOf(parseManifest(m.bytes, m.descriptor.mediaType));
    } catch (e) {
      if (isAirlockError(e, 'NOT_FOUND')) return [`manifest ${root.digest} is missing`];
      // A network or credential failure is not a finding: the audit stops and says so.
      if (isAirlockError(e) && !['UNREACHABLE', 'AUTH_FAILED', 'INSECURE_REFUSED'].includes(e.code)) return [`manifest ${root.digest} cannot be read (${messageOf(e)})`];
      throw e;
    }
    if (depth > 8) return [`manifest ${root.digest} nests deeper than 8 levels`];
    // Non-distributable layers (urls) are not expected in the mirror.
    const lists = await Promise.all(children.filter((c) => !(c.urls && c.urls.length > 0)).map((c) => this.missing(c, depth + 1)));
    return lists.flat();
  }
}

export async function auditTarget(o: AuditOptions): Promise<AuditResult> {
  const model = ledgerModel(o.ledger, o.recordedScope ?? o.scope);
  if (!o.store.listRepositories) throw new AirlockError('BAD_INPUT', `${o.store.location} cannot list its repositories, so it cannot be audited.`);
  let names: string[];
  let catalogUnavailable: string | null = null;
  try {
    names = await o.store.listRepositories();
  } catch (e) {
    // ECR, GHCR and Harbor for non-admins refuse `_catalog`: audit the repositories the ledger knows (and the
    // checkpoints beside them) and say that a repository created around airlock cannot be seen.
    if (o.scope.kind !== 'registry' || !isAirlockError(e) || !['AUTH_FAILED', 'NOT_FOUND', 'REGISTRY_ERROR'].includes(e.code)) throw e;
    catalogUnavailable = e.message;
    names = knownRepositories(o, [...model.repositories.keys()]);
  }
  const repos = reposInTarget(o, names);
  const findings: Finding[] = [];
  const add = (f: Omit<Finding, 'severity'> & { severity?: Finding['severity'] }) => findings.push({ severity: 'error', ...f });
  let tags = 0;
  let objectsChecked = 0;
  let checkpoints = 0;
  let reverified = o.verify ? 0 : null;
  const seenKeys = new Set<string>();

  for (const r of repos) {
    seenKeys.add(r.key);
    const repo = o.store.repository(r.name);
    const record = model.repositories.get(r.key);
    const present = new Set<string>();
    const walker = new GraphWalker(repo);
    for (const tag of (await repo.listTags()).sort()) {
      const head = await repo.headManifest(tag);
      if (!head) continue; // deleted between the listing and now
      tags++;
      present.add(tag);
      if (isCheckpointRepository(r.name)) {
        checkpoints++;
        const problem = await checkCheckpoint(repo, head, o);
        if (problem) add({ kind: 'checkpoint-invalid', repository: r.display, tag, digest: head.digest, message: problem });
        continue;
      }
      const missing = await walker.missing(head);
      if (missing.length > 0) {
        add({ kind: 'incomplete', repository: r.display, tag, digest: head.digest, message: `${r.display}:${tag} is incomplete: ${missing.slice(0, 3).join('; ')}${missing.length > 3 ? ` (+${missing.length - 3} more)` : ''}.` });
      }
      const verdict = compareTag(r, record, tag, head.digest);
      if (verdict) {
        add({ ...verdict, repository: r.display, tag, digest: head.digest });
        continue;
      }
      // Referrers attached around airlock: on a registry with the referrers API they have no tag at all.
      if (!SIGNATURE_TAG.test(tag)) {
        for (const ref of await repo.referrers(head.digest as Digest)) {
          if (record?.digests.has(ref.digest)) continue;
          add({
            kind: 'untracked',
            repository: r.display,
            tag,
            digest: ref.digest,
            message: `${r.display}:${tag} has a referrer ${short(ref.digest)}…${ref.artifactType ? ` (${ref.artifactType})` : ''} that no ledger event accounts for: it was attached around airlock.`,
          });
          const missing = await walker.missing(ref);
          if (missing.length > 0) add({ kind: 'incomplete', repository: r.display, tag, digest: ref.digest, message: `The referrer ${short(ref.digest)}… of ${r.display}:${tag} is incomplete: ${missing.slice(0, 3).join('; ')}.` });
        }
      }
      if (o.verify && record?.tags.get(tag)?.kind === 'copied-upstream') {
        const problem = await reverify(repo, head.digest as Digest, o);
        if (problem === null) reverified!++;
        else add({ kind: 'signature-invalid', repository: r.display, tag, digest: head.digest, message: problem });
      }
    }
    objectsChecked += walker.checked;
    for (const [tag, rec] of record?.tags ?? []) {
      if (present.has(tag) || rec.kind === 'insecure-copy') continue;
      add({
        kind: 'missing',
        severity: 'warning',
        repository: r.display,
        tag,
        digest: rec.digest,
        message: `The ledger's ${rec.kind} event ${rec.seq} put ${r.display}:${tag} at ${short(rec.digest)}…, but the target no longer has that tag (deleted outside airlock, or by a retention policy).`,
      });
    }
  }
  for (const [key, record] of model.repositories) {
    if (seenKeys.has(key)) continue;
    for (const [tag, rec] of record.tags) {
      if (rec.kind === 'insecure-copy') continue;
      add({
        kind: 'missing',
        severity: 'warning',
        repository: key,
        tag,
        digest: rec.digest,
        message: `The ledger's ${rec.kind} event ${rec.seq} put ${key}:${tag} at ${short(rec.digest)}…, but the target has no such repository any more.`,
      });
    }
  }
  const errors = findings.filter((f) => f.severity === 'error').length;
  debug(o.logger, 'audit finished', { repositories: repos.length, tags, findings: findings.length });
  return {
    target: o.target,
    ledger: o.ledger.path,
    repositories: repos.length,
    tags,
    objectsChecked,
    checkpoints,
    reverified,
    ledgerEvents: model.events,
    ledgerComplete: !model.truncated,
    catalogUnavailable,
    findings,
    errors,
    warnings: findings.length - errors,
  };
}

/** The finding for one tag against the ledger's record, or undefined when the ledger accounts for it. */
function compareTag(r: RepoInTarget, record: RepositoryRecord | undefined, tag: string, digest: string): Pick<Finding, 'kind' | 'message'> | undefined {
  const at = `${r.display}:${tag}`;
  const rec = record?.tags.get(tag);
  if (rec && rec.digest !== digest) {
    return {
      kind: 'moved',
      message: `${at} now points at ${short(digest)}…, but the ledger's last ${rec.kind} event (${rec.seq}) put it at ${short(rec.digest)}…; the tag was moved outside airlock.`,
    };
  }
  const kinds = record?.digests.get(digest);
  if (!rec && !kinds) {
    return { kind: 'untracked', message: `${at} (${short(digest)}…) has no event in the ledger: it was pushed around airlock (or by another ledger).` };
  }
  // A tag the ledger never put there, on content it accounts for: only the tags derived from a digest (the
  // referrers fallback index, whose event names no tag) are airlock's; any other is a tag added around airlock.
  if (!rec && !SIGNATURE_TAG.test(tag)) {
    return { kind: 'untracked', message: `${at} points at ${short(digest)}…, content the ledger accounts for, but no event ever put the tag ${tag} there: it was added around airlock.` };
  }
  if ((rec?.kind ?? '') === 'insecure-copy' || (kinds && kinds.size === 1 && kinds.has('insecure-copy'))) {
    return { kind: 'insecure', message: `${at} (${short(digest)}…) was copied with --insecure-skip-verify: it is unverified content.` };
  }
  return undefined;
}

/** Verifies one checkpoint artifact of the target; a sentence saying what is wrong, or null. */
async function checkCheckpoint(repo: Repository, head: Descriptor, o: AuditOptions): Promise<string | null> {
  try {
    const m = await repo.getManifest(head.digest);
    const parsed = parseManifest(m.bytes, m.descriptor.mediaType);
    if (parsed.kind !== 'manifest' || parsed.manifest.artifactType !== CHECKPOINT_ARTIFACT_TYPE || parsed.manifest.layers.length !== 1) {
      return `${repo.display}@${short(head.digest)}… is not an airlock checkpoint artifact.`;
    }
    const layer = parsed.manifest.layers[0]!;
    if (layer.size > 64 * 1024) return `${repo.display}@${short(head.digest)}… holds a checkpoint note too large to be one.`;
    const chunks: Uint8Array[] = [];
    for await (const c of await repo.openBlob(layer)) chunks.push(c);
    const what = `The checkpoint ${repo.display}@${short(head.digest)}…`;
    const cp = parseSignedCheckpoint(decodeNote(Buffer.concat(chunks), what), what);
    if (cp.origin !== o.checkpointKey.name) return `${what} is another ledger's (${cp.origin}), not this ledger's (${o.checkpointKey.name}).`;
    const sig = checkSignature(cp, o.checkpointKey);
    if (sig !== 'valid') return `${what} is not signed by this ledger's key (signature ${sig}).`;
    const size = o.ledger.size();
    if (cp.size > size) return `${what} covers ${cp.size} entries but the ledger has ${size}: the ledger was truncated or replaced.`;
    const root = cp.size === 0 ? undefined : o.ledger.consistency(cp.size, size).oldRoot;
    if (root && !root.equals(cp.rootHash)) return `${what} does not match the ledger's tree at size ${cp.size}: the ledger was rewritten.`;
    return null;
  } catch (e) {
    if (isAirlockError(e)) return `The checkpoint ${repo.display}@${short(head.digest)}… is invalid: ${e.message}`;
    throw e;
  }
}

/** Rebuilds the policies recorded in the ledger's verified events for `digest` (keyless ones; a key cannot be rebuilt from its digest). */
function recordedPolicies(ledger: Ledger, digest: string): Policy[] {
  const out = new Map<string, Policy>();
  for (const e of ledger.list({ digest, kind: 'verified', limit: 1000 })) {
    const verdict = e.body.verdict as JsonObject | undefined;
    const sigs = Array.isArray(verdict?.signatures) ? verdict.signatures : [];
    for (const s of sigs) {
      const p = ((s as JsonObject).verdict as JsonObject | undefined)?.policy as JsonObject | undefined;
      if (!p || p.kind !== 'keyless') continue;
      const id = p.identity as { exact?: string; regexp?: string } | undefined;
      const iss = p.issuer as { exact?: string; regexp?: string } | undefined;
      const input: PolicyInput = {
        ...(id?.exact !== undefined ? { certificateIdentity: id.exact } : {}),
        ...(id?.regexp !== undefined ? { certificateIdentityRegexp: id.regexp } : {}),
        ...(iss?.exact !== undefined ? { certificateOidcIssuer: iss.exact } : {}),
        ...(iss?.regexp !== undefined ? { certificateOidcIssuerRegexp: iss.regexp } : {}),
        ...((p.extensions ?? {}) as Record<string, string>),
      };
      const k = JSON.stringify(input);
      if (!out.has(k)) out.set(k, toPolicy(input));
    }
  }
  return [...out.values()];
}

/** Re-verifies the image's signatures as the target holds them; a sentence saying what failed, or null. */
async function reverify(repo: Repository, digest: Digest, o: AuditOptions): Promise<string | null> {
  const policies = recordedPolicies(o.ledger, digest);
  const at = `${repo.display}@${short(digest)}…`;
  if (policies.length === 0) return `${at} cannot be re-verified: the ledger records no keyless identity policy for it.`;
  try {
    const found = await findSignatures(repo, digest, { attestations: false });
    verifyImageSignatures(found, digest, o.verify!.trust, policies);
    return null;
  } catch (e) {
    if (isAirlockError(e, 'VERIFY_FAILED') || isAirlockError(e, 'NO_SIGNATURE')) return `The signatures of ${at} in the target do not verify: ${e.message}`;
    throw e;
  }
}

/** One sentence for the exit: how many findings of which kinds. */
export function auditTargetSummary(r: AuditResult): string {
  const counts = new Map<string, number>();
  for (const f of r.findings) if (f.severity === 'error') counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
  const parts = [...counts].map(([k, n]) => `${n} ${k}`);
  return `The audit of ${r.target} found ${r.errors} problem${r.errors === 1 ? '' : 's'} (${parts.join(', ')}); see each finding, and reconcile or remove what the ledger does not account for.`;
}
