/**
 * Where checkpoints go besides the ledger. A checkpoint kept only next to the ledger proves nothing against
 * someone who can rewrite both, so each signed tree head is also handed to sinks: a file (on another volume),
 * a command (e.g. `logger`, to reach syslog forwarding), and an OCI artifact on a registry target (src/pipeline/checkpoint-artifact.ts).
 * airlock cannot tell whether a path or a command leaves the host; the operator says so with `leaves_host`.
 */
import { spawn } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { messageOf } from '../errors.js';
import { warn, type Logger } from '../log.js';
import type { SignedCheckpoint } from './checkpoint.js';

export interface CheckpointSink {
  /** For messages: "file /mnt/audit/airlock.checkpoint", "command logger -t airlock". */
  readonly description: string;
  /** True when what is published here is out of reach of whoever controls this host. */
  readonly leavesHost: boolean;
  publish(checkpoint: SignedCheckpoint): Promise<void>;
  /**
   * Whether this checkpoint is already published here, for a sink that can tell cheaply (one HEAD): a run killed
   * while publishing left the checkpoint only in the ledger, and a later run with nothing new to record asks this
   * and publishes it again. Sinks without it are published to only when a checkpoint is made.
   */
  isPublished?(checkpoint: SignedCheckpoint): Promise<boolean>;
}

export interface SinkOutcome {
  sink: string;
  leavesHost: boolean;
  ok: boolean;
  error?: string;
}

/** Replaces `path` atomically (write, fsync, rename) so a reader never sees half a checkpoint. */
export class FileSink implements CheckpointSink {
  readonly description: string;
  constructor(
    readonly path: string,
    readonly leavesHost = false,
  ) {
    this.description = `file ${path}`;
  }

  async publish(checkpoint: SignedCheckpoint): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.tmp`);
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, checkpoint.note);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }
}

/** Runs a command (no shell) with the note on stdin; a non-zero exit is a failed publication. */
export class CommandSink implements CheckpointSink {
  readonly description: string;
  constructor(
    readonly argv: readonly string[],
    readonly leavesHost = false,
    readonly timeoutMs = 30_000,
  ) {
    if (argv.length === 0) throw new Error('CommandSink needs a command');
    this.description = `command ${argv.join(' ')}`;
  }

  publish(checkpoint: SignedCheckpoint): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.argv[0]!, this.argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        if (stderr.length < 2000) stderr += d.toString();
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`exited with ${signal ?? code}${stderr ? `: ${stderr.trim().split('\n')[0]}` : ''}`));
      });
      child.stdin.on('error', () => undefined); // a command that ignores stdin is judged by its exit code
      child.stdin.end(checkpoint.note);
    });
  }
}

/**
 * Publishes to every sink; a failure is reported (and logged) but does not undo the checkpoint, which is already
 * stored in the ledger and will be published with the next one — or, to a sink that can tell it lacks it
 * (isPublished), by the next run that has nothing to record.
 */
export async function publishCheckpoint(sinks: readonly CheckpointSink[], checkpoint: SignedCheckpoint, logger?: Logger): Promise<SinkOutcome[]> {
  const out: SinkOutcome[] = [];
  for (const s of sinks) {
    try {
      await s.publish(checkpoint);
      out.push({ sink: s.description, leavesHost: s.leavesHost, ok: true });
    } catch (e) {
      warn(logger, `could not publish the ledger checkpoint to ${s.description}: ${messageOf(e)}`);
      out.push({ sink: s.description, leavesHost: s.leavesHost, ok: false, error: messageOf(e) });
    }
  }
  return out;
}

/**
 * The latest checkpoint again, to the sinks that say they do not hold it (a publication cut short by a kill); the
 * ledger is not written. A sink that cannot be asked is reported like a failed publication.
 */
export async function republishCheckpoint(sinks: readonly CheckpointSink[], checkpoint: SignedCheckpoint, logger?: Logger): Promise<SinkOutcome[]> {
  const out: SinkOutcome[] = [];
  const missing: CheckpointSink[] = [];
  for (const s of sinks) {
    if (!s.isPublished) continue;
    try {
      if (!(await s.isPublished(checkpoint))) missing.push(s);
    } catch (e) {
      warn(logger, `could not check whether ${s.description} holds the latest ledger checkpoint: ${messageOf(e)}`);
      out.push({ sink: s.description, leavesHost: s.leavesHost, ok: false, error: messageOf(e) });
    }
  }
  return [...out, ...(await publishCheckpoint(missing, checkpoint, logger))];
}

/** The sentence `ledger verify` and the docs give when no checkpoint leaves the host. */
export const NO_OFF_HOST_SINK =
  'No checkpoint sink leaves this host, so someone who controls it could rewrite the ledger and its checkpoints together; keep checkpoints elsewhere (ledger.checkpoint_sinks with leaves_host: true, or an auditor\'s copy) and verify against them.';

/** A sink as configured (`ledger.checkpoint_sinks`), before it is built. */
export type SinkSpec = { type: 'file'; path: string; leavesHost: boolean } | { type: 'command'; argv: string[]; leavesHost: boolean };

export function toSinks(specs: readonly SinkSpec[]): CheckpointSink[] {
  return specs.map((s) => (s.type === 'file' ? new FileSink(s.path, s.leavesHost) : new CommandSink(s.argv, s.leavesHost)));
}
