/**
 * sync's node_exporter textfile: every sample with HELP and TYPE, accepted by the real `promtool check metrics`
 * (Debian's prometheus package), the target label escaped per the exposition format, the last success kept from
 * the previous file when a run fails (for the same target only), and the file replaced atomically.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSyncConfig } from '../../src/config/config.js';
import { AirlockError } from '../../src/errors.js';
import type { SyncSummary } from '../../src/pipeline/sync.js';
import { escapeLabelValue, lastSuccessIn, renderSyncMetrics, writeSyncMetrics, type SyncMetricsRun } from '../../src/pipeline/sync-metrics.js';

const summary: SyncSummary = {
  outcome: 'refusals',
  releases: 2,
  images: { copied: 3, present: 2, reconciled: 1, refused: 2, failed: 1 },
  refusals: 3,
  refusalsNew: 1,
  failures: 1,
  bytesCopied: 123456789,
  durationMs: 4200,
};
const T0 = Date.parse('2026-11-28T12:00:00.000Z');
const run = (o: Partial<SyncMetricsRun> = {}): SyncMetricsRun => ({ target: 'registry.internal/fluxcd', startedAt: T0, finishedAt: T0 + 4250, exitCode: 0, outcome: 'ok', summary: { ...summary, outcome: 'ok' }, ...o });

/** `promtool check metrics` on the text; returns its complaints (empty: clean). */
function promtool(text: string): string {
  try {
    execFileSync('promtool', ['check', 'metrics'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] });
    return '';
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer; message: string };
    return `${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? ''}` || err.message;
  }
}

function sample(text: string, name: string, labels = ''): string | undefined {
  return text.split('\n').find((l) => l.startsWith(`airlock_sync_${name}{`) && l.includes(labels))?.split(' ').at(-1);
}

