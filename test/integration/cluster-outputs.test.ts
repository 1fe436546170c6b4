/**
 * `airlock policy kyverno` and `airlock flux install-args` on a real mirror: the demo's (a real sync of the
 * stand-in release into oci:DIR/mirror, kustomize-controller refused) and the same into a real docker-registry.
 *   - the Kyverno policies validate against the CRD schemas in ../shared/kyverno (and the validator rejects broken
 *     ones), carry anchored identities, one attestor per controller bound to its repository and ref, and keys
 *     byte-equal to the trusted root's;
 *   - the kustomization, rendered by the real kubectl (Debian trixie's, in .tools), pins every controller to
 *     <mirror>/<controller>@<digest the ledger recorded>, and every one of them is in the mirror;
 *   - a controller the mirror does not hold, an oci: mirror without --registry, a mirror that lost a digest: refused.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { LayoutStore } from '../../src/store/layout/store.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { REPO_ROOT, runCli, SHARED_DIR } from '../support/cli.js';
import { crdValidator } from '../support/crd-schema.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

const exec = promisify(execFile);
const KUBECTL = join(REPO_ROOT, '.tools', 'bin', 'kubectl');
// ../shared beside the checkout (CI, the main checkout); AIRLOCK_SHARED_DIR where it lives elsewhere (a worktree).
const KYVERNO_CRDS = join(process.env.AIRLOCK_SHARED_DIR ?? SHARED_DIR, 'kyverno');
const clusterPolicies = crdValidator(join(KYVERNO_CRDS, 'kyverno.io_clusterpolicies.yaml'));
const imagePolicies = crdValidator(join(KYVERNO_CRDS, 'policies.kyverno.io_imagevalidatingpolicies.yaml'));

const root = mkdtempSync(join(tmpdir(), 'airlock-cluster-'));
const env = { XDG_CONFIG_HOME: join(root, 'config'), XDG_STATE_HOME: join(root, 'state') };
/** What the demo mirrors of its release: the controllers that verified, at their versions. */
const MIRRORED: Record<string, string> = { 'source-controller': 'v1.9.4', 'helm-controller': 'v1.6.3', 'notification-controller': 'v1.9.1' };
const COMPONENTS = Object.keys(MIRRORED).join(',');
const GHA = 'https://github.com/fluxcd/gha-workflows/.github/workflows/controller-release.yaml@refs/tags/v0.4.0';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function docsOf(text: string): Obj[] {
  return parseAllDocuments(text).map((d) => d.toJSON() as Obj);
}

/** The base64 DER inside PEM blocks, one entry per block. */
function derOf(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN [A-Z ]+-----\n([\s\S]*?)\n-----END [A-Z ]+-----/g)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64').toString('base64'));
}

async function ledgerDigests(dir: string): Promise<Map<string, string>> {
  const r = await runCli(['ledger', 'list', '--kind', 'copied-upstream', '--json'], { env, cwd: dir });
  expect(r.code).toBe(0);
  const entries = (JSON.parse(r.stdout) as { entries: { digest: string; body: { target: string } }[] }).entries;
  return new Map(entries.map((e) => [e.body.target.replace(/^.*\/([^/:]+):[^/]+$/, '$1'), e.digest]));
}

/** Every `image:` the rendered manifests name. */
function imagesIn(docs: Obj[]): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'image' && typeof x === 'string') out.push(x);
        else walk(x);
      }
    }
  };
  walk(docs);
  return out;
}

