/**
 * One error type for the whole library: a string-literal code, a one-sentence message that says what was wrong
 * and what to do, the cause kept, and an exit code per code. The CLI prints `message`; `--json` carries `code`.
 */
export type ErrorCode =
  | 'BAD_INPUT' // unparsable reference, bad flag combination, malformed file given by the user
  | 'NOT_FOUND' // a manifest, tag, blob or file that does not exist
  | 'AUTH_FAILED' // credentials missing, refused, or a token could not be obtained
  | 'UNREACHABLE' // connection refused, DNS failure, TLS failure, timeout after retries
  | 'INTEGRITY' // bytes that do not match their digest or size
  | 'LIMIT_EXCEEDED' // a manifest over 4 MiB, an index too deep, too many layers…
  | 'LAYOUT_INVALID' // a missing or corrupt OCI layout / archive
  | 'REGISTRY_ERROR' // the registry answered something we cannot use (unexpected status, protocol violation)
  | 'INSECURE_REFUSED' // plain HTTP to a non-loopback host, token realm downgrade…
  | 'TAG_CONFLICT' // a content tag in the target points elsewhere
  | 'VERIFY_FAILED' // a signature or bundle that does not verify, or does not satisfy the policy
  | 'NO_SIGNATURE' // nothing to verify was found
  | 'REFUSALS_OUTSTANDING' // a run finished but some items were refused
  | 'LOCKED' // another run holds the lock
  | 'LEDGER_INVALID' // a ledger file that is corrupt, foreign, newer than this code, or does not verify
  | 'INTERNAL'
  | 'LEDGER_KEY' // the ledger's signing key is missing, unreadable, too open, or belongs to another ledger
  | 'CHECKPOINT_INVALID' // a checkpoint (signed note) that is malformed or belongs to another ledger
  | 'AUDIT_FINDINGS'; // `audit registry` found content the ledger does not account for (or that is broken)

/** Exit codes, one per code; documented in the README. 1 is left to uncaught crashes. */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  BAD_INPUT: 2,
  NOT_FOUND: 3,
  AUTH_FAILED: 4,
  UNREACHABLE: 5,
  INTEGRITY: 6,
  LIMIT_EXCEEDED: 7,
  LAYOUT_INVALID: 8,
  REGISTRY_ERROR: 9,
  VERIFY_FAILED: 10,
  NO_SIGNATURE: 11,
  REFUSALS_OUTSTANDING: 12,
  LOCKED: 13,
  LEDGER_INVALID: 14,
  INSECURE_REFUSED: 15,
  TAG_CONFLICT: 16,
  INTERNAL: 70,
  LEDGER_KEY: 17,
  CHECKPOINT_INVALID: 18,
  AUDIT_FINDINGS: 19,
};

export interface AirlockErrorOptions {
  cause?: unknown;
  /** Machine-readable details for --json (never secrets). */
  details?: Record<string, unknown>;
}

export class AirlockError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AirlockErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AirlockError';
    this.code = code;
    this.details = options.details;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

export function isAirlockError(e: unknown, code?: ErrorCode): e is AirlockError {
  return e instanceof AirlockError && (code === undefined || e.code === code);
}

/** The message of anything thrown, for wrapping foreign errors. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
