/**
 * The log lines of `airlock sync`: its events (src/pipeline/sync-events.ts) through the CLI's formatter — JSON lines
 * for machines (every step: run start, release verified/refused, each image resolved/verified/copied/present/
 * refused/failed with digest, bytes and durations, run end with counts), human lines for a terminal (the
 * decisions only; the progress view shows the steps). Every line carries `event`, the machine name of the step.
 */
import type { SyncEvent } from '../pipeline/sync-events.js';
import type { SyncResult, SyncSummary } from '../pipeline/sync.js';
import type { SyncRunOutcome } from '../pipeline/sync-metrics.js';
import { humanSize } from './render.js';
import type { CliLog } from './log-format.js';

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
const short = (d: string | undefined | null): string => (d ? `${d.slice(0, 19)}…` : '');

export function logSyncEvent(log: CliLog, e: SyncEvent): void {
  switch (e.type) {
    case 'run-start':
      log.event('info', 'sync started', { event: e.type, target: e.target, releases: e.releases }, `Syncing ${e.releases.length === 0 ? 'no release' : e.releases.join(', ')} into ${e.target}`);
      return;
    case 'release-start':
      log.event('info', 'release started', { event: e.type, release: e.release }, null);
      return;
    case 'release-verified':
      log.event(
        'info',
        'release verified',
        { event: e.type, release: e.release, digest: e.digest, identity: e.identity, evidence: e.evidence, durationMs: e.durationMs },
        `${e.release}: checksums verified, signed by ${e.identity ?? 'a key'} (${e.evidence})`,
      );
      return;
    case 'release-done':
      log.event('info', 'release done', { event: e.type, release: e.release, status: e.status, durationMs: e.durationMs }, `${e.release}: ${e.status} in ${secs(e.durationMs)}`);
      return;
    case 'image-stage': {
      if (e.stage === 'resolving') return;
      const msg = e.stage === 'verifying' ? 'image resolved' : 'image verified';
      log.event('info', msg, { event: msg.replace(' ', '-'), release: e.release, image: e.image.name, tag: e.image.tag, target: e.image.target, digest: e.digest, elapsedMs: e.elapsedMs }, null);
      return;
    }
    case 'image-progress':
      return;
    case 'image-done': {
      const ok = e.status === 'copied' || e.status === 'present' || e.status === 'reconciled';
      const fields = {
        event: e.type,
        release: e.release,
        image: e.image.name,
        tag: e.image.tag,
        target: e.image.target,
        status: e.status,
        digest: e.digest,
        bytes: e.bytes,
        durationMs: e.durationMs,
        verifyMs: e.verifyMs,
        code: e.code,
        check: e.check ?? undefined,
        message: e.message,
      };
      const what = `${e.image.name}:${e.image.tag}`;
      const text = ok
        ? `  ${what} ${e.status} ${short(e.digest)}${e.bytes > 0 ? ` ${humanSize(e.bytes)}` : ''} in ${secs(e.durationMs)}`
        : `  ${what} ${e.status.toUpperCase()} ${e.code ?? ''}${e.check ? ` (${e.check})` : ''}: ${e.message ?? ''}`;
      log.event(ok ? 'info' : e.status === 'refused' ? 'warn' : 'error', `image ${e.status}`, fields, text);
      return;
    }
    case 'refused':
    case 'failed': {
      // An image's refusal or failure is its image-done line.
      if (e.scope === 'image') return;
      const fields =
        e.type === 'refused'
          ? { event: `${e.scope}-refused`, release: e.release, item: e.item, digest: e.digest, code: e.code, check: e.check, message: e.message, newlyRecorded: e.newlyRecorded }
          : { event: `${e.scope}-failed`, release: e.release, item: e.item, code: e.code, message: e.message };
      const check = e.type === 'refused' && e.check ? ` (${e.check})` : '';
      log.event(e.type === 'refused' ? 'warn' : 'error', `${e.scope} ${e.type}`, fields, `${e.release}: ${e.type.toUpperCase()} ${e.item}: ${e.code}${check}: ${e.message}`);
      return;
    }
  }
}

/** The outcome a run ends with, for logs and metrics: a result's own, or `error` when it ended without one. */
export function runOutcome(result: SyncResult | undefined): SyncRunOutcome {
  return result ? result.summary.outcome : 'error';
}

/** The closing line: counts, bytes, duration, the outcome and the exit code. */
export function logSyncEnd(log: CliLog, o: { outcome: SyncRunOutcome; exitCode: number; durationMs: number; summary?: SyncSummary; code?: string }): void {
  const s = o.summary;
  const fields = {
    event: 'run-end',
    outcome: o.outcome,
    exitCode: o.exitCode,
    code: o.code,
    durationMs: o.durationMs,
    ...(s ? { releases: s.releases, images: s.images, refusals: s.refusals, refusalsNew: s.refusalsNew, failures: s.failures, bytesCopied: s.bytesCopied } : {}),
  };
  const counts = s
    ? `${s.releases} release(s); images: ${s.images.copied} copied, ${s.images.present + s.images.reconciled} present, ${s.images.refused} refused, ${s.images.failed} failed; ${s.refusals} refusal(s) outstanding; ${humanSize(s.bytesCopied)} copied`
    : 'no result';
  const level = o.exitCode === 0 ? 'info' : o.outcome === 'refusals' ? 'warn' : 'error';
  log.event(level, 'sync finished', fields, `Sync ${o.outcome} (exit ${o.exitCode}) in ${secs(o.durationMs)}: ${counts}.`);
}
