/**
 * Secrets never leave the places they are given in. A sync runs against real docker-registry instances that
 * require a password (htpasswd; source and target each their own), a FAKE GitHub that requires a token and
 * redirects every asset download to a presigned-looking URL on another loopback origin whose query carries a
 * signature, with recognisable values. Then every output — stdout and stderr of text, --json and AIRLOCK_DEBUG=1
 * runs, failing runs (a wrong password, a wrong token) with their errors and, in process, the whole cause chain,
 * the ledger and everything beside it (db, -wal, -shm, the GitHub cache), `ledger export` (json, csv, html) and
 * `ledger list`, a sync's `--metrics-file` and `--log-format json` lines, `archive save`'s tar (every byte, and
 * unpacked) and its `archive load` into the credentialed target with the receiver's ledger, `audit registry`,
 * `policy kyverno` and `flux install-args --kustomize`, each also failing on a wrong target password, the target
 * registry's storage and an oci: target — is searched for each secret in plain, base64 (user:pass as a Basic
 * header carries it, and the token alone) and URL-encoded forms. The auth file the passwords are given in is the
 * only file allowed to hold them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSyncConfig, type SyncConfig } from '../../src/config/config.js';
import { AirlockError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { sync } from '../../src/pipeline/sync.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { GitHubReleases } from '../../src/upstream/github.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { runCli, type CliResult } from '../support/cli.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { controllers, publishRelease } from '../support/flux-upstream.js';
import { ledgerSandbox } from '../support/ledger-fixtures.js';
import { startBlobOrigin, startFaultProxy, type BlobOrigin, type FaultProxy } from '../support/proxies.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

const TOKEN = 'tok-SECRET-abc123';
const SRC_USER = 'mirror-reader';
const SRC_PASS = 'pw-SECRET-xyz789/+=&';
const DST_USER = 'mirror-writer';
const DST_PASS = 'pw2-SECRET-uvw321?#%';
const WRONG_PASS = 'pw-WRONG-SECRET-000';
const WRONG_TOKEN = 'tok-WRONG-SECRET-999';
const PRESIGNED = 'sig-SECRET-qrs456';
const PRESIGNED_BLOB = 'blobsig-SECRET-lmn852';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');

/** Every form a secret could leak in: plain, base64 / base64url (alone and as user:pass), URL-encoded. */
const NEEDLES: { name: string; value: string }[] = (() => {
  const out: { name: string; value: string }[] = [];
  const add = (name: string, s: string) => {
    for (const [form, v] of [
      ['plain', s],
      ['base64', b64(s)],
      ['base64url', b64url(s)],
      ['urlencoded', encodeURIComponent(s)],
    ] as const) {
      // base64 of a string ends in padding that depends on its length; search without it.
      out.push({ name: `${name} (${form})`, value: v.replace(/=+$/, '') });
    }
  };
  add('token', TOKEN);
  add('wrong token', WRONG_TOKEN);
  add('source password', SRC_PASS);
  add('target password', DST_PASS);
  add('wrong password', WRONG_PASS);
  add('presigned signature', PRESIGNED);
  add('presigned blob signature', PRESIGNED_BLOB);
  add('source user:pass', `${SRC_USER}:${SRC_PASS}`);
  add('target user:pass', `${DST_USER}:${DST_PASS}`);
  add('wrong user:pass', `${SRC_USER}:${WRONG_PASS}`);
  return out;
})();

function leaks(haystack: string | Buffer): string[] {
  const buf = typeof haystack === 'string' ? Buffer.from(haystack) : haystack;
  return NEEDLES.filter((n) => buf.includes(n.value)).map((n) => n.name);
}

/** Every regular file below `root`, but the given inputs. */
function filesUnder(root: string, except: Set<string>): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && !except.has(p)) out.push(p);
    }
  };
  walk(root);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'airlock-secrets-'));
