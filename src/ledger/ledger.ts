/**
 * The Ledger: the one API sync, copy and the `ledger` commands use. Writes are synchronous better-sqlite3
 * transactions taken with BEGIN IMMEDIATE, with no await inside; the tree state is read inside each of them, so
 * any number of processes may append to the same file. Checkpoints are signed inside a transaction and published
 * after it.
 */
import { randomBytes } from 'node:crypto';
import { AirlockError } from '../errors.js';
import type { Logger } from '../log.js';
import { checkpointBody, parseSignedCheckpoint, signCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import { damaged, guarded, openLedgerDb, type Db } from './db.js';
import type { LedgerEntry, LedgerEventInput, RunInfo } from './events.js';
import { createKeyFile, loadKeyFile } from './keyfile.js';
import { verifierFromPublicKey, type SigningKey, type VerifierKey } from './keys.js';
import { consistencyProof, inclusionProof, leafHash, rangeHash } from './merkle.js';
import { LedgerQueries, type DigestStory, type LedgerFilter } from './query.js';
import { leafText, rowFromRaw, ROW_COLUMNS, storedValues, toStoredRow, type StoredRow } from './row.js';
import { LedgerRun } from './run.js';
import { refusalLookup, type RefusalKey } from './refusals.js';
import { publishCheckpoint, republishCheckpoint, type CheckpointSink, type SinkOutcome } from './sinks.js';
import { TreeStore } from './tree.js';

export interface LedgerOpenOptions {
  /** Create the ledger (and its key, with a notice) when the file does not exist. Default false. */
  create?: boolean;
  /** The signing key file, or how to derive it from the ledger's origin. Writers load it at open. */
  key?: string | ((origin: string) => string);
  /** Open read-only: no key, no migration, no write of any kind. */
  readOnly?: boolean;
  sinks?: readonly CheckpointSink[];
  logger?: Logger;
  clock?: () => Date;
  busyTimeoutMs?: number;
}

export interface StoredCheckpoint {
  size: number;
  time: string;
  note: string;
}

export interface CheckpointOutcome {
  checkpoint: SignedCheckpoint;
  /** False when the latest checkpoint already covered every event (nothing was written or published). */
  created: boolean;
  published: SinkOutcome[];
}

export interface InclusionProof {
  index: number;
  treeSize: number;
  /** The leaf: canonical JSON (RFC 8785) of the stored row; leafHash = SHA-256(0x00 || leaf). */
  leaf: string;
  leafHash: string;
  /** Sibling hashes, leaf level first (RFC 6962 PATH), hex. */
  auditPath: string[];
  rootHash: string;
  rootHashBase64: string;
  /** The signed checkpoint at treeSize, when one exists. */
  checkpoint: string | null;
}

export const ORIGIN_PREFIX = 'airlock.ledger/';

export class Ledger {
  readonly queries: LedgerQueries;
  /** Whether this open created the file (sync uses it to refuse a fresh ledger against a populated target). */
  readonly created: boolean;
  readonly origin: string;
  /** The public key recorded at creation. A verifier should prefer a key pinned elsewhere. */
  readonly storedKey: VerifierKey;
  private readonly tree: TreeStore;
  private readonly insertEvent;
  private readonly insertCheckpoint;
  private readonly latestCheckpointStmt;
  private readonly checkpointAtStmt;
  private readonly allCheckpointsStmt;
  private readonly refusalExists: (k: RefusalKey) => boolean;
  private readonly rowBySeq;
  private closed = false;

  private constructor(
    readonly path: string,
    readonly db: Db,
    created: boolean,
    private readonly key: SigningKey | undefined,
    private readonly opts: LedgerOpenOptions,
  ) {
    this.created = created;
    const meta = new Map(db.prepare<[], [string, string]>('SELECT key, value FROM meta').raw(true).all());
    const origin = meta.get('origin');
    const pub = meta.get('public_key');
    if (!origin || !pub || Buffer.from(pub, 'base64').length !== 32) {
      throw new AirlockError('LEDGER_INVALID', `The ledger ${path} lacks its origin or public key; it is damaged or was not written by airlock.`);
    }
    this.origin = origin;
    this.storedKey = verifierFromPublicKey(origin, Buffer.from(pub, 'base64'));
    this.tree = new TreeStore(db);
    this.queries = new LedgerQueries(db);
    this.insertEvent = db.prepare<unknown[]>(`INSERT INTO events (${ROW_COLUMNS.join(', ')}) VALUES (${ROW_COLUMNS.map(() => '?').join(', ')})`);
    this.insertCheckpoint = db.prepare<[number, string, string]>('INSERT INTO checkpoints (size, time, note) VALUES (?, ?, ?)');
    this.latestCheckpointStmt = db.prepare<[], StoredCheckpoint>('SELECT size, time, note FROM checkpoints ORDER BY size DESC LIMIT 1');
    this.checkpointAtStmt = db.prepare<[number], StoredCheckpoint>('SELECT size, time, note FROM checkpoints WHERE size = ?');
    this.allCheckpointsStmt = db.prepare<[], StoredCheckpoint>('SELECT size, time, note FROM checkpoints ORDER BY size ASC');
    this.rowBySeq = db.prepare<[number], unknown[]>(`SELECT ${ROW_COLUMNS.join(', ')} FROM events WHERE seq = ?`).raw(true);
    this.refusalExists = refusalLookup(db);
  }

  /**
   * Opens (or, with `create`, creates) the ledger at `path`. A writer's key is loaded now, so a missing key fails
   * before anything is written; a new ledger gets a random origin and a new key at `key(origin)`.
   */
  static open(path: string, opts: LedgerOpenOptions = {}): Ledger {
    const readOnly = opts.readOnly === true;
    const keyPathFor = (origin: string): string => {
      if (typeof opts.key === 'function') return opts.key(origin);
      if (typeof opts.key === 'string') return opts.key;
      throw new AirlockError('LEDGER_KEY', 'No signing key path was given for the ledger.');
    };
    let newKey: SigningKey | undefined;
    const { db, created } = openLedgerDb(path, {
      create: opts.create === true,
      readOnly,
      busyTimeoutMs: opts.busyTimeoutMs,
      initialMeta: () => {
        const origin = ORIGIN_PREFIX + randomBytes(10).toString('hex');
        newKey = createKeyFile(keyPathFor(origin), origin, opts.logger);
        return { origin, public_key: newKey.publicKey.toString('base64'), created: (opts.clock?.() ?? new Date()).toISOString() };
      },
    });
    try {
      if (readOnly) return new Ledger(path, db, created, undefined, opts);
      // Read the origin first (a throwaway read), then load and match the key before any write is possible.
      const origin = db.prepare<[], string>("SELECT value FROM meta WHERE key = 'origin'").pluck().get();
      if (!origin) throw new AirlockError('LEDGER_INVALID', `The ledger ${path} lacks its origin; it is damaged or was not written by airlock.`);
      const keyPath = keyPathFor(origin);
      const key = newKey ?? loadKeyFile(keyPath, origin);
      const ledger = new Ledger(path, db, created, key, opts);
      if (!key.publicKey.equals(ledger.storedKey.publicKey)) {
        throw new AirlockError('LEDGER_KEY', `The key ${keyPath} is named for this ledger but is not the key it was created with; restore the right key.`);
      }
      return ledger;
    } catch (e) {
      db.close();
      throw damaged(path, e);
    }
  }

  get readOnly(): boolean {
    return this.key === undefined;
  }

  /** Number of events (= tree size). */
  size(): number {
    return this.tree.size();
  }

  /** Appends a batch in one transaction and returns their sequence numbers. An empty batch writes nothing. */
  append(events: readonly LedgerEventInput[]): number[] {
    return this.write(events, null);
  }

  /**
   * Appends a refusal unless an identical one (same digest and reason code — or, without a digest, same image,
   * release and reason) is already recorded; returns its sequence number, or null when it was already there.
   */
  appendRefusalOnce(event: LedgerEventInput): number | null {
    return this.writeRefusal(event, null);
  }

  /** A run whose run-started event is written only with its first real event: a run that records nothing writes nothing. */
  startRun(info: RunInfo): LedgerRun {
    this.writable();
    return new LedgerRun(
      {
        write: (events, run, prefix) => this.write(events, run, prefix),
        writeRefusal: (event, run, prefix) => this.writeRefusal(event, run, prefix),
        checkpoint: () => this.checkpoint(),
      },
      info,
      this.opts.clock,
    );
  }

  private writable(): SigningKey {
    if (this.closed) throw new AirlockError('INTERNAL', 'The ledger is closed.');
    if (!this.key) throw new AirlockError('INTERNAL', 'The ledger was opened read-only.');
    return this.key;
  }

  private write(events: readonly LedgerEventInput[], run: string | null, prefix?: () => LedgerEventInput[]): number[] {
    this.writable();
    if (events.length === 0) return [];
    return guarded(this.path, () => this.db.transaction(() => this.appendLocked([...(prefix?.() ?? []), ...events], run)).immediate());
  }

  private writeRefusal(event: LedgerEventInput, run: string | null, prefix?: () => LedgerEventInput[]): number | null {
    this.writable();
    if (event.kind !== 'refused' || !event.reason) throw new AirlockError('INTERNAL', 'appendRefusalOnce takes a refused event with a reason.');
    const k: RefusalKey = { digest: event.digest ?? null, reason: event.reason, image: event.image ?? null, release: event.release ?? null };
    return guarded(this.path, () =>
      this.db
        .transaction((): number | null => {
          if (this.refusalExists(k)) return null;
          const seqs = this.appendLocked([...(prefix?.() ?? []), event], run);
          return seqs[seqs.length - 1]!;
        })
        .immediate(),
    );
  }

  /** Inside the write transaction: tree size and frontier read now, under the lock. */
  private appendLocked(events: readonly LedgerEventInput[], run: string | null): number[] {
    const start = this.tree.size();
    const frontier = this.tree.frontier(start);
    const time = (this.opts.clock?.() ?? new Date()).toISOString();
    const seqs: number[] = [];
    for (let i = 0; i < events.length; i++) {
      const row = toStoredRow(events[i]!, start + i, time, run);
      this.insertEvent.run(storedValues(row));
      this.tree.insertRow(row.seq, frontier.appendLeaf(leafText(row)));
      seqs.push(row.seq);
    }
    return seqs;
  }

  /**
   * Signs and stores a checkpoint of the whole log, then publishes it to the sinks. When the latest checkpoint
   * already covers every event it is returned as is (created: false) and nothing is written to the ledger; it is
   * published only to the sinks that can tell they lack it (one HEAD for a registry); an empty ledger has none.
   */
  async checkpoint(): Promise<CheckpointOutcome | null> {
    const key = this.writable();
    const sign = (): { note: string; created: boolean } | null => {
      const size = this.tree.size();
      if (size === 0) return null;
      const latest = this.latestCheckpointStmt.get();
      if (latest && latest.size === size) return { note: latest.note, created: false };
      const rootHash = this.tree.frontier(size).root();
      const note = signCheckpoint({ origin: this.origin, size, rootHash }, key);
      this.insertCheckpoint.run(size, (this.opts.clock?.() ?? new Date()).toISOString(), note);
      return { note, created: true };
    };
    const made = guarded(this.path, () => this.db.transaction(sign).immediate());
    if (!made) return null;
    const checkpoint = parseSignedCheckpoint(made.note, 'The checkpoint just written');
    // An existing checkpoint goes again to a sink that says it lacks it (a run killed while publishing it).
    const published = made.created ? await publishCheckpoint(this.opts.sinks ?? [], checkpoint, this.opts.logger) : await republishCheckpoint(this.opts.sinks ?? [], checkpoint, this.opts.logger);
    return { checkpoint, created: made.created, published };
  }

  latestCheckpoint(): StoredCheckpoint | undefined {
    return this.latestCheckpointStmt.get();
  }

  checkpoints(): StoredCheckpoint[] {
    return this.allCheckpointsStmt.all();
  }

  list(filter?: LedgerFilter): LedgerEntry[] {
    return this.queries.list(filter);
  }

  entry(seq: number): LedgerEntry | undefined {
    return this.queries.entry(seq);
  }

  story(digest: string): DigestStory {
    return this.queries.story(digest);
  }

  /**
   * An RFC 6962 inclusion proof of entry `seq`, against the tree of `size` (default: the latest checkpoint that
   * covers the entry, else the current size), read in one snapshot.
   */
  prove(seq: number, size?: number): InclusionProof {
    return this.db.transaction((): InclusionProof => {
      const n = this.tree.size();
      const rowRaw = this.rowBySeq.get(seq);
      if (!rowRaw) throw new AirlockError('NOT_FOUND', `The ledger has no entry ${seq} (it has ${n}, numbered from 0).`);
      const latest = this.latestCheckpointStmt.get();
      const treeSize = size ?? (latest && latest.size > seq ? latest.size : n);
      if (!(Number.isSafeInteger(treeSize) && treeSize > seq && treeSize <= n)) {
        throw new AirlockError('BAD_INPUT', `Entry ${seq} cannot be proved against a tree of ${treeSize}: the size must be above ${seq} and at most ${n}.`);
      }
      const row: StoredRow = rowFromRaw(rowRaw);
      const leaf = leafText(row);
      const root = rangeHash(this.tree, 0, treeSize);
      return {
        index: seq,
        treeSize,
        leaf,
        leafHash: leafHash(leaf).toString('hex'),
        auditPath: inclusionProof(this.tree, seq, treeSize).map((h) => h.toString('hex')),
        rootHash: root.toString('hex'),
        rootHashBase64: root.toString('base64'),
        checkpoint: this.checkpointAtStmt.get(treeSize)?.note ?? null,
      };
    })();
  }

  /** RFC 6962 consistency proof from size m to size n (default: now), from the stored tree. */
  consistency(m: number, n = this.size()): { proof: Buffer[]; oldRoot: Buffer; newRoot: Buffer } {
    return this.db.transaction(() => ({
      proof: consistencyProof(this.tree, m, n),
      oldRoot: rangeHash(this.tree, 0, m),
      newRoot: rangeHash(this.tree, 0, n),
    }))();
  }

  /** The checkpoint body (unsigned) of the current tree, for tests and diagnostics. */
  treeHead(): string {
    const size = this.size();
    return checkpointBody({ origin: this.origin, size, rootHash: rangeHash(this.tree, 0, size) });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
