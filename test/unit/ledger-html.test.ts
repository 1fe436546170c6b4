/**
 * The HTML report's pieces without a browser: escaping per context, http(s)-only links, refusals in plain words,
 * the model (one item per image digest, one per refusal, per-run counts, --release/--since), and the CSP hashes
 * matching the inline script and style byte for byte. The browser test (test/e2e/report-browser.test.ts) shows
 * the page working in Chromium.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry, LedgerEventInput } from '../../src/ledger/events.js';
import { buildReportModel, escapeHtml, jsonForScript, plainReason, renderReport, runChart, safeHttpUrl, signerOf } from '../../src/ledger/html/index.js';
import { digestOf, sampleEvents } from '../support/ledger-fixtures.js';

const HOSTILE = ['<img src=x onerror=alert(1)>', '</script><script>alert(1)</script>', '<!--', '"\'&', 'a\u2028b\u2029c', 'javascript:alert(1)'];

/** Events as stored: sequence numbers, times a minute apart, runs of `perRun` events. */
function stored(events: LedgerEventInput[], perRun = events.length): LedgerEntry[] {
  return events.map((e, seq) => ({
    seq,
    time: new Date(Date.UTC(2026, 0, 1) + seq * 60_000).toISOString(),
    kind: e.kind,
    run: `run-${Math.floor(seq / perRun)}`,
    image: e.image ?? null,
    digest: e.digest ?? null,
    subject: e.subject ?? null,
    release: e.release ?? null,
    status: e.status ?? null,
    reason: e.reason ?? null,
    body: e.body,
  }));
}