const env = { XDG_CONFIG_HOME: join(dir, 'config'), XDG_STATE_HOME: join(dir, 'state'), AIRLOCK_TEST_TOKEN: TOKEN };
const etc = join(dir, 'etc');
const authfile = join(etc, 'auth.json');
const wrongAuthfile = join(etc, 'auth-wrong.json');
/** The target's password wrong (the source's right). */
const wrongTargetAuthfile = join(etc, 'auth-wrong-target.json');
const wrongTargetConfig = join(etc, 'airlock-wrong-target.yaml');
/** The air-gapped side's config: its own ledger, the target's credentials. */
const receiverConfig = join(dir, 'receiver', 'airlock.yaml');
/** What the later outputs' test searched, for the summary line. */
const searched: string[] = [];
const config = join(etc, 'airlock.yaml');
let kit: LocalSigstore;
let github: FakeGitHub;
let src: RunningRegistry;
let dst: RunningRegistry;
/** The source registry behind a proxy that redirects blob downloads to presigned URLs on a storage origin. */
let proxy: FaultProxy;
let origin: BlobOrigin;
/** Every CLI run's output, with what it was. */
const outputs: { what: string; r: CliResult }[] = [];
let downloadsRedirected = 0;

async function cli(what: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const r = await runCli(args, { env: { ...env, ...extraEnv }, timeoutMs: 180_000 });
  outputs.push({ what, r });
  return r;
}

function authJson(entries: Record<string, [string, string]>): string {
  return JSON.stringify({ auths: Object.fromEntries(Object.entries(entries).map(([host, [u, p]]) => [host, { auth: b64(`${u}:${p}`) }])) });
}

beforeAll(async () => {
  kit = await startLocalSigstore({ stateDir: join(dir, 'kit') });
  [src, dst] = await Promise.all([startRegistry({ htpasswd: { [SRC_USER]: SRC_PASS } }), startRegistry({ htpasswd: { [DST_USER]: DST_PASS } })]);
  proxy = await startFaultProxy(src.url);
  origin = await startBlobOrigin((d) => src.blobPath(d));
  proxy.inject({
    method: 'GET',
    path: /\/blobs\/sha256:/,
    fault: { kind: 'redirect', location: (path) => `${origin.url}/blobs/${/sha256:[0-9a-f]{64}/.exec(path)?.[0] ?? 'x'}?X-Amz-Credential=AKIA%2F${PRESIGNED_BLOB}&X-Amz-Signature=${PRESIGNED_BLOB}` },
  });
  mkdirSync(etc);
  writeFileSync(authfile, authJson({ [src.host]: [SRC_USER, SRC_PASS], [proxy.host]: [SRC_USER, SRC_PASS], [dst.host]: [DST_USER, DST_PASS] }), { mode: 0o600 });
  writeFileSync(wrongAuthfile, authJson({ [src.host]: [SRC_USER, WRONG_PASS], [dst.host]: [DST_USER, DST_PASS] }), { mode: 0o600 });
  writeFileSync(wrongTargetAuthfile, authJson({ [src.host]: [SRC_USER, SRC_PASS], [dst.host]: [DST_USER, WRONG_PASS] }), { mode: 0o600 });
  github = await startFakeGitHub('fluxcd/flux2');
  github.acceptToken = TOKEN;
  // Downloads go to a presigned URL on the other origin, its signature in the query (as S3 / GitHub's storage).
  github.redirectFor = (tag, name) => {
    downloadsRedirected++;
    return `${github.downloadOrigin}/storage/${encodeURIComponent(tag)}/${encodeURIComponent(name)}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F${PRESIGNED}&X-Amz-Signature=${PRESIGNED}`;
  };
  const publisher = new RegistryStore(src.host, { authFile: authfile });
  await publishRelease(kit, github, publisher, 'fluxcd', {
    tag: 'v2.9.4',
    images: [...controllers({ 'source-controller': 'v1.9.4' }), { name: 'flux-cli', tag: 'v2.9.4', kind: 'extra' }, { name: 'flux-manifests', tag: 'v2.9.4', kind: 'extra' }],
  });
  await publisher.close();
  writeFileSync(
    config,
    [
      'upstream:',
      `  github_api: ${github.apiBase}`,
      '  token_env: AIRLOCK_TEST_TOKEN',
      '  releases: { newest: 1 }',
      'images:',
      `  source: ${src.host}/fluxcd`,
      'trust:',
      `  trusted_root: ${kit.trustedRootPath}`,
      '  tuf_refresh: false',
      `  rekor_url: ${kit.rekorUrl}`,
      `target: ${dst.host}/mirror/fluxcd`,
      'assets:',
      '  cli_archives: [linux_amd64]',
      '  directory: ./assets',
      'registries:',
      '  authfile: ./auth.json',
      'ledger:',
      '  path: ledger/airlock.db',
      '',
    ].join('\n'),
  );
  writeFileSync(wrongTargetConfig, readFileSync(config, 'utf8').replace('authfile: ./auth.json', 'authfile: ./auth-wrong-target.json'));
  mkdirSync(join(dir, 'receiver'));
  writeFileSync(
    receiverConfig,
    [
      'trust:',
      `  trusted_root: ${kit.trustedRootPath}`,
      '  tuf_refresh: false',
      `target: ${dst.host}/loaded/fluxcd`,
      'registries:',
      `  authfile: ${authfile}`,
      'ledger:',
      '  path: ledger/airlock.db',
      '',
    ].join('\n'),
  );
}, 180_000);

