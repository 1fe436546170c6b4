/**
 * A stored row and its Merkle leaf. The leaf is the RFC 8785 canonical JSON of the WHOLE row — sequence, time,
 * kind, run, every indexed column and the body — so nothing a query shows sits outside the hash: editing an
 * indexed column is as detectable as editing the body.
 *
 * The two digest columns are stored as the digest's bytes (32 for sha256, 64 for sha512: half the size of the
 * text in the table and in the two random-key indexes), and the leaf spells them `sha256:<hex>`/`sha512:<hex>`.
 * The length picks the algorithm, so the spelling is a bijection of what is stored: changing a stored byte
 * changes the leaf. A digest column holding anything else (text, another length) was not written by airlock, and
 * `ledger verify` says so.
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
/** The stored form of a digest column: the digest's bytes. Only for values that passed isDigest. */
export function digestBytes(d: string): Buffer {
  return Buffer.from(d.slice(d.indexOf(':') + 1), 'hex');
}

/** The digest a stored value spells (the leaf's and every query's text form); null stays null. */
export function digestText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) {
    if (v.length === 32) return `sha256:${v.toString('hex')}`;
    if (v.length === 64) return `sha512:${v.toString('hex')}`;
    // Not airlock's: shown for what it is, never as a digest, and it cannot match any leaf airlock wrote.
    return `bytes:${v.toString('hex')}`;
  }
  return String(v);
}

/** The insert statement's parameters, in ROW_COLUMNS order, digests as their bytes. */
export function storedValues(row: StoredRow): unknown[] {
  return [
    row.seq,
    row.time,
    row.kind,
    row.run,
    row.image,
    row.digest === null ? null : digestBytes(row.digest),
    row.subject === null ? null : digestBytes(row.subject),
    row.release,
    row.status,
    row.reason,
    row.body,
  ];
}

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

/** A row as read in ROW_COLUMNS order (`raw()` statements), digests spelled as text. */
export function rowFromRaw(raw: unknown[]): StoredRow {
  const [seq, time, kind, run, image, digest, subject, release, status, reason, body] = raw as [number, string, string, ...(string | null)[]];
  return { seq, time, kind, run, image, digest: digestText(digest), subject: digestText(subject), release, status, reason, body } as StoredRow;
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
