/**
 * What the auditor's report shows, distilled from the ledger's entries: one item per image digest (its release,
 * status, signer, Rekor evidence, where and when it was copied) or per refusal (with its reason in plain words),
 * the releases whose signed checksums were discovered, and per run the counts the chart draws. Bodies are not
 * embedded whole (a verified body carries its bundles, tens of kilobytes): the JSON export is the lossless record,
 * the report is the readable one, and every item names the entries it was made from.
 */
import type { JsonObject, JsonValue } from '../canonical.js';
import type { LedgerEntry } from '../events.js';

export type ItemStatus = 'mirrored' | 'verified' | 'refused' | 'unverified' | 'composed';

export interface ReportSigner {
  identity: string;
  issuer: string;
  sourceRepositoryUri: string | null;
  sourceRepositoryRef: string | null;
  logIndex: number | null;
  logTime: string | null;
}

export interface ReportCopy {
  target: string;
  time: string;
  seq: number;
  kind: string;
}

export interface ReportRefusal {
  code: string;
  check: string | null;
  /** The reason in plain words, for someone who does not know the check names. */
  plain: string;
  /** The one-sentence message airlock recorded. */
  message: string;
}

export interface ReportItem {
  release: string | null;
  image: string | null;
  tag: string | null;
  digest: string | null;
  status: ItemStatus;
  /** Time of the item's first entry (the verification or the refusal). */
  time: string;
  signer: ReportSigner | null;
  copies: ReportCopy[];
  /** Signature or attestation objects copied beside it. */
  signatures: number;
  refusal: ReportRefusal | null;
  /** What a composed object is. */
  what: string | null;
  /** The ledger entries this item summarises (`airlock ledger show N`). */
  seqs: number[];
}

export interface ReportRelease {
  release: string;
  repository: string | null;
  checksums: string | null;
  identity: string | null;
  time: string;
  seq: number;
}

export interface ReportRun {
  run: string;
  time: string;
  command: string | null;
  outcome: string | null;
  mirrored: number;
  refused: number;
}

export interface ReportModel {
  items: ReportItem[];
  releases: ReportRelease[];
  runs: ReportRun[];
  /** Entries the report was made from (after --since/--release). */
  entries: number;
}

export interface ReportFilter {
  /** Only this release's items, releases and runs' counts. */
  release?: string;
  /** ISO 8601: only entries at or after this time. */
  since?: string;
}

const str = (v: JsonValue | undefined): string | null => (typeof v === 'string' ? v : null);
const obj = (v: JsonValue | undefined): JsonObject | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null);

/** The first certificate signer in a verdict (its signatures, then attestations, or the verdict itself), with its log entry. */
export function signerOf(verdict: JsonObject | null): ReportSigner | null {
  if (!verdict) return null;
  const candidates: JsonValue[] = [];
  for (const key of ['signatures', 'attestations']) {
    const list = verdict[key];
    if (Array.isArray(list)) for (const s of list) candidates.push(obj(s)?.['verdict'] ?? s);
  }
  candidates.push(verdict);
  for (const c of candidates) {
    const v = obj(c);
    const signer = obj(v?.['signer']);
    if (!v || !signer || typeof signer['identity'] !== 'string') continue;
    const ext = obj(signer['extensions']);
    const tlog = Array.isArray(v['tlogEntries']) ? obj(v['tlogEntries'][0]) : null;
    const index = tlog?.['logIndex'];
    return {
      identity: signer['identity'],
      issuer: str(signer['issuer']) ?? '',
      sourceRepositoryUri: str(ext?.['sourceRepositoryUri']),
      sourceRepositoryRef: str(ext?.['sourceRepositoryRef']),
      logIndex: typeof index === 'number' ? index : typeof index === 'string' && /^\d+$/.test(index) ? Number(index) : null,
      logTime: str(tlog?.['integratedTime']),
    };
  }
  return null;
}

const CHECK_WORDS: Record<string, string> = {
  identity: 'It was signed, but not by the identity expected for it: a valid signature from the wrong workflow or repository.',
  issuer: 'It was signed, but the signer was vouched for by another identity provider than the one expected.',
  'certificate-extensions': "It was signed, but the certificate's source repository, ref or workflow is not the expected one.",
  'subject-digest': 'The signature is about another image digest, not this one.',
  signature: 'The signature does not match the content: either was altered.',
  artifact: 'The signature is about other content than this.',
  'certificate-chain': 'The signing certificate was not issued by a trusted authority.',
  'certificate-validity': 'The signing certificate was not valid when it signed.',
  tlog: 'The transparency-log (Rekor) record of the signature does not check out.',
  'tlog-verifier': 'The transparency-log record is about another certificate or key.',
  timestamps: 'The time of signing cannot be established from trusted evidence.',
  'bundle-format': 'The signature bundle is malformed.',
  'verification-material': 'The signature is not made the way the policy requires.',
  'predicate-type': 'The signed statement is of another kind than required.',
  'provenance-required': 'It has no build provenance signed by the expected identity, and provenance is required.',
  'trust-on-first-use': 'It changed upstream after airlock first recorded it; a published tag or release must not move.',
  policy: 'The verification policy for it is incomplete.',
  checksums: "The file does not match the release's signed checksums.",
};

