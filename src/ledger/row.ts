/**
 * A stored row and its Merkle leaf. The leaf is the RFC 8785 canonical JSON of the WHOLE row — sequence, time,
 * kind, run, every indexed column and the body — so nothing a query shows sits outside the hash: editing an
 * indexed column is as detectable as editing the body.
 */
import { AirlockError } from '../errors.js';
import { isDigest } from '../oci/digest.js';
import { canonicalize, serializeNumber, serializeString, type JsonObject } from './canonical.js';
import { isEventKind, isEventStatus, type EventKind, type EventStatus, type LedgerEntry, type LedgerEventInput } from './events.js';

export interface StoredRow {
  seq: number;
  time: string;
  kind: string;
  run: string | null;
  image: string | null;
  digest: string | null;
  subject: string | null;
  release: string | null;
  status: string | null;
  reason: string | null;
  /** The body as stored: its canonical JSON text. */
  body: string;
}

/** Column order of the events table, as bound by the insert statement and read back by `raw()` queries. */
export const ROW_COLUMNS = ['seq', 'time', 'kind', 'run', 'image', 'digest', 'subject', 'release', 'status', 'reason', 'body'] as const;

export const MAX_BODY_BYTES = 1024 * 1024;
const MAX_COLUMN = 8192;

function invalid(kind: string, why: string): AirlockError {
  return new AirlockError('BAD_INPUT', `A ${kind} event cannot be recorded: ${why}.`);
}

function text(kind: string, name: string, v: string | null | undefined): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_COLUMN) throw invalid(kind, `its ${name} is empty, too long or not a string`);
  return v;
}

/** Validates a caller's event and gives it its place: sequence number, time, run. */
export function toStoredRow(ev: LedgerEventInput, seq: number, time: string, run: string | null): StoredRow {
  const kind = String(ev.kind);
  if (!isEventKind(kind)) throw invalid(kind.slice(0, 40), 'it is not a known event kind');
  if (ev.status !== undefined && ev.status !== null && !isEventStatus(ev.status)) throw invalid(kind, `"${String(ev.status).slice(0, 40)}" is not a status`);
  for (const [name, d] of [['digest', ev.digest], ['subject', ev.subject]] as const) {
    if (d !== undefined && d !== null && !isDigest(d)) throw invalid(kind, `its ${name} "${String(d).slice(0, 80)}" is not a digest`);
  }
  if (ev.reason !== undefined && ev.reason !== null && !/^[A-Za-z0-9_.:-]{1,128}$/.test(ev.reason)) {
    throw invalid(kind, 'its reason is not a code (letters, digits, _ . : -)');
  }
  if (typeof ev.body !== 'object' || ev.body === null || Array.isArray(ev.body)) throw invalid(kind, 'its body is not a JSON object');
  let body: string;
  try {
    body = canonicalize(ev.body);
  } catch (e) {
    throw invalid(kind, `its body is not I-JSON (${(e as Error).message})`);
  }
  if (body.length > MAX_BODY_BYTES) throw invalid(kind, `its body is larger than ${MAX_BODY_BYTES} bytes`);
  return {
    seq,
    time,
    kind,
    run,
    image: text(kind, 'image', ev.image),
    digest: ev.digest ?? null,
    subject: ev.subject ?? null,
    release: text(kind, 'release', ev.release),
    status: ev.status ?? null,
    reason: ev.reason ?? null,
    body,
  };
}

function str(v: string | null): string {
  return v === null ? 'null' : serializeString(v);
}

/**
 * The leaf bytes: canonical JSON of the row with the body embedded as a JSON value. Built by concatenation in
 * RFC 8785 member order (body, digest, image, kind, reason, release, run, seq, status, subject, time), which
 * equals canonicalize() of the row object when `row.body` is canonical — callers check that first (unit-tested).
 */
export function leafText(row: StoredRow): string {
  return (
    `{"body":${row.body},"digest":${str(row.digest)},"image":${str(row.image)},"kind":${str(row.kind)},` +
    `"reason":${str(row.reason)},"release":${str(row.release)},"run":${str(row.run)},"seq":${serializeNumber(row.seq)},` +
    `"status":${str(row.status)},"subject":${str(row.subject)},"time":${str(row.time)}}`
  );
}

/** The row as the reference definition: what an auditor canonicalises with any RFC 8785 implementation. */
export function leafObject(row: StoredRow): JsonObject {
  return { ...row, body: JSON.parse(row.body) as JsonObject };
}

export function rowFromRaw(raw: unknown[]): StoredRow {
  const [seq, time, kind, run, image, digest, subject, release, status, reason, body] = raw as [number, string, string, ...(string | null)[]];
  return { seq, time, kind, run, image, digest, subject, release, status, reason, body } as StoredRow;
}

export function toEntry(row: StoredRow): LedgerEntry {
  return {
    seq: row.seq,
    time: row.time,
    kind: row.kind as EventKind,
    run: row.run,
    image: row.image,
    digest: row.digest,
    subject: row.subject,
    release: row.release,
    status: row.status as EventStatus | null,
    reason: row.reason,
    body: JSON.parse(row.body) as JsonObject,
  };
}

/** Canonical JSON of the leaf object — kept for tests and the documented recipe; leafText is the fast path. */
export function canonicalLeaf(row: StoredRow): string {
  return canonicalize(leafObject(row));
}
