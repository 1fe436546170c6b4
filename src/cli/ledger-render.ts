/**
 * Human rendering of `ledger …` results. Columns came from upstream (image names, tags, messages) and are
 * neutralised before they reach a terminal.
 */
import { neutralize } from '../log.js';
import type { LedgerCheckpointResult, LedgerListResult, LedgerShowResult } from '../ledger/actions.js';
import type { LedgerEntry } from '../ledger/events.js';
import type { InclusionProof } from '../ledger/ledger.js';
import type { LedgerVerifyResult } from '../ledger/verify.js';

const n = (s: string | null) => (s === null ? '-' : neutralize(s));
const short = (d: string | null) => (d === null ? '-' : `${d.slice(0, 19)}…`);

function line(e: LedgerEntry): string {
  const what = e.kind === 'refused' ? `${n(e.reason)}` : (e.status ?? '');
  return `${String(e.seq).padStart(7)}  ${e.time}  ${e.kind.padEnd(18)} ${what.padEnd(20)} ${n(e.image)} ${n(e.release)} ${short(e.digest)}`;
}

export function renderList(r: LedgerListResult): string {
  if (r.entries.length === 0) return 'No entries match.';
  return [`    seq  time                      kind               status/reason        image release digest`, ...r.entries.map(line)].join('\n');
}

function detail(e: LedgerEntry): string[] {
  return [line(e), ...JSON.stringify(e.body, null, 2).split('\n').map((l) => `         ${neutralize(l)}`)];
}

export function renderShow(r: LedgerShowResult): string {
  const out: string[] = [];
  if (r.entry) out.push(`Entry ${r.entry.seq} (leaf hash ${r.entry.leafHash}):`, ...detail(r.entry), '');
  if (r.story) {
    out.push(`The story of ${r.story.digest}:`);
    for (const e of r.story.releases) out.push(...detail(e));
    for (const e of r.story.events) out.push(...detail(e));
    if (r.story.mentions.length) {
      out.push('No event is about this digest; it is mentioned (written as part of a copy) by:');
      for (const e of r.story.mentions) out.push(...detail(e));
    }
  }
  return out.join('\n').trimEnd();
}

export function renderVerify(r: LedgerVerifyResult): string {
  const out = [
    `Ledger ${r.path} (${r.origin}): ${r.treeSize} entries, root ${r.rootHash}`,
    `Checkpoints: ${r.checkpoints.count} stored, latest at size ${r.checkpoints.latestSize ?? '-'}; key from ${r.key.source}: ${r.key.verifierKey}`,
  ];
  if (r.kept) out.push(`Your checkpoint ${r.kept.source}: size ${r.kept.size}, ${r.kept.consistent ? 'extended consistently' : 'NOT extended consistently'}`);
  out.push(r.ok ? `OK. ${r.statement}` : `FAILED: ${r.problems.length} problem(s).`);
  for (const p of r.problems) out.push(`  - ${p.message}`);
  for (const w of r.warnings) out.push(`Note: ${w}`);
  out.push(`(${r.durationMs} ms)`);
  return out.join('\n');
}

export function renderCheckpoint(r: LedgerCheckpointResult): string {
  return r.note.trimEnd();
}

export function renderProof(p: InclusionProof): string {
  return [
    `leaf index:  ${p.index}`,
    `tree size:   ${p.treeSize}`,
    `leaf:        ${neutralize(p.leaf)}`,
    `leaf hash:   ${p.leafHash}`,
    'audit path:',
    ...p.auditPath.map((h) => `  ${h}`),
    `root hash:   ${p.rootHash}  (base64 ${p.rootHashBase64})`,
    p.checkpoint ? `checkpoint:\n${p.checkpoint.trimEnd()}` : 'checkpoint:  none at this size yet',
  ].join('\n');
}