const CODE_WORDS: Record<string, string> = {
  NO_SIGNATURE: 'No signature was found for it.',
  TAG_CONFLICT: CHECK_WORDS['trust-on-first-use']!,
  INTEGRITY: 'Its content does not match its digest.',
  INSECURE_REFUSED: 'It would have needed an insecure connection, which is not allowed.',
};

/** A refusal's reason in plain words, from its code and the check that failed. */
export function plainReason(code: string, check: string | null): string {
  if (check && CHECK_WORDS[check]) return CHECK_WORDS[check];
  if (CODE_WORDS[code]) return CODE_WORDS[code];
  if (code === 'VERIFY_FAILED') return check ? `Its verification failed (${check} check).` : 'Its verification failed.';
  return `It was refused (${code}).`;
}

function refusalOf(e: LedgerEntry): ReportRefusal {
  const evidence = obj(e.body['evidence']);
  const code = e.reason ?? str(e.body['reason']) ?? 'REFUSED';
  const check = str(evidence?.['check']);
  return { code, check, plain: plainReason(code, check), message: str(e.body['message']) ?? '' };
}

/** Builds the report from entries in ledger order (oldest first). */
export function buildReportModel(entries: Iterable<LedgerEntry>, filter: ReportFilter = {}): ReportModel {
  const items: ReportItem[] = [];
  const byDigest = new Map<string, ReportItem>();
  const releases: ReportRelease[] = [];
  const runs = new Map<string, ReportRun>();
  let count = 0;
  const itemFor = (e: LedgerEntry, digest: string | null): ReportItem => {
    const key = `${e.image ?? ''}\u0000${digest ?? ''}`;
    let item = digest ? byDigest.get(key) : undefined;
    if (!item) {
      item = { release: e.release, image: e.image, tag: str(e.body['tag']), digest, status: 'verified', time: e.time, signer: null, copies: [], signatures: 0, refusal: null, what: null, seqs: [] };
      items.push(item);
      if (digest) byDigest.set(key, item);
    }
    item.release ??= e.release;
    item.tag ??= str(e.body['tag']);
    item.seqs.push(e.seq);
    return item;
  };
  const runOf = (e: LedgerEntry): ReportRun | undefined => {
    if (!e.run) return undefined;
    let r = runs.get(e.run);
    if (!r) {
      r = { run: e.run, time: e.time, command: null, outcome: null, mirrored: 0, refused: 0 };
      runs.set(e.run, r);
    }
    return r;
  };
  for (const e of entries) {
    if (filter.since !== undefined && e.time < filter.since) continue;
    if (e.kind === 'run-started' || e.kind === 'run-finished') {
      const r = runOf(e);
      if (r && e.kind === 'run-started') r.command = str(e.body['command']);
      if (r && e.kind === 'run-finished') r.outcome = e.status;
      continue;
    }
    if (filter.release !== undefined && e.release !== filter.release) continue;
    count++;
    switch (e.kind) {
      case 'release-discovered':
        releases.push({ release: e.release ?? '', repository: str(e.body['repository']), checksums: e.digest, identity: str(e.body['identity']), time: e.time, seq: e.seq });
        break;
      case 'verified': {
        const item = itemFor(e, e.digest);
        item.signer ??= signerOf(obj(e.body['verdict']));
        break;
      }
      case 'copied-upstream':
      case 'insecure-copy': {
        const item = itemFor(e, e.digest);
        item.status = e.kind === 'insecure-copy' ? 'unverified' : 'mirrored';
        item.copies.push({ target: str(e.body['target']) ?? '', time: e.time, seq: e.seq, kind: e.kind });
        const r = runOf(e);
        if (r) r.mirrored++;
        break;
      }
      case 'copied-signature':
        itemFor(e, e.subject).signatures++;
        break;
      case 'composed': {
        if (e.subject) {
          itemFor(e, e.subject); // a composed signature manifest or referrers index belongs to its subject
          break;
        }
        const item = itemFor(e, e.digest);
        item.status = 'composed';
        item.what = str(e.body['what']);
        item.copies.push({ target: str(e.body['target']) ?? '', time: e.time, seq: e.seq, kind: e.kind });
        break;
      }
      case 'refused': {
        const item = itemFor(e, null);
        item.digest = e.digest;
        item.status = 'refused';
        item.refusal = refusalOf(e);
        const r = runOf(e);
        if (r) r.refused++;
        break;
      }
    }
  }
  // With --release, a run that did nothing for that release is not part of its story.
  const runList = [...runs.values()].filter((r) => filter.release === undefined || r.mirrored + r.refused > 0);
  return { items, releases, runs: runList, entries: count };
}