function checkPolicies(text: string, registry: string, trustedRoot: Obj, trustedRootText: string): void {
  const docs = docsOf(text);
  expect(docs.map((d) => d.kind)).toEqual(['ClusterPolicy', 'ImageValidatingPolicy', 'ImageValidatingPolicy', 'ImageValidatingPolicy']);
  // The comments say what the policy does and cannot do.
  for (const needle of ['mutateDigest: true', 'verifyDigest: true', "Stricter than the policy in Flux's documentation", 'cannot', 'kyverno/kyverno#15809']) expect(text).toContain(needle);

  const cas = (trustedRoot.certificateAuthorities as Obj[]).flatMap((ca) => (ca.certChain.certificates as Obj[]).map((c) => c.rawBytes as string));
  const rekorKey = (trustedRoot.tlogs as Obj[])[0]!.publicKey.rawBytes as string;
  const ctKey = (trustedRoot.ctlogs as Obj[])[0]!.publicKey.rawBytes as string;
  const checkIdentity = (id: Obj) => {
    expect(id.subject).toBeUndefined();
    const re = id.subjectRegExp as string;
    expect(re.startsWith('^') && re.endsWith('$')).toBe(true);
    // Every literal dot is escaped: the only unescaped `.` would be a wildcard.
    expect(re.replace(/\\./g, '')).not.toContain('.');
    expect(new RegExp(re).test(GHA)).toBe(true);
    for (const bad of [`x${GHA}`, `${GHA}x`, GHA.replace('fluxcd/gha-workflows', 'attacker/gha-workflows'), GHA.replace('github.com', 'githubXcom')]) expect(new RegExp(re).test(bad)).toBe(false);
    expect(id.issuer).toBe('https://token.actions.githubusercontent.com');
  };

  const cp = docs[0]!;
  expect(clusterPolicies.validate(cp)).toEqual([]);
  expect(cp.spec.rules.map((r: Obj) => r.name)).toEqual(Object.keys(MIRRORED));
  for (const rule of cp.spec.rules as Obj[]) {
    const name = rule.name as string;
    expect(rule.verifyImages).toHaveLength(1);
    const vi = rule.verifyImages[0] as Obj;
    expect(vi.imageReferences).toEqual([`${registry}/${name}:*`, `${registry}/${name}@*`]);
    expect([vi.mutateDigest, vi.verifyDigest, vi.required, vi.failureAction]).toEqual([true, true, true, 'Enforce']);
    // One keyless attestor per controller.
    expect(vi.attestors).toHaveLength(1);
    expect(vi.attestors[0].entries).toHaveLength(1);
    const keyless = vi.attestors[0].entries[0].keyless as Obj;
    checkIdentity(keyless);
    expect(keyless.additionalExtensions).toEqual({ githubWorkflowRepository: `fluxcd/${name}`, githubWorkflowRef: `refs/tags/${MIRRORED[name]}` });
    expect(derOf(keyless.roots)).toEqual(cas);
    expect(derOf(keyless.rekor.pubkey)).toEqual([rekorKey]);
    expect(derOf(keyless.ctlog.pubkey)).toEqual([ctKey]);
    expect([keyless.rekor.ignoreTlog, keyless.ctlog.ignoreSCT]).toEqual([false, false]);
  }

  for (const [i, ivp] of docs.slice(1).entries()) {
    const name = Object.keys(MIRRORED)[i]!;
    expect(imagePolicies.validate(ivp)).toEqual([]);
    expect(ivp.apiVersion).toBe('policies.kyverno.io/v1');
    expect(ivp.spec.matchImageReferences).toEqual([{ glob: `${registry}/${name}:*` }, { glob: `${registry}/${name}@*` }]);
    expect(ivp.spec.attestors).toHaveLength(1);
    const cosign = ivp.spec.attestors[0].cosign as Obj;
    expect(cosign.keyless.identities).toHaveLength(1);
    checkIdentity(cosign.keyless.identities[0]);
    expect(cosign.keyless.additionalExtensions).toEqual({ githubWorkflowRepository: `fluxcd/${name}`, githubWorkflowRef: `refs/tags/${MIRRORED[name]}` });
    expect(derOf(cosign.keyless.roots)).toEqual(cas);
    expect(derOf(cosign.ctlog.rekorPubKey)).toEqual([rekorKey]);
    expect(derOf(cosign.ctlog.ctLogPubKey)).toEqual([ctKey]);
    expect(cosign.trustedRoot.value).toBe(trustedRootText);
    expect(ivp.spec.validations[0].expression).toContain(`attestors.${ivp.spec.attestors[0].name}`);
  }
}

