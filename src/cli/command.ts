import { Command } from '@oclif/core';
import { AirlockError, EXIT_CODES, messageOf, type ErrorCode } from '../errors.js';
import { neutralize, type Logger, type LogLevel } from '../log.js';
import { safeJson, type CliLog } from './log-format.js';

/**
 * Base of every airlock command: `--json` prints the command's typed result; errors become one sentence on
 * stderr (or `{"error":{code,message}}` with --json) and the exit code of their AirlockError code.
 */
export abstract class AirlockCommand<T> extends Command {
  static override enableJsonFlag = true;

  abstract override run(): Promise<T>;

  /** Set by a command with `--log-format` (sync): its logger and closing error go through this formatter. */
  protected cliLog: CliLog | undefined;

  /** The --json result, with every control character escaped (upstream strings cannot reach a terminal raw). */
  override logJson(json: unknown): void {
    process.stdout.write(`${safeJson(json, 2)}\n`);
  }

  /** Human output goes to stderr when --json is set, so stdout stays machine-readable. */
  protected say(line: string): void {
    if (this.jsonEnabled()) process.stderr.write(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  }

  /** A logger for the library: warnings and above to stderr, neutralised; debug with AIRLOCK_DEBUG=1. */
  protected logger(): Logger {
    if (this.cliLog) return this.cliLog.logger();
    const verbose = process.env.AIRLOCK_DEBUG === '1';
    return {
      log(level: LogLevel, msg: string, fields?: Record<string, unknown>) {
        if (level === 'debug' && !verbose) return;
        if (level === 'info' && !verbose) return;
        const extra = fields && Object.keys(fields).length > 0 ? ` ${neutralize(JSON.stringify(fields))}` : '';
        process.stderr.write(`${level}: ${neutralize(msg)}${extra}\n`);
      },
    };
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    // oclif's own exits (help, version, this.exit) pass through.
    if (err.oclif?.exit !== undefined && !(err instanceof AirlockError)) {
      if (err.oclif.exit === 0) return;
      // Flag parsing errors: bad input.
      const msg = neutralize(err.message.split('\n')[0] ?? err.message);
      this.emitError('BAD_INPUT', `${msg} (see --help)`);
      this.exit(EXIT_CODES.BAD_INPUT);
    }
    if (err instanceof AirlockError) {
      this.emitError(err.code, err.message, err.details);
      this.exit(err.exitCode);
    }
    this.emitError('INTERNAL', `Unexpected error: ${neutralize(messageOf(err))}; please report it with AIRLOCK_DEBUG=1 output.`);
    if (process.env.AIRLOCK_DEBUG === '1' && err.stack) process.stderr.write(`${err.stack}\n`);
    this.exit(EXIT_CODES.INTERNAL);
  }

  private emitError(code: ErrorCode, message: string, details?: Record<string, unknown>): void {
    // With --log-format json the error is a log line too (and with --json also the object on stdout).
    if (this.cliLog && (this.cliLog.format === 'json' || !this.jsonEnabled())) this.cliLog.error(code, message, EXIT_CODES[code]);
    if (this.jsonEnabled()) {
      process.stdout.write(`${safeJson({ error: { code, message, ...(details ? { details } : {}) } })}\n`);
    } else if (!this.cliLog) {
      process.stderr.write(`airlock: ${neutralize(message)}\n`);
    }
  }
}