describe('sync metrics', () => {
  it('is valid exposition format with HELP and TYPE for each metric (promtool check metrics), and says what the run did', () => {
    const text = renderSyncMetrics(run(), undefined);
    expect(promtool(text)).toBe('');
    const names = [...text.matchAll(/^# TYPE (\S+) gauge$/gm)].map((m) => m[1]);
    expect(names).toEqual([
      'airlock_sync_last_run_timestamp_seconds',
      'airlock_sync_last_success_timestamp_seconds',
      'airlock_sync_last_run_exit_code',
      'airlock_sync_last_run_outcome',
      'airlock_sync_last_run_duration_seconds',
      'airlock_sync_releases',
      'airlock_sync_images_mirrored',
      'airlock_sync_images_copied',
      'airlock_sync_images_refused',
      'airlock_sync_images_failed',
      'airlock_sync_refusals_outstanding',
      'airlock_sync_failures',
      'airlock_sync_bytes_copied',
    ]);
    for (const n of names) expect(text).toMatch(new RegExp(`^# HELP ${n} \\S`, 'm'));
    expect(sample(text, 'last_run_timestamp_seconds')).toBe('1795867204.25');
    expect(sample(text, 'last_success_timestamp_seconds')).toBe('1795867204.25');
    expect(sample(text, 'last_run_duration_seconds')).toBe('4.25');
    expect(sample(text, 'images_mirrored')).toBe('6');
    expect(sample(text, 'images_copied')).toBe('3');
    expect(sample(text, 'bytes_copied')).toBe('123456789');
    expect(sample(text, 'last_run_outcome', 'outcome="ok"')).toBe('1');
    expect(sample(text, 'last_run_outcome', 'outcome="error"')).toBe('0');
  });

  it('a failed run keeps the last success of the previous file; never succeeded is 0', () => {
    const ok = renderSyncMetrics(run(), undefined);
    const previous = lastSuccessIn(ok, 'registry.internal/fluxcd');
    expect(previous).toBe(1795867204.25);
    const failed = renderSyncMetrics(run({ finishedAt: T0 + 3_600_000, exitCode: 12, outcome: 'refusals', summary }), previous);
    expect(sample(failed, 'last_success_timestamp_seconds')).toBe('1795867204.25');
    expect(sample(failed, 'last_run_timestamp_seconds')).toBe('1795870800');
    expect(sample(failed, 'last_run_exit_code')).toBe('12');
    expect(renderSyncMetrics(run({ exitCode: 5, outcome: 'error' }), undefined)).toMatch(/^airlock_sync_last_success_timestamp_seconds\{target="registry.internal\/fluxcd"\} 0$/m);
    // Another target's file says nothing about this one.
    expect(lastSuccessIn(ok, 'oci:/other')).toBeUndefined();
  });

  it('a run without a result reports its outcome and exit code, and no counts', () => {
    const text = renderSyncMetrics({ target: 't', startedAt: T0, finishedAt: T0 + 10, exitCode: 13, outcome: 'error' }, 1795867204.25);
    expect(promtool(text)).toBe('');
    expect(text).not.toContain('images_copied');
    expect(sample(text, 'last_run_outcome', 'outcome="error"')).toBe('1');
  });

  it('escapes the target label (backslash, double quote, newline), and reads it back', () => {
    const target = 'oci:/srv/mirror "quoted" \\ back\nslash';
    expect(escapeLabelValue(target)).toBe('oci:/srv/mirror \\"quoted\\" \\\\ back\\nslash');
    const text = renderSyncMetrics(run({ target }), undefined);
    expect(promtool(text)).toBe('');
    expect(text.split('\n').filter((l) => l.startsWith('airlock_sync_')).every((l) => l.includes('{target="oci:/srv/mirror \\"quoted\\" \\\\ back\\nslash"'))).toBe(true);
    expect(lastSuccessIn(text, target)).toBe(1795867204.25);
    // Unescaped, promtool rejects it: the escaping is what keeps the file valid.
    expect(promtool(text.replace(/\\"quoted\\"/g, '"quoted"'))).not.toBe('');
  });

  it('writes atomically: the file is replaced whole, no temp file left; a failed run keeps the last success on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-metrics-'));
    const file = join(dir, 'airlock.prom');
    await writeSyncMetrics(file, run());
    const first = readFileSync(file, 'utf8');
    await writeSyncMetrics(file, { target: 'registry.internal/fluxcd', startedAt: T0 + 60_000, finishedAt: T0 + 70_000, exitCode: 5, outcome: 'error' });
    const second = readFileSync(file, 'utf8');
    expect(promtool(second)).toBe('');
    expect(sample(second, 'last_success_timestamp_seconds')).toBe(sample(first, 'last_success_timestamp_seconds'));
    expect(sample(second, 'last_run_exit_code')).toBe('5');
    expect(readdirSync(dir)).toEqual(['airlock.prom']);
    // A garbled previous file is no success.
    writeFileSync(file, 'garbage\n');
    await writeSyncMetrics(file, run({ exitCode: 12, outcome: 'refusals', summary }));
    expect(sample(readFileSync(file, 'utf8'), 'last_success_timestamp_seconds')).toBe('0');
    // A missing directory is an error, and leaves nothing behind.
    await expect(writeSyncMetrics(join(dir, 'missing', 'airlock.prom'), run())).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual(['airlock.prom']);
  });

  it('metrics_file in the config: a path relative to the config file; not a string is refused naming file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-metrics-config-'));
    const file = join(dir, 'airlock.yaml');
    writeFileSync(file, 'target: oci:./m\nmetrics_file: textfile/airlock.prom\n');
    expect(readSyncConfig(file, {}).metricsFile).toBe(join(dir, 'textfile', 'airlock.prom'));
    writeFileSync(file, 'target: oci:./m\n');
    expect(readSyncConfig(file, {}).metricsFile).toBeUndefined();
    writeFileSync(file, 'target: oci:./m\nmetrics_file: [a, b]\n');
    expect(() => readSyncConfig(file, {})).toThrow(AirlockError);
    expect(() => readSyncConfig(file, {})).toThrow(new RegExp(`${file}:2: `));
  });
});
