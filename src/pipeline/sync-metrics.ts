/**
 * The outcome of a sync as a node_exporter textfile-collector file (Prometheus text exposition format 0.0.4),
 * written after every run — success, refusals, failure or an error before any result — so a monitor alerts on a
 * mirror that stopped moving. The file is replaced atomically (a temp file in the same directory, then rename):
 * the collector never reads half a file. The last success timestamp survives a failing run: it is read back from
 * the previous file (for the same target) and written again.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { replaceFile } from '../store/layout/fs-util.js';
import type { SyncSummary } from './sync.js';

export type SyncRunOutcome = 'ok' | 'refusals' | 'failed' | 'error';
export const SYNC_RUN_OUTCOMES: readonly SyncRunOutcome[] = ['ok', 'refusals', 'failed', 'error'];

export interface SyncMetricsRun {
  target: string;
  /** When the run started and ended, ms since the epoch. */
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  outcome: SyncRunOutcome;
  /** Absent when the run ended before it had a result (locked, upstream unreachable, bad config…). */
  summary?: SyncSummary;
}

const P = 'airlock_sync_';
const LAST_SUCCESS = `${P}last_success_timestamp_seconds`;

/** A label value as the exposition format wants it: backslash, double quote and newline escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function unescapeLabelValue(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

const seconds = (ms: number): string => String(Math.round(ms) / 1000);

/** The last success timestamp (seconds) a previous file holds for this target, if any. */
export function lastSuccessIn(text: string, target: string): number | undefined {
  const re = new RegExp(`^${LAST_SUCCESS}\\{target="((?:[^"\\\\]|\\\\.)*)"\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const value = Number(m[2]);
    if (unescapeLabelValue(m[1]!) === target && Number.isFinite(value) && value > 0) return value;
  }
  return undefined;
}

/** The file's text. `lastSuccess` (seconds) is this run's end when it exited 0, else what the previous file said; 0: never. */
export function renderSyncMetrics(run: SyncMetricsRun, previousLastSuccess: number | undefined): string {
  const label = `target="${escapeLabelValue(run.target)}"`;
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: [string, number | string][]) => {
    lines.push(`# HELP ${P}${name} ${help}`, `# TYPE ${P}${name} gauge`);
    for (const [labels, value] of samples) lines.push(`${P}${name}{${labels}} ${value}`);
  };
  const lastSuccess = run.exitCode === 0 ? seconds(run.finishedAt) : previousLastSuccess !== undefined ? String(previousLastSuccess) : '0';
  gauge('last_run_timestamp_seconds', 'When the last airlock sync ended, in seconds since the epoch.', [[label, seconds(run.finishedAt)]]);
  gauge('last_success_timestamp_seconds', 'When the last airlock sync that exited 0 ended, in seconds since the epoch (0: never).', [[label, lastSuccess]]);
  gauge('last_run_exit_code', 'The exit code of the last airlock sync (0 all mirrored, 12 refusals outstanding, 13 locked, …).', [[label, run.exitCode]]);
  gauge(
    'last_run_outcome',
    'The outcome of the last airlock sync: 1 for the outcome it had (ok, refusals, failed, error), 0 for the others.',
    SYNC_RUN_OUTCOMES.map((o) => [`${label},outcome="${o}"`, o === run.outcome ? 1 : 0]),
  );
  gauge('last_run_duration_seconds', 'How long the last airlock sync ran, in seconds.', [[label, seconds(run.finishedAt - run.startedAt)]]);
  const s = run.summary;
  if (s) {
    const mirrored = s.images.copied + s.images.present + s.images.reconciled;
    gauge('releases', 'Releases the last airlock sync processed.', [[label, s.releases]]);
    gauge('images_mirrored', 'Images of the selected releases the target holds verified after the last sync (copied, present or reconciled).', [[label, mirrored]]);
    gauge('images_copied', 'Images the last airlock sync copied into the target.', [[label, s.images.copied]]);
    gauge('images_refused', 'Images refused by the last airlock sync (verification said no; recorded in the ledger).', [[label, s.images.refused]]);
    gauge('images_failed', 'Images the last airlock sync could not process (network, target).', [[label, s.images.failed]]);
    gauge('refusals_outstanding', 'Refusals outstanding after the last airlock sync: images, files and releases.', [[label, s.refusals]]);
    gauge('failures', 'Items that failed in the last airlock sync (images, files, releases, release artifacts).', [[label, s.failures]]);
    gauge('bytes_copied', 'Bytes the last airlock sync wrote into the target for images.', [[label, s.bytesCopied]]);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Writes the metrics of a run to `file`, atomically: a temp file beside it (a name the collector ignores: it
 * reads only `*.prom`), flushed to disk, then renamed over the file. The directory must exist.
 */
export async function writeSyncMetrics(file: string, run: SyncMetricsRun): Promise<void> {
  const previous = await readFile(file, 'utf8').catch(() => '');
  const text = renderSyncMetrics(run, lastSuccessIn(previous, run.target));
  await replaceFile(file, join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`), text);
}
