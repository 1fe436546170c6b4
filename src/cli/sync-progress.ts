/**
 * `airlock sync` on a terminal: a block at the bottom of stderr, redrawn in place at most ten times a second —
 * a total line (releases, images done by outcome, bytes copied), then each image in flight with its state
 * (resolving, verifying, copying with a bar of its bytes) and the last few finished (done, present, refused,
 * failed). Log lines are printed above the block, which is then drawn again below them. Without a TTY there is
 * no view at all (forStream returns undefined), so pipes and log files never see a cursor code.
 *
 * The only control sequences written are our own: ESC[nA (cursor up) and ESC[2K (erase line). Every name and tag
 * from upstream is neutralised before it is drawn.
 */
import type { CopyProgress } from '../copy/types.js';
import { neutralize } from '../log.js';
import type { SyncEvent, SyncImageRef } from '../pipeline/sync-events.js';
import { humanSize } from './render.js';

const FRAME_MS = 100;
const MAX_IN_FLIGHT = 6;
const RECENT = 3;

type State = 'resolving' | 'verifying' | 'copying' | 'done' | 'present' | 'refused' | 'failed';

interface ImageRow {
  ref: SyncImageRef;
  state: State;
  /** Bytes to copy (planned) and bytes copied so far. */
  total: number;
  done: number;
  /** Blobs in flight: bytes sent of each. */
  blobs: Map<string, number>;
}

function bar(done: number, size: number, width: number): string {
  const filled = size === 0 ? width : Math.min(width, Math.floor((done / size) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

export class SyncProgressView {
  private readonly rows = new Map<string, ImageRow>();
  private readonly recent: ImageRow[] = [];
  private releases: string[] = [];
  private release: string | undefined;
  private counts = { copied: 0, present: 0, refused: 0, failed: 0 };
  private bytesCopied = 0;
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  private constructor(private readonly out: ProgressStream) {}

  /** A view on `stream` when it is a terminal, else undefined (nothing is ever drawn). */
  static forStream(stream: ProgressStream): SyncProgressView | undefined {
    return stream.isTTY === true ? new SyncProgressView(stream) : undefined;
  }

  readonly onEvent = (e: SyncEvent): void => {
    switch (e.type) {
      case 'run-start':
        this.releases = e.releases;
        break;
      case 'release-start':
        this.release = e.release;
        break;
      case 'image-stage': {
        const key = this.key(e.release, e.image);
        const row = this.rows.get(key) ?? { ref: e.image, state: e.stage, total: 0, done: 0, blobs: new Map() };
        row.state = e.stage;
        this.rows.set(key, row);
        break;
      }
      case 'image-progress': {
        const row = this.rows.get(this.key(e.release, e.image));
        if (row) this.progress(row, e.progress);
        break;
      }
      case 'image-done': {
        const key = this.key(e.release, e.image);
        const row = this.rows.get(key) ?? { ref: e.image, state: 'done', total: 0, done: 0, blobs: new Map() };
        this.rows.delete(key);
        row.state = e.status === 'copied' ? 'done' : e.status === 'reconciled' ? 'present' : e.status;
        row.blobs.clear();
        this.recent.push(row);
        if (this.recent.length > RECENT) this.recent.shift();
        this.counts[e.status === 'reconciled' ? 'present' : e.status]++;
        this.bytesCopied += e.bytes;
        break;
      }
      default:
        return;
    }
    this.schedule();
  };

  /** A log line, above the block; the block is drawn again below it at once. */
  print(line: string): void {
    if (this.finished) {
      this.out.write(`${line}\n`);
      return;
    }
    this.out.write(this.paint([line]));
  }

  /** Removes the block (the log lines above stay) and stops drawing. */
  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.finished) this.out.write(this.erase());
    this.finished = true;
  }

  private key(release: string, image: SyncImageRef): string {
    return `${release}\u0000${image.target}`;
  }

  private progress(row: ImageRow, p: CopyProgress): void {
    switch (p.type) {
      case 'planned':
        row.total = p.bytes;
        break;
      case 'blob-start':
        row.blobs.set(p.digest, 0);
        break;
      case 'blob-bytes':
        row.blobs.set(p.digest, p.done);
        break;
      case 'blob-done':
        row.blobs.delete(p.digest);
        row.done += p.size;
        break;
      default:
        break;
    }
  }

  private schedule(): void {
    if (this.finished || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.finished) this.out.write(this.paint([]));
    }, FRAME_MS);
    this.timer.unref?.();
  }

  /** Moves up over the block and erases it; the cursor ends where the block began. */
  private erase(): string {
    if (this.drawn === 0) return '';
    let s = `\x1b[${this.drawn}A`;
    for (let i = 0; i < this.drawn; i++) s += '\x1b[2K\n';
    s += `\x1b[${this.drawn}A`;
    this.drawn = 0;
    return s;
  }

  /**
   * Back up over the block, then `above` (log lines) and the block again, each line erased as it is written (one
   * write, no blank frame in between); lines the previous, taller block left below are erased.
   */
  private paint(above: string[]): string {
    const before = this.drawn;
    const lines = [...above, ...this.frame()];
    let s = before > 0 ? `\x1b[${before}A` : '';
    for (const l of lines) s += `\x1b[2K${l}\n`;
    const left = before - lines.length;
    if (left > 0) s += `${'\x1b[2K\n'.repeat(left)}\x1b[${left}A`;
    return s;
  }

  /** The block's lines, cut to the terminal's width; sets how tall it is now. */
  private frame(): string[] {
    const width = Math.max(40, Math.min(this.out.columns ?? 80, 160));
    const c = this.counts;
    const inFlightBytes = [...this.rows.values()].reduce((t, r) => t + r.done + [...r.blobs.values()].reduce((a, b) => a + b, 0), 0);
    const where = this.release === undefined ? '' : ` ${neutralize(this.release)} (${Math.max(1, this.releases.indexOf(this.release) + 1)}/${Math.max(1, this.releases.length)})`;
    const lines = [`sync${where}  images: ${c.copied} copied, ${c.present} present, ${c.refused} refused, ${c.failed} failed  ${humanSize(this.bytesCopied + inFlightBytes)} copied`];
    for (const r of this.recent) lines.push(this.row(r, width));
    for (const r of [...this.rows.values()].slice(0, MAX_IN_FLIGHT)) lines.push(this.row(r, width));
    this.drawn = lines.length;
    return lines.map((l) => l.slice(0, width - 1));
  }

  private row(r: ImageRow, width: number): string {
    const label = `  ${neutralize(`${r.ref.name}:${r.ref.tag}`)}`.padEnd(40);
    const state = r.state.padEnd(10);
    // Until the copy has planned its bytes there is nothing to draw a bar of.
    if (r.state !== 'copying' || r.total === 0) return `${label} ${state}`.trimEnd();
    const done = r.done + [...r.blobs.values()].reduce((a, b) => a + b, 0);
    const tail = ` ${humanSize(done)} / ${humanSize(r.total)}`;
    return `${label} ${state}${bar(done, r.total, Math.max(10, width - label.length - state.length - tail.length - 5))}${tail}`;
  }
}
