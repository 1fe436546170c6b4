import type { CopyProgress } from '../copy/types.js';

const MIB = 1024 * 1024;
const MAX_BARS = 8;
const FRAME_MS = 100;

function mib(n: number): string {
  return `${(n / MIB).toFixed(1)} MiB`;
}

function bar(done: number, size: number, width: number): string {
  const filled = size === 0 ? width : Math.min(width, Math.floor((done / size) * width));
  return `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
}

/**
 * Progress bars for `airlock copy` on a terminal: one line per blob in flight (bytes sent of its size) and a
 * total line, redrawn in place at most ten times a second on stderr. Without a TTY nothing is drawn at all,
 * so logs and pipes stay clean.
 */
export class CopyProgressBars {
  private readonly active = new Map<string, { size: number; done: number }>();
  private blobs = 0;
  private bytes = 0;
  private blobsDone = 0;
  private bytesDone = 0;
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly out: NodeJS.WriteStream) {}

  /** Bars on `stream` when it is a terminal, else undefined. */
  static forStream(stream: NodeJS.WriteStream): CopyProgressBars | undefined {
    return stream.isTTY ? new CopyProgressBars(stream) : undefined;
  }

  readonly onProgress = (e: CopyProgress): void => {
    switch (e.type) {
      case 'planned':
        this.blobs = e.blobs;
        this.bytes = e.bytes;
        break;
      case 'blob-start':
        this.active.set(e.digest, { size: e.size, done: 0 });
        break;
      case 'blob-bytes': {
        const a = this.active.get(e.digest);
        if (a) a.done = e.done;
        break;
      }
      case 'blob-done':
        this.active.delete(e.digest);
        this.blobsDone++;
        this.bytesDone += e.size;
        break;
      default:
        return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, FRAME_MS);
  };

  /** Draws the final state and leaves the cursor below it. */
  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draw();
  }

  private draw(): void {
    const width = Math.max(40, Math.min(this.out.columns ?? 80, 120));
    const inFlight = [...this.active.values()].reduce((n, a) => n + a.done, 0);
    const lines = [`blobs ${this.blobsDone}/${this.blobs}  ${mib(this.bytesDone + inFlight)} / ${mib(this.bytes)}`];
    for (const [digest, a] of [...this.active].slice(0, MAX_BARS)) {
      const label = `${digest.slice(0, 19)} `;
      const tail = ` ${mib(a.done)} / ${mib(a.size)}`;
      lines.push(`${label}${bar(a.done, a.size, Math.max(10, width - label.length - tail.length - 2))}${tail}`);
    }
    let s = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const l of lines) s += `\x1b[2K${l.slice(0, width - 1)}\n`;
    // Clear lines left over from a taller previous frame.
    for (let i = lines.length; i < this.drawn; i++) s += '\x1b[2K\n';
    const height = Math.max(lines.length, this.drawn);
    if (height > lines.length) s += `\x1b[${height - lines.length}A`;
    this.out.write(s);
    this.drawn = lines.length;
  }
}
