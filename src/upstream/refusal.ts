/**
 * Why upstream content was refused, as data. Everything src/upstream reads comes from the network and may be
 * hostile; each check that stops something throws an AirlockError whose `details.reason` is one of these, so sync
 * can record the refusal in the ledger (and recognise the same refusal on a later run) without parsing messages.
 */
import { AirlockError, type ErrorCode } from '../errors.js';
import { neutralize } from '../log.js';

export const UPSTREAM_REFUSAL_REASONS = [
  // release JSON (release.ts)
  'release-json-invalid',
  'release-tag-invalid',
  'release-tag-mismatch',
  'asset-name-invalid',
  'asset-name-duplicate',
  'asset-url-invalid',
  'asset-url-insecure',
  'asset-url-host',
  'asset-url-path',
  'asset-size-invalid',
  'asset-digest-malformed',
  'asset-state-invalid',
  'asset-count-exceeded',
  // downloads (download.ts)
  'asset-not-uploaded',
  'asset-too-large',
  'asset-size-mismatch',
  'asset-digest-mismatch',
  'asset-encoding',
  'redirect-insecure',
  'redirect-host',
  'redirect-loop',
  // the API (github.ts, http.ts)
  'rate-limited',
  'api-response-invalid',
  'api-response-too-large',
  'api-redirect-cross-origin',
  'pagination-cross-origin',
  // checksums (checksums.ts)
  'checksums-empty',
  'checksums-too-large',
  'checksums-encoding',
  'checksums-line-endings',
  'checksums-line-malformed',
  'checksums-name-invalid',
  'checksums-name-duplicate',
  'checksums-entry-missing',
  // install.yaml (install-yaml.ts)
  'install-yaml-too-large',
  'install-yaml-malformed',
  'image-reference-malformed',
  'image-digest-malformed',
  'image-tag-invalid',
  'image-tag-missing',
  'image-name-dotdot',
  'image-name-nested',
  // profile matching (profile-assets.ts)
  'checksums-missing',
  'checksums-signature-missing',
  'profile-asset-missing',
] as const;

export type UpstreamRefusalReason = (typeof UPSTREAM_REFUSAL_REASONS)[number];

/** An AirlockError carrying `details.reason`; `details` must hold no secrets (they reach --json and the ledger). */
export function upstreamError(
  code: ErrorCode,
  reason: UpstreamRefusalReason,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): AirlockError {
  return new AirlockError(code, message, { details: { ...details, reason }, ...(cause === undefined ? {} : { cause }) });
}

/** The refusal reason of an error thrown by src/upstream, if it is one. */
export function refusalReasonOf(e: unknown): UpstreamRefusalReason | undefined {
  if (!(e instanceof AirlockError)) return undefined;
  const r = e.details?.reason;
  return typeof r === 'string' && (UPSTREAM_REFUSAL_REASONS as readonly string[]).includes(r) ? (r as UpstreamRefusalReason) : undefined;
}

/**
 * A value from upstream made safe to print: control characters (ANSI/OSC escapes, newlines) neutralised and the
 * length capped, so a hostile asset name or tag cannot forge terminal output or log lines. Quoted.
 */
export function shown(value: unknown, max = 120): string {
  const s = typeof value === 'string' ? value : String(JSON.stringify(value));
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return `"${neutralize(cut)}"`;
}

/** The same, unquoted, for `details` (which the ledger stores and renderers may print). */
export function safeDetail(value: string, max = 256): string {
  return neutralize(value.length > max ? `${value.slice(0, max)}…` : value);
}
