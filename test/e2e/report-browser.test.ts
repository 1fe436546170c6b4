/**
 * The auditor's report (`ledger export --format html`) in a real browser: Debian's Chromium driven by
 * playwright-core, the page opened from file://.
 *  - the demo's ledger: the refusal listed with its reason in plain words, the search box narrowing the table, the
 *    checkpoint shown equal to `airlock ledger checkpoint`, the auditor's commands (with and without airlock)
 *    working as printed; a screenshot is kept in test-output/;
 *  - a ledger of hostile values (<img onerror>, </script>, javascript: URLs, U+2028) rendered as text, no script
 *    of theirs running;
 *  - the Content-Security-Policy: our script runs under it, an injected one does not — and does without it.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusedEvent, releaseDiscovered, verifiedEvent, copiedUpstreamEvent, type LedgerEventInput } from '../../src/ledger/events.js';
import { launchChromium, type LaunchedBrowser } from '../support/browser.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { digestOf, ledgerSandbox, type LedgerSandbox } from '../support/ledger-fixtures.js';

// Browser globals, used only inside page.evaluate callbacks (the tests' tsconfig has no DOM library).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare function getComputedStyle(e: unknown): { color: string };
/* eslint-enable @typescript-eslint/no-explicit-any */

const OUTPUT = join(REPO_ROOT, 'test-output');
const root = mkdtempSync(join(tmpdir(), 'airlock-report-'));
const dir = join(root, 'demo');
const env = { XDG_CONFIG_HOME: join(root, 'config'), XDG_STATE_HOME: join(root, 'state') };
const run = promisify(execFile);

interface Watched {
  page: Page;
  dialogs: string[];
  errors: string[];
  console: string[];
}

let chromium: LaunchedBrowser;