describe('escaping', () => {
  it('turns every markup character into an entity, for text and double-quoted attributes', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('embeds JSON with no character that could end the script element, and parses back to the same values', () => {
    const out = jsonForScript({ values: HOSTILE });
    expect(out).not.toMatch(/[<>&\u2028\u2029]/);
    expect(out).toContain('\\u003c/script\\u003e');
    expect(JSON.parse(out)).toEqual({ values: HOSTILE });
    // also a valid JavaScript expression (U+2028 was a line terminator in string literals before ES2019)
    expect(new Function(`return ${out}`)()).toEqual({ values: HOSTILE });
  });

  it('makes links only of http(s) URLs', () => {
    expect(safeHttpUrl('https://github.com/fluxcd/flux2')).toBe('https://github.com/fluxcd/flux2');
    for (const bad of ['javascript:alert(1)', 'JavaScript:alert(1)', ' javascript:alert(1)', 'data:text/html,<b>', '//evil.example/x', 'vbscript:x', 'https://', null]) {
      expect(safeHttpUrl(bad)).toBeNull();
    }
  });
});

describe('refusals in plain words', () => {
  it('says what the failed check means, falling back to the code', () => {
    expect(plainReason('VERIFY_FAILED', 'identity')).toMatch(/not by the identity expected/);
    expect(plainReason('TAG_CONFLICT', 'trust-on-first-use')).toMatch(/changed upstream after airlock first recorded it/);
    expect(plainReason('NO_SIGNATURE', null)).toBe('No signature was found for it.');
    expect(plainReason('VERIFY_FAILED', 'something-new')).toBe('Its verification failed (something-new check).');
    expect(plainReason('LIMIT_EXCEEDED', null)).toBe('It was refused (LIMIT_EXCEEDED).');
  });
});

describe('the report model', () => {
  const verdict = {
    signatures: [
      {
        format: 'legacy-sig',
        verdict: {
          signer: { kind: 'certificate', identity: 'https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.9.4', issuer: 'https://token.actions.githubusercontent.com', extensions: { sourceRepositoryUri: 'https://github.com/fluxcd/flux2', sourceRepositoryRef: 'refs/tags/v2.9.4' } },
          tlogEntries: [{ logIndex: 1008, integratedTime: '2026-11-28T10:58:14.000Z' }],
        },
      },
    ],
  };

  it("reads the signer, its source repository and ref, and its Rekor entry from a verified event's verdict", () => {
    expect(signerOf(verdict)).toEqual({
      identity: 'https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.9.4',
      issuer: 'https://token.actions.githubusercontent.com',
      sourceRepositoryUri: 'https://github.com/fluxcd/flux2',
      sourceRepositoryRef: 'refs/tags/v2.9.4',
      logIndex: 1008,
      logTime: '2026-11-28T10:58:14.000Z',
    });
    expect(signerOf({ attestations: [{ verdict: verdict.signatures[0]!.verdict }] })?.logIndex).toBe(1008);
    expect(signerOf({ signatures: [] })).toBeNull();
  });

  it('makes one item per image digest (verification, copies, signatures) and one per refusal, and counts per run', () => {
    const entries = stored(sampleEvents(32), 16);
    const m = buildReportModel(entries);
    expect(m.entries).toBe(32);
    expect(m.releases.map((r) => r.release)).toEqual(['v2.0.0', 'v2.1.0', 'v2.2.0', 'v2.3.0']);
    const refused = m.items.filter((i) => i.status === 'refused');
    expect(refused).toHaveLength(4);
    expect(refused[0]).toMatchObject({ release: 'v2.0.0', refusal: { code: 'IDENTITY_MISMATCH', message: 'Signed by another workflow.' } });
    // sampleEvents: every event of the eight kinds is about its own digest, so only the copied one is mirrored
    const mirrored = m.items.filter((i) => i.status === 'mirrored');
    expect(mirrored).toHaveLength(4);
    expect(mirrored[0]!.copies[0]!.target).toBe('registry.internal/fluxcd/notification-controller:v2.0.0') // event 3;
    expect(m.items.filter((i) => i.status === 'unverified')).toHaveLength(4);
    expect(m.runs).toEqual([
      expect.objectContaining({ run: 'run-0', mirrored: 4, refused: 2 }),
      expect.objectContaining({ run: 'run-1', mirrored: 4, refused: 2 }),
    ]);
  });

  it('joins the copy and signature objects of a digest to its verification', () => {
    const image = 'ghcr.io/fluxcd/source-controller';
    const digest = digestOf('img');
    const sig = digestOf('sig');
    const m = buildReportModel(
      stored([
        { kind: 'verified', status: 'verified', image, digest, body: { tag: 'v1.9.4', verdict } },
        { kind: 'copied-upstream', status: 'verified', image, digest, release: 'v2.9.4', body: { tag: 'v1.9.4', source: 's', target: 'oci:/m/source-controller:v1.9.4', written: [digest] } },
        { kind: 'copied-signature', status: 'verified', image, digest: sig, subject: digest, body: { target: 't', written: [sig] } },
      ]),
    );
    expect(m.items).toHaveLength(1);
    expect(m.items[0]).toMatchObject({ status: 'mirrored', release: 'v2.9.4', tag: 'v1.9.4', digest, signatures: 1, seqs: [0, 1, 2], signer: { logIndex: 1008 } });
    expect(m.items[0]!.copies).toEqual([{ target: 'oci:/m/source-controller:v1.9.4', time: '2026-01-01T00:01:00.000Z', seq: 1, kind: 'copied-upstream' }]);
  });

  it('keeps only the release asked for, and only entries since a time', () => {
    const entries = stored(sampleEvents(32), 8);
    const one = buildReportModel(entries, { release: 'v2.1.0' });
    expect(new Set(one.items.map((i) => i.release))).toEqual(new Set(['v2.1.0']));
    expect(one.releases.map((r) => r.release)).toEqual(['v2.1.0']);
    expect(one.runs).toEqual([expect.objectContaining({ run: 'run-1', mirrored: 2, refused: 1 })]); // copied + copied unverified
    expect(buildReportModel(entries).runs).toHaveLength(4);
    const recent = buildReportModel(entries, { since: entries[24]!.time });
    expect(recent.entries).toBe(8);
    expect(recent.releases.map((r) => r.release)).toEqual(['v2.3.0']);
  });
});

describe('the page', () => {
  const entries = stored(sampleEvents(16));
  const ctx = { ledgerPath: '/l/airlock.db', ledgerSize: 16, generated: '2026-01-02T00:00:00.000Z', checkpoint: null, filter: {}, toolVersion: '0.1.0' };

  it("allows exactly its own inline script and style by their SHA-256, and nothing else", () => {
    const html = renderReport(buildReportModel(entries), ctx);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
    const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
    const script = /<script>([^]*?)<\/script>/.exec(html)![1]!;
    const style = /<style>([^]*?)<\/style>/.exec(html)![1]!;
    expect(csp).toBe(`default-src 'none'; script-src ${hash(script)}; style-src ${hash(style)}; img-src data:; base-uri 'none'; form-action 'none'`);
    expect(html).not.toMatch(/ style="| on[a-z]+="/); // no inline style or handler attribute the policy would block
  });

  it('says plainly when the ledger has no checkpoint yet', () => {
    expect(renderReport(buildReportModel([]), ctx)).toContain('This ledger has no checkpoint yet: nothing in it is signed.');
  });

  it('draws the chart with each run as escaped text', () => {
    const svg = runChart([{ run: '<r>', time: '2026-01-01T00:00:00.000Z', command: '</title><script>alert(1)</script>', outcome: 'ok', mirrored: 3, refused: 1 }]);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;/title&gt;&lt;script&gt;');
    expect(svg.match(/<rect /g)).toHaveLength(2);
  });
});
