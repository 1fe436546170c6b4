/**
 * Log lines on stderr, as text for a person or as JSON lines for a log shipper: one formatter for the command's
 * own events, the library's warnings (its Logger) and the closing error. Nothing from upstream reaches a
 * terminal raw: text is neutralised (\xNN escapes), JSON escapes every control character, DEL, C1 and U+2028/9
 * as \uXXXX (the same value, read back by any JSON parser).
 */
import { messageOf } from '../errors.js';
import { neutralize, type Logger, type LogLevel } from '../log.js';

export type LogFormat = 'text' | 'json';

export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** Text for a terminal, JSON lines for anything else (a file, a pipe, journald). */
export function defaultLogFormat(stderr: { isTTY?: boolean }): LogFormat {
  return stderr.isTTY === true ? 'text' : 'json';
}

/**
 * The format asked for on the command line, read before the flags are parsed, so that a flag error is reported in
 * it too; an absent or unknown value: the default for the stream (the parser then reports an unknown value).
 */
export function logFormatFromArgv(argv: readonly string[], stderr: { isTTY?: boolean }): LogFormat {
  let asked: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--log-format') asked = argv[i + 1];
    else if (a.startsWith('--log-format=')) asked = a.slice('--log-format='.length);
  }
  return asked === 'text' || asked === 'json' ? asked : defaultLogFormat(stderr);
}

const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029]/g;

/**
 * JSON.stringify, and then DEL, the C1 controls and U+2028/U+2029 (which JSON.stringify leaves raw) as \uXXXX
 * escapes too: what it writes holds no control character at all, so it is safe on a terminal and one line stays
 * one line for every reader (JavaScript's own line terminators included).
 */
export function safeJson(value: unknown, space?: number): string {
  return JSON.stringify(value, jsonValue, space).replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Errors as their message (JSON.stringify would make them `{}`), bigints as strings. */
function jsonValue(_key: string, v: unknown): unknown {
  if (v instanceof Error) return messageOf(v);
  if (typeof v === 'bigint') return v.toString();
  return v;
}

const RESERVED = new Set(['time', 'level', 'msg']);

export interface CliLogOptions {
  format: LogFormat;
  /** Writes one line (without its newline): the stream, or a progress view that keeps its bars below. */
  writeLine: (line: string) => void;
  /** Debug and the library's info messages too (AIRLOCK_DEBUG=1). */
  verbose: boolean;
  now?: () => Date;
}

export class CliLog {
  constructor(private readonly o: CliLogOptions) {}

  get format(): LogFormat {
    return this.o.format;
  }

  /**
   * One event. JSON: `{"time","level","msg",...fields}`; text: `text` when given (a human line; null: not shown as
   * text, e.g. a step the progress view already shows), else `level: msg {fields}`.
   */
  event(level: LogLevel, msg: string, fields: Record<string, unknown> = {}, text?: string | null): void {
    if (this.o.format === 'json') {
      const line: Record<string, unknown> = { time: (this.o.now?.() ?? new Date()).toISOString(), level, msg };
      for (const [k, v] of Object.entries(fields)) {
        if (v !== undefined) line[RESERVED.has(k) ? `field_${k}` : k] = v;
      }
      this.o.writeLine(safeJson(line));
      return;
    }
    if (text === null) return;
    if (text !== undefined) {
      this.o.writeLine(neutralize(text));
      return;
    }
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const extra = Object.keys(defined).length > 0 ? ` ${neutralize(safeJson(defined))}` : '';
    this.o.writeLine(`${level}: ${neutralize(msg)}${extra}`);
  }

  /** The library's logger: warnings and errors always, info and debug with AIRLOCK_DEBUG=1. */
  logger(): Logger {
    return {
      log: (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
        if ((level === 'debug' || level === 'info') && !this.o.verbose) return;
        this.event(level, msg, fields ?? {});
      },
    };
  }

  /**
   * The error a command ends with. Text: the one sentence `airlock: …` (as every command ends); JSON: a line with
   * level error, the message, its code and the exit code.
   */
  error(code: string, message: string, exitCode: number): void {
    if (this.o.format === 'json') this.event('error', message, { event: 'error', code, exitCode });
    else this.o.writeLine(`airlock: ${neutralize(message)}`);
  }
}
