/**
 * What a sync reports while it runs, for progress on a terminal and for log lines: plain data, emitted in the
 * order things happen. The pipeline decides nothing from them; a listener that throws is ignored (observing a
 * run never changes its outcome). Strings in them (tags, names, messages) may come from upstream: whoever
 * prints them neutralises them.
 */
import type { CopyProgress } from '../copy/types.js';

/** An image of a release, as the pipeline names it. */
export interface SyncImageRef {
  name: string;
  tag: string;
  /** `<target>/<name>:<tag>`. */
  target: string;
}

export type SyncImageStage = 'resolving' | 'verifying' | 'copying';

/** Where a refusal or failure happened: the release's checksums, one of its files, an image, the release artifact. */
export type SyncItemScope = 'release' | 'asset' | 'image' | 'artifact';

export type SyncEvent =
  | { type: 'run-start'; target: string; releases: string[]; time: number }
  | { type: 'release-start'; release: string }
  | { type: 'release-verified'; release: string; digest: string; identity: string | null; evidence: string; durationMs: number }
  | { type: 'release-done'; release: string; status: string; durationMs: number }
  /** An image moved to a stage; `digest` once resolved (stage verifying: the tag was resolved to it). */
  | { type: 'image-stage'; release: string; image: SyncImageRef; stage: SyncImageStage; digest?: string; elapsedMs: number }
  | { type: 'image-progress'; release: string; image: SyncImageRef; progress: CopyProgress }
  | {
      type: 'image-done';
      release: string;
      image: SyncImageRef;
      status: 'copied' | 'present' | 'reconciled' | 'refused' | 'failed';
      digest?: string;
      /** Bytes written into the target by this copy. */
      bytes: number;
      durationMs: number;
      /** From the start of verification to its verdict, when it got that far. */
      verifyMs?: number;
      code?: string;
      check?: string | null;
      message?: string;
    }
  | { type: 'refused'; release: string; scope: SyncItemScope; item: string; digest: string | null; code: string; check: string | null; message: string; newlyRecorded: boolean }
  | { type: 'failed'; release: string; scope: SyncItemScope; item: string; code: string; message: string };

export type SyncEventListener = (e: SyncEvent) => void;

/** Calls the listener, if any; whatever it throws is dropped, so a broken view cannot change the run. */
export function emitSyncEvent(listener: SyncEventListener | undefined, e: SyncEvent): void {
  if (!listener) return;
  try {
    listener(e);
  } catch {
    // Observation only.
  }
}