/** Opens a file:// page, recording dialogs, page errors, console messages and CSP violations. */
async function open(file: string): Promise<Watched> {
  const page = await chromium.browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const w: Watched = { page, dialogs: [], errors: [], console: [] };
  page.on('dialog', (d) => {
    w.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => w.errors.push(String(e)));
  page.on('console', (m) => w.console.push(`${m.type()}: ${m.text()}`));
  await page.addInitScript(() => {
    const v: string[] = [];
    (window as unknown as { __violations: string[] }).__violations = v;
    document.addEventListener('securitypolicyviolation', (e: { violatedDirective: string; blockedURI: string }) => v.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(`file://${file}`);
  await page.waitForLoadState('load');
  return w;
}

const pwned = (p: Page) => p.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned);
const violations = (p: Page) => p.evaluate(() => (window as unknown as { __violations: string[] }).__violations);
const rendered = (p: Page) => p.evaluate(() => document.documentElement.getAttribute('data-rendered'));
const rows = (p: Page) => p.locator('#items-body tr');

beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  chromium = await launchChromium();
}, 60_000);

afterAll(async () => {
  await chromium?.close();
});

describe('the report of the demo ledger', () => {
  let report: string;
  let checkpoint: { origin: string; size: number; rootHash: string; note: string; verifierKey: string };
  let w: Watched;

  beforeAll(async () => {
    const demo = await runCli(['demo', '--dir', dir], { env, cwd: root, timeoutMs: 120_000 });
    expect(demo.code, demo.stderr).toBe(0);
    report = join(root, 'report.html');
    const exp = await runCli(['ledger', 'export', '--format', 'html', '--out', report, '--json'], { env, cwd: dir });
    expect(exp.code, exp.stderr).toBe(0);
    expect(JSON.parse(exp.stdout)).toMatchObject({ format: 'html', refusals: 1 });
    const cp = await runCli(['ledger', 'checkpoint', '--json'], { env, cwd: dir });
    expect(cp.code, cp.stderr).toBe(0);
    checkpoint = JSON.parse(cp.stdout);
    w = await open(report);
  }, 150_000);

  it('is one self-contained file: nothing external, a hash-based CSP without unsafe-inline', () => {
    const html = readFileSync(report, 'utf8');
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
    expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]+=*'; style-src 'sha256-[A-Za-z0-9+/]+=*'; img-src data:/);
    expect(csp).not.toContain('unsafe');
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/i);
    expect(html.match(/<script/g)).toHaveLength(2); // the JSON data and our script
  });

  it('lists the refusal with its reason in plain words, standing out', async () => {
    const refused = w.page.locator('#items-body tr.st-refused');
    await expect.poll(() => refused.count()).toBe(1);
    const text = await refused.innerText();
    expect(text).toContain('kustomize-controller');
    expect(text).toContain('REFUSED');
    expect(text).toContain('not by the identity expected for it');
    expect(text).toContain('VERIFY_FAILED (identity check)');
    const color = await refused.locator('td.status').evaluate((e) => getComputedStyle(e).color);
    expect(color).toBe('rgb(176, 0, 32)');
    expect(await w.page.locator('#refusals').innerText()).toContain('kustomize-controller');
  });

  it('shows each mirrored image with its release, tag, digest, signer, source repository, Rekor entry and copy', async () => {
    const helm = w.page.locator('#items-body tr', { hasText: 'helm-controller' });
    const text = await helm.innerText();
    expect(text).toContain('mirrored');
    expect(text).toContain('v2.9.4'); // the release, stamped by sync on the image's events
    expect(text).toContain('v1.6.3');
    expect(text).toMatch(/sha256:[0-9a-f]{64}/);
    expect(text).toContain('https://token.actions.githubusercontent.com');
    expect(text).toContain('https://github.com/fluxcd/helm-controller');
    expect(text).toContain('refs/tags/v1.6.3');
    expect(text).toMatch(/Rekor log index: \d+/);
    expect(text).toContain(`${dir}/mirror/helm-controller:v1.6.3`);
    expect(await helm.locator('a').first().getAttribute('href')).toMatch(/^https:\/\//);
  });

  it('narrows the table as the auditor types in the search box, and by the filters', async () => {
    const all = await rows(w.page).count();
    expect(all).toBeGreaterThanOrEqual(7);
    await w.page.fill('#q', 'helm');
    await expect.poll(() => rows(w.page).count()).toBe(1);
    expect(await rows(w.page).innerText()).toContain('helm-controller');
    await w.page.fill('#q', 'wrong workflow');
    await expect.poll(() => rows(w.page).count()).toBe(1);
    expect(await rows(w.page).innerText()).toContain('kustomize-controller');
    await w.page.fill('#q', 'no such thing anywhere');
    await expect.poll(() => rows(w.page).count()).toBe(0);
    await w.page.fill('#q', '');
    await expect.poll(() => rows(w.page).count()).toBe(all);
    await w.page.check('#f-refused');
    await expect.poll(() => rows(w.page).count()).toBe(1);
    await w.page.uncheck('#f-refused');
    await w.page.selectOption('#f-status', 'mirrored');
    await expect.poll(() => rows(w.page).count()).toBe(5);
    await w.page.selectOption('#f-status', '');
  });

  it('shows the checkpoint that `airlock ledger checkpoint` prints, and the key fingerprint', async () => {
    expect(await w.page.locator('#cp-origin').innerText()).toBe(checkpoint.origin);
    expect(await w.page.locator('#cp-size').innerText()).toBe(String(checkpoint.size));
    expect(await w.page.locator('#cp-root').innerText()).toBe(checkpoint.rootHash);
    expect(await w.page.locator('#cp-vkey').innerText()).toBe(checkpoint.verifierKey);
    expect((await w.page.locator('#cp-note').textContent())?.trim()).toBe(checkpoint.note.trim());
    const pub = Buffer.from(checkpoint.verifierKey.split('+').slice(2).join('+'), 'base64').subarray(1);
    const { createHash } = await import('node:crypto');
    expect(await w.page.locator('#cp-fingerprint').innerText()).toContain(`sha256:${createHash('sha256').update(pub).digest('hex')}`);
  });

  it('draws the chart of images mirrored and refused per run', async () => {
    expect(await w.page.locator('#chart rect.bar-m').count()).toBe(1);
    expect(await w.page.locator('#chart title').first().textContent()).toMatch(/: 5 mirrored, 1 refused$/);
  });

  it("gives commands that verify the checkpoint as printed, with airlock and with OpenSSL + Python only — and that fail on a forged one", async () => {
    const work = mkdtempSync(join(root, 'auditor-'));
    const bin = join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'airlock'), `#!/bin/sh\nexec "${process.execPath}" "${join(REPO_ROOT, 'bin', 'run.js')}" "$@"\n`);
    chmodSync(join(bin, 'airlock'), 0o755);
    writeFileSync(join(work, 'verify_root.py'), (await w.page.locator('#verify-root-py').textContent())!);
    const script = `${await w.page.locator('#cmd-airlock').textContent()}\n${await w.page.locator('#cmd-standard').textContent()}\n`;
    const shell = { cwd: work, env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH}`, AIRLOCK_CONFIG: join(dir, 'airlock.yaml') } };
    const ok = await run('bash', ['-euo', 'pipefail', '-c', script], shell);
    expect(ok.stdout).toContain('Signature Verified Successfully');
    expect(ok.stdout).toMatch(/entries 0\.\.\d+ lead to the checkpoint's root/);
    // A forged root: the signature and the recomputed root both say no.
    const kept = readFileSync(join(work, 'kept.checkpoint'), 'utf8').split('\n');
    kept[2] = Buffer.alloc(32, 7).toString('base64');
    writeFileSync(join(work, 'kept.checkpoint'), kept.join('\n'));
    const standard = (await w.page.locator('#cmd-standard').textContent())!.split('\n').filter((l) => !l.startsWith('airlock ')).join('\n');
    await expect(run('bash', ['-euo', 'pipefail', '-c', standard.split('\n').slice(0, 5).join('\n')], shell)).rejects.toMatchObject({ stdout: expect.stringContaining('Signature Verification Failure') });
    await expect(run('python3', ['verify_root.py', 'ledger.json', 'kept.checkpoint'], shell)).rejects.toMatchObject({ stderr: expect.stringContaining("do not lead to the checkpoint's root hash") });
  });

  it('ran its own script under its CSP with no error, and a screenshot is kept', async () => {
    expect(Number(await rendered(w.page))).toBeGreaterThan(0);
    expect(w.errors).toEqual([]);
    expect(await violations(w.page)).toEqual([]);
    expect(w.console.filter((c) => c.startsWith('error'))).toEqual([]);
    const shot = join(OUTPUT, 'report-demo.png');
    await w.page.evaluate(() => window.scrollTo(0, 0)); // sticky table headers are drawn where the viewport is
    await w.page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
    console.log(`screenshot of the demo report: ${shot}`);
  });
});

describe('a ledger of hostile values', () => {
  const IMG = '<img src=x onerror="window.__pwned=1;alert(1)">';
  const END = '</script><script>window.__pwned=2;alert(2)</script>';
  const JS_URL = 'javascript:window.__pwned=3;alert(3)';
  const LINES = 'one\u2028two\u2029three';
  const ATTR = '" onmouseover="window.__pwned=4" data-x="';
  let sb: LedgerSandbox;
  let w: Watched;
  let html: string;

  beforeAll(async () => {
    sb = ledgerSandbox('airlock-report-hostile-');
    const ledger = sb.open({ create: true });
    const digest = digestOf('hostile');
    const events: LedgerEventInput[] = [
      releaseDiscovered({ release: `v9${IMG}`, repository: END, checksums: { name: LINES, digest: digestOf('sums') } }),
      verifiedEvent({
        image: `registry.evil/${IMG}`,
        digest,
        release: `v9${IMG}`,
        tag: END,
        trustRootDigest: digestOf('root'),
        verdict: {
          signatures: [
            {
              verdict: {
                signer: { kind: 'certificate', identity: JS_URL, issuer: ATTR, extensions: { sourceRepositoryUri: JS_URL, sourceRepositoryRef: LINES } },
                tlogEntries: [{ logIndex: 42, integratedTime: IMG }],
              },
            },
          ],
        },
      }),
      copiedUpstreamEvent({ image: `registry.evil/${IMG}`, digest, release: `v9${IMG}`, tag: END, source: JS_URL, target: `oci:/mirror/${END}`, written: [digest] }),
      refusedEvent({ image: `registry.evil/${END}`, digest: digestOf('refused'), release: `v9${IMG}`, tag: LINES, reason: 'VERIFY_FAILED', message: `${IMG} ${END} ${LINES} ${JS_URL}`, evidence: { check: ATTR } }),
    ];
    const r = ledger.startRun({ command: IMG, toolVersion: END });
    r.append(events);
    await r.finish({ outcome: 'refusals', counts: {} });
    ledger.close();
    const file = join(sb.root, 'hostile.html');
    const exp = await runCli(['ledger', 'export', '--ledger', sb.ledgerPath, '--format', 'html', '--out', file], { env: sb.env });
    expect(exp.code, exp.stderr).toBe(0);
    html = readFileSync(file, 'utf8');
    w = await open(file);
    await w.page.waitForSelector('html[data-rendered]');
  }, 60_000);

  afterAll(() => sb?.cleanup());

  it('embeds no hostile markup: the file holds them escaped, and the data block cannot be ended early', () => {
    expect(html).not.toContain('<img');
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    const data = /<script type="application\/json" id="report-data">([^]*?)<\/script>/.exec(html)![1]!;
    expect(data).not.toMatch(/[<>&\u2028\u2029]/); // escaped as \u003c …, so the JSON is also a valid JS literal
    expect(JSON.parse(data).items).toHaveLength(2);
    expect(html).not.toContain('onmouseover="');
  });

  it('renders every hostile value as text and runs none of it', async () => {
    const p = w.page;
    await p.locator('#items-body tr').first().hover();
    expect(await pwned(p)).toBeUndefined();
    expect(w.dialogs).toEqual([]);
    expect(w.errors).toEqual([]);
    expect(await violations(p)).toEqual([]); // nothing even tried: escaping alone held
    expect(await p.evaluate(() => document.querySelectorAll('img, iframe, object, embed, [onerror], [onmouseover]').length)).toBe(0);
    expect(await p.evaluate(() => document.scripts.length)).toBe(2);
    const text = await p.evaluate(() => document.body.textContent ?? '');
    for (const s of [IMG, END, JS_URL, LINES, ATTR]) expect(text).toContain(s);
    expect(await p.locator('#chart title').textContent()).toContain(IMG);
    expect(await p.locator('#items-body tr.st-refused').innerText()).toContain(`${IMG} ${END}`);
  });

  it('makes no link of a javascript: URL', async () => {
    const hrefs = await w.page.evaluate(() => [...document.querySelectorAll('a')].map((a: { getAttribute(n: string): string | null }) => a.getAttribute('href') ?? ''));
    for (const h of hrefs) expect(h).toMatch(/^https?:\/\//);
    expect(await w.page.locator('#items-body', { hasText: JS_URL }).count()).toBe(1);
  });

  it('still searches (its data parsed whole, </script> and U+2028 included)', async () => {
    expect(await rows(w.page).count()).toBe(2);
    await w.page.fill('#q', 'two\u2029three');
    await expect.poll(() => rows(w.page).count()).toBe(2);
    await w.page.fill('#q', '__pwned=2');
    await expect.poll(() => rows(w.page).count()).toBe(2);
    await w.page.fill('#q', 'onmouseover');
    await expect.poll(() => rows(w.page).count()).toBe(2);
    await w.page.selectOption('#f-status', 'refused');
    await expect.poll(() => rows(w.page).count()).toBe(1);
    await w.page.evaluate(() => window.scrollTo(0, 0));
    await w.page.screenshot({ path: join(OUTPUT, 'report-hostile.png'), fullPage: true });
  });
});

describe('the Content-Security-Policy', () => {
  const INJECTED = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><svg><script>window.__pwned=3</script></svg>';
  let html: string;

  beforeAll(async () => {
    const file = join(root, 'csp.html');
    const exp = await runCli(['ledger', 'export', '--format', 'html', '--out', file], { env, cwd: dir });
    expect(exp.code, exp.stderr).toBe(0);
    html = readFileSync(file, 'utf8');
  }, 150_000);

  async function load(name: string, text: string): Promise<Watched> {
    const file = join(root, name);
    writeFileSync(file, text);
    const w = await open(file);
    await w.page.waitForSelector('html[data-rendered]');
    return w;
  }

  it('runs the page own script and blocks markup that got past the escaping (as if an escape were missing)', async () => {
    const w = await load('injected.html', html.replace('<body>', `<body>${INJECTED}`));
    expect(Number(await rendered(w.page))).toBeGreaterThan(0); // ours ran: the search works
    await w.page.fill('#q', 'helm');
    await expect.poll(() => rows(w.page).count()).toBe(1);
    expect(await pwned(w.page)).toBeUndefined();
    expect((await violations(w.page)).length).toBeGreaterThanOrEqual(3);
    expect(w.console.some((c) => c.includes('Content Security Policy'))).toBe(true);
  });

  it('is what stops it: without the policy the same injection runs', async () => {
    const w = await load('no-csp.html', html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '').replace('<body>', `<body>${INJECTED}`));
    await expect.poll(() => pwned(w.page)).toBeDefined();
  });
});
