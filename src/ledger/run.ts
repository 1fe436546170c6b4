/**
 * One run of sync/copy as the ledger sees it. Its run-started event is written in the same transaction as the
 * run's first real event, and run-finished plus a checkpoint only if something was written: a run that verifies
 * and copies nothing new appends nothing and writes no checkpoint (issue 8's no-op run).
 */
import { randomUUID } from 'node:crypto';
import { runFinished, runStarted, type LedgerEventInput, type RunInfo } from './events.js';
import type { CheckpointOutcome } from './ledger.js';

type Prefix = () => LedgerEventInput[];

export interface RunWriter {
  write(events: readonly LedgerEventInput[], run: string, prefix: Prefix): number[];
  writeRefusal(event: LedgerEventInput, run: string, prefix: Prefix): number | null;
  checkpoint(): Promise<CheckpointOutcome | null>;
}

export class LedgerRun {
  readonly id = randomUUID();
  private readonly startedAt: string;
  private started = false;
  private appended = 0;
  private finished = false;

  constructor(
    private readonly writer: RunWriter,
    private readonly info: RunInfo,
    clock: () => Date = () => new Date(),
  ) {
    this.startedAt = clock().toISOString();
  }

  /** Number of events this run has appended (run-started included). */
  get appendedCount(): number {
    return this.appended;
  }

  append(events: readonly LedgerEventInput[]): number[] {
    if (events.length === 0) return [];
    const seqs = this.writer.write(events, this.id, this.prefix());
    this.committed(seqs.length);
    return seqs.slice(seqs.length - events.length);
  }

  appendRefusalOnce(event: LedgerEventInput): number | null {
    const seq = this.writer.writeRefusal(event, this.id, this.prefix());
    if (seq !== null) this.committed(this.started ? 1 : 2);
    return seq;
  }

  /**
   * Ends the run: when it appended anything, records run-finished and writes (and publishes) a checkpoint;
   * otherwise writes nothing and returns null — unless entries of an earlier, killed run are not covered by any
   * checkpoint yet: then those are checkpointed (and published); or the latest checkpoint is missing from a sink
   * that can tell (a kill during its publication): then it is published there, the ledger untouched.
   */
  async finish(result: { outcome: 'ok' | 'refusals' | 'failed'; counts: Record<string, number> }): Promise<CheckpointOutcome | null> {
    if (this.finished) throw new Error('this ledger run is already finished');
    this.finished = true;
    if (this.appended === 0) {
      // A run killed after its last append left entries no checkpoint covers, and the run that found nothing new to
      // do is the next chance to sign them: a checkpoint is written only then (otherwise nothing is).
      // The latest checkpoint is also published again where a run killed while publishing it left it missing.
      const pending = await this.writer.checkpoint();
      return pending && (pending.created || pending.published.some((p) => p.ok)) ? pending : null;
    }
    const durationMs = Date.now() - Date.parse(this.startedAt);
    this.writer.write([runFinished({ ...result, durationMs })], this.id, () => []);
    this.appended++;
    return this.writer.checkpoint();
  }

  /** run-started goes in front of the first batch; the flag flips only once that transaction committed. */
  private prefix(): Prefix {
    return () => (this.started ? [] : [runStarted({ ...this.info, startedAt: this.info.startedAt ?? this.startedAt })]);
  }

  private committed(n: number): void {
    this.started = true;
    this.appended += n;
  }
}
