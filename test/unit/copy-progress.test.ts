import { describe, expect, it, vi } from 'vitest';
import { CopyProgressBars } from '../../src/cli/copy-progress.js';
import type { Digest } from '../../src/oci/digest.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = { isTTY, columns: 100, text: '', write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe('CopyProgressBars', () => {
  it('draws nothing at all when stderr is not a terminal', () => {
    expect(CopyProgressBars.forStream(fakeStream(false))).toBeUndefined();
  });

  it('draws a total line and one bar per blob in flight, redrawn in place', () => {
    vi.useFakeTimers();
    try {
      const out = fakeStream(true);
      const bars = CopyProgressBars.forStream(out)!;
      const d = ('sha256:' + 'ab'.repeat(32)) as Digest;
      bars.onProgress({ type: 'planned', blobs: 2, bytes: 4 * 1024 * 1024, manifests: 1, extras: 0 });
      bars.onProgress({ type: 'blob-start', digest: d, size: 2 * 1024 * 1024 });
      bars.onProgress({ type: 'blob-bytes', digest: d, size: 2 * 1024 * 1024, done: 1024 * 1024 });
      vi.advanceTimersByTime(150);
      expect(out.text).toContain('blobs 0/2  1.0 MiB / 4.0 MiB');
      expect(out.text).toMatch(/sha256:abababababab #+\.+ 1\.0 MiB \/ 2\.0 MiB/);
      bars.onProgress({ type: 'blob-done', digest: d, size: 2 * 1024 * 1024, outcome: 'copied' });
      bars.finish();
      expect(out.text).toContain('\x1b[2A'); // back over the previous two lines
      const lastFrame = out.text.slice(out.text.lastIndexOf('\x1b[2A'));
      expect(lastFrame).toContain('blobs 1/2  2.0 MiB / 4.0 MiB');
      expect(lastFrame).not.toContain('sha256:'); // the finished blob's bar is gone
    } finally {
      vi.useRealTimers();
    }
  });
});
