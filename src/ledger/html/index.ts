/**
 * `ledger export --format html`: reads the entries in pages of sequence numbers (bodies are summarised and
 * dropped page by page), the latest checkpoint and the verifier key, and renders the auditor's report.
 */
import { createHash } from 'node:crypto';
import { checkpointView } from '../checkpoint.js';
import type { LedgerEntry } from '../events.js';
import type { VerifierKey } from '../keys.js';
import type { Ledger } from '../ledger.js';
import { ROW_COLUMNS, rowFromRaw, toEntry } from '../row.js';
import { buildReportModel, type ReportFilter, type ReportModel } from './model.js';
import { renderReport, type ReportCheckpoint } from './page.js';

export { buildReportModel, plainReason, signerOf, type ReportFilter, type ReportItem, type ReportModel } from './model.js';
export { renderReport, runChart, type ReportCheckpoint, type ReportContext } from './page.js';
export { escapeHtml, jsonForScript, safeHttpUrl } from './escape.js';

const PAGE = 2000;

function* entriesOf(ledger: Ledger): Generator<LedgerEntry> {
  const page = ledger.db.prepare<[number, number], unknown[]>(`SELECT ${ROW_COLUMNS.join(', ')} FROM events WHERE seq >= ? ORDER BY seq LIMIT ?`).raw(true);
  let next = 0;
  for (;;) {
    const rows = page.all(next, PAGE);
    if (rows.length === 0) return;
    for (const raw of rows) yield toEntry(rowFromRaw(raw));
    next = (rows[rows.length - 1]![0] as number) + 1;
  }
}

/** The latest checkpoint as the report's header shows it, or null when the ledger has none. */
export function reportCheckpoint(ledger: Ledger, key: VerifierKey): ReportCheckpoint | null {
  const c = ledger.latestCheckpoint();
  if (!c) return null;
  return {
    ...checkpointView(c, key),
    keyId: key.keyId.toString('hex'),
    keyFingerprint: `sha256:${createHash('sha256').update(key.publicKey).digest('hex')}`,
  };
}

export interface HtmlReport {
  html: string;
  model: ReportModel;
  checkpoint: ReportCheckpoint | null;
}

export function ledgerReport(ledger: Ledger, o: { key: VerifierKey; filter: ReportFilter; toolVersion: string; now?: Date }): HtmlReport {
  const model = buildReportModel(entriesOf(ledger), o.filter);
  const checkpoint = reportCheckpoint(ledger, o.key);
  const html = renderReport(model, {
    ledgerPath: ledger.path,
    ledgerSize: ledger.size(),
    generated: (o.now ?? new Date()).toISOString(),
    checkpoint,
    filter: o.filter,
    toolVersion: o.toolVersion,
  });
  return { html, model, checkpoint };
}
