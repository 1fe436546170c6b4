/**
 * Issue #10 item 4: `airlock audit registry` after a real sync (the demo, into an oci: layout and into a real
 * docker-registry): clean → exit 0; then each attack an auditor must see — a push around airlock, a moved tag, a
 * deleted blob, an --insecure-skip-verify copy, a tampered checkpoint, a replaced signature — gives its finding and
 * exit 19. Each test would fail if its check were removed (the finding kinds are asserted exactly).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import type { Digest } from '../../src/oci/digest.js';
import type { Descriptor } from '../../src/oci/manifest.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { signatureTag } from '../../src/store/types.js';
import { signImageLikeCosign2 } from '../../src/testkit/image-signers.js';
import { putBlobBytes } from '../../src/testkit/oci-writer.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { runCli } from '../support/cli.js';
import { controllerClaims } from '../support/image-signing.js';
import { startFaultProxy } from '../support/proxies.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'airlock-e2e-audit-'));
let demoCount = 0;
const registries: RunningRegistry[] = [];
let attackerKit: LocalSigstore;

interface Finding {
  kind: string;
  severity: string;
  repository: string;
  tag: string | null;
  digest: string | null;
  message: string;
}
interface AuditJson {
  catalogUnavailable: string | null;
  repositories: number;
  tags: number;
  checkpoints: number;
  reverified: number | null;
  findings: Finding[];
  errors: number;
}

async function demo(target?: string): Promise<string> {
  const d = join(dir, `demo-${demoCount++}`);
  const r = await runCli(['demo', '--dir', d, ...(target ? ['--target', target] : [])], { timeoutMs: 120_000 });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return d;
}

/** Runs the audit in the demo's directory (its config discovered) and returns the JSON result (findings or not). */
async function audit(cwd: string, ...args: string[]): Promise<{ code: number; result: AuditJson; stderr: string }> {
  const r = await runCli(['audit', 'registry', '--json', ...args], { cwd });
  const out = JSON.parse(r.stdout) as AuditJson | { error: { code: string; details: { result: AuditJson } } };
  const result = 'error' in out ? out.error.details?.result : out;
  expect(result, r.stdout + r.stderr).toBeDefined();
  return { code: r.code, result: result!, stderr: r.stderr };
}

const kinds = (r: AuditJson) => r.findings.filter((f) => f.severity === 'error').map((f) => f.kind).sort();

interface LayoutIndex {
  manifests: (Descriptor & { annotations?: Record<string, string> })[];
}
const REF = 'org.opencontainers.image.ref.name';
function layoutTag(layout: string, tag: string): Descriptor {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as LayoutIndex;
  const d = index.manifests.find((m) => m.annotations?.[REF] === tag);
  if (!d) throw new Error(`no tag ${tag} in ${layout}`);
  return d;
}
const blobPath = (layout: string, digest: string) => join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
const jsonBlob = <T>(layout: string, digest: string): T => JSON.parse(readFileSync(blobPath(layout, digest), 'utf8')) as T;

beforeAll(async () => {
  attackerKit = await startLocalSigstore({ stateDir: join(dir, 'attacker-kit') });
}, 60_000);

