/**
 * The library is silent: components accept an optional Logger and the CLI decides where it goes
 * (a TTY, JSON lines, nowhere).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { log: () => undefined };

export function debug(l: Logger | undefined, msg: string, fields?: Record<string, unknown>): void {
  l?.log('debug', msg, fields);
}
export function info(l: Logger | undefined, msg: string, fields?: Record<string, unknown>): void {
  l?.log('info', msg, fields);
}
export function warn(l: Logger | undefined, msg: string, fields?: Record<string, unknown>): void {
  l?.log('warn', msg, fields);
}

/**
 * Neutralises control characters (C0, DEL, C1 — ANSI/OSC escapes, newlines, carriage returns) and the Unicode
 * line/paragraph separators in strings that came from outside (tags, identities, annotations) before they are
 * printed, so they cannot forge terminal output or log lines. Each becomes a visible \xNN / \uNNNN escape.
 */
export function neutralize(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}
