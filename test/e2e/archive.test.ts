/**
 * Air-gap delivery through the built CLI: `archive save` on the demo's mirror (the sender), `archive load` on the
 * other side.
 *  - The load runs inside a fresh network namespace (`unshare -rn`) holding only loopback, where a second real
 *    docker-registry is started: nothing but that registry can be reached (a connection to the outside is shown
 *    to fail there). The real cosign then verifies the loaded images offline in the same namespace, and
 *    `ledger verify` passes on both sides.
 *  - Refusals: a blob byte flipped, a signature removed, an unsigned image added, another trust root with
 *    everything re-signed under it, a symlink, a `..` name, a duplicate index.json — each exits with its code and
 *    one sentence, and the target registry holds NOTHING afterwards (empty catalog).
 *  - Save and load inside the demo's directory, on the demo's mirror, by config discovery.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { extract as tarExtract, pack as tarPack, type Header } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadResult } from '../../src/archive/load.js';
import type { SaveResult } from '../../src/archive/save.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

const root = mkdtempSync(join(tmpdir(), 'airlock-archive-'));
const sender = join(root, 'demo');
const other = join(root, 'demo-other');
const loader = join(root, 'loader');
const env = { XDG_CONFIG_HOME: join(root, 'config'), XDG_STATE_HOME: join(root, 'state') };
const archive = join(root, 'flux.tar');
const otherArchive = join(root, 'other.tar');
const COSIGN = join(REPO_ROOT, '.tools', 'bin', 'cosign');
const ISSUER = 'https://token.actions.githubusercontent.com';

let saved: SaveResult;
let rootSha: string;
const registries: RunningRegistry[] = [];

interface TarEntry {
  header: Partial<Header> & { name: string };
  data: Buffer;
}

async function readTar(file: string): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  const ex = tarExtract();
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      out.push({ header: entry.header, data: Buffer.concat(chunks) });
    }
  })();
  ex.end(await readFile(file));
  await done;
  return out;
}

async function writeTar(file: string, entries: TarEntry[]): Promise<void> {
  const p = tarPack();
  const chunks: Buffer[] = [];
  const collect = (async () => {
    for await (const c of p) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const body = e.header.type === 'file' ? e.data : Buffer.alloc(0);
      p.entry({ ...e.header, size: body.length }, body, (err) => (err ? reject(err) : resolve()));
    });
  }
  p.finalize();
  await collect;
  await writeFile(file, Buffer.concat(chunks));
}

/** A copy of the saved archive, changed by `edit`. */
async function mutated(name: string, edit: (entries: TarEntry[]) => TarEntry[]): Promise<string> {
  const file = join(root, `${name}.tar`);
  await writeTar(file, edit(await readTar(archive)));
  return file;
}

function entry(entries: TarEntry[], name: string): TarEntry {
  const e = entries.find((x) => x.header.name === name);
  if (!e) throw new Error(`no ${name} in the archive`);
  return e;
}

type IndexJson = { manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[] };

function editIndex(entries: TarEntry[], repo: string, edit: (i: IndexJson) => void): TarEntry[] {
  const e = entry(entries, `${repo}/index.json`);
  const index = JSON.parse(e.data.toString('utf8')) as IndexJson;
  edit(index);
  e.data = Buffer.from(JSON.stringify(index));
  return entries;
}

async function catalog(reg: RunningRegistry): Promise<string[]> {
  const r = await fetch(`${reg.url}/v2/_catalog`);
  return ((await r.json()) as { repositories: string[] }).repositories;
}

async function loadInto(file: string, extra: string[]): Promise<{ code: number; stderr: string; reg: RunningRegistry }> {
  const reg = await startRegistry();
  registries.push(reg);
  const r = await runCli(['archive', 'load', file, '--target', `${reg.host}/fluxcd`, ...extra], { env, cwd: loader, timeoutMs: 120_000 });
  return { code: r.code, stderr: r.stderr, reg };
}

