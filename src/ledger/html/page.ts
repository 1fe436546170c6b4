/**
 * The auditor's report as one self-contained HTML file: no external script, style, font or image, so it works
 * from file:// and in an air gap. Its Content-Security-Policy allows only its own inline script and style, by their
 * SHA-256 (no 'unsafe-inline'), and nothing else: a value that slipped through as markup still could not run.
 * Values reach the page in three contexts, each escaped for it: element text and attributes (escapeHtml), the
 * embedded JSON the script reads (jsonForScript), and what the script builds (textContent, http(s)-only links).
 */
import { createHash } from 'node:crypto';
import type { CheckpointView } from '../checkpoint.js';
import { VERIFY_ROOT_PY, WITHOUT_AIRLOCK, withAirlock } from './auditor.js';
import { CLIENT_SCRIPT } from './client.js';
import { escapeHtml as h, jsonForScript } from './escape.js';
import type { ReportFilter, ReportItem, ReportModel, ReportRun } from './model.js';

export interface ReportCheckpoint extends CheckpointView {
  /** Hex key ID of the signed-note key. */
  keyId: string;
  /** sha256:<hex> of the raw Ed25519 public key. */
  keyFingerprint: string;
}

export interface ReportContext {
  ledgerPath: string;
  /** Entries in the ledger (the tree size). */
  ledgerSize: number;
  generated: string;
  checkpoint: ReportCheckpoint | null;
  filter: ReportFilter;
  toolVersion: string;
}

const STYLE = `
:root { --bad: #b00020; --bad-bg: #fde8ec; --ok: #1b6e20; --muted: #5f6368; --line: #d7dbe0; font-family: system-ui, sans-serif; }
body { margin: 0 auto; max-width: 1400px; padding: 1rem 1.5rem 3rem; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.5rem; margin: .2rem 0; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; }
.meta, .none, .k { color: var(--muted); }
.mono, pre, .v, td.seqs { font-family: ui-monospace, monospace; font-size: .82rem; }
.v { overflow-wrap: anywhere; unicode-bidi: isolate; }
pre { background: #f5f6f8; border: 1px solid var(--line); padding: .6rem .8rem; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
.checkpoint { border: 2px solid #2d5b9a; border-radius: 6px; padding: .6rem 1rem; background: #f4f8fe; }
.checkpoint dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
.checkpoint dt { color: var(--muted); } .checkpoint dd { margin: 0; }
.warn { color: var(--bad); font-weight: 600; }
.counts { display: flex; gap: 1.5rem; flex-wrap: wrap; }
.counts div { font-size: 1.05rem; } .counts b { font-size: 1.4rem; }
.refusals { border: 2px solid var(--bad); background: var(--bad-bg); border-radius: 6px; padding: .4rem 1rem; }
.refusals li { margin: .4rem 0; }
.refusals .plain, td.reason .plain { color: var(--bad); font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
td:nth-child(3) { min-width: 16rem; } td:nth-child(4) { min-width: 20rem; }
th, td { border-bottom: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; font-size: .88rem; }
th { background: #eef0f3; position: sticky; top: 0; }
tr.st-refused { background: var(--bad-bg); } tr.st-refused td.status { color: var(--bad); font-weight: 700; }
tr.st-unverified td.status { color: var(--bad); } tr.st-mirrored td.status { color: var(--ok); }
.img { font-weight: 600; }
td.reason .msg { margin: .2rem 0; }
#controls { display: flex; gap: .8rem; align-items: center; flex-wrap: wrap; margin: .5rem 0; }
#q { flex: 1 1 20rem; font-size: 1rem; padding: .3rem .5rem; }
svg { max-width: 100%; height: auto; } .bar-m { fill: #2e7d32; } .bar-r { fill: var(--bad); } .axis { stroke: #999; } .lbl { font-size: 11px; fill: #444; }
`;

