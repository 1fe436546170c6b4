/**
 * Questions an auditor asks: filtered lists (newest first, every filter served by an index) and the whole story
 * of one digest. Filter statements are prepared once per shape and reused.
 */
import type Database from 'better-sqlite3';
import { AirlockError } from '../errors.js';
import { isDigest } from '../oci/digest.js';
import type { Db } from './db.js';
import { isEventKind, isEventStatus, type LedgerEntry } from './events.js';
import { digestBytes, ROW_COLUMNS, rowFromRaw, toEntry } from './row.js';
import { ABOUT_DIGEST, DIGEST_RANGES } from './schema.js';

export interface LedgerFilter {
  image?: string;
  /** Matches the event's digest or its subject (what a signature signs, what a composed object is for). */
  digest?: string;
  release?: string;
  kind?: string;
  status?: string;
  /** ISO 8601 times, inclusive bounds on the event time. */
  since?: string;
  until?: string;
  run?: string;
  /** Default 100; at most 100000. */
  limit?: number;
  /** Newest first (default) or oldest first. */
  order?: 'desc' | 'asc';
}

export interface DigestStory {
  digest: string;
  /** Events about this digest (its own, or naming it as subject), oldest first. */
  events: LedgerEntry[];
  /** release-discovered events of the releases those events belong to. */
  releases: LedgerEntry[];
  /** When no event is about it: events whose body mentions it (a blob or child manifest written by a copy). */
  mentions: LedgerEntry[];
}

const SELECT = `SELECT ${ROW_COLUMNS.join(', ')} FROM events`;
export const MAX_LIMIT = 100_000;

export class LedgerQueries {
  private readonly cache = new Map<string, Database.Statement>();

  constructor(private readonly db: Db) {}

  private stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql).raw(true);
      this.cache.set(sql, s);
    }
    return s;
  }

  list(filter: LedgerFilter = {}): LedgerEntry[] {
    const { sql, params } = listStatement(filter);
    return (this.stmt(sql).all(...params) as unknown[][]).map((r) => toEntry(rowFromRaw(r)));
  }

  /** SQLite's plan for what list(filter) runs, one step per line (for the bench and tests). */
  plan(filter: LedgerFilter = {}): string[] {
    const { sql, params } = listStatement(filter);
    return (this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
  }

  entry(seq: number): LedgerEntry | undefined {
    const r = this.stmt(`${SELECT} WHERE seq = ?`).get(seq) as unknown[] | undefined;
    return r ? toEntry(rowFromRaw(r)) : undefined;
  }

  story(digest: string): DigestStory {
    if (!isDigest(digest)) throw new AirlockError('BAD_INPUT', `"${digest.slice(0, 80)}" is not a sha256:<64 hex> digest or an entry number.`);
    const bytes = digestBytes(digest);
    const events = (this.stmt(`${DIGEST_RANGES}${SELECT} WHERE ${ABOUT_DIGEST} ORDER BY seq ASC`).all(bytes, bytes) as unknown[][]).map((r) =>
      toEntry(rowFromRaw(r)),
    );
    const releaseNames = [...new Set(events.map((e) => e.release).filter((r): r is string => r !== null))];
    const releases = releaseNames.flatMap((rel) =>
      (this.stmt(`${SELECT} WHERE release = ? AND kind = 'release-discovered' ORDER BY seq ASC`).all(rel) as unknown[][]).map((r) =>
        toEntry(rowFromRaw(r)),
      ),
    );
    // A digest no event is about may still have been written (a layer, a platform manifest): find where, by a
    // scan of the bodies. Slow on a large ledger, but only taken when the indexed answer is empty.
    const mentions =
      events.length > 0
        ? []
        : (this.stmt(`${SELECT} WHERE instr(body, ?) > 0 ORDER BY seq ASC LIMIT 1000`).all(`"${digest}"`) as unknown[][]).map((r) =>
            toEntry(rowFromRaw(r)),
          );
    return { digest, events, releases, mentions };
  }
}

function listStatement(filter: LedgerFilter): { sql: string; params: unknown[] } {
  checkFilter(filter);
  const where: string[] = [];
  const params: unknown[] = [];
  // With a digest, the digest indexes find the few entries about it and every other filter is checked on those
  // (the unary + keeps the planner from walking another index instead).
  const byDigest = filter.digest !== undefined;
  if (byDigest) {
    where.push(ABOUT_DIGEST);
    const bytes = digestBytes(filter.digest!);
    params.push(bytes, bytes);
  }
  const col = (c: string) => (byDigest ? `+${c}` : c);
  const eq = (c: string, v: string | undefined) => {
    if (v !== undefined) {
      where.push(`${col(c)} = ?`);
      params.push(v);
    }
  };
  eq('image', filter.image);
  eq('release', filter.release);
  eq('kind', filter.kind);
  eq('status', filter.status);
  eq('run', filter.run);
  if (filter.since !== undefined) {
    where.push(`${col('time')} >= ?`);
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    where.push(`${col('time')} <= ?`);
    params.push(filter.until);
  }
  const order = filter.order === 'asc' ? 'ASC' : 'DESC';
  const sql = `${byDigest ? DIGEST_RANGES : ''}${SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${order} LIMIT ?`;
  params.push(filter.limit ?? 100);
  return { sql, params };
}

function checkFilter(f: LedgerFilter): void {
  if (f.kind !== undefined && !isEventKind(f.kind)) throw new AirlockError('BAD_INPUT', `"${f.kind.slice(0, 40)}" is not an event kind.`);
  if (f.status !== undefined && !isEventStatus(f.status)) throw new AirlockError('BAD_INPUT', `"${f.status.slice(0, 40)}" is not an event status.`);
  if (f.digest !== undefined && !isDigest(f.digest)) throw new AirlockError('BAD_INPUT', `"${f.digest.slice(0, 80)}" is not a sha256:<64 hex> digest.`);
  if (f.limit !== undefined && !(Number.isSafeInteger(f.limit) && f.limit >= 1 && f.limit <= MAX_LIMIT)) {
    throw new AirlockError('BAD_INPUT', `The limit must be a whole number from 1 to ${MAX_LIMIT}.`);
  }
}

/**
 * Reads a --since/--until value: an ISO 8601 date or time (normalised to UTC, as stored), or a duration back from
 * now such as 90m, 24h, 7d.
 */
export function parseTimeBound(s: string, now: Date, flag: string): string {
  const rel = /^(\d{1,6})([smhd])$/.exec(s);
  if (rel) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(rel[1]) * unit).toISOString();
  }
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) {
    const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
    if (!Number.isNaN(d.getTime())) return d.toISOString();
  }
  throw new AirlockError('BAD_INPUT', `${flag} "${s.slice(0, 40)}" is neither an ISO 8601 date or time nor a duration such as 24h or 7d.`);
}