beforeAll(async () => {
  for (const dir of [sender, other]) {
    const demo = await runCli(['demo', '--dir', dir], { env, cwd: root, timeoutMs: 120_000 });
    expect(demo.code, demo.stderr).toBe(0);
  }
  const save = await runCli(['archive', 'save', '--release', 'latest', '--out', archive, '--json'], { env, cwd: sender, timeoutMs: 120_000 });
  expect(save.code, save.stderr).toBe(0);
  saved = JSON.parse(save.stdout) as SaveResult;
  rootSha = saved.trustRoot.sha256;
  const save2 = await runCli(['archive', 'save', '--release', 'v2.9.4', '--out', otherArchive], { env, cwd: other, timeoutMs: 120_000 });
  expect(save2.code, save2.stderr).toBe(0);
  mkdirSync(loader);
  const init = await runCli(['init', '--dir', loader], { env, cwd: root });
  expect(init.code, init.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await Promise.all(registries.map((r) => r.stop()));
});

describe('archive save', () => {
  it('writes the verified images, the release artifact, the trust root and the ledger excerpt, and prints the trust root sha256', async () => {
    expect(saved.release).toBe('v2.9.4');
    expect(rootSha).toBe(createHash('sha256').update(readFileSync(join(sender, 'sigstore', 'trusted_root.json'))).digest('hex'));
    expect(saved.images.map((i) => i.name).sort()).toEqual(['flux-cli', 'flux-manifests', 'helm-controller', 'notification-controller', 'source-controller']);
    expect(saved.absent).toEqual([{ name: 'kustomize-controller', tag: 'v1.9.2' }]);
    expect(saved.images.find((i) => i.name === 'source-controller')).toMatchObject({ signatures: 1, attestations: 1 });
    expect(saved.releaseArtifact.files).toEqual(expect.arrayContaining(['install.yaml', 'manifests.tar.gz', 'flux_2.9.4_checksums.txt', 'flux_2.9.4_checksums.txt.sigstore.json', 'flux_2.9.4_linux_amd64.tar.gz']));
    expect(saved.ledger.entries).toBeGreaterThan(10);
    const names = (await readTar(archive)).map((e) => e.header.name);
    expect(names).toEqual(expect.arrayContaining(['trusted_root.json', 'ledger-excerpt.json', 'airlock-archive.json', 'source-controller/index.json', 'flux-release/index.json']));
    expect(names.some((n) => n.startsWith('kustomize-controller/'))).toBe(false);
    // The human output names the sha256 to pin.
    const human = await runCli(['archive', 'save', '--release', 'v2.9.4', '--out', join(root, 'again.tar')], { env, cwd: sender });
    expect(human.stdout).toContain(`Trust root sha256 (give it to the receiver, out of band): ${rootSha}`);
  });

  it('unpacked, each repository is an OCI layout skopeo reads', async () => {
    const dir = join(root, 'unpacked');
    mkdirSync(dir);
    await promisify(execFile)('tar', ['xf', archive, '-C', dir]);
    const { stdout } = await promisify(execFile)('skopeo', ['inspect', `oci:${join(dir, 'source-controller')}:v1.9.4`]);
    expect((JSON.parse(stdout) as { Digest: string }).Digest).toBe(saved.images.find((i) => i.name === 'source-controller')!.digest);
  });
});

describe('archive load in a network namespace where only the second registry is reachable', () => {
  it('loads everything, the real cosign verifies it offline there, and ledger verify passes on both sides', async () => {
    const vkey = join(root, 'sender.vkey');
    const cp = await runCli(['ledger', 'checkpoint', '--json'], { env, cwd: sender });
    writeFileSync(vkey, `${(JSON.parse(cp.stdout) as { verifierKey: string }).verifierKey}\n`);
    const ns = join(root, 'ns');
    mkdirSync(ns);
    writeFileSync(
      join(ns, 'registry.yml'),
      ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${join(ns, 'storage')}`, 'http:', '  addr: 127.0.0.1:5000', '  secret: airlock-test', ''].join('\n'),
    );
    const k = join(sender, 'sigstore');
    const script = [
      'set -u',
      'ip link set lo up',
      `docker-registry serve ${join(ns, 'registry.yml')} 2>/dev/null & REG=$!`,
      'trap "kill $REG" EXIT',
      'for i in $(seq 100); do curl -sf http://127.0.0.1:5000/v2/ >/dev/null && break; sleep 0.1; done',
      // Proof that nothing else is reachable from here.
      `node -e 'require("net").connect(443,"1.1.1.1").on("error",e=>{console.log("OUTSIDE "+e.code);process.exit(0)}).on("connect",()=>{console.log("OUTSIDE connected");process.exit(1)})'`,
      `node ${join(REPO_ROOT, 'bin', 'run.js')} archive load ${archive} --target 127.0.0.1:5000/fluxcd --trusted-root-sha256 ${rootSha} --ledger-public-key ${vkey} --json > ${join(ns, 'load.json')}; echo "LOAD $?"`,
      `export SIGSTORE_ROOT_FILE=${k}/fulcio-root.pem SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=${k}/ctlog.pub.pem SIGSTORE_REKOR_PUBLIC_KEY=${k}/rekor.pub.pem TUF_ROOT=${k}/tuf-empty`,
      `${COSIGN} verify --offline --allow-http-registry --allow-insecure-registry --certificate-identity-regexp '^https://github\\.com/fluxcd/gha-workflows/\\.github/workflows/controller-release\\.yaml@refs/tags/v.*$' --certificate-oidc-issuer ${ISSUER} --certificate-github-workflow-repository fluxcd/source-controller 127.0.0.1:5000/fluxcd/source-controller:v1.9.4 >/dev/null 2>${join(ns, 'cosign.err')}; echo "COSIGN $?"`,
      `${COSIGN} verify --offline --allow-http-registry --allow-insecure-registry --certificate-identity https://github.com/fluxcd/flux2/.github/workflows/release.yaml@refs/tags/v2.9.4 --certificate-oidc-issuer ${ISSUER} 127.0.0.1:5000/fluxcd/flux-cli:v2.9.4 >/dev/null 2>>${join(ns, 'cosign.err')}; echo "COSIGN-CLI $?"`,
      `node ${join(REPO_ROOT, 'bin', 'run.js')} ledger verify >/dev/null; echo "VERIFY $?"`,
      'curl -s http://127.0.0.1:5000/v2/_catalog; echo',
    ].join('\n');
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn('unshare', ['-rn', 'sh', '-c', script], {
        cwd: loader,
        env: { ...process.env, ...env, NO_COLOR: '1', PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
    // No privileges for a network namespace is a failure of this test, never a skip.
    expect(out.stderr, 'unshare -rn must work here: the air-gap test needs a network namespace').not.toMatch(/unshare: /);
    expect(out.stdout).toMatch(/^OUTSIDE (ENETUNREACH|EHOSTUNREACH|ECONNREFUSED)$/m);
    expect(out.stdout).toContain('LOAD 0');
    const cosignErr = readFileSync(join(ns, 'cosign.err'), 'utf8');
    expect(out.stdout, cosignErr).toContain('COSIGN 0');
    expect(out.stdout, cosignErr).toContain('COSIGN-CLI 0');
    expect(cosignErr).toContain('Existence of the claims in the transparency log was verified offline');
    expect(out.stdout).toContain('VERIFY 0');
    const catalogLine = out.stdout.split('\n').find((l) => l.startsWith('{"repositories"'))!;
    expect((JSON.parse(catalogLine) as { repositories: string[] }).repositories.sort()).toEqual(
      // The release, and the receiver's checkpoint as an OCI artifact beside it (as sync publishes it).
      ['fluxcd/airlock-ledger', 'fluxcd/flux-cli', 'fluxcd/flux-manifests', 'fluxcd/flux-release', 'fluxcd/helm-controller', 'fluxcd/notification-controller', 'fluxcd/source-controller'],
    );
    const loaded = JSON.parse(readFileSync(join(ns, 'load.json'), 'utf8')) as LoadResult;
    expect(loaded.trustRoot).toMatchObject({ sha256: rootSha, pinnedBy: 'trusted-root-sha256' });
    expect(loaded.excerpt.authenticated).toBe(true);
    expect(loaded.images.every((i) => i.status === 'copied')).toBe(true);

    // The receiver's ledger: the same kinds as sync, in an archive-load run, tied to the sender's checkpoint.
    const list = await runCli(['ledger', 'list', '--json', '--limit', '1000'], { env, cwd: loader });
    const entries = (JSON.parse(list.stdout) as { entries: { kind: string; image: string | null; body: Record<string, unknown> }[] }).entries;
    const kinds = new Set(entries.map((e) => e.kind));
    for (const kind of ['verified', 'copied-upstream', 'copied-signature', 'composed', 'release-discovered', 'archive-loaded']) expect(kinds).toContain(kind);
    expect(entries.find((e) => e.kind === 'run-started')!.body.command).toBe('archive-load');
    expect(entries.find((e) => e.kind === 'copied-upstream' && e.image === 'ghcr.io/fluxcd/source-controller')).toBeDefined();
    const senderCheckpoint = (JSON.parse(cp.stdout) as { note: string }).note;
    const loadedEvent = entries.find((e) => e.kind === 'archive-loaded')!;
    expect(loadedEvent.body.excerpt).toMatchObject({ checkpoint: senderCheckpoint, authenticated: true });
    const senderVerify = await runCli(['ledger', 'verify'], { env, cwd: sender });
    expect(senderVerify.code, senderVerify.stderr).toBe(0);
  }, 180_000);
});

describe('archive load refuses, pushing nothing of the release', () => {
  const pin = () => ['--trusted-root-sha256', rootSha];

  it('a blob with one byte flipped (INTEGRITY, exit 6)', async () => {
    const file = await mutated('flipped', (entries) => {
      const blobs = entries.filter((e) => e.header.name.startsWith('source-controller/blobs/sha256/'));
      const biggest = blobs.sort((a, b) => b.data.length - a.data.length)[0]!;
      biggest.data[100] = biggest.data[100]! ^ 0x01;
      return entries;
    });
    const r = await loadInto(file, pin());
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/does not hash to its name; the archive was altered or damaged, so it is refused\./);
    expect(await catalog(r.reg)).toEqual([]);
  }, 60_000);

  it('a signature removed (NO_SIGNATURE, exit 11)', async () => {
    const file = await mutated('unsigned-sig', (entries) => editIndex(entries, 'source-controller', (i) => (i.manifests = i.manifests.filter((m) => !m.annotations?.['org.opencontainers.image.ref.name']?.endsWith('.sig')))));
    const r = await loadInto(file, pin());
    expect(r.code).toBe(11);
    expect(r.stderr).toContain('source-controller');
    expect(await catalog(r.reg)).toEqual([]);
  }, 60_000);

  it('an unsigned image added to a layout (VERIFY_FAILED, exit 10)', async () => {
    const file = await mutated('unsigned-image', (entries) =>
      editIndex(entries, 'source-controller', (i) => {
        const content = i.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'v1.9.4')!;
        const index = JSON.parse(entry(entries, `source-controller/blobs/sha256/${content.digest.slice(7)}`).data.toString('utf8')) as IndexJson;
        // One platform manifest on its own: real content of the layout, but nothing signed it as a tag.
        const child = index.manifests[0]!;
        i.manifests.push({ mediaType: child.mediaType, digest: child.digest, size: child.size, annotations: { 'org.opencontainers.image.ref.name': 'unsigned' } });
      }),
    );
    const r = await loadInto(file, pin());
    expect(r.code).toBe(10);
    expect(r.stderr).toMatch(/tag "unsigned"\) in source-controller, which no verified signature accounts for; the archive is refused\./);
    expect(await catalog(r.reg)).toEqual([]);
  }, 60_000);

  it('another trust root with everything re-signed under it: refused against the pinned sha256 and against the right root (exit 10)', async () => {
    const pinned = await loadInto(otherArchive, pin());
    expect(pinned.code).toBe(10);
    expect(pinned.stderr).toContain(`not the ${rootSha} pinned with --trusted-root-sha256`);
    expect(await catalog(pinned.reg)).toEqual([]);
    const rooted = await loadInto(otherArchive, ['--trusted-root', join(sender, 'sigstore', 'trusted_root.json')]);
    expect(rooted.code).toBe(10);
    expect(await catalog(rooted.reg)).toEqual([]);
    // With no anchor given, the archive's own root is never used: the embedded public-good root refuses it.
    const unpinned = await loadInto(archive, []);
    expect(unpinned.code).toBe(10);
    expect(await catalog(unpinned.reg)).toEqual([]);
  }, 120_000);

  it('an install.yaml naming one more image, re-hashed and re-indexed so every blob matches its name (INTEGRITY, exit 6)', async () => {
    const file = await mutated('install-yaml', (entries) => {
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      const blob = (hex: string) => entry(entries, `flux-release/blobs/sha256/${hex}`);
      const put = (data: Buffer) => {
        const hex = sha(data);
        entries.push({ header: { ...blob(top.digest.slice(7)).header, name: `flux-release/blobs/sha256/${hex}`, size: data.length }, data });
        return hex;
      };
      const index = JSON.parse(entry(entries, 'flux-release/index.json').data.toString('utf8')) as IndexJson;
      const top = index.manifests[0]!;
      const manifest = JSON.parse(blob(top.digest.slice(7)).data.toString('utf8')) as { layers: { digest: string; size: number; annotations: Record<string, string> }[] };
      const layer = manifest.layers.find((l) => l.annotations['org.opencontainers.image.title'] === 'install.yaml')!;
      const yaml = Buffer.concat([blob(layer.digest.slice(7)).data, Buffer.from('---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: x\n    image: ghcr.io/fluxcd/evil-controller:v1.0.0\n')]);
      layer.digest = `sha256:${put(yaml)}`;
      layer.size = yaml.length;
      const bytes = Buffer.from(JSON.stringify(manifest));
      top.digest = `sha256:${put(bytes)}`;
      top.size = bytes.length;
      entry(entries, 'flux-release/index.json').data = Buffer.from(JSON.stringify(index));
      return entries;
    });
    const r = await loadInto(file, pin());
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/install\.yaml in .* is sha256:[0-9a-f]{64}, but the signed checksums say sha256:[0-9a-f]{64}; the release is refused\./);
    expect(await catalog(r.reg)).toEqual([]);
  }, 60_000);

  it('a ledger excerpt with an edited entry (LEDGER_INVALID, exit 14)', async () => {
    const file = await mutated('excerpt', (entries) => {
      const e = entry(entries, 'ledger-excerpt.json');
      const x = JSON.parse(e.data.toString('utf8')) as { entries: { leaf: string }[] };
      x.entries[1]!.leaf = x.entries[1]!.leaf.replace(/"time":"[^"]+"/, '"time":"2020-01-01T00:00:00.000Z"');
      e.data = Buffer.from(JSON.stringify(x));
      return entries;
    });
    const r = await loadInto(file, pin());
    expect(r.code).toBe(14);
    expect(r.stderr).toMatch(/ledger excerpt has entry \d+, which is not in the tree of its checkpoint/);
    expect(await catalog(r.reg)).toEqual([]);
  }, 60_000);

  const hostile: [string, (entries: TarEntry[]) => TarEntry[], RegExp][] = [
    ['a symlink', (e) => [...e, { header: { name: 'source-controller/blobs/sha256/link', type: 'symlink', linkname: '/etc/passwd', mode: 0o777 }, data: Buffer.alloc(0) }], /symlink entry/],
    ['a .. name', (e) => [{ header: { name: '../x', type: 'file', mode: 0o644 }, data: Buffer.from('x') }, ...e], /climbs out with \.\./],
    ['a duplicate index.json', (e) => [...e, { header: { ...entry(e, 'source-controller/index.json').header }, data: Buffer.from('{"schemaVersion":2,"manifests":[]}') }], /has the entry "source-controller\/index\.json" twice/],
  ];
  for (const [what, edit, message] of hostile) {
    it(`${what} in the tar (LAYOUT_INVALID, exit 8)`, async () => {
      const file = await mutated(what.replace(/\W+/g, '-'), edit);
      const r = await loadInto(file, pin());
      expect(r.code).toBe(8);
      expect(r.stderr).toMatch(message);
      expect(await catalog(r.reg)).toEqual([]);
    }, 60_000);
  }

  it('the ledger holds each refusal and still verifies', async () => {
    const list = await runCli(['ledger', 'list', '--kind', 'refused', '--json', '--limit', '100'], { env, cwd: loader });
    const reasons = (JSON.parse(list.stdout) as { entries: { reason: string }[] }).entries.map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['INTEGRITY', 'NO_SIGNATURE', 'VERIFY_FAILED', 'LAYOUT_INVALID']));
    const verify = await runCli(['ledger', 'verify'], { env, cwd: loader });
    expect(verify.code, verify.stderr).toBe(0);
  });
});

