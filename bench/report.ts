/**
 * The auditor's report at scale: a ledger of N events (default 10,000) shaped like syncs of Flux releases, exported
 * with `airlock ledger export --format html`, then opened from file:// in Debian's Chromium (playwright-core).
 *
 *   npm run build && bin/with-node node bench/report.ts [--events 10000] [--runs 7] [--out FILE] [--keep]
 *
 * Measures: the export's wall time through the CLI (Node start included) and in-process, the file size, and in the
 * browser the time from navigation start to the table's first render (the page's own `report-rendered` mark, set
 * after the first page of rows is in the DOM) and to the load event, the median of --runs fresh pages; then the
 * time one search keystroke takes to redraw the table. Writes bench/results/report.json.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type * as LedgerApi from '../src/ledger/ledger.js';
import type * as EventsApi from '../src/ledger/events.js';
import type * as HtmlApi from '../src/ledger/html/index.js';
import { chromium } from 'playwright-core';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    events: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '7' },
    keep: { type: 'boolean', default: false },
    out: { type: 'string', default: join(REPO, 'bench', 'results', 'report.json') },
  },
});
const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(join(REPO, rel)).href)) as T;
const { Ledger } = await load<typeof LedgerApi>('dist/src/ledger/ledger.js');
const ev = await load<typeof EventsApi>('dist/src/ledger/events.js');
const html = await load<typeof HtmlApi>('dist/src/ledger/html/index.js');

const EVENTS = Number(opt.events);
const RUNS = Number(opt.runs);
const log = (s: string) => process.stdout.write(`${s}\n`);
const digest = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const CONTROLLERS = ['source', 'kustomize', 'helm', 'notification', 'image-reflector', 'image-automation', 'source-watcher', 'flux-cli'];

const loadAverageStart = loadavg()[0];
const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-report-'));
const path = join(dir, 'data', 'airlock.db');
mkdirSync(join(dir, 'data'));
const keyFor = (origin: string) => join(dir, 'config', 'airlock', 'keys', `${origin}.ed25519`);
process.env.XDG_CONFIG_HOME = join(dir, 'config');

/** The events of image number n: verified (a verdict shaped like the real one, with ~3 KB of bundle), copied, its signature; one in ten refused instead. */
function imageEvents(n: number): EventsApi.LedgerEventInput[] {
  const release = `v2.${Math.floor(n / 80)}.${Math.floor(n / 8) % 10}`;
  const name = CONTROLLERS[n % CONTROLLERS.length]!;
  const image = `ghcr.io/fluxcd/${name}`;
  const d = digest(`image-${n}`);
  const tag = `v1.${Math.floor(n / 8)}.0`;
  const out: EventsApi.LedgerEventInput[] = [];
  if (n % 8 === 0) out.push(ev.releaseDiscovered({ release, repository: 'fluxcd/flux2', checksums: { name: `flux_${release.slice(1)}_checksums.txt`, digest: digest(`sums-${n}`) } }));
  if (n % 10 === 9) {
    const expected = `https://github.com/fluxcd/${name}/.github/workflows/release.yml@refs/tags/${tag}`;
    out.push(
      ev.refusedEvent({
        image,
        digest: d,
        release,
        tag,
        reason: 'VERIFY_FAILED',
        message: `None of the 1 signature of ${image}@${d} verified; the first: verification failed at the identity check: the signer identity does not match — expected "${expected}", the certificate says "https://github.com/fork/x/.github/workflows/release.yml@refs/heads/main".`,
        evidence: { check: 'identity', failures: [{ check: 'identity', code: 'VERIFY_FAILED', format: 'legacy-sig', index: 0 }] },
      }),
    );
    return out;
  }
  const identity = `https://github.com/fluxcd/${name}/.github/workflows/release.yml@refs/tags/${tag}`;
  out.push(
    ev.verifiedEvent({
      image,
      digest: d,
      release,
      tag,
      trustRootDigest: digest('trusted_root.json'),
      verdict: {
        signatures: [
          {
            format: 'legacy-sig',
            verdict: {
              signer: {
                kind: 'certificate',
                identity,
                issuer: 'https://token.actions.githubusercontent.com',
                extensions: { sourceRepositoryUri: `https://github.com/fluxcd/${name}`, sourceRepositoryRef: `refs/tags/${tag}`, githubWorkflowRepository: `fluxcd/${name}` },
              },
              tlogEntries: [{ logIndex: 100_000_000 + n, integratedTime: new Date(Date.UTC(2026, 0, 1) + n * 60_000).toISOString(), kind: 'hashedrekord' }],
              bundle: { certificate: createHash('sha512').update(`cert-${n}`).digest('base64').repeat(30) },
            },
          },
        ],
      },
    }),
    ev.copiedUpstreamEvent({ image, digest: d, release, tag, source: `${image}:${tag}`, target: `registry.internal/fluxcd/${name}:${tag}`, written: Array.from({ length: 10 }, (_, k) => digest(`blob-${n}-${k}`)) }),
    ev.copiedSignatureEvent({ image, digest: digest(`sig-${n}`), signs: d, artifact: 'signatures', release, tag, source: `${image}:sha256-x.sig`, target: `registry.internal/fluxcd/${name}:${tag}`, written: [digest(`sig-${n}`)] }),
  );
  return out;
}

