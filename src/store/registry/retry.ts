/**
 * Retry policy: which answers are worth another attempt and how long to wait. Registries shed load with 429
 * and 502/503/504 (500 too, for reads, which are idempotent); waits grow exponentially with jitter so many
 * clients retrying together do not hit the registry in lock-step, and a server's Retry-After wins (capped, so a
 * hostile or broken server cannot park us for hours).
 */
export interface RetryPolicy {
  /** Extra attempts after the first. */
  retries: number;
  baseMs: number;
  maxWaitMs: number;
}

export const DEFAULT_RETRIES = 4;
export const DEFAULT_RETRY_BASE_MS = 200;
export const DEFAULT_RETRY_MAX_WAIT_MS = 30_000;

export function isRetryableStatus(status: number, method: string): boolean {
  if (status === 429 || status === 502 || status === 503 || status === 504) return true;
  return status === 500 && (method === 'GET' || method === 'HEAD');
}

/** Retry-After as milliseconds: delta-seconds or an HTTP-date; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Only accept something that looks like an HTTP-date; Date.parse accepts too much.
  if (!/^[A-Za-z]{3},? /.test(v)) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/** Exponential backoff with "equal jitter": half fixed, half random, capped. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exp = policy.baseMs * 2 ** Math.min(attempt, 20);
  const capped = Math.min(exp, policy.maxWaitMs);
  return Math.round(capped / 2 + (capped / 2) * random());
}

/** The wait before the next attempt after `res`: Retry-After when given (429/503), else backoff. */
export function waitFor(res: Response | undefined, attempt: number, policy: RetryPolicy): number {
  const ra = res ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
  if (ra !== undefined) return Math.min(ra, policy.maxWaitMs);
  return backoffMs(attempt, policy);
}

/** setTimeout as a promise that rejects with the signal's reason when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason as Error);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