afterAll(async () => {
  await Promise.all(registries.map((r) => r.stop()));
  await attackerKit?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('audit registry against an oci: mirror (the demo directory)', () => {
  it('a fresh sync audits clean (exit 0), --verify re-verifies every mirrored image offline, and the human report says so', async () => {
    const d = await demo();
    const { code, result } = await audit(d, '--verify');
    expect(code).toBe(0);
    expect(result.findings).toEqual([]);
    expect(result.repositories).toBe(6);
    expect(result.reverified).toBe(5);
    const human = await runCli(['audit', 'registry'], { cwd: d });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/— clean\.$/m);
  }, 150_000);

  it('pushes around airlock are untracked: a new repository, and a new tag on verified content', async () => {
    const d = await demo();
    await run('skopeo', ['copy', 'oci:mirror/flux-cli:v2.9.4', 'oci:mirror/intruder:latest'], { cwd: d });
    await run('skopeo', ['copy', '--preserve-digests', 'oci:mirror/source-controller:v1.9.4', 'oci:mirror/source-controller:extra'], { cwd: d });
    const { code, result, stderr } = await audit(d);
    expect(code).toBe(EXIT_CODES.AUDIT_FINDINGS);
    expect(kinds(result)).toEqual(['untracked', 'untracked']);
    expect(result.findings.map((f) => `${f.repository.split('/').pop()}:${f.tag}`).sort()).toEqual(['intruder:latest', 'source-controller:extra']);
    expect(stderr).toBe('');
  }, 150_000);

  it('a tag moved outside airlock is "moved", naming both digests', async () => {
    const d = await demo();
    const before = layoutTag(join(d, 'mirror', 'source-controller'), 'v1.9.4');
    await run('skopeo', ['copy', 'oci:mirror/flux-cli:v2.9.4', 'oci:mirror/source-controller:v1.9.4'], { cwd: d });
    const { code, result } = await audit(d);
    expect(code).toBe(EXIT_CODES.AUDIT_FINDINGS);
    expect(kinds(result)).toEqual(['moved']);
    expect(result.findings[0]!.message).toContain(before.digest.slice(0, 19));
  }, 150_000);

  it('a blob deleted from the layout makes its image "incomplete"', async () => {
    const d = await demo();
    const layout = join(d, 'mirror', 'helm-controller');
    const index = jsonBlob<{ manifests: Descriptor[] }>(layout, layoutTag(layout, 'v1.6.3').digest);
    const image = jsonBlob<{ layers: Descriptor[] }>(layout, index.manifests[0]!.digest);
    unlinkSync(blobPath(layout, image.layers[0]!.digest));
    const { code, result } = await audit(d);
    expect(code).toBe(EXIT_CODES.AUDIT_FINDINGS);
    expect(kinds(result)).toEqual(['incomplete']);
    expect(result.findings[0]!.message).toContain(image.layers[0]!.digest);
  }, 150_000);

  it('a tag the ledger recorded that the target lost is a "missing" warning (exit 0); a layout carried elsewhere audits with --recorded-as', async () => {
    const d = await demo();
    const layout = join(d, 'mirror', 'flux-cli');
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as LayoutIndex;
    index.manifests = index.manifests.filter((m) => m.annotations?.[REF] !== 'v2.9.4');
    writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
    const { code, result } = await audit(d);
    expect(code).toBe(0);
    expect(result.findings.map((f) => [f.kind, f.severity, f.tag])).toEqual([['missing', 'warning', 'v2.9.4']]);

    // The mirror carried to another directory: without --recorded-as nothing matches the ledger; with it, the same answer.
    const moved = join(dir, 'carried');
    cpSync(join(d, 'mirror'), moved, { recursive: true });
    const lost = await audit(d, '--target', `oci:${moved}`);
    expect(lost.code).toBe(EXIT_CODES.AUDIT_FINDINGS);
    expect(new Set(kinds(lost.result))).toEqual(new Set(['untracked']));
    const found = await audit(d, '--target', `oci:${moved}`, '--recorded-as', `oci:${join(d, 'mirror')}`);
    expect(found.code).toBe(0);
    expect(found.result.findings.map((f) => f.kind)).toEqual(['missing']);
  }, 150_000);
});

describe('audit registry against a registry target', () => {
  async function registryDemo(): Promise<{ d: string; reg: RunningRegistry; store: RegistryStore }> {
    const reg = await startRegistry();
    registries.push(reg);
    const d = await demo(`${reg.host}/fluxcd`);
    return { d, reg, store: new RegistryStore(reg.host) };
  }

  it('clean after the sync, the published checkpoints verified by their signature (no event needed), --verify re-verifies', async () => {
    const { d, store } = await registryDemo();
    const { code, result } = await audit(d, '--verify');
    expect(code).toBe(0);
    expect(result.findings).toEqual([]);
    expect(result.checkpoints).toBeGreaterThanOrEqual(2);
    expect(result.reverified).toBe(5);
    await store.close();
  }, 150_000);

  it('an image pushed with skopeo around airlock is untracked; a copy with --insecure-skip-verify is insecure', async () => {
    const { d, reg, store } = await registryDemo();
    await run('skopeo', ['copy', '--dest-tls-verify=false', 'oci:upstream/images/fluxcd/flux-cli:v2.9.4', `docker://${reg.host}/fluxcd/side-door:v1`], { cwd: d });
    const insecure = await runCli(['copy', '--insecure-skip-verify', `oci:${join(d, 'upstream', 'images', 'fluxcd', 'flux-cli')}:v2.9.4`, `${reg.host}/fluxcd/unverified:v1`], { cwd: d });
    expect(insecure.code, insecure.stderr).toBe(0);
    const { code, result } = await audit(d);
    expect(code).toBe(EXIT_CODES.AUDIT_FINDINGS);
    expect(result.findings.filter((f) => f.severity === 'error').map((f) => [f.kind, f.repository.split('/').pop(), f.tag]).sort()).toEqual([
      ['insecure', 'unverified', 'v1'],
      ['untracked', 'side-door', 'v1'],
    ]);
    await store.close();
  }, 150_000);

  it('an artifact attached with oras around airlock is an untracked referrer (and its fallback tag is untracked)', async () => {
    const { d, reg, store } = await registryDemo();
    writeFileSync(join(d, 'sbom.txt'), 'not from upstream\n');
    await run('oras', ['attach', '--plain-http', '--artifact-type', 'application/vnd.example.sbom', `${reg.host}/fluxcd/source-controller:v1.9.4`, 'sbom.txt:text/plain'], { cwd: d });
    const digest = (await store.repository('fluxcd/source-controller').headManifest('v1.9.4'))!.digest as Digest;
    const { code, result } = await audit(d);
    expect(code).toBe(EXIT_CODES.AUDIT_FINDINGS);
    expect(result.findings.map((f) => [f.kind, f.tag]).sort()).toEqual([
      ['untracked', signatureTag(digest, '')],
      ['untracked', 'v1.9.4'],
    ]);
    expect(result.findings.find((f) => f.tag === 'v1.9.4')!.message).toContain('application/vnd.example.sbom');
    await store.close();
  }, 150_000);

  it('a registry that refuses _catalog (ECR, GHCR): the repositories the ledger knows are audited, under another name with --recorded-as', async () => {
    const { d, reg, store } = await registryDemo();
    const proxy = await startFaultProxy(reg.url);
    try {
      const catalog = proxy.inject({ path: /^\/v2\/_catalog/, fault: { kind: 'status', status: 403, body: JSON.stringify({ errors: [{ code: 'DENIED', message: 'catalog listing is not allowed' }] }) } });
      const clean = await audit(d, '--target', `${proxy.host}/fluxcd`, '--recorded-as', `${reg.host}/fluxcd`);
      expect(catalog.applied).toBeGreaterThan(0);
      expect(clean.code).toBe(0);
      expect(clean.result.findings).toEqual([]);
      expect(clean.result.catalogUnavailable).toContain('catalog listing is not allowed');
      expect(clean.result.checkpoints).toBeGreaterThanOrEqual(2);
      expect(clean.result.tags).toBe(16);
      // A tag pushed around airlock into a known repository is still seen.
      await run('skopeo', ['copy', '--dest-tls-verify=false', 'oci:upstream/images/fluxcd/flux-cli:v2.9.4', `docker://${reg.host}/fluxcd/flux-cli:side-door`], { cwd: d });
      const seen = await audit(d, '--target', `${proxy.host}/fluxcd`, '--recorded-as', `${reg.host}/fluxcd`);
      expect(seen.code).toBe(EXIT_CODES.AUDIT_FINDINGS);
      expect(seen.result.findings.map((f) => [f.kind, f.tag])).toEqual([['untracked', 'side-door']]);
    } finally {
      await proxy.stop();
      await store.close();
    }
  }, 150_000);

  it('a tampered checkpoint in airlock-ledger is checkpoint-invalid', async () => {
    const { d, store } = await registryDemo();
    const repo = store.repository('fluxcd/airlock-ledger');
    const [tag] = (await repo.listTags()).filter((t) => !/-\d+$/.test(t));
    const { bytes, descriptor } = await repo.getManifest(tag!);
    const manifest = JSON.parse(Buffer.from(bytes).toString()) as { layers: Descriptor[] } & Record<string, unknown>;
    const chunks: Uint8Array[] = [];
    for await (const c of await repo.openBlob(manifest.layers[0]!)) chunks.push(c);
    const lines = Buffer.concat(chunks).toString().split('\n');
    lines[1] = String(Number(lines[1]) - 1); // a smaller tree under the same signature
    const note = Buffer.from(lines.join('\n'));
    manifest.layers = [await putBlobBytes(repo, note, manifest.layers[0]!.mediaType)];
    await repo.putManifest(Buffer.from(JSON.stringify(manifest)), descriptor.mediaType, tag!);
    const { code, result } = await audit(d);
    expect(code).toBe(EXIT_CODES.AUDIT_FINDINGS);
    expect(kinds(result)).toEqual(['checkpoint-invalid']);
    expect(result.findings[0]!.message).toMatch(/not signed by this ledger's key/);
    await store.close();
  }, 150_000);

  it('a replaced signature: the .sig tag is "moved", and --verify finds the image no longer verifies in the target', async () => {
    const { d, store } = await registryDemo();
    const repo = store.repository('fluxcd/source-controller');
    const head = await repo.headManifest('v1.9.4');
    const digest = head!.digest as Digest;
    await repo.deleteManifest!(signatureTag(digest, '.sig'));
    await signImageLikeCosign2(attackerKit, repo, digest, { identity: controllerClaims() });
    const plain = await audit(d);
    expect(kinds(plain.result)).toEqual(['moved']);
    expect(plain.result.findings[0]!.tag).toBe(signatureTag(digest, '.sig'));
    const verified = await audit(d, '--verify');
    expect(verified.code).toBe(EXIT_CODES.AUDIT_FINDINGS);
    expect(kinds(verified.result)).toEqual(['moved', 'signature-invalid']);
    const bad = verified.result.findings.find((f) => f.kind === 'signature-invalid')!;
    expect(bad.tag).toBe('v1.9.4');
    await store.close();
  }, 150_000);
});
