/**
 * `airlock ledger export --format html` through the built CLI: --release and --since select what the report shows
 * (and only the report: JSON/CSV stay lossless), a bad flag or an existing output file is refused with one sentence
 * and nothing written, a failed export leaves no half-written file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { ledgerSandbox, sampleEvents, type LedgerSandbox } from '../support/ledger-fixtures.js';

let sb: LedgerSandbox;
const cli = (...args: string[]) => runCli(['ledger', 'export', '--ledger', sb.ledgerPath, ...args], { env: sb.env });
const data = (html: string) => JSON.parse(/<script type="application\/json" id="report-data">([^]*?)<\/script>/.exec(html)![1]!) as { items: { release: string | null }[] };

beforeAll(async () => {
  sb = ledgerSandbox('airlock-report-cli-');
  const l = sb.open({ create: true });
  const run = l.startRun({ command: 'sync', toolVersion: 'test' });
  run.append(sampleEvents(40));
  await run.finish({ outcome: 'refusals', counts: {} });
  l.close();
});

afterAll(() => sb.cleanup());

describe('ledger export --format html', () => {
  it('writes the whole report, and its summary with --json', async () => {
    const out = join(sb.root, 'all.html');
    const r = await cli('--format', 'html', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ format: 'html', output: out, count: 40, refusals: 5, checkpoint: { size: 42 } });
    expect(summary.bytes).toBe(readFileSync(out).length);
    expect(new Set(data(readFileSync(out, 'utf8')).items.map((i) => i.release))).toEqual(new Set(['v2.0.0', 'v2.1.0', 'v2.2.0', 'v2.3.0', 'v2.4.0']));
  });

  it('shows only one release with --release, and only recent entries with --since', async () => {
    const one = await cli('--format', 'html', '--release', 'v2.1.0');
    expect(one.code, one.stderr).toBe(0);
    expect(new Set(data(one.stdout).items.map((i) => i.release))).toEqual(new Set(['v2.1.0']));
    expect(one.stdout).toContain('<b>only release v2.1.0</b>');
    const future = await cli('--format', 'html', '--since', '2999-01-01');
    expect(future.code, future.stderr).toBe(0);
    expect(data(future.stdout).items).toEqual([]);
    expect((await cli('--format', 'html', '--since', '1h')).code).toBe(0);
  });

  it('refuses --release/--since for the lossless exports, and a time it cannot read', async () => {
    const json = await cli('--format', 'json', '--release', 'v2.1.0');
    expect(json.code).toBe(2);
    expect(json.stderr).toContain('--release and --since select what the HTML report shows');
    expect(json.stdout).toBe('');
    const bad = await cli('--format', 'html', '--since', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since "yesterday" is neither an ISO 8601 date or time nor a duration');
  });

  it('never overwrites a file, and leaves none behind when the export fails', async () => {
    const existing = join(sb.root, 'keep.html');
    writeFileSync(existing, 'mine');
    const r = await cli('--format', 'html', '--out', existing);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('it is never overwritten');
    expect(readFileSync(existing, 'utf8')).toBe('mine');
    const missing = join(sb.root, 'missing.html');
    const gone = await runCli(['ledger', 'export', '--ledger', join(sb.root, 'nope.db'), '--format', 'html', '--out', missing], { env: sb.env });
    expect(gone.code).toBe(3);
    expect(existsSync(missing)).toBe(false);
  });
});
