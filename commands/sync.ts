import { resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { AirlockCommand } from '../src/cli/command.js';
import { ledgerFlags, ledgerSettingsFromFlags } from '../src/cli/ledger-flags.js';
import { CliLog, defaultLogFormat, LOG_FORMATS, logFormatFromArgv, type LogFormat } from '../src/cli/log-format.js';
import { syncConfigFlags, syncFlagValues } from '../src/cli/sync-flags.js';
import { logSyncEnd, logSyncEvent } from '../src/cli/sync-log.js';
import { SyncProgressView } from '../src/cli/sync-progress.js';
import { renderSync } from '../src/cli/sync-render.js';
import type { SyncConfig } from '../src/config/config.js';
import { resolveSyncConfig } from '../src/config/sync-flags.js';
import { AirlockError, EXIT_CODES, isAirlockError, messageOf } from '../src/errors.js';
import { sync, syncExitError, type SyncResult } from '../src/pipeline/sync.js';
import { writeSyncMetrics, type SyncRunOutcome } from '../src/pipeline/sync-metrics.js';

export default class Sync extends AirlockCommand<SyncResult> {
  static override summary = 'Mirror the selected Flux releases: checksums, files and images verified end to end, only what verified copied, every decision recorded.';
  static override description =
    'Per release: the checksums signature is verified against the release identity (a release whose checksums fail mirrors nothing), the files are ' +
    'checked against the verified checksums, and each image named by the verified install.yaml is resolved once, verified against its own ' +
    'controller identity at its own version, and copied with its verified signatures to <target>/<name>:<tag>. There is no way to skip verification. ' +
    'Exit codes: 0 all mirrored, 12 refusals outstanding (each recorded once in the ledger), 13 another sync holds the lock, others as for copy. ' +
    'On a terminal it shows progress and human log lines on stderr; elsewhere stderr carries JSON lines (--log-format). ' +
    '--metrics-file writes a node_exporter textfile-collector file after every run.';
  static override examples = [
    '<%= config.bin %> sync',
    '<%= config.bin %> sync --release v2.9.4 --target registry.internal/fluxcd',
    '<%= config.bin %> sync --github-api https://ghe.example/api/v3 --source cache.internal/ghcr/fluxcd --json',
    '<%= config.bin %> sync --log-format json --metrics-file /var/lib/node_exporter/textfile_collector/airlock.prom',
  ];
  static override flags = {
    ...syncConfigFlags,
    ...ledgerFlags,
    wait: Flags.integer({ min: 0, default: 0, description: 'seconds to wait for another sync on the same ledger or target to finish (default: exit 13 at once)' }),
    'adopt-target': Flags.boolean({
      description: 'let a new, empty ledger start against a target that already holds mirrored content: every tag met is verified again and recorded as reconciled',
    }),
    'log-format': Flags.string({
      options: [...LOG_FORMATS],
      description: 'log lines on stderr: text (human) or json (one object per line); default text on a terminal, json otherwise',
    }),
    progress: Flags.boolean({ allowNo: true, default: true, description: 'progress on stderr when it is a terminal and the log format is text (--no-progress: none)' }),
    'metrics-file': Flags.string({
      description: 'write the run\'s metrics to this file (node_exporter textfile collector, e.g. …/textfile_collector/airlock.prom), atomically, after every run (default: metrics_file of the config)',
    }),
  };

  async run(): Promise<SyncResult> {
    const startedAt = Date.now();
    const verbose = process.env.AIRLOCK_DEBUG === '1';
    const toStderr = (l: string) => void process.stderr.write(`${l}\n`);
    // A flag error is reported in the format asked for too.
    this.cliLog = new CliLog({ format: logFormatFromArgv(this.argv, process.stderr), verbose, writeLine: toStderr });
    const { flags } = await this.parse(Sync);
    const format = (flags['log-format'] as LogFormat | undefined) ?? defaultLogFormat(process.stderr);
    const view = format === 'text' && flags.progress ? SyncProgressView.forStream(process.stderr) : undefined;
    const log = new CliLog({ format, verbose, writeLine: view ? (l) => view.print(l) : toStderr });
    this.cliLog = log;
    let config: SyncConfig | undefined;
    let result: SyncResult | undefined;
    let error: unknown;
    try {
      config = resolveSyncConfig({ config: flags.config, flags: syncFlagValues(flags) });
      const c = config;
      result = await sync({
        config: c,
        ledger: ledgerSettingsFromFlags(flags),
        toolVersion: this.config.version,
        adoptTarget: flags['adopt-target'],
        waitMs: flags.wait * 1000,
        logger: log.logger(),
        onEvent: (e) => {
          view?.onEvent(e);
          logSyncEvent(log, e);
        },
      });
    } catch (e) {
      error = e;
    } finally {
      view?.finish();
    }
    // The result travels in the error's details, so --json still carries all of it.
    const failed = result ? syncExitError(result) : undefined;
    const thrown = error ?? failed;
    const exitCode = thrown === undefined ? 0 : isAirlockError(thrown) ? thrown.exitCode : EXIT_CODES.INTERNAL;
    const outcome: SyncRunOutcome = result ? (thrown !== undefined && result.summary.outcome === 'ok' ? 'failed' : result.summary.outcome) : 'error';
    const code = thrown === undefined ? undefined : isAirlockError(thrown) ? thrown.code : 'INTERNAL';
    logSyncEnd(log, { outcome, exitCode, durationMs: Date.now() - startedAt, ...(result ? { summary: result.summary } : {}), ...(code ? { code } : {}) });
    const metricsFile = flags['metrics-file'] !== undefined ? resolve(flags['metrics-file']) : config?.metricsFile;
    if (metricsFile !== undefined) {
      const target = config?.target ?? flags.target ?? '';
      await writeSyncMetrics(metricsFile, { target, startedAt, finishedAt: Date.now(), exitCode, outcome, ...(result ? { summary: result.summary } : {}) }).catch((e: unknown) => {
        // The run's own outcome stands; a monitor sees the stale timestamp.
        log.event('error', 'metrics file not written', { event: 'metrics-failed', file: metricsFile, message: messageOf(e) }, `The metrics file ${metricsFile} could not be written (${messageOf(e)}).`);
      });
    }
    if (error !== undefined) throw error;
    if (!result) throw new AirlockError('INTERNAL', 'The sync ended without a result.');
    if (!this.jsonEnabled()) this.say(renderSync(result));
    if (failed) throw new AirlockError(failed.code, failed.message, { details: { result } });
    return result;
  }
}