afterAll(async () => {
  await Promise.all([src?.stop(), dst?.stop(), github?.stop(), proxy?.stop(), origin?.stop()]);
  await kit?.close();
});

describe('secrets stay secret', () => {
  it('a sync with a token, two registry passwords and presigned downloads (text, --json, AIRLOCK_DEBUG=1) works and leaks none of them anywhere', async () => {
    const json = await cli('sync --json (debug)', ['sync', '--config', config, '--json'], { AIRLOCK_DEBUG: '1' });
    expect(json.code, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout) as { releases: { images: { status: string }[]; assets: unknown[] }[] };
    expect(result.releases[0]!.images.map((i) => i.status)).toEqual(['copied', 'copied', 'copied']);
    expect(result.releases[0]!.assets.length).toBeGreaterThan(0);
    // The token reached the API (the fake refuses without it), downloads went through the presigned redirect.
    expect(github.requests.filter((q) => q.origin === 'api' && q.status === 200).length).toBeGreaterThan(0);
    expect(github.requests.filter((q) => q.origin === 'download' && q.status === 200).length).toBeGreaterThan(0);
    expect(downloadsRedirected).toBeGreaterThan(0);
    // Debug output was on: it says something about the requests it made, redacted.
    expect(json.stderr).toMatch(/"level":"debug"/);

    const text = await cli('sync (text, debug)', ['sync', '--config', config, '--log-format', 'text'], { AIRLOCK_DEBUG: '1' });
    expect(text.code, text.stderr).toBe(0);
    // A fresh mirror into an oci: layout too, so its files can be searched.
    const oci = await cli('sync --target oci: --json', ['sync', '--config', config, '--target', `oci:${join(dir, 'oci-mirror')}`, '--json']);
    expect(oci.code, oci.stderr).toBe(0);

    // The source behind a registry that sends blob downloads to presigned storage URLs (as S3-backed registries do).
    const presigned = await cli('sync via presigned blob redirects --json (debug)', ['sync', '--config', config, '--source', `${proxy.host}/fluxcd`, '--target', `oci:${join(dir, 'oci-presigned')}`, '--json'], {
      AIRLOCK_DEBUG: '1',
    });
    expect(presigned.code, presigned.stderr).toBe(0);
    expect(proxy.requests.filter((q) => q.fault === 'redirect').length).toBeGreaterThan(0);
    expect(origin.requests.filter((q) => q.method === 'GET').length).toBeGreaterThan(0);

    const exportFile = join(dir, 'export.json');
    const exp = await cli('ledger export --format json', ['ledger', 'export', '--config', config, '--format', 'json', '--output', exportFile, '--json']);
    expect(exp.code, exp.stderr).toBe(0);
    const csv = await cli('ledger export --format csv', ['ledger', 'export', '--config', config, '--format', 'csv']);
    expect(csv.code, csv.stderr).toBe(0);
    const list = await cli('ledger list --json', ['ledger', 'list', '--config', config, '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).entries.length).toBeGreaterThan(5);
    const verify = await cli('ledger verify', ['ledger', 'verify', '--config', config]);
    expect(verify.code, verify.stderr).toBe(0);
  }, 300_000);

  it('the later outputs — metrics file and JSON log lines, the HTML report, an archive (every byte, and unpacked) and its load into a credentialed registry, audit, Kyverno policies, Flux install args — run with the same credentials and leak none of them', async () => {
    // A sync into a fresh prefix of the credentialed target, with metrics and JSON log lines (and debug lines).
    const metricsFile = join(dir, 'metrics', 'airlock.prom');
    mkdirSync(join(dir, 'metrics'));
    const metricsSync = await cli('sync --metrics-file --log-format json (debug)', ['sync', '--config', config, '--target', `${dst.host}/mirror-metrics/fluxcd`, '--metrics-file', metricsFile, '--log-format', 'json'], {
      AIRLOCK_DEBUG: '1',
    });
    expect(metricsSync.code, metricsSync.stderr).toBe(0);
    const metrics = readFileSync(metricsFile, 'utf8');
    expect(metrics).toMatch(/^airlock_sync_/m);
    const logLines = metricsSync.stderr.split('\n').filter((l) => l.trim() !== '');
    const parsed = logLines.map((l) => JSON.parse(l) as { event?: string; level: string; msg: string });
    expect(parsed.some((l) => l.event === 'image-done')).toBe(true);
    expect(parsed.some((l) => l.level === 'debug')).toBe(true);
    expect(leaks(metrics)).toEqual([]);
    for (const l of logLines) expect(leaks(l), l).toEqual([]);
    searched.push(`metrics file (${metrics.length} bytes)`, `${logLines.length} JSON log lines`);

    // The auditor's HTML report.
    const html = join(dir, 'report.html');
    const report = await cli('ledger export --format html', ['ledger', 'export', '--config', config, '--format', 'html', '--out', html, '--json']);
    expect(report.code, report.stderr).toBe(0);
    const htmlText = readFileSync(html, 'utf8');
    expect(htmlText).toMatch(/<html/i);
    expect(leaks(htmlText)).toEqual([]);
    searched.push(`HTML report (${htmlText.length} bytes)`);

    // An archive of the credentialed mirror: every byte of the tar, then what it unpacks to.
    const tar = join(dir, 'flux.airlock.tar');
    const save = await cli('archive save --json', ['archive', 'save', '--config', config, '--release', 'latest', '--out', tar, '--json']);
    expect(save.code, save.stderr).toBe(0);
    const saved = JSON.parse(save.stdout) as { images: unknown[]; trustRoot: { sha256: string } };
    expect(saved.images.length).toBe(3);
    const tarBytes = readFileSync(tar);
    expect(leaks(tarBytes)).toEqual([]);
    const unpacked = join(dir, 'unpacked');
    mkdirSync(unpacked);
    execFileSync('tar', ['-xf', tar, '-C', unpacked]);
    const unpackedFiles = filesUnder(unpacked, new Set());
    expect(unpackedFiles.some((f) => f.endsWith('ledger-excerpt.json'))).toBe(true);
    for (const f of unpackedFiles) expect(leaks(readFileSync(f)), f).toEqual([]);
    searched.push(`archive tar (${tarBytes.byteLength} bytes)`, `${unpackedFiles.length} unpacked archive files`);

    // Its load into another prefix of the credentialed registry, by a receiver with its own ledger.
    const vkey = join(dir, 'sender.vkey');
    const cp = await cli('ledger checkpoint --json', ['ledger', 'checkpoint', '--config', config, '--json']);
    expect(cp.code, cp.stderr).toBe(0);
    writeFileSync(vkey, `${(JSON.parse(cp.stdout) as { verifierKey: string }).verifierKey}\n`);
    const load = await cli('archive load --json', ['archive', 'load', tar, '--config', receiverConfig, '--target', `${dst.host}/loaded/fluxcd`, '--trusted-root-sha256', saved.trustRoot.sha256, '--ledger-public-key', vkey, '--json'], {
      AIRLOCK_DEBUG: '1',
    });
    expect(load.code, load.stderr).toBe(0);
    expect(JSON.parse(load.stdout)).toMatchObject({ trustRoot: { pinnedBy: 'trusted-root-sha256' } });
    const loadText = await cli('archive load again (text)', ['archive', 'load', tar, '--config', receiverConfig, '--target', `${dst.host}/loaded/fluxcd`, '--trusted-root-sha256', saved.trustRoot.sha256]);
    expect(loadText.code, loadText.stderr).toBe(0);
    const receiverFiles = filesUnder(join(dir, 'receiver'), new Set());
    expect(receiverFiles.some((f) => f.endsWith('airlock.db'))).toBe(true);
    for (const f of receiverFiles) expect(leaks(readFileSync(f)), f).toEqual([]);
    searched.push(`${receiverFiles.length} receiver files (its ledger)`);

    // The audit of the credentialed target (every tag, referrer, checkpoint; signatures re-verified).
    const audit = await cli('audit registry --verify --json', ['audit', 'registry', '--config', config, '--verify', '--json']);
    expect(audit.code, audit.stdout).toBe(0);
    expect(JSON.parse(audit.stdout)).toMatchObject({ findings: [], reverified: 3, catalogUnavailable: null });
    // The receiver's audit of what it loaded, against its own ledger.
    const auditText = await cli('audit registry of the loaded target (text, debug)', ['audit', 'registry', '--config', receiverConfig, '--verify'], { AIRLOCK_DEBUG: '1' });
    expect(auditText.code, auditText.stdout).toBe(0);
    expect(auditText.stdout).toMatch(/Audited .*loaded\/fluxcd/);

    // The cluster side: both read the credentialed mirror to check the digests it pins.
    const policyFile = join(dir, 'policy.yaml');
    const policy = await cli('policy kyverno --out', ['policy', 'kyverno', '--config', config, '--out', policyFile, '--json']);
    expect(policy.code, policy.stderr).toBe(0);
    const policyStdout = await cli('policy kyverno (stdout)', ['policy', 'kyverno', '--config', config, '--registry', `registry.internal/fluxcd`]);
    expect(policyStdout.code, policyStdout.stderr).toBe(0);
    expect(policyStdout.stdout).toMatch(/kind: ClusterPolicy/);
    const kust = join(dir, 'kustomize');
    const flux = await cli('flux install-args --kustomize --json', ['flux', 'install-args', '--config', config, '--kustomize', kust, '--image-pull-secret', 'mirror-pull', '--json']);
    expect(flux.code, flux.stderr).toBe(0);
    const fluxText = await cli('flux install-args (text)', ['flux', 'install-args', '--config', config]);
    expect(fluxText.code, fluxText.stderr).toBe(0);
    expect(fluxText.stdout).toMatch(/flux install --registry=/);
    const clusterFiles = [policyFile, ...filesUnder(kust, new Set())];
    expect(clusterFiles.some((f) => f.endsWith('kustomization.yaml'))).toBe(true);
    for (const f of clusterFiles) expect(leaks(readFileSync(f)), f).toEqual([]);
    searched.push(`${clusterFiles.length} policy/kustomize files`);

    // The same commands failing on a wrong target password: AUTH_FAILED, without the secret (searched in test 4).
    const wrongAudit = await cli('audit registry, wrong target password --json (debug)', ['audit', 'registry', '--config', wrongTargetConfig, '--json'], { AIRLOCK_DEBUG: '1' });
    expect(wrongAudit.code).toBe(4);
    const wrongSave = await cli('archive save, wrong target password', ['archive', 'save', '--config', wrongTargetConfig, '--release', 'latest', '--out', join(dir, 'never.tar')]);
    // (It said "holds no release" before: src/archive/save.ts resolveRelease swallowed every listing error.)
    expect(wrongSave.code, wrongSave.stderr).toBe(4);
    expect(existsSync(join(dir, 'never.tar'))).toBe(false);
    const wrongLoad = await cli('archive load, wrong target password --json', ['archive', 'load', tar, '--config', wrongTargetConfig, '--target', `${dst.host}/loaded-wrong/fluxcd`, '--trusted-root-sha256', saved.trustRoot.sha256, '--json']);
    expect(wrongLoad.code).toBe(4);
    const wrongFlux = await cli('flux install-args, wrong target password', ['flux', 'install-args', '--config', wrongTargetConfig]);
    expect(wrongFlux.code).not.toBe(0);
  }, 300_000);

  it('failing runs — a wrong registry password, a wrong token — say AUTH_FAILED without the secret, in text, --json and the cause chain', async () => {
    writeFileSync(config, readFileSync(config, 'utf8').replace('authfile: ./auth.json', 'authfile: ./auth-wrong.json').replace('path: ledger/airlock.db', 'path: ledger-wrong/airlock.db'));
    try {
      const wrongPass = await cli('sync, wrong password --json (debug)', ['sync', '--config', config, '--json', '--target', `oci:${join(dir, 'oci-wrong')}`], { AIRLOCK_DEBUG: '1' });
      expect(wrongPass.code).not.toBe(0);
      expect(wrongPass.stdout).toMatch(/AUTH_FAILED/);
      const wrongPassText = await cli('sync, wrong password (text)', ['sync', '--config', config, '--target', `oci:${join(dir, 'oci-wrong')}`]);
      expect(wrongPassText.code).not.toBe(0);
      const wrongToken = await cli('sync, wrong token --json (debug)', ['sync', '--config', config, '--json'], { AIRLOCK_TEST_TOKEN: WRONG_TOKEN, AIRLOCK_DEBUG: '1' });
      expect(wrongToken.code).toBe(4);
      expect(JSON.parse(wrongToken.stdout).error.code).toBe('AUTH_FAILED');
      const wrongTokenText = await cli('sync, wrong token (text)', ['sync', '--config', config, '--log-format', 'text'], { AIRLOCK_TEST_TOKEN: WRONG_TOKEN });
      expect(wrongTokenText.code).toBe(4);
      expect(wrongTokenText.stderr).toMatch(/^airlock: .*AIRLOCK_TEST_TOKEN/m);
    } finally {
      writeFileSync(config, readFileSync(config, 'utf8').replace('authfile: ./auth-wrong.json', 'authfile: ./auth.json').replace('path: ledger-wrong/airlock.db', 'path: ledger/airlock.db'));
    }

    // In process: the thrown error, its details and every cause below it, as inspect and JSON would show them.
    const sandbox = ledgerSandbox('airlock-secrets-ledger-');
    try {
      const c: SyncConfig = defaultSyncConfig(dir);
      c.upstream = { githubApi: github.apiBase, repository: 'fluxcd/flux2', tokenEnv: 'AIRLOCK_TEST_TOKEN', releases: { newest: 1 } };
      c.images.source = `${src.host}/fluxcd`;
      c.target = `${dst.host}/mirror-inproc/fluxcd`;
      c.trust = { trustedRoot: kit.trustedRootPath, tufRefresh: false, rekorUrl: kit.rekorUrl };
      c.registries.authfile = wrongAuthfile;
      const ledger = { path: sandbox.ledgerPath, key: sandbox.keyFor, sinks: [], demo: false, configFile: null, configSource: 'none' as const };
      const errors: unknown[] = [];
      // The library's log lines (every level), and the ledger's -wal and -shm WHILE the run holds them open: SQLite
      // folds the WAL into the database and removes it when the last connection closes, so a scan afterwards
      // would not see what the WAL held.
      let walSnapshots = 0;
      let logLines = 0;
      const watch: Logger = {
        log(_level, msg, fields) {
          logLines++;
          expect(leaks(`${msg} ${JSON.stringify(fields ?? {})}`)).toEqual([]);
          for (const f of readdirSync(sandbox.dataDir)) {
            if (!/-(wal|shm)$/.test(f)) continue;
            const bytes = readFileSync(join(sandbox.dataDir, f));
            if (bytes.byteLength > 0) walSnapshots++;
            expect(leaks(bytes), f).toEqual([]);
          }
        },
      };
      const attempt = async (token: string) => {
        try {
          const r = await sync({ config: c, ledger, toolVersion: 'test', env: { AIRLOCK_TEST_TOKEN: token }, logger: watch });
          errors.push(r);
          return r;
        } catch (e) {
          errors.push(e);
          return undefined;
        }
      };
      // A wrong token: the run stops, AUTH_FAILED.
      expect(await attempt(WRONG_TOKEN)).toBeUndefined();
      expect(errors[0]).toBeInstanceOf(AirlockError);
      expect((errors[0] as AirlockError).code).toBe('AUTH_FAILED');
      // A wrong password: each image fails, the run goes on; the failures carry the errors' messages.
      const r = await attempt(TOKEN);
      expect(r!.failures.length).toBeGreaterThan(0);
      expect(r!.failures.map((f) => f.code)).toContain('AUTH_FAILED');
      // A presigned URL that cannot be reached: a network error with its cause chain (undici's, which knows the URL).
      const redirect = github.redirectFor!;
      github.redirectFor = (tag, name) => `http://127.0.0.1:9/storage/${tag}/${name}?X-Amz-Signature=${PRESIGNED}`;
      c.registries.authfile = authfile;
      c.target = `oci:${join(sandbox.root, 'unreached')}`;
      try {
        const unreached = await attempt(TOKEN);
        expect(unreached === undefined || unreached.failures.length + unreached.refusals.length > 0).toBe(true);
      } finally {
        github.redirectFor = redirect;
      }
      // And a run that succeeds, into a fresh target, watched the same way.
      c.target = `oci:${join(sandbox.root, 'reached')}`;
      const good = await attempt(TOKEN);
      expect(good!.failures).toEqual([]);
      expect(good!.releases[0]!.images.every((i) => i.status === 'copied')).toBe(true);
      expect(walSnapshots).toBeGreaterThan(0);
      expect(logLines).toBeGreaterThan(10);
      process.stderr.write(`secrets: ${logLines} library log lines and ${walSnapshots} mid-run snapshots of the ledger's -wal/-shm searched: none found\n`);
      errors.pop();
      // The same two faults met directly, to keep their thrown errors: a download redirected to a presigned URL
      // nobody answers (undici's error chain below airlock's), and a registry refusing the wrong password.
      const gh = new GitHubReleases({ apiBase: github.apiBase, repository: 'fluxcd/flux2', tokenEnv: 'AIRLOCK_TEST_TOKEN', env: { AIRLOCK_TEST_TOKEN: TOKEN } });
      const asset = (await gh.getRelease('v2.9.4')).assets[0]!;
      github.redirectFor = (tag, name) => `http://127.0.0.1:9/storage/${tag}/${name}?X-Amz-Signature=${PRESIGNED}`;
      try {
        const d = await gh.downloadAsset(asset);
        for await (const chunk of d.stream) void chunk;
        expect.unreachable('the download should fail');
      } catch (e) {
        errors.push(e);
      } finally {
        github.redirectFor = redirect;
      }
      const wrong = new RegistryStore(src.host, { authFile: wrongAuthfile });
      try {
        await wrong.repository('fluxcd/source-controller').getManifest('v1.9.4');
        expect.unreachable('the wrong password should be refused');
      } catch (e) {
        errors.push(e);
      } finally {
        await wrong.close();
      }
      expect((errors[3] as AirlockError).code).toBe('UNREACHABLE');
      expect((errors[4] as AirlockError).code).toBe('AUTH_FAILED');
      let chain = 0;
      for (const e of errors) {
        const seen = [inspect(e, { depth: 20, showHidden: true }), JSON.stringify(e, (_k, v: unknown) => (v instanceof Error ? { ...v, message: v.message, stack: v.stack } : v))];
        for (let c2: unknown = e; c2 instanceof Error; c2 = c2.cause, chain++) seen.push(c2.message, String(c2.stack), JSON.stringify((c2 as AirlockError).details ?? {}));
        expect(leaks(seen.join('\n'))).toEqual([]);
      }
      expect(errors).toHaveLength(5);
      // Causes were followed (the network error has undici's below it).
      expect(chain).toBeGreaterThan(errors.filter((e) => e instanceof Error).length);
      for (const f of filesUnder(sandbox.root, new Set())) expect(leaks(readFileSync(f)), f).toEqual([]);
    } finally {
      sandbox.cleanup();
    }
  }, 300_000);

  it('no output, ledger file (db, -wal, -shm), cache, export, asset or target storage holds a secret in any form', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(28);
    for (const { what, r } of outputs) {
      expect(leaks(r.stdout), `${what}: stdout`).toEqual([]);
      expect(leaks(r.stderr), `${what}: stderr`).toEqual([]);
    }
    const inputs = new Set([authfile, wrongAuthfile, wrongTargetAuthfile]);
    const files = [...filesUnder(dir, inputs), ...filesUnder(dst.storageDir, new Set())];
    // What was searched: the ledger and what sits beside it, the export, the assets, both targets.
    const names = files.map((f) => f.slice(dir.length));
    expect(names).toEqual(expect.arrayContaining([expect.stringMatching(/ledger\/airlock\.db$/), expect.stringMatching(/export\.json$/), expect.stringMatching(/github-cache\.json$/), expect.stringMatching(/report\.html$/), expect.stringMatching(/flux\.airlock\.tar$/), expect.stringMatching(/airlock\.prom$/), expect.stringMatching(/receiver\/ledger\/airlock\.db$/), expect.stringMatching(/kustomization\.yaml$/)]));
    expect(files.some((f) => f.startsWith(join(dir, 'oci-mirror', 'source-controller', 'blobs')))).toBe(true);
    expect(files.some((f) => f.startsWith(dst.storageDir))).toBe(true);
    let bytes = 0;
    for (const f of files) {
      bytes += statSync(f).size;
      expect(leaks(readFileSync(f)), f).toEqual([]);
    }
    expect(bytes).toBeGreaterThan(10_000);
    process.stderr.write(`secrets: the later outputs' test searched ${searched.join(', ')}\n`);
    process.stderr.write(`secrets: searched ${outputs.length} CLI runs (stdout+stderr) and ${files.length} files (${bytes} bytes) for ${NEEDLES.length} needle forms: none found\n`);
    // The search itself finds the forms: the auth file given as input holds the Basic credentials.
    expect(leaks(readFileSync(authfile))).toEqual(expect.arrayContaining(['source user:pass (base64)', 'target user:pass (base64)']));
  });
});