async function checkKustomization(dir: string, registry: string, exists: (name: string, digest: string) => Promise<boolean>, digests: Map<string, string>): Promise<void> {
  const { stdout } = await exec(KUBECTL, ['kustomize', dir], { maxBuffer: 64 * 1024 * 1024 });
  const docs = docsOf(stdout);
  const images = imagesIn(docs);
  const pinned = images.filter((i) => i.startsWith(`${registry}/`));
  // Every controller image is <mirror>/<controller>@<the digest the ledger recorded>, and the mirror holds it.
  expect(pinned.sort()).toEqual(Object.keys(MIRRORED).map((n) => `${registry}/${n}@${digests.get(n)}`).sort());
  for (const ref of pinned) {
    const m = /^.+\/([^/@]+)@(sha256:[0-9a-f]{64})$/.exec(ref);
    expect(m).not.toBeNull();
    expect(await exists(m![1]!, m![2]!)).toBe(true);
  }
  // Only the demo's deliberately foreign image is left as it was (and the command said so); the refused
  // kustomize-controller's Deployment is gone.
  expect(images.filter((i) => !i.startsWith(`${registry}/`))).toEqual(['docker.io/library/busybox:1.36']);
  expect(docs.some((d) => d.kind === 'Deployment' && d.metadata?.name === 'kustomize-controller')).toBe(false);
  expect(stdout).not.toContain('ghcr.io/fluxcd');
}