describe('inside the demo directory', () => {
  it('saves from the demo mirror and loads into oci:DIR with the demo config\'s trust root; skopeo reads the result', async () => {
    const file = join(sender, 'demo.tar');
    const save = await runCli(['archive', 'save', '--release', 'latest', '--out', 'demo.tar'], { env, cwd: sender });
    expect(save.code, save.stderr).toBe(0);
    const load = await runCli(['archive', 'load', file, '--target', 'oci:./loaded', '--json'], { env, cwd: sender });
    expect(load.code, load.stderr).toBe(0);
    const r = JSON.parse(load.stdout) as LoadResult;
    expect(r.trustRoot.pinnedBy).toBe('config');
    expect(r.images).toHaveLength(5);
    const { stdout } = await promisify(execFile)('skopeo', ['inspect', `oci:${join(sender, 'loaded', 'source-controller')}:v1.9.4`]);
    expect((JSON.parse(stdout) as { Digest: string }).Digest).toBe(saved.images.find((i) => i.name === 'source-controller')!.digest);
    const verify = await runCli(['ledger', 'verify'], { env, cwd: sender });
    expect(verify.code, verify.stderr).toBe(0);
  }, 120_000);

  it('saves from a demo whose mirror is a registry (the config\'s target), and the receiver loads it with --trusted-root', async () => {
    const reg = await startRegistry();
    registries.push(reg);
    const dir = join(root, 'demo-registry');
    const demo = await runCli(['demo', '--dir', dir, '--target', `${reg.host}/fluxcd`], { env, cwd: root, timeoutMs: 120_000 });
    expect(demo.code, demo.stderr).toBe(0);
    const file = join(root, 'from-registry.tar');
    const save = await runCli(['archive', 'save', '--release', 'latest', '--out', file, '--json'], { env, cwd: dir, timeoutMs: 120_000 });
    expect(save.code, save.stderr).toBe(0);
    const s = JSON.parse(save.stdout) as SaveResult;
    expect(s.source).toBe(`${reg.host}/fluxcd`);
    expect(s.images).toHaveLength(5);
    // Another receiver (its own ledger): this demo generated other digests for the same tags, which the first
    // receiver's ledger would refuse as moved tags (trust on first use).
    const receiver = join(root, 'loader-2');
    mkdirSync(receiver);
    expect((await runCli(['init', '--dir', receiver], { env, cwd: root })).code).toBe(0);
    const load = await runCli(['archive', 'load', file, '--target', `oci:${join(root, 'from-registry')}`, '--trusted-root', join(dir, 'sigstore', 'trusted_root.json'), '--json'], { env, cwd: receiver, timeoutMs: 120_000 });
    expect(load.code, load.stderr).toBe(0);
    const r = JSON.parse(load.stdout) as LoadResult;
    expect(r.trustRoot).toMatchObject({ pinnedBy: 'trusted-root', sha256: s.trustRoot.sha256 });
    expect(r.images.map((i) => i.digest).sort()).toEqual(s.images.map((i) => i.digest).sort());

    // The first receiver recorded v2.9.4's images from the first demo: the same tags at other digests are refused
    // there (trust on first use, exit 16), and nothing of the release is written.
    const first = await runCli(['archive', 'load', archive, '--target', `oci:${join(root, 'tofu-first')}`, ...['--trusted-root-sha256', rootSha]], { env, cwd: loader, timeoutMs: 120_000 });
    expect(first.code, first.stderr).toBe(0);
    const moved = await loadInto(file, ['--trusted-root', join(dir, 'sigstore', 'trusted_root.json')]);
    expect(moved.code).toBe(16);
    expect(moved.stderr).toMatch(/ghcr\.io\/fluxcd\/[a-z-]+:v[0-9.]+ is sha256:[0-9a-f]{64} in the archive, but this ledger recorded it at sha256:[0-9a-f]{64}; a released tag must not move, so the release is refused\./);
    expect(await catalog(moved.reg)).toEqual([]);
  }, 240_000);
});
