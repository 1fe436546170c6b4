import { neutralize } from '../log.js';
import type { SyncResult } from '../pipeline/sync.js';

/** The human summary of a sync: one line per release and image, then each refusal with its reason. */
export function renderSync(r: SyncResult): string {
  const lines: string[] = [];
  for (const rel of r.releases) {
    const sig = rel.checksums ? ` — checksums signed by ${neutralize(rel.checksums.identity ?? 'a key')} (${rel.checksums.evidence})` : '';
    lines.push(`${neutralize(rel.tag)}: ${rel.status}${sig}`);
    for (const a of rel.assets) lines.push(`  file  ${neutralize(a.name)} ${a.digest}`);
    for (const i of rel.images) lines.push(`  image ${neutralize(i.target)} ${i.status}${i.digest ? ` ${i.digest}` : ''}`);
    for (const i of rel.ignoredImages) lines.push(`  ignored (outside the canonical prefix) ${neutralize(i)}`);
  }
  if (r.missing.length > 0) lines.push(`Not found upstream: ${r.missing.map(neutralize).join(', ')}`);
  for (const x of r.refusals) lines.push(`REFUSED ${neutralize(x.image ?? x.release)}: ${x.reason}${x.check ? ` (${x.check})` : ''}: ${neutralize(x.message)}`);
  for (const f of r.failures) lines.push(`FAILED ${neutralize(f.item)}: ${f.code}: ${neutralize(f.message)}`);
  for (const u of r.unreadable) lines.push(`UNREADABLE release ${neutralize(u.tag ?? '(no tag)')}: ${neutralize(u.reason)}`);
  lines.push(`Target ${neutralize(r.target)}; ${r.ledger.appended} events recorded in ${neutralize(r.ledger.path)}.`);
  return lines.join('\n');
}
