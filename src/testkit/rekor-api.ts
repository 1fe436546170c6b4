/**
 * The local Rekor's HTTP API for the test kit (see sigstore.ts): the v1 routes cosign 2.x and airlock use —
 * create, get by UUID or index, retrieve (by UUIDs, indexes or proposed entries), search the index by hash, log info
 * and public key. Errors are Rekor's `{code, message}` JSON.
 */
import { canonicalizeProposedEntry, RejectedEntryError } from './rekor-entries.js';
import { EntryExistsError, type RekorLogEntry, type TransparencyLog } from './rekor-log.js';

export interface ApiResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Send `body` as this text instead of JSON. */
  text?: { contentType: string };
}

const MAX_BATCH = 256;

const error = (status: number, message: string): ApiResponse => ({ status, body: { code: status, message } });
const one = (uuid: string, entry: RekorLogEntry): Record<string, RekorLogEntry> => ({ [uuid]: entry });

/** Logs a proposed entry (in-process, and behind `POST /api/v1/log/entries`). */
export function createEntry(log: TransparencyLog, proposed: unknown): ApiResponse {
  try {
    const { uuid, entry } = log.append(canonicalizeProposedEntry(proposed));
    return { status: 201, body: one(uuid, entry), headers: { location: `/api/v1/log/entries/${uuid}`, etag: uuid } };
  } catch (e) {
    if (e instanceof EntryExistsError) {
      return { status: 409, body: { code: 409, message: e.message }, headers: { location: `/api/v1/log/entries/${e.uuid}` } };
    }
    if (e instanceof RejectedEntryError) return error(400, e.message);
    throw e;
  }
}

function retrieve(log: TransparencyLog, q: Record<string, unknown>): ApiResponse {
  const results: Record<string, RekorLogEntry>[] = [];
  const uuids = Array.isArray(q.entryUUIDs) ? q.entryUUIDs : [];
  const indexes = Array.isArray(q.logIndexes) ? q.logIndexes : [];
  const proposed = Array.isArray(q.entries) ? q.entries : [];
  if (uuids.length + indexes.length + proposed.length > MAX_BATCH) return error(422, `at most ${MAX_BATCH} items per query`);
  for (const u of uuids) {
    const e = log.getByUuid(String(u));
    if (e) results.push(one(String(u).slice(-64), e));
  }
  for (const i of indexes) {
    const found = log.getByIndex(Number(i));
    if (found) results.push(one(found.uuid, found.entry));
  }
  for (const p of proposed) {
    // cosign's FindTlogEntry asks with the proposed entry: canonicalize it and look its leaf up.
    try {
      const uuid = log.uuidOf(canonicalizeProposedEntry(p).body);
      const e = log.getByUuid(uuid);
      if (e) results.push(one(uuid, e));
    } catch (e) {
      if (!(e instanceof RejectedEntryError)) throw e;
    }
  }
  return { status: 200, body: results };
}

function searchIndex(log: TransparencyLog, q: Record<string, unknown>): ApiResponse {
  let key: string | undefined;
  if (typeof q.hash === 'string') key = q.hash.includes(':') ? q.hash : `sha256:${q.hash}`;
  else if (typeof q.email === 'string') key = q.email;
  if (!key) return error(400, 'only hash and email searches are supported by the test kit');
  return { status: 200, body: log.search(key) };
}

/** Routes one Rekor request; `undefined` when the path is not Rekor's. */
export function routeRekor(log: TransparencyLog, method: string, url: URL, body: unknown): ApiResponse | undefined {
  const path = url.pathname.replace(/\/+$/, '');
  const obj = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (method === 'POST' && path === '/api/v1/log/entries') return createEntry(log, body);
  if (method === 'POST' && path === '/api/v1/log/entries/retrieve') return retrieve(log, obj);
  if (method === 'POST' && path === '/api/v1/index/retrieve') return searchIndex(log, obj);
  if (method === 'GET' && path === '/api/v1/log') return { status: 200, body: log.info() };
  if (method === 'GET' && path === '/api/v1/log/publicKey') {
    return { status: 200, body: log.publicKeyPem(), text: { contentType: 'application/x-pem-file' } };
  }
  if (method === 'GET' && path === '/api/v1/log/entries') {
    const found = log.getByIndex(Number(url.searchParams.get('logIndex')));
    return found ? { status: 200, body: one(found.uuid, found.entry) } : error(404, 'entry not found');
  }
  const m = /^\/api\/v1\/log\/entries\/([0-9a-fA-F]{64}|[0-9a-fA-F]{80})$/.exec(path);
  if (method === 'GET' && m) {
    const e = log.getByUuid(m[1]!);
    return e ? { status: 200, body: one(m[1]!.slice(-64).toLowerCase(), e) } : error(404, 'entry not found');
  }
  return undefined;
}
