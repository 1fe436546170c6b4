/**
 * What the ledger records. Events carry JSON bodies and a few indexed columns; the ledger knows nothing of how a
 * verdict was reached (that is verify/'s business) — a caller hands over the verdict's JSON, and the ledger makes
 * it permanent and provable.
 *
 * Every digest that reaches a target is accounted for by exactly one kind of event:
 *   copied-upstream   content signed upstream, copied after its `verified` event;
 *   copied-signature  a signature/attestation object that verified, copied beside its subject;
 *   composed          an object airlock built from verified parts (a composed signature manifest, a release bundle);
 *   insecure-copy     content copied with --insecure-skip-verify, recorded as unverified.
 * (Checkpoints published to a target are self-authenticating and need no event: an event for a checkpoint would
 * need a newer checkpoint, for ever.)
 */
import type { JsonObject } from './canonical.js';

export const EVENT_KINDS = [
  'run-started',
  'run-finished',
  'release-discovered',
  'verified',
  'refused',
  'copied-upstream',
  'copied-signature',
  'composed',
  'insecure-copy',
  'archive-loaded',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** For a digest event: the trust state of its digest. For run-finished: the run's outcome. */
export const EVENT_STATUSES = ['verified', 'refused', 'composed', 'unverified', 'ok', 'refusals', 'failed'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** How a digest written to a target came to be trusted (or not): the audit's four answers. */
export const TARGET_DIGEST_ORIGIN = {
  'copied-upstream': 'signed-upstream',
  'copied-signature': 'verified-signature',
  composed: 'composed-by-airlock',
  'insecure-copy': 'unverified',
} as const satisfies Partial<Record<EventKind, string>>;

export function isEventKind(s: string): s is EventKind {
  return (EVENT_KINDS as readonly string[]).includes(s);
}
export function isEventStatus(s: string): s is EventStatus {
  return (EVENT_STATUSES as readonly string[]).includes(s);
}

/** One event as a caller hands it to the ledger: the ledger adds its sequence number, time and run. */
export interface LedgerEventInput {
  kind: EventKind;
  /** Repository the event is about, e.g. `ghcr.io/fluxcd/source-controller`. */
  image?: string | null;
  /** The digest the event is about (for copied-signature: the signature object's own digest). */
  digest?: string | null;
  /** The digest `digest` relates to: what a signature signs, what a composed object was composed for. */
  subject?: string | null;
  /** The upstream release, e.g. `v2.4.0`. */
  release?: string | null;
  status?: EventStatus | null;
  /** A refusal's reason code (e.g. VERIFY_FAILED, IDENTITY_MISMATCH). */
  reason?: string | null;
  body: JsonObject;
}

/** One stored event, every column: what a query shows is exactly what the Merkle leaf covers. */
export interface LedgerEntry {
  seq: number;
  time: string;
  kind: EventKind;
  run: string | null;
  image: string | null;
  digest: string | null;
  subject: string | null;
  release: string | null;
  status: EventStatus | null;
  reason: string | null;
  body: JsonObject;
}

// ---- builders: one per kind, so a caller cannot put a digest in the wrong column -------------------------------

export interface RunInfo {
  command: string;
  toolVersion: string;
  /** Digest of the effective config (canonical JSON), so an audit knows which policy was in force. */
  configDigest?: string | null;
  startedAt?: string;
  [extra: string]: JsonObject[string] | undefined;
}

export function runStarted(info: RunInfo): LedgerEventInput {
  const { command, toolVersion, configDigest, ...rest } = info;
  return { kind: 'run-started', body: { ...clean(rest), command, tool: { name: 'airlock', version: toolVersion }, configDigest: configDigest ?? null } };
}

export function runFinished(b: { outcome: 'ok' | 'refusals' | 'failed'; counts: Record<string, number>; durationMs?: number }): LedgerEventInput {
  return { kind: 'run-finished', status: b.outcome, body: clean({ outcome: b.outcome, counts: b.counts, durationMs: b.durationMs }) };
}

export function releaseDiscovered(b: { release: string; repository: string; checksums?: { name: string; digest: string } | null; extra?: JsonObject }): LedgerEventInput {
  return {
    kind: 'release-discovered',
    release: b.release,
    digest: b.checksums?.digest ?? null,
    body: clean({ ...b.extra, release: b.release, repository: b.repository, checksums: b.checksums ?? null }),
  };
}

interface Subject {
  image: string;
  digest: string;
  release?: string | null;
  tag?: string | null;
}

/** A digest passed verification; `verdict` is verify/'s evidence as JSON (identity, bundle, trust root digest…). */
export function verifiedEvent(b: Subject & { verdict: JsonObject; trustRootDigest: string; bundleDigest?: string | null }): LedgerEventInput {
  return {
    ...columns(b),
    kind: 'verified',
    status: 'verified',
    body: clean({ tag: b.tag ?? null, verdict: b.verdict, trustRootDigest: b.trustRootDigest, bundleDigest: b.bundleDigest ?? null }),
  };
}

/** Something was refused: reason code, the one-sentence message, and the evidence that was seen. */
export function refusedEvent(b: {
  image?: string | null;
  digest?: string | null;
  release?: string | null;
  tag?: string | null;
  reason: string;
  message: string;
  evidence?: JsonObject;
}): LedgerEventInput {
  return {
    kind: 'refused',
    status: 'refused',
    image: b.image ?? null,
    digest: b.digest ?? null,
    release: b.release ?? null,
    reason: b.reason,
    body: clean({ tag: b.tag ?? null, reason: b.reason, message: b.message, evidence: b.evidence ?? {} }),
  };
}

interface Copy {
  source: string;
  target: string;
  /** Every digest written to the target for this copy (manifests, blobs), so none is unaccounted for. */
  written: string[];
}

export function copiedUpstreamEvent(b: Subject & Copy): LedgerEventInput {
  return { ...columns(b), kind: 'copied-upstream', status: 'verified', body: clean({ tag: b.tag ?? null, ...copyBody(b) }) };
}

export function copiedSignatureEvent(b: Subject & Copy & { signs: string; artifact: string }): LedgerEventInput {
  return {
    ...columns(b),
    kind: 'copied-signature',
    status: 'verified',
    subject: b.signs,
    body: clean({ tag: b.tag ?? null, artifact: b.artifact, signs: b.signs, ...copyBody(b) }),
  };
}

export function composedEvent(b: Omit<Subject, 'image'> & { image?: string | null; subject?: string | null; what: string; target: string; from: string[]; written: string[] }): LedgerEventInput {
  return {
    kind: 'composed',
    status: 'composed',
    image: b.image ?? null,
    digest: b.digest,
    subject: b.subject ?? null,
    release: b.release ?? null,
    body: clean({ tag: b.tag ?? null, what: b.what, target: b.target, from: b.from, written: b.written }),
  };
}

export function insecureCopyEvent(b: Subject & Copy & { flag: string }): LedgerEventInput {
  return { ...columns(b), kind: 'insecure-copy', status: 'unverified', body: clean({ tag: b.tag ?? null, flag: b.flag, ...copyBody(b) }) };
}

function columns(b: Subject): Pick<LedgerEventInput, 'image' | 'digest' | 'release'> {
  return { image: b.image, digest: b.digest, release: b.release ?? null };
}

function copyBody(b: Copy): JsonObject {
  return { source: b.source, target: b.target, written: b.written };
}

/** Drops undefined members so bodies stay valid JSON objects. */
function clean(o: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v as JsonObject[string];
  return out;
}

/**
 * An air-gap archive loaded (`archive load`), after its content's own events: the archive's sha256 (digest
 * column), the trust root and how it was pinned, and the sender's ledger checkpoint the archive carried — with
 * whether it was authenticated by the sender's key — so an auditor can tie both ledgers together.
 */
export function archiveLoadedEvent(b: { release: string; digest: string; archive: string; target: string; trustRoot: JsonObject; excerpt: JsonObject; images: JsonObject[]; releaseArtifact: JsonObject }): LedgerEventInput {
  return {
    kind: 'archive-loaded',
    digest: b.digest,
    release: b.release,
    status: 'ok',
    body: { archive: b.archive, target: b.target, trustRoot: b.trustRoot, excerpt: b.excerpt, images: b.images, releaseArtifact: b.releaseArtifact },
  };
}
