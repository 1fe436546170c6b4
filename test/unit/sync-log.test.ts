/**
 * The CLI's log formatter and sync's log lines: JSON lines are whole objects `{"time","level","msg",...fields}`,
 * text lines are human; and whatever an upstream string carries (ANSI CSI, OSC 8 / OSC 52, CR, LF, U+2028, C1),
 * neither format lets a raw control character through — while the value itself survives (JSON parses back to it).
 */
import { describe, expect, it } from 'vitest';
import { CliLog, defaultLogFormat, logFormatFromArgv, safeJson, type LogFormat } from '../../src/cli/log-format.js';
import { logSyncEnd, logSyncEvent } from '../../src/cli/sync-log.js';
import type { SyncEvent, SyncImageRef } from '../../src/pipeline/sync-events.js';

const HOSTILE = '\x1b[31mred\x1b]8;;https://evil.example/\x07link\x1b]8;;\x07\x1b]52;c;ZXZpbA==\x07\r\nforged line\u2028\u2029\x9b2J\x7f\x00\t';
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const NOW = new Date('2026-11-28T12:00:00.000Z');

function capture(format: LogFormat, verbose = false): { log: CliLog; lines: string[] } {
  const lines: string[] = [];
  return { log: new CliLog({ format, verbose, writeLine: (l) => lines.push(l), now: () => NOW }), lines };
}

const image: SyncImageRef = { name: `source-controller${HOSTILE}`, tag: `v1${HOSTILE}`, target: `oci:/m/source-controller${HOSTILE}` };

/** One of each event, every string field hostile. */
const EVENTS: SyncEvent[] = [
  { type: 'run-start', target: `oci:/m${HOSTILE}`, releases: [`v2.9.4${HOSTILE}`], time: 0 },
  { type: 'release-start', release: `v2.9.4${HOSTILE}` },
  { type: 'release-verified', release: `v2.9.4${HOSTILE}`, digest: `sha256:${HOSTILE}`, identity: `https://github.com/x${HOSTILE}`, evidence: `rekor${HOSTILE}`, durationMs: 5 },
  { type: 'image-stage', release: 'v2.9.4', image, stage: 'verifying', digest: `sha256:${HOSTILE}`, elapsedMs: 1 },
  { type: 'image-stage', release: 'v2.9.4', image, stage: 'copying', digest: `sha256:${HOSTILE}`, elapsedMs: 2 },
  { type: 'image-done', release: 'v2.9.4', image, status: 'copied', digest: `sha256:${HOSTILE}`, bytes: 2048, durationMs: 30, verifyMs: 10 },
  { type: 'image-done', release: 'v2.9.4', image, status: 'refused', bytes: 0, durationMs: 30, code: 'VERIFY_FAILED', check: `identity${HOSTILE}`, message: `the certificate says ${HOSTILE}` },
  { type: 'refused', release: 'v2.9.4', scope: 'asset', item: `install.yaml${HOSTILE}`, digest: null, code: 'BAD_INPUT', check: 'image-tag-invalid', message: HOSTILE, newlyRecorded: true },
  { type: 'failed', release: 'v2.9.4', scope: 'release', item: `fluxcd/flux2@v2.9.4${HOSTILE}`, code: 'UNREACHABLE', message: HOSTILE },
  { type: 'release-done', release: `v2.9.4${HOSTILE}`, status: 'partial', durationMs: 100 },
];

describe('safeJson', () => {
  it('escapes every control character, DEL, C1 and U+2028/2029, and parses back to the same value', () => {
    const value = { s: HOSTILE, nested: [HOSTILE], n: 1 };
    const text = safeJson(value);
    expect(text).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(text)).toEqual(value);
    // What JSON.stringify alone lets through, and why this exists:
    expect(JSON.stringify(value)).toMatch(/[\u007f-\u009f\u2028\u2029]/);
    expect(safeJson({ e: new Error(`boom${HOSTILE}`) })).toBe(safeJson({ e: `boom${HOSTILE}` }));
  });
});