describe('cluster outputs on the demo mirror (oci:)', () => {
  const dir = join(root, 'demo');
  const registry = 'registry.internal/fluxcd';
  let demo: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    demo = await runCli(['demo', '--dir', dir], { env, cwd: root, timeoutMs: 120_000 });
    expect(demo.code).toBe(0);
  }, 130_000);

  it('the CRD validator rejects broken policies, so a passing validation means something', () => {
    expect(clusterPolicies.versions).toContain('v1');
    expect(imagePolicies.versions).toContain('v1');
    const cp = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'x' }, spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [{ imageReferences: ['a/*'], attestors: [{ count: 1, entries: [{ keyless: { subject: 's', issuer: 'i' } }] }] }] }] } };
    expect(clusterPolicies.validate(cp)).toEqual([]);
    const typo = structuredClone(cp) as Obj;
    typo.spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless.subjct = 's';
    expect(clusterPolicies.validate(typo).join('\n')).toMatch(/additional properties/);
    const zero = structuredClone(cp) as Obj;
    zero.spec.rules[0].verifyImages[0].attestors[0].count = 0;
    expect(clusterPolicies.validate(zero).join('\n')).toMatch(/count: must be >= 1/);
    const noName = structuredClone(cp) as Obj;
    delete noName.spec.rules[0].name;
    expect(clusterPolicies.validate(noName).join('\n')).toMatch(/required property 'name'/);
    expect(clusterPolicies.validate({ ...cp, apiVersion: 'kyverno.io/v9' })).toEqual(['apiVersion: kyverno.io/v9 is not a served version of kyverno.io']);
    const ivp = { apiVersion: 'policies.kyverno.io/v1', kind: 'ImageValidatingPolicy', metadata: { name: 'x' }, spec: { attestors: [{ name: 'a', cosign: { keyless: { identities: [{ subject: 's', issuer: 'i' }] } } }], validations: [{ expression: 'true' }] } };
    expect(imagePolicies.validate(ivp)).toEqual([]);
    expect(imagePolicies.validate({ ...ivp, spec: { ...ivp.spec, validationActions: ['Block'] } }).join('\n')).toMatch(/allowed values/);
    expect(imagePolicies.validate({ ...ivp, spec: { attestors: ivp.spec.attestors } }).join('\n')).toMatch(/required property 'validations'/);
  });

  it('policy kyverno: validates against the CRDs, anchored, one attestor per controller, keys byte-equal to the trusted root', async () => {
    const out = join(root, 'policies.yaml');
    const r = await runCli(['policy', 'kyverno', '--registry', registry, '--components', COMPONENTS, '--out', out], { env, cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const trustedRootText = readFileSync(join(dir, 'sigstore', 'trusted_root.json'), 'utf8');
    checkPolicies(readFileSync(out, 'utf8'), registry, JSON.parse(trustedRootText) as Obj, trustedRootText);
    // --kind picks one kind; stdout when no --out.
    const only = await runCli(['policy', 'kyverno', '--registry', registry, '--components', COMPONENTS, '--kind', 'clusterpolicy'], { env, cwd: dir });
    expect(only.code).toBe(0);
    expect(docsOf(only.stdout).map((d) => d.kind)).toEqual(['ClusterPolicy']);
  });

  it('policy kyverno refuses a controller the mirror does not hold, and writes nothing', async () => {
    const out = join(root, 'refused.yaml');
    const r = await runCli(['policy', 'kyverno', '--registry', registry, '--out', out], { env, cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/kustomize-controller v1\.9\.2 of v2\.9\.4 is not in the mirror \(VERIFY_FAILED: .*\); pass --components/);
    expect(existsSync(out)).toBe(false);
    const unknown = await runCli(['policy', 'kyverno', '--registry', registry, '--components', 'source-controller,no-such-controller'], { env, cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no-such-controller is not a controller of v2.9.4');
    const release = await runCli(['policy', 'kyverno', '--registry', registry, '--release', 'v2.8.0'], { env, cwd: dir });
    expect(release.code).toBe(3);
    expect(release.stderr).toContain('no release v2.8.0');
  });

  it('flux install-args: the arguments, and a kustomization kubectl renders with every controller pinned by its verified digest', async () => {
    const k = join(root, 'kustomize');
    const r = await runCli(['flux', 'install-args', '--registry', registry, '--components', COMPONENTS, '--image-pull-secret', 'regcred', '--kustomize', k], { env, cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`flux install --registry=${registry} --components=${COMPONENTS} --image-pull-secret=regcred --version=v2.9.4`);
    expect(r.stdout).toContain('NOT mirrored (outside the canonical prefix): docker.io/library/busybox:1.36');
    // install.yaml is the release's verified one: the digest sync recorded for it.
    const installDigest = /file\s+install\.yaml (sha256:[0-9a-f]{64})/.exec(demo.stdout)![1]!;
    expect(`sha256:${createHash('sha256').update(readFileSync(join(k, 'install.yaml'))).digest('hex')}`).toBe(installDigest);
    const digests = await ledgerDigests(dir);
    const store = new LayoutStore('oci', join(dir, 'mirror'), join(dir, 'mirror'), false);
    try {
      await checkKustomization(k, registry, async (name, digest) => (await store.repository(name).headManifest(digest)) !== undefined, digests);
    } finally {
      await store.close();
    }
    const { stdout } = await exec(KUBECTL, ['kustomize', k], { maxBuffer: 64 * 1024 * 1024 });
    for (const d of docsOf(stdout).filter((x) => x.kind === 'Deployment')) expect(d.spec.template.spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
  });

  it('flux install-args refuses what a cluster could not pull, and writes nothing', async () => {
    const k = join(root, 'not-written');
    const r = await runCli(['flux', 'install-args', '--registry', registry, '--kustomize', k], { env, cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('kustomize-controller v1.9.2 of v2.9.4 is not in the mirror');
    expect(existsSync(k)).toBe(false);
    const noRegistry = await runCli(['flux', 'install-args', '--components', COMPONENTS], { env, cwd: dir });
    expect(noRegistry.code).toBe(2);
    expect(noRegistry.stderr).toContain('is an OCI layout, which a cluster cannot pull from; pass --registry');
  });

  it('pins the digest the LEDGER recorded, not what a moved tag in the mirror now says', async () => {
    // The attack: someone with write access to the mirror points source-controller:v1.9.4 at other content that
    // is also in the repository (here its own signature manifest). Reading the tag would pin that.
    const indexPath = join(dir, 'mirror', 'source-controller', 'index.json');
    const original = readFileSync(indexPath, 'utf8');
    const index = JSON.parse(original) as { manifests: { digest: string; size: number; mediaType: string; annotations?: Record<string, string> }[] };
    const REF = 'org.opencontainers.image.ref.name';
    const tagged = index.manifests.find((m) => m.annotations?.[REF] === 'v1.9.4')!;
    const other = index.manifests.find((m) => m.annotations?.[REF]?.endsWith('.sig'))!;
    tagged.annotations![REF] = 'moved-away';
    index.manifests.push({ ...other, annotations: { [REF]: 'v1.9.4' } });
    writeFileSync(indexPath, JSON.stringify(index));
    try {
      const recorded = (await ledgerDigests(dir)).get('source-controller')!;
      expect(recorded).toBe(tagged.digest);
      const r = await runCli(['flux', 'install-args', '--registry', registry, '--components', COMPONENTS, '--json'], { env, cwd: dir });
      expect(r.code).toBe(0);
      const images = (JSON.parse(r.stdout) as { images: { name: string; digest: string }[] }).images;
      expect(images.find((i) => i.name === 'source-controller')!.digest).toBe(recorded);
      expect(images.map((i) => i.digest)).not.toContain(other.digest);
    } finally {
      writeFileSync(indexPath, original);
    }
  });

  it('a digest the ledger recorded but the mirror lost is refused (--check-mirror)', async () => {
    const blobs = join(dir, 'mirror', 'helm-controller', 'blobs', 'sha256');
    const digest = (await ledgerDigests(dir)).get('helm-controller')!;
    const path = join(blobs, digest.slice('sha256:'.length));
    renameSync(path, `${path}.away`);
    try {
      const r = await runCli(['flux', 'install-args', '--registry', registry, '--components', COMPONENTS], { env, cwd: dir });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`was mirrored at ${digest}, but the mirror does not hold it`);
      const unchecked = await runCli(['flux', 'install-args', '--registry', registry, '--components', COMPONENTS, '--no-check-mirror'], { env, cwd: dir });
      expect(unchecked.code).toBe(0);
    } finally {
      renameSync(`${path}.away`, path);
    }
  });
});

describe('cluster outputs on a registry mirror', () => {
  let reg: RunningRegistry;
  const dir = join(root, 'to-registry');

  beforeAll(async () => {
    reg = await startRegistry();
    const r = await runCli(['demo', '--dir', dir, '--target', `${reg.host}/mirror/fluxcd`], { env, cwd: root, timeoutMs: 120_000 });
    expect(r.code).toBe(0);
  }, 130_000);
  afterAll(async () => {
    await reg?.stop();
  });

  it('both commands default --registry to the target; every pinned image exists in the registry', async () => {
    const prefix = `${reg.host}/mirror/fluxcd`;
    const p = await runCli(['policy', 'kyverno', '--components', COMPONENTS], { env, cwd: dir });
    expect(p.code).toBe(0);
    const trustedRootText = readFileSync(join(dir, 'sigstore', 'trusted_root.json'), 'utf8');
    checkPolicies(p.stdout, prefix, JSON.parse(trustedRootText) as Obj, trustedRootText);

    const k = join(root, 'kustomize-registry');
    const r = await runCli(['flux', 'install-args', '--components', COMPONENTS, '--kustomize', k, '--json'], { env, cwd: dir });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { args: string[]; images: { reference: string }[] };
    expect(json.args[0]).toBe(`--registry=${prefix}`);
    const store = new RegistryStore(reg.host);
    try {
      await checkKustomization(k, prefix, async (name, digest) => (await store.repository(`mirror/fluxcd/${name}`).headManifest(digest)) !== undefined, await ledgerDigests(dir));
    } finally {
      await store.close();
    }
  });
});
