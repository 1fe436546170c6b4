import { neutralize } from '../log.js';
import type { AuditResult } from './audit.js';

/** The human report: one line per finding (kind, where, what), then a summary line. Registry strings neutralised. */
export function renderAudit(r: AuditResult): string {
  const lines: string[] = [];
  if (r.findings.length > 0) {
    const width = Math.max(...r.findings.map((f) => f.kind.length), 4);
    lines.push(`${'KIND'.padEnd(width)}  SEVERITY  WHERE`);
    for (const f of r.findings) {
      const where = `${f.repository}${f.tag !== null ? `:${f.tag}` : ''}`;
      lines.push(`${f.kind.padEnd(width)}  ${f.severity.padEnd(8)}  ${neutralize(where)}`);
      lines.push(`${''.padEnd(width)}  ${''.padEnd(8)}  ${neutralize(f.message)}`);
    }
  }
  if (r.catalogUnavailable !== null) {
    lines.push(`note: the registry would not list its repositories (${neutralize(r.catalogUnavailable)}); only the repositories the ledger knows were audited, so a repository created around airlock cannot be seen.`);
  }
  if (!r.ledgerComplete) lines.push('note: the ledger holds more events than one audit reads; the comparison is partial.');
  const verified = r.reverified === null ? '' : `, ${r.reverified} image${r.reverified === 1 ? '' : 's'} re-verified`;
  lines.push(
    `Audited ${neutralize(r.target)}: ${r.repositories} repositories, ${r.tags} tags, ${r.objectsChecked} objects, ${r.checkpoints} checkpoints${verified}, against ${r.ledgerEvents} ledger events — ` +
      (r.errors === 0 ? `clean${r.warnings > 0 ? ` (${r.warnings} warning${r.warnings === 1 ? '' : 's'})` : ''}.` : `${r.errors} finding${r.errors === 1 ? '' : 's'}${r.warnings > 0 ? `, ${r.warnings} warning${r.warnings === 1 ? '' : 's'}` : ''}.`),
  );
  return lines.join('\n');
}
