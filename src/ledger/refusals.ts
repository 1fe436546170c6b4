/**
 * "Was this refusal already recorded?" — same digest and reason code; without a digest, same image, release
 * and reason. Asked inside the append transaction, so two processes never both record the same refusal.
 */
import type { Db } from './db.js';
import { digestBytes } from './row.js';
import { DIGEST_IN_RANGE, DIGEST_RANGES } from './schema.js';

export interface RefusalKey {
  digest: string | null;
  reason: string;
  image: string | null;
  release: string | null;
}

export function refusalLookup(db: Db): (k: RefusalKey) => boolean {
  // Two shapes so each is served by its index (`digest IS ?` would not use the partial digest index, and the
  // planner would scan every refusal); the unary + keeps it off the kind index.
  const withDigest = db
    .prepare<[Buffer, string]>(`${DIGEST_RANGES}SELECT 1 FROM events WHERE ${DIGEST_IN_RANGE} AND +kind = 'refused' AND +reason = ? LIMIT 1`)
    .pluck();
  const byImage = db
    .prepare<[string, string | null, string]>(
      `SELECT 1 FROM events WHERE image = ? AND release IS ? AND +kind = 'refused' AND reason = ? AND digest IS NULL LIMIT 1`,
    )
    .pluck();
  const byRelease = db
    .prepare<[string, string]>(`SELECT 1 FROM events WHERE release = ? AND image IS NULL AND +kind = 'refused' AND reason = ? AND digest IS NULL LIMIT 1`)
    .pluck();
  const byReason = db
    .prepare<[string]>(`SELECT 1 FROM events WHERE kind = 'refused' AND reason = ? AND digest IS NULL AND image IS NULL AND release IS NULL LIMIT 1`)
    .pluck();
  return (k: RefusalKey): boolean =>
    (k.digest !== null
      ? withDigest.get(digestBytes(k.digest), k.reason)
      : k.image !== null
        ? byImage.get(k.image, k.release, k.reason)
        : k.release !== null
          ? byRelease.get(k.release, k.reason)
          : byReason.get(k.reason)) !== undefined;
}