// 1. The ledger: runs of ~100 events (each a real run: run-started … run-finished, then a checkpoint).
log(`report bench: ${EVENTS} events, Node ${process.version}, load average ${loadavg()[0]!.toFixed(2)}, ${path}`);
const ledger = Ledger.open(path, { create: true, key: keyFor });
let n = 0;
while (ledger.size() < EVENTS) {
  const run = ledger.startRun({ command: 'sync', toolVersion: 'bench' });
  const batch: EventsApi.LedgerEventInput[] = [];
  while (batch.length < 95 && ledger.size() + batch.length + 2 < EVENTS) batch.push(...imageEvents(n++));
  if (batch.length === 0) batch.push(...imageEvents(n++));
  run.append(batch);
  await run.finish({ outcome: 'ok', counts: {} });
}
const size = ledger.size();
ledger.close();
log(`ledger: ${size} events (${n} images), ${(statSync(path).size / 2 ** 20).toFixed(1)} MiB`);

// 2. The export: through the CLI (what a user runs), and the report alone in this process.
const file = join(dir, 'report.html');
let t0 = performance.now();
const cli = spawnSync(process.execPath, [join(REPO, 'bin', 'run.js'), 'ledger', 'export', '--ledger', path, '--format', 'html', '--out', file, '--json'], {
  env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'config') },
  encoding: 'utf8',
});
const cliMs = performance.now() - t0;
if (cli.status !== 0) throw new Error(`export failed: ${cli.stderr}`);
const summary = JSON.parse(cli.stdout) as { items: number; refusals: number; bytes: number };
const reopened = Ledger.open(path, { readOnly: true });
t0 = performance.now();
const inProcess = html.ledgerReport(reopened, { key: reopened.storedKey, filter: {}, toolVersion: 'bench' });
const buildMs = performance.now() - t0;
reopened.close();
const bytes = statSync(file).size;
log(`export: ${(bytes / 2 ** 10).toFixed(0)} KiB (${summary.items} rows, ${summary.refusals} refusals); CLI ${cliMs.toFixed(0)} ms wall, report built in-process in ${buildMs.toFixed(0)} ms (${inProcess.model.items.length} items)`);

// 3. Chromium: navigation start → first table render, and → load; then a search keystroke.
// As test/support/browser.ts: Debian's Chromium, headless, no background networking, a fresh profile.
const browser = await chromium.launch({
  executablePath: process.env.AIRLOCK_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const samples: { rendered: number; domContentLoaded: number; load: number; rows: number }[] = [];
let searchMs = NaN;
let searchRows = NaN;
try {
  for (let r = 0; r < RUNS; r++) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.waitForSelector('html[data-rendered]');
    samples.push(
      await page.evaluate(`(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        return { rendered: performance.getEntriesByName('report-rendered')[0].startTime, domContentLoaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
                 rows: document.querySelectorAll('#items-body tr').length };
      })()`),
    );
    if (r === RUNS - 1) {
      // Five keystrokes (each a new query over every row), the median: each redraws and lays out the table.
      const s = (await page.evaluate(`(() => {
        const q = document.getElementById('q'); const times = [];
        for (const query of ['identity expected', 'helm', 'v2.1', 'refs/tags', 'source']) {
          const t = performance.now(); q.value = query; q.dispatchEvent(new Event('input'));
          document.body.offsetHeight; // laid out, not only built
          times.push(performance.now() - t);
        }
        q.value = 'identity expected'; q.dispatchEvent(new Event('input'));
        return { ms: times.sort((a, b) => a - b)[2], rows: document.querySelectorAll('#items-body tr').length };
      })()`)) as { ms: number; rows: number };
      searchMs = s.ms;
      searchRows = s.rows;
    }
    await page.close();
  }
} finally {
  await browser.close();
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rendered = median(samples.map((s) => s.rendered));
const renderedMin = Math.min(...samples.map((s) => s.rendered));
const loaded = median(samples.map((s) => s.load));
log(
  `chromium (median of ${RUNS}, fastest): first table render ${rendered.toFixed(0)} ms, ${renderedMin.toFixed(0)} ms after navigation start (${samples[0]!.rows} rows drawn), load event ${loaded.toFixed(0)} ms; a search keystroke redraws and lays out the table in ${searchMs.toFixed(1)} ms (median of 5; ${searchRows} rows for 'identity expected'); load average ${loadavg()[0]!.toFixed(2)}`,
);

const out = {
  date: new Date().toISOString(),
  node: process.version,
  loadAverageStart,
  events: size,
  images: n,
  file: { bytes, rows: summary.items, refusals: summary.refusals },
  export: { cliMs: Math.round(cliMs), inProcessMs: Math.round(buildMs) },
  loadAverageEnd: loadavg()[0],
  chromium: { runs: RUNS, firstRenderMs: Math.round(rendered), firstRenderFastestMs: Math.round(renderedMin), loadMs: Math.round(loaded), rowsDrawn: samples[0]!.rows, searchKeystrokeMs: Number(searchMs.toFixed(1)), samples },
};
mkdirSync(dirname(opt.out), { recursive: true });
writeFileSync(opt.out, `${JSON.stringify(out, null, 2)}\n`);
log(`figures written to ${opt.out}`);
if (opt.keep) log(`kept: ${file} and its ledger ${path}`);
else rmSync(dir, { recursive: true, force: true });
