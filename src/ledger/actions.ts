/**
 * What each `airlock ledger …` command does, as one function each returning its typed result (the commands only
 * parse flags). Every one of them opens the ledger read-only: reading, proving and verifying never write.
 */
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { AirlockError } from '../errors.js';
import type { LedgerSettings } from '../config/ledger-config.js';
import { checkpointView, decodeNote, parseSignedCheckpoint, type CheckpointView } from './checkpoint.js';
import { damaged, guarded } from './db.js';
import type { LedgerEntry } from './events.js';
import { exportLedger, type ExportFormat } from './export.js';
import { ledgerReport, type ReportFilter } from './html/index.js';
import { loadKeyFile } from './keyfile.js';
import { parseVerifierKey, type VerifierKey } from './keys.js';
import { Ledger, type InclusionProof } from './ledger.js';
import type { DigestStory, LedgerFilter } from './query.js';
import { toSinks } from './sinks.js';
import { verifyLedger, type LedgerVerifyResult } from './verify.js';

export function openForReading(settings: LedgerSettings): Ledger {
  return Ledger.open(settings.path, { readOnly: true });
}

function withLedger<T>(settings: LedgerSettings, fn: (l: Ledger) => T): T {
  const ledger = openForReading(settings);
  try {
    return guarded(ledger.path, () => fn(ledger));
  } finally {
    ledger.close();
  }
}

export interface LedgerListResult {
  ledger: string;
  count: number;
  entries: LedgerEntry[];
}

export function listLedger(settings: LedgerSettings, filter: LedgerFilter): LedgerListResult {
  return withLedger(settings, (l) => {
    const entries = l.list(filter);
    return { ledger: l.path, count: entries.length, entries };
  });
}

export interface LedgerShowResult {
  ledger: string;
  query: string;
  /** When asked by entry number: that entry and its leaf hash. */
  entry: (LedgerEntry & { leafHash: string }) | null;
  /** The whole story of the entry's digest (or of the digest asked for). */
  story: DigestStory | null;
}

export function showLedger(settings: LedgerSettings, query: string): LedgerShowResult {
  return withLedger(settings, (l) => {
    let entry: LedgerShowResult['entry'] = null;
    let digest = query;
    if (/^\d{1,15}$/.test(query)) {
      const e = l.entry(Number(query));
      if (!e) throw new AirlockError('NOT_FOUND', `The ledger has no entry ${query} (it has ${l.size()}, numbered from 0).`);
      entry = { ...e, leafHash: l.prove(e.seq).leafHash };
      digest = e.digest ?? '';
    }
    const story = digest ? l.story(digest) : null;
    if (!entry && story && story.events.length === 0 && story.mentions.length === 0) {
      throw new AirlockError('NOT_FOUND', `The ledger has no record of ${query}.`);
    }
    return { ledger: l.path, query, entry, story };
  });
}

export interface LedgerCheckpointResult extends CheckpointView {
  ledger: string;
  /** Where `verifierKey` comes from: the key file when readable, else the ledger's record of it. */
  verifierKeySource: 'key-file' | 'ledger';
}

/** The public half of the configured key file, or undefined when it cannot be read (read-only commands never need it). */
export function keyFileVerifier(settings: LedgerSettings, origin: string): VerifierKey | undefined {
  try {
    return loadKeyFile(settings.key(origin), origin);
  } catch {
    return undefined;
  }
}

export function latestCheckpoint(settings: LedgerSettings): LedgerCheckpointResult {
  return withLedger(settings, (l) => {
    const c = l.latestCheckpoint();
    if (!c) throw new AirlockError('NOT_FOUND', `The ledger ${l.path} has no checkpoint yet; one is written after the first run that records something.`);
    const fromFile = keyFileVerifier(settings, l.origin);
    return {
      ledger: l.path,
      ...checkpointView(c, fromFile ?? l.storedKey),
      verifierKeySource: fromFile ? 'key-file' : 'ledger',
    };
  });
}

export function proveEntry(settings: LedgerSettings, seq: number, size?: number): InclusionProof & { ledger: string } {
  return withLedger(settings, (l) => ({ ledger: l.path, ...l.prove(seq, size) }));
}

/** Reads a file an auditor hands over, as bytes; a missing one is NOT_FOUND. */
function readGiven(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new AirlockError('NOT_FOUND', `The ${what} ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: e });
  }
}

export function verifyLedgerFile(settings: LedgerSettings, opts: { checkpointFile?: string; publicKeyFile?: string } = {}): LedgerVerifyResult {
  // The auditor's inputs are parsed before the ledger is opened: a malformed one fails on its own exit code.
  const kept = opts.checkpointFile
    ? {
        checkpoint: parseSignedCheckpoint(
          decodeNote(readGiven(opts.checkpointFile, 'checkpoint'), `The checkpoint ${opts.checkpointFile}`),
          `The checkpoint ${opts.checkpointFile}`,
        ),
        source: opts.checkpointFile,
      }
    : undefined;
  const pinnedText = opts.publicKeyFile ? readGiven(opts.publicKeyFile, 'public key').toString('utf8') : undefined;
  return withLedger(settings, (l) => {
    const pinnedKey = pinnedText !== undefined ? parseVerifierKey(pinnedText, `The public key ${opts.publicKeyFile}`, l.origin) : undefined;
    return verifyLedger(l, {
      kept,
      pinnedKey,
      keyFileKey: pinnedKey ? undefined : keyFileVerifier(settings, l.origin),
      sinks: toSinks(settings.sinks),
    });
  });
}

export interface LedgerExportResult {
  ledger: string;
  format: ExportFormat | 'html';
  count: number;
  output: string | null;
}

export async function exportLedgerTo(settings: LedgerSettings, format: ExportFormat, out: Writable, output: string | null): Promise<LedgerExportResult> {
  const ledger = openForReading(settings);
  try {
    const count = await exportLedger(ledger.db, format, out).catch((e: unknown) => {
      throw damaged(ledger.path, e);
    });
    return { ledger: ledger.path, format, count, output };
  } finally {
    ledger.close();
  }
}

export interface HtmlExportResult extends LedgerExportResult {
  format: 'html';
  /** Entries the report was made from (after --release/--since), and what it shows. */
  items: number;
  refusals: number;
  bytes: number;
  checkpoint: { origin: string; size: number; rootHash: string } | null;
}

/** The auditor's report (one self-contained HTML page) written to `out`. */
export async function exportHtmlReportTo(
  settings: LedgerSettings,
  out: Writable,
  output: string | null,
  o: { filter: ReportFilter; toolVersion: string },
): Promise<HtmlExportResult> {
  const ledger = openForReading(settings);
  try {
    const key = keyFileVerifier(settings, ledger.origin) ?? ledger.storedKey;
    const report = guarded(ledger.path, () => ledgerReport(ledger, { key, filter: o.filter, toolVersion: o.toolVersion }));
    await new Promise<void>((resolve, reject) => out.write(report.html, (err) => (err ? reject(err) : resolve())));
    const cp = report.checkpoint;
    return {
      ledger: ledger.path,
      format: 'html',
      count: report.model.entries,
      output,
      items: report.model.items.length,
      refusals: report.model.items.filter((i) => i.status === 'refused').length,
      bytes: Buffer.byteLength(report.html),
      checkpoint: cp ? { origin: cp.origin, size: cp.size, rootHash: cp.rootHash } : null,
    };
  } finally {
    ledger.close();
  }
}
