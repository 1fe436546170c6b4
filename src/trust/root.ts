/**
 * Checks a Sigstore trusted_root.json before anything trusts it, and summarises its validity windows.
 *
 * Why our own check: @sigstore/verify's toTrustMaterial() treats a missing `validFor.start` (or a missing
 * `validFor`) as "valid since the beginning of time". The trusted-root spec makes `TimeRange.start` required, and
 * an entry with no start would let a retired or never-meant-to-be-trusted key vouch for signatures of any age
 * (conformance: trust-root-tlog-missing-validity-start_fail). So every CA, TSA, tlog and ctlog entry must carry a
 * well-formed RFC 3339 `start`, and `end` (optional: still in service) must not be before it. We refuse the whole
 * root rather than filter entries out: a trust root is an all-or-nothing statement from whoever published it, and a
 * malformed one should be noticed, not silently shrunk.
 */
import { AirlockError, type ErrorCode } from '../errors.js';

/** Media types of trusted roots we accept (the spec's current one and the two older spellings). */
export const TRUSTED_ROOT_MEDIA_TYPES: readonly string[] = [
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.1+json',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json',
];

export type TrustEntryKind = 'certificate-authority' | 'timestamp-authority' | 'tlog' | 'ctlog';

/** One authority of the trusted root and when it may vouch for something (closed interval, as in the spec). */
export interface TrustEntrySummary {
  readonly kind: TrustEntryKind;
  /** Position in its list of the trusted root, e.g. `tlogs[1]`. */
  readonly path: string;
  /** CA/TSA `uri` or log `baseUrl`. */
  readonly name: string;
  /** Log id (hex) for tlogs/ctlogs; the subject common name for CAs/TSAs, when present. */
  readonly id?: string;
  readonly validFor: { readonly start: string; readonly end: string | null };
}

// RFC 3339 as protobuf JSON writes timestamps: date, time, optional fraction, Z or offset. Date.parse alone would
// accept many looser forms ("2021", "Jan 1 2021"), which a trust decision should not depend on.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const SECTIONS: readonly { key: string; kind: TrustEntryKind; windowOf: (e: Record<string, unknown>) => unknown }[] = [
  { key: 'certificateAuthorities', kind: 'certificate-authority', windowOf: (e) => e.validFor },
  { key: 'timestampAuthorities', kind: 'timestamp-authority', windowOf: (e) => e.validFor },
  { key: 'tlogs', kind: 'tlog', windowOf: (e) => asObject(e.publicKey)?.validFor },
  { key: 'ctlogs', kind: 'ctlog', windowOf: (e) => asObject(e.publicKey)?.validFor },
];

/**
 * Throws (with `details.check = 'trust-root-validity'`) unless `json` is a trusted root whose every authority has a
 * well-formed validity window; returns the windows. `what` names the root in messages ("the trusted root FILE").
 */
export function checkTrustedRoot(json: unknown, what: string, code: ErrorCode = 'BAD_INPUT'): TrustEntrySummary[] {
  const fail = (problem: string): never => {
    throw new AirlockError(code, `${capitalize(what)} is not usable: ${problem}.`, { details: { check: 'trust-root-validity' } });
  };
  const root = asObject(json);
  if (!root) return fail('it is not a JSON object');
  if (typeof root.mediaType !== 'string' || !TRUSTED_ROOT_MEDIA_TYPES.includes(root.mediaType)) {
    return fail(`its mediaType ${JSON.stringify(root.mediaType)} is not a Sigstore trusted root media type`);
  }
  const out: TrustEntrySummary[] = [];
  for (const section of SECTIONS) {
    const list = root[section.key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return fail(`${section.key} is not a list`);
    list.forEach((raw: unknown, i: number) => {
      const path = `${section.key}[${i}]`;
      const entry = asObject(raw);
      if (!entry) return fail(`${path} is not an object`);
      const window = asObject(section.windowOf(entry));
      // protobuf JSON writes an absent field as null: a null start is a missing start, a null end an open window.
      if (!window || window.start === undefined || window.start === null) {
        return fail(`${path} (${nameOf(entry)}) has no validFor.start, and an authority without a start date cannot be bounded in time`);
      }
      const start = parseTime(window.start);
      if (start === undefined) return fail(`${path} validFor.start ${JSON.stringify(window.start)} is not an RFC 3339 time`);
      let end: number | undefined;
      if (window.end !== undefined && window.end !== null) {
        end = parseTime(window.end);
        if (end === undefined) return fail(`${path} validFor.end ${JSON.stringify(window.end)} is not an RFC 3339 time`);
        if (end < start) return fail(`${path} validFor.end is before its start`);
      }
      out.push({
        kind: section.kind,
        path,
        name: nameOf(entry),
        ...idOf(section.kind, entry),
        validFor: { start: new Date(start).toISOString(), end: end === undefined ? null : new Date(end).toISOString() },
      });
    });
  }
  return out;
}

function parseTime(v: unknown): number | undefined {
  if (typeof v !== 'string' || !RFC3339.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

function nameOf(entry: Record<string, unknown>): string {
  const n = entry.baseUrl ?? entry.uri;
  return typeof n === 'string' ? n : '(unnamed)';
}

function idOf(kind: TrustEntryKind, entry: Record<string, unknown>): { id?: string } {
  if (kind === 'tlog' || kind === 'ctlog') {
    const keyId = asObject(entry.checkpointKeyId)?.keyId ?? asObject(entry.logId)?.keyId;
    return typeof keyId === 'string' ? { id: Buffer.from(keyId, 'base64').toString('hex') } : {};
  }
  const cn = asObject(entry.subject)?.commonName;
  return typeof cn === 'string' ? { id: cn } : {};
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