function sha256Source(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function checkpointSection(ctx: ReportContext): string {
  const cp = ctx.checkpoint;
  if (!cp) {
    return `<section class="checkpoint"><h2>Signed checkpoint</h2><p class="warn">This ledger has no checkpoint yet: nothing in it is signed. One is written after the first run that records something.</p></section>`;
  }
  const rootHex = Buffer.from(cp.rootHash, 'base64').toString('hex');
  const unsigned = ctx.ledgerSize - cp.size;
  return `<section class="checkpoint" id="checkpoint"><h2>Latest signed checkpoint</h2><dl>
<dt>origin</dt><dd class="mono" id="cp-origin">${h(cp.origin)}</dd>
<dt>tree size</dt><dd class="mono" id="cp-size">${cp.size}</dd>
<dt>root hash</dt><dd class="mono" id="cp-root">${h(cp.rootHash)}</dd>
<dt>root hash (hex)</dt><dd class="mono">${h(rootHex)}</dd>
<dt>signed at</dt><dd class="mono">${h(cp.time)}</dd>
<dt>key fingerprint</dt><dd class="mono" id="cp-fingerprint">${h(cp.keyFingerprint)} (key ID ${h(cp.keyId)})</dd>
<dt>verifier key</dt><dd class="mono" id="cp-vkey">${h(cp.verifierKey)}</dd>
</dl>
${unsigned > 0 ? `<p class="warn">${unsigned} entr${unsigned === 1 ? 'y' : 'ies'} after this checkpoint ${unsigned === 1 ? 'is' : 'are'} not covered by a signature yet.</p>` : ''}
<p>The signed note, verbatim:</p><pre id="cp-note">${h(cp.note)}</pre>
<p>This page is a view, not the evidence: check the checkpoint yourself, and compare it with one you kept from an earlier run (it must be extended, never rewritten). The fingerprint must match the key published to you out of band.</p>
<h3>With airlock</h3><pre id="cmd-airlock">${h(withAirlock(cp.note, cp.verifierKey))}</pre>
<h3>Without airlock (OpenSSL 3 and Python 3)</h3><pre id="cmd-standard">${h(WITHOUT_AIRLOCK)}</pre>
<details><summary>verify_root.py</summary><pre id="verify-root-py">${h(VERIFY_ROOT_PY)}</pre></details>
</section>`;
}

function countsSection(m: ReportModel): string {
  const by = (s: ReportItem['status']) => m.items.filter((i) => i.status === s).length;
  return `<section class="counts" id="counts">
<div><b>${by('mirrored')}</b> mirrored</div><div><b class="warn">${by('refused')}</b> refused</div><div><b>${by('verified')}</b> verified, not copied</div>
<div><b>${by('unverified')}</b> copied unverified</div><div><b>${by('composed')}</b> composed</div><div><b>${m.releases.length}</b> releases</div><div><b>${m.runs.length}</b> runs</div></section>`;
}

function refusalsSection(m: ReportModel): string {
  const refused = m.items.filter((i) => i.refusal);
  if (refused.length === 0) return `<section><h2>Refusals</h2><p>Nothing was refused.</p></section>`;
  const shown = refused.slice(-10).reverse();
  const li = shown
    .map(
      (i) =>
        `<li><span class="plain">${h(i.refusal!.plain)}</span> <span class="v">${h(i.image ?? '—')}${i.tag ? `:${h(i.tag)}` : ''}</span>${i.release ? ` (release ${h(i.release)})` : ''}, ${h(i.time)}, entry ${i.seqs.join(', ')}<br><span class="meta">${h(i.refusal!.code)}: ${h(i.refusal!.message)}</span></li>`,
    )
    .join('\n');
  const more = refused.length > shown.length ? `<p>The latest ${shown.length} of ${refused.length}; "refusals only" in the table below lists them all.</p>` : '';
  return `<section class="refusals" id="refusals"><h2>Refusals (${refused.length})</h2>${more}<ul>${li}</ul></section>`;
}

/** Inline SVG: per run (oldest left), images mirrored (green) and refused (red); the last 60 runs at most. */
export function runChart(runs: ReportRun[]): string {
  if (runs.length === 0) return '<p>No runs recorded.</p>';
  const shown = runs.slice(-60);
  const max = Math.max(1, ...shown.map((r) => Math.max(r.mirrored, r.refused)));
  const W = 720, H = 160, left = 34, bottom = 22, top = 8;
  const slot = (W - left - 4) / shown.length;
  const bw = Math.max(1, Math.min(14, slot / 2 - 1));
  const y = (v: number) => top + (H - top - bottom) * (1 - v / max);
  const bars = shown
    .map((r, i) => {
      const x = left + i * slot + slot / 2 - bw;
      const label = `run ${r.run} at ${r.time}${r.command ? ` (${r.command})` : ''}: ${r.mirrored} mirrored, ${r.refused} refused`;
      return `<g><title>${h(label)}</title><rect class="bar-m" x="${x.toFixed(1)}" y="${y(r.mirrored).toFixed(1)}" width="${bw.toFixed(1)}" height="${(y(0) - y(r.mirrored)).toFixed(1)}"/><rect class="bar-r" x="${(x + bw).toFixed(1)}" y="${y(r.refused).toFixed(1)}" width="${bw.toFixed(1)}" height="${(y(0) - y(r.refused)).toFixed(1)}"/></g>`;
    })
    .join('');
  const first = shown[0]!.time.slice(0, 10), last = shown[shown.length - 1]!.time.slice(0, 10);
  return `<svg id="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="Images mirrored and refused per run">
<line class="axis" x1="${left}" y1="${y(0)}" x2="${W}" y2="${y(0)}"/><line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${y(0)}"/>
<text class="lbl" x="${left - 4}" y="${top + 10}" text-anchor="end">${max}</text><text class="lbl" x="${left - 4}" y="${y(0)}" text-anchor="end">0</text>
<text class="lbl" x="${left}" y="${H - 6}">${h(first)}</text><text class="lbl" x="${W}" y="${H - 6}" text-anchor="end">${h(last)}</text>
${bars}</svg>
<p class="meta">Green: images mirrored; red: refused${runs.length > shown.length ? `; the latest ${shown.length} of ${runs.length} runs` : ''}. Hover a run for its counts.</p>`;
}

const RELEASES_SHOWN = 100;

function releasesSection(m: ReportModel): string {
  if (m.releases.length === 0) return '';
  const latest = m.releases.slice(-RELEASES_SHOWN).reverse();
  const rows = latest
    .map((r) => `<tr><td class="v">${h(r.release)}</td><td class="v">${h(r.repository ?? '')}</td><td class="v">${h(r.identity ?? '')}</td><td class="v">${h(r.checksums ?? '')}</td><td class="v">${h(r.time)}</td><td class="seqs">${r.seq}</td></tr>`)
    .join('\n');
  const more = m.releases.length > latest.length ? `<p class="meta">The latest ${latest.length} of ${m.releases.length}; the table below filters by any release.</p>` : '';
  return `<section><h2>Releases (signed checksums verified)</h2>${more}<table id="releases"><thead><tr><th>release</th><th>repository</th><th>checksums signed by</th><th>checksums digest</th><th>discovered</th><th>entry</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

/** The whole page. */
export function renderReport(model: ReportModel, ctx: ReportContext): string {
  // Only base64 hashes and fixed words: nothing to escape in the double-quoted attribute.
  const csp = `default-src 'none'; script-src ${sha256Source(CLIENT_SCRIPT)}; style-src ${sha256Source(STYLE)}; img-src data:; base-uri 'none'; form-action 'none'`;
  const filters = [ctx.filter.release !== undefined ? `release ${ctx.filter.release}` : '', ctx.filter.since !== undefined ? `since ${ctx.filter.since}` : ''].filter(Boolean).join(', ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>airlock ledger report — ${h(ctx.checkpoint?.origin ?? ctx.ledgerPath)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>airlock ledger report</h1>
<p class="meta">Ledger <span class="mono">${h(ctx.ledgerPath)}</span>, ${ctx.ledgerSize} entries; report made ${h(ctx.generated)} by airlock ${h(ctx.toolVersion)}${filters ? `; <b>only ${h(filters)}</b> (${model.entries} entries)` : ''}.</p>
</header>
${checkpointSection(ctx)}
${countsSection(model)}
${refusalsSection(model)}
<section><h2>Images mirrored and refused per run</h2>${runChart(model.runs)}</section>
${releasesSection(model)}
<section><h2>Images and objects</h2>
<p class="meta">One row per image digest (its verification, copies and signature objects) and one per refusal. The entry numbers open the full record: <span class="mono">airlock ledger show N</span>.</p>
<div id="controls" hidden>
<input id="q" type="search" placeholder="Search image, tag, digest, signer, reason…" aria-label="Search">
<label>status <select id="f-status"><option value="">any</option><option value="mirrored">mirrored</option><option value="refused">refused</option><option value="verified">verified, not copied</option><option value="unverified">copied unverified</option><option value="composed">composed</option></select></label>
<label>release <select id="f-release"><option value="">any</option></select></label>
<label><input id="f-refused" type="checkbox"> refusals only</label>
<span id="count" class="meta"></span>
</div>
<p id="noscript-note" class="meta">The table is drawn by the page's own script; with scripts disabled, the refusals above and the JSON export hold the same facts.</p>
<table id="items"><thead><tr><th>status</th><th>release</th><th>image, tag, digest</th><th>signer, source, Rekor entry</th><th>copied to (when)</th><th>verified</th><th>entries</th></tr></thead>
<tbody id="items-body"></tbody></table>
<p><button id="more" type="button" hidden>Show more</button></p>
</section>
<script type="application/json" id="report-data">${jsonForScript({ items: model.items })}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}