describe('CliLog', () => {
  it('JSON: one object per line with time, level, msg first and the fields; reserved names cannot be overwritten', () => {
    const { log, lines } = capture('json');
    log.event('info', 'image copied', { image: 'source-controller', bytes: 12, time: 'forged', level: 'forged', skipped: undefined });
    expect(lines).toHaveLength(1);
    expect(Object.keys(JSON.parse(lines[0]!) as object)).toEqual(['time', 'level', 'msg', 'image', 'bytes', 'field_time', 'field_level']);
    expect(JSON.parse(lines[0]!)).toEqual({ time: NOW.toISOString(), level: 'info', msg: 'image copied', image: 'source-controller', bytes: 12, field_time: 'forged', field_level: 'forged' });
  });

  it('text: the human line when given, none for null, else level: msg {fields}', () => {
    const { log, lines } = capture('text');
    log.event('info', 'a', {}, 'human line');
    log.event('info', 'b', { x: 1 }, null);
    log.event('warn', 'c', { x: 1 });
    expect(lines).toEqual(['human line', 'warn: c {"x":1}']);
  });

  it("the library's logger: warnings always, info and debug only when verbose (AIRLOCK_DEBUG=1)", () => {
    const quiet = capture('json');
    quiet.log.logger().log('debug', 'd');
    quiet.log.logger().log('info', 'i');
    quiet.log.logger().log('warn', 'w', { k: 'v' });
    expect(quiet.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['w']);
    const verbose = capture('text', true);
    verbose.log.logger().log('debug', 'd');
    verbose.log.logger().log('info', 'i');
    expect(verbose.lines).toEqual(['debug: d', 'info: i']);
  });

  it('the closing error: the one sentence in text, a JSON line with code and exit code in JSON', () => {
    const t = capture('text');
    t.log.error('LOCKED', `Another sync holds the lock${HOSTILE}.`, 13);
    expect(t.lines).toHaveLength(1);
    expect(t.lines[0]).toMatch(/^airlock: Another sync holds the lock\\x1b\[31mred/);
    expect(t.lines[0]).not.toMatch(RAW_CONTROL);
    const j = capture('json');
    j.log.error('LOCKED', 'Another sync holds the lock.', 13);
    expect(JSON.parse(j.lines[0]!)).toEqual({ time: NOW.toISOString(), level: 'error', msg: 'Another sync holds the lock.', event: 'error', code: 'LOCKED', exitCode: 13 });
  });

  it('defaults to text on a terminal and JSON elsewhere', () => {
    expect(defaultLogFormat({ isTTY: true })).toBe('text');
    expect(defaultLogFormat({ isTTY: false })).toBe('json');
    expect(defaultLogFormat({})).toBe('json');
  });

  it('reads the format from the command line before the flags are parsed (for a flag error)', () => {
    expect(logFormatFromArgv(['--release', 'v1', '--log-format', 'text'], { isTTY: false })).toBe('text');
    expect(logFormatFromArgv(['--log-format=json'], { isTTY: true })).toBe('json');
    expect(logFormatFromArgv(['--log-format', 'xml'], { isTTY: true })).toBe('text');
    expect(logFormatFromArgv(['--', '--log-format', 'text'], { isTTY: false })).toBe('json');
  });
});

describe('sync log lines', () => {
  for (const format of ['text', 'json'] as const) {
    it(`${format}: no raw control character from hostile names, tags, identities or messages`, () => {
      const { log, lines } = capture(format);
      for (const e of EVENTS) logSyncEvent(log, e);
      log.logger().log('warn', `library warning ${HOSTILE}`, { from: HOSTILE });
      log.error('VERIFY_FAILED', HOSTILE, 10);
      expect(lines.length).toBeGreaterThan(5);
      for (const l of lines) expect(l).not.toMatch(RAW_CONTROL);
      // The hostile text is still there to read, escaped.
      expect(lines.join('\n')).toContain('ZXZpbA==');
      if (format === 'json') {
        const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(parsed.find((p) => p.event === 'image-done' && p.status === 'refused')).toMatchObject({ message: `the certificate says ${HOSTILE}`, level: 'warn' });
      }
    });
  }

  it('JSON: the steps a log shipper needs, with digest, bytes and durations', () => {
    const { log, lines } = capture('json');
    for (const e of EVENTS) logSyncEvent(log, e);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((p) => p.event)).toEqual([
      'run-start',
      'release-start',
      'release-verified',
      'image-resolved',
      'image-verified',
      'image-done',
      'image-done',
      'asset-refused',
      'release-failed',
      'release-done',
    ]);
    expect(parsed[5]).toMatchObject({ level: 'info', msg: 'image copied', status: 'copied', bytes: 2048, durationMs: 30, verifyMs: 10, digest: `sha256:${HOSTILE}` });
    expect(parsed[8]).toMatchObject({ level: 'error', msg: 'release failed', code: 'UNREACHABLE' });
  });

  it('text: image steps that the progress view shows are not logged; decisions are', () => {
    const { log, lines } = capture('text');
    for (const e of EVENTS.filter((x) => x.type === 'image-stage' || x.type === 'release-start')) logSyncEvent(log, e);
    expect(lines).toEqual([]);
    logSyncEvent(log, { type: 'image-done', release: 'v2.9.4', image: { name: 'flux-cli', tag: 'v2.9.4', target: 't' }, status: 'copied', digest: `sha256:${'a'.repeat(64)}`, bytes: 3 * 1024 * 1024, durationMs: 1500 });
    expect(lines).toEqual(['  flux-cli:v2.9.4 copied sha256:aaaaaaaaaaaa… 3.0 MiB in 1.5s']);
  });

  it('the run end: counts, bytes, outcome and exit code', () => {
    const summary = { outcome: 'refusals' as const, releases: 2, images: { copied: 3, present: 1, reconciled: 1, refused: 2, failed: 0 }, refusals: 3, refusalsNew: 1, failures: 0, bytesCopied: 4096, durationMs: 2500 };
    const j = capture('json');
    logSyncEnd(j.log, { outcome: 'refusals', exitCode: 12, durationMs: 2500, summary, code: 'REFUSALS_OUTSTANDING' });
    expect(JSON.parse(j.lines[0]!)).toMatchObject({ level: 'warn', msg: 'sync finished', event: 'run-end', outcome: 'refusals', exitCode: 12, code: 'REFUSALS_OUTSTANDING', images: summary.images, bytesCopied: 4096, refusals: 3 });
    const t = capture('text');
    logSyncEnd(t.log, { outcome: 'refusals', exitCode: 12, durationMs: 2500, summary });
    expect(t.lines).toEqual(['Sync refusals (exit 12) in 2.5s: 2 release(s); images: 3 copied, 2 present, 2 refused, 0 failed; 3 refusal(s) outstanding; 4.0 KiB copied.']);
    const e = capture('json');
    logSyncEnd(e.log, { outcome: 'error', exitCode: 13, durationMs: 5, code: 'LOCKED' });
    expect(JSON.parse(e.lines[0]!)).toEqual({ time: NOW.toISOString(), level: 'error', msg: 'sync finished', event: 'run-end', outcome: 'error', exitCode: 13, code: 'LOCKED', durationMs: 5 });
  });
});
