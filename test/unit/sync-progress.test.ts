/**
 * sync's progress view, on a FAKE terminal (a stream object with isTTY): a total line and one row per image with
 * its state and, while copying, a bar of its bytes; redrawn in place at most ten times a second; log lines above
 * it; nothing at all without a terminal; and the only escape sequences are its own cursor codes, whatever the
 * image names carry.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SyncProgressView, type ProgressStream } from '../../src/cli/sync-progress.js';
import type { CopyProgress } from '../../src/copy/types.js';
import type { Digest } from '../../src/oci/digest.js';
import type { SyncImageRef } from '../../src/pipeline/sync-events.js';

function fakeTerminal(isTTY = true): ProgressStream & { text: string; writes: number } {
  const s = {
    isTTY,
    columns: 100,
    text: '',
    writes: 0,
    write(chunk: string) {
      s.text += chunk;
      s.writes++;
      return true;
    },
  };
  return s;
}

const MIB = 1024 * 1024;
const d = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const sc: SyncImageRef = { name: 'source-controller', tag: 'v1.9.4', target: 'oci:/m/source-controller:v1.9.4' };
const cli: SyncImageRef = { name: 'flux-cli', tag: 'v2.9.4', target: 'oci:/m/flux-cli:v2.9.4' };
/** Our own codes: cursor up n lines, erase the line. */
// eslint-disable-next-line no-control-regex
const OUR_CODES = /\x1b\[\d+A|\x1b\[2K/g;
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

/** The last frame drawn: the text after the last erase of the block. */
function lastFrame(text: string): string {
  const i = text.lastIndexOf('A\x1b[2K');
  return (i < 0 ? text : text.slice(i + 1)).replace(OUR_CODES, '');
}

describe('SyncProgressView', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('is not created when stderr is not a terminal, so nothing of it is ever drawn', () => {
    expect(SyncProgressView.forStream(fakeTerminal(false))).toBeUndefined();
    expect(SyncProgressView.forStream({ write: () => true })).toBeUndefined();
  });

  it('shows each image with its state, a bar while copying, and totals', () => {
    const out = fakeTerminal();
    const view = SyncProgressView.forStream(out)!;
    view.onEvent({ type: 'run-start', target: 'oci:/m', releases: ['v2.9.3', 'v2.9.4'], time: 0 });
    view.onEvent({ type: 'release-start', release: 'v2.9.4' });
    view.onEvent({ type: 'image-stage', release: 'v2.9.4', image: sc, stage: 'resolving', elapsedMs: 0 });
    vi.advanceTimersByTime(150);
    expect(lastFrame(out.text)).toMatch(/^sync v2\.9\.4 \(2\/2\) {2}images: 0 copied, 0 present, 0 refused, 0 failed {2}0 B copied\n {2}source-controller:v1\.9\.4 +resolving/);

    view.onEvent({ type: 'image-stage', release: 'v2.9.4', image: sc, stage: 'verifying', digest: d('a'), elapsedMs: 5 });
    vi.advanceTimersByTime(150);
    expect(lastFrame(out.text)).toMatch(/source-controller:v1\.9\.4 +verifying/);

    view.onEvent({ type: 'image-stage', release: 'v2.9.4', image: sc, stage: 'copying', digest: d('a'), elapsedMs: 9 });
    const p = (progress: CopyProgress) => view.onEvent({ type: 'image-progress', release: 'v2.9.4', image: sc, progress });
    p({ type: 'planned', blobs: 2, bytes: 4 * MIB, manifests: 2, extras: 1 });
    p({ type: 'blob-start', digest: d('b'), size: 2 * MIB });
    p({ type: 'blob-done', digest: d('b'), size: 2 * MIB, outcome: 'copied' });
    p({ type: 'blob-start', digest: d('c'), size: 2 * MIB });
    p({ type: 'blob-bytes', digest: d('c'), size: 2 * MIB, done: MIB });
    vi.advanceTimersByTime(150);
    const copying = lastFrame(out.text);
    expect(copying).toMatch(/source-controller:v1\.9\.4 +copying +\[#+\.+\] 3\.0 MiB \/ 4\.0 MiB/);
    expect(copying).toMatch(/3\.0 MiB copied/);
    const bar = /\[(#+)(\.+)\]/.exec(copying)!;
    // Three quarters done: the bar is three quarters full (within a cell).
    expect(Math.abs(bar[1]!.length / (bar[1]!.length + bar[2]!.length) - 0.75)).toBeLessThan(0.05);

    view.onEvent({ type: 'image-done', release: 'v2.9.4', image: sc, status: 'copied', digest: d('a'), bytes: 4 * MIB, durationMs: 900 });
    view.onEvent({ type: 'image-stage', release: 'v2.9.4', image: cli, stage: 'resolving', elapsedMs: 0 });
    view.onEvent({ type: 'image-done', release: 'v2.9.4', image: cli, status: 'refused', bytes: 0, durationMs: 10, code: 'NO_SIGNATURE' });
    vi.advanceTimersByTime(150);
    const end = lastFrame(out.text);
    expect(end).toMatch(/images: 1 copied, 0 present, 1 refused, 0 failed {2}4\.0 MiB copied/);
    expect(end).toMatch(/source-controller:v1\.9\.4 +done/);
    expect(end).toMatch(/flux-cli:v2\.9\.4 +refused/);
    expect(end).not.toMatch(/\[#/);
  });

  it('redraws at most ten times a second however many events arrive, in place', () => {
    const out = fakeTerminal();
    const view = SyncProgressView.forStream(out)!;
    view.onEvent({ type: 'image-stage', release: 'v1', image: sc, stage: 'copying', digest: d('a'), elapsedMs: 0 });
    view.onEvent({ type: 'image-progress', release: 'v1', image: sc, progress: { type: 'blob-start', digest: d('b'), size: 1000 * 1000 } });
    for (let i = 0; i < 1000; i++) {
      view.onEvent({ type: 'image-progress', release: 'v1', image: sc, progress: { type: 'blob-bytes', digest: d('b'), size: 1000 * 1000, done: i * 1000 } });
      vi.advanceTimersByTime(1); // 1000 events over one second
    }
    expect(out.writes).toBeGreaterThanOrEqual(9);
    expect(out.writes).toBeLessThanOrEqual(11);
    // From the second frame on, each starts by going back up over the previous one (two lines: total + image).
    expect(out.text.split('\x1b[2A').length - 1).toBeGreaterThanOrEqual(out.writes - 1);
  });

  it('prints log lines above the block and draws it again below them; finish() removes it', () => {
    const out = fakeTerminal();
    const view = SyncProgressView.forStream(out)!;
    view.onEvent({ type: 'image-stage', release: 'v1', image: sc, stage: 'verifying', digest: d('a'), elapsedMs: 0 });
    vi.advanceTimersByTime(150);
    view.print('v1: checksums verified');
    const after = out.text.slice(out.text.lastIndexOf('v1: checksums verified'));
    expect(after.startsWith('v1: checksums verified\n\x1b[2Ksync  images')).toBe(true);
    expect(after).toContain('verifying');
    view.finish();
    // The block (2 lines) erased: up, erase each, back up; nothing drawn after.
    expect(out.text.endsWith('\x1b[2A\x1b[2K\n\x1b[2K\n\x1b[2A')).toBe(true);
    const before = out.text;
    view.onEvent({ type: 'image-stage', release: 'v1', image: cli, stage: 'resolving', elapsedMs: 0 });
    vi.advanceTimersByTime(500);
    expect(out.text).toBe(before);
    view.print('after the end');
    expect(out.text).toBe(`${before}after the end\n`);
  });

  it('draws hostile names escaped: the only escape sequences are its own cursor codes', () => {
    const out = fakeTerminal();
    const view = SyncProgressView.forStream(out)!;
    const hostile: SyncImageRef = { name: 'x\x1b]52;c;ZXZpbA==\x07\x1b[2J', tag: 'v1\r\n\u2028\x9b31m', target: 't\x1b]8;;http://e/\x07' };
    view.onEvent({ type: 'release-start', release: 'v1\x1b[31m' });
    view.onEvent({ type: 'image-stage', release: 'v1', image: hostile, stage: 'copying', digest: d('a'), elapsedMs: 0 });
    vi.advanceTimersByTime(150);
    view.onEvent({ type: 'image-done', release: 'v1', image: hostile, status: 'failed', bytes: 0, durationMs: 1 });
    vi.advanceTimersByTime(150);
    view.finish();
    expect(out.text).toContain('ZXZpbA==');
    const withoutOurs = out.text.replace(OUR_CODES, '');
    expect(withoutOurs).not.toMatch(RAW_CONTROL);
  });
});
