/**
 * What the ledger says a target holds, per target repository: the last digest each tag was written at, and every
 * digest an accounting event names (its own digest and everything it wrote). Only the four kinds that account for
 * a digest in a target count — copied-upstream, copied-signature, composed, insecure-copy — whichever command
 * wrote them (sync, copy, archive-load…): the audit asks what reached the target and how, not who carried it.
 */
import { resolve } from 'node:path';
import type { LedgerEntry } from '../ledger/events.js';
import { MAX_LIMIT } from '../ledger/query.js';
import type { Ledger } from '../ledger/ledger.js';
import { isDigest } from '../oci/digest.js';
import { parseReference, type Reference } from '../oci/reference.js';

export const ACCOUNTING_KINDS = ['copied-upstream', 'copied-signature', 'composed', 'insecure-copy'] as const;
export type AccountingKind = (typeof ACCOUNTING_KINDS)[number];

export interface TagRecord {
  digest: string;
  kind: AccountingKind;
  seq: number;
}

export interface RepositoryRecord {
  /** The repository key: `registry/repository` or `oci:/abs/dir`. */
  key: string;
  /** tag → the digest the latest accounting event put it at. */
  tags: Map<string, TagRecord>;
  /** digest → the kinds of event that account for it in this repository. */
  digests: Map<string, Set<AccountingKind>>;
}

/** Where an audit looks: a registry prefix or a layout directory, and how a repository key is formed inside it. */
export type AuditScope =
  | { kind: 'registry'; registry: string; prefix: string }
  | { kind: 'oci'; root: string };

/** The repository key of a reference (tag and digest dropped), or undefined for an archive. */
export function repositoryKey(ref: Reference): string | undefined {
  if (ref.kind === 'registry') return `${ref.registry}/${ref.repository}`;
  if (ref.kind === 'oci') return `oci:${resolve(ref.path)}`;
  return undefined;
}

export function inScope(scope: AuditScope, key: string): boolean {
  if (scope.kind === 'registry') {
    const base = `${scope.registry}/`;
    if (!key.startsWith(base)) return false;
    const repo = key.slice(base.length);
    return scope.prefix === '' || repo === scope.prefix || repo.startsWith(`${scope.prefix}/`);
  }
  const root = `oci:${scope.root}`;
  return key === root || key.startsWith(`${root}/`);
}

function targetKey(entry: LedgerEntry): string | undefined {
  const target = entry.body.target;
  if (typeof target !== 'string') return undefined;
  try {
    return repositoryKey(parseReference(target));
  } catch {
    return undefined;
  }
}

export interface LedgerModel {
  repositories: Map<string, RepositoryRecord>;
  /** Accounting events read (for the report). */
  events: number;
  /** True when a kind hit the query limit: the model may be incomplete. */
  truncated: boolean;
}

export function ledgerModel(ledger: Ledger, scope: AuditScope): LedgerModel {
  const all: LedgerEntry[] = [];
  let truncated = false;
  for (const kind of ACCOUNTING_KINDS) {
    const got = ledger.list({ kind, limit: MAX_LIMIT, order: 'asc' });
    if (got.length === MAX_LIMIT) truncated = true;
    all.push(...got);
  }
  all.sort((a, b) => a.seq - b.seq);
  const repositories = new Map<string, RepositoryRecord>();
  let events = 0;
  for (const e of all) {
    const key = targetKey(e);
    if (key === undefined || !inScope(scope, key) || e.digest === null) continue;
    events++;
    let r = repositories.get(key);
    if (!r) {
      r = { key, tags: new Map(), digests: new Map() };
      repositories.set(key, r);
    }
    const kind = e.kind as AccountingKind;
    const note = (d: string) => {
      let kinds = r.digests.get(d);
      if (!kinds) r.digests.set(d, (kinds = new Set()));
      kinds.add(kind);
    };
    note(e.digest);
    const written = e.body.written;
    if (Array.isArray(written)) for (const d of written) if (typeof d === 'string' && isDigest(d)) note(d);
    const tag = e.body.tag;
    if (typeof tag === 'string' && tag !== '') r.tags.set(tag, { digest: e.digest, kind, seq: e.seq });
  }
  return { repositories, events, truncated };
}
