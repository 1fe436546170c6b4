/**
 * `airlock flux install-args`: what to give `flux install` / `flux bootstrap` for this mirror, and a kustomization
 * that installs the release's verified install.yaml with every controller pinned by the digest airlock verified
 * (flux2#5843: `--registry` alone swaps the prefix and keeps the tags).
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { AirlockError } from '../errors.js';
import type { MirroredImage, MirroredRelease } from './mirrored-release.js';

/** Flux's optional controllers (`flux install --components-extra`); the others are `--components`. */
export const FLUX_EXTRA_COMPONENTS: readonly string[] = ['image-reflector-controller', 'image-automation-controller', 'source-watcher'];

export interface FluxInstallInput {
  mirrored: MirroredRelease;
  /** The prefix the cluster pulls the mirror from. */
  registry: string;
  /** Where the release's images live upstream (`ghcr.io/fluxcd`): the names install.yaml uses. */
  canonicalPrefix: string;
  imagePullSecret?: string;
  components?: readonly string[];
  componentsExtra?: readonly string[];
}

export interface PinnedImage {
  name: string;
  tag: string;
  digest: string;
  /** `<canonical>/<name>`: the name install.yaml uses. */
  upstream: string;
  /** `<registry>/<name>@<digest>`: what the cluster pulls. */
  reference: string;
}

export interface FluxInstallResult {
  release: string;
  registry: string;
  components: string[];
  componentsExtra: string[];
  /** `flux install` arguments (the same for `flux bootstrap …`). */
  args: string[];
  images: PinnedImage[];
  /** Controllers of the release left out, and the objects the kustomization deletes for them. */
  excluded: { name: string; objects: { kind: string; name: string; namespace: string | null }[] }[];
  /** Images install.yaml names outside the canonical prefix: not in the mirror, pulled from where they point. */
  unmirrored: string[];
  kustomization: string;
  /** Set when written with --kustomize. */
  directory?: string;
}

function listFlag(v: readonly string[] | undefined): string[] | undefined {
  return v?.flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
}

export function fluxInstall(input: FluxInstallInput): FluxInstallResult {
  const { mirrored } = input;
  const controllers = mirrored.images.filter((i) => i.source === 'install-manifest');
  const names = controllers.map((c) => c.name);
  const given = listFlag(input.components);
  const givenExtra = listFlag(input.componentsExtra);
  const explicit = given !== undefined || givenExtra !== undefined;
  const components = given ?? (explicit ? [] : names.filter((n) => !FLUX_EXTRA_COMPONENTS.includes(n)));
  const componentsExtra = givenExtra ?? (explicit ? [] : names.filter((n) => FLUX_EXTRA_COMPONENTS.includes(n)));
  const selected = [...components, ...componentsExtra];
  const unknown = selected.filter((s) => !names.includes(s));
  if (unknown.length > 0) throw new AirlockError('BAD_INPUT', `${unknown.join(', ')} ${unknown.length > 1 ? 'are not controllers' : 'is not a controller'} of ${mirrored.release} (it has ${names.join(', ')}).`);
  if (selected.length === 0) throw new AirlockError('BAD_INPUT', `No controller of ${mirrored.release} was selected.`);
  const missing = controllers.filter((c) => selected.includes(c.name) && c.digest === null);
  if (missing.length > 0) {
    throw new AirlockError(
      'NOT_FOUND',
      `${missing.map((c) => `${c.name} ${c.tag}`).join(', ')} of ${mirrored.release} ${missing.length > 1 ? 'are' : 'is'} not in the mirror (${missing.map((c) => c.refusal ?? 'never copied').join('; ')}); a cluster could not pull it — pass --components naming only mirrored controllers.`,
    );
  }
  const canonical = input.canonicalPrefix.replace(/\/+$/, '');
  const images: PinnedImage[] = controllers
    .filter((c) => selected.includes(c.name))
    .map((c: MirroredImage) => ({ name: c.name, tag: c.tag, digest: c.digest!, upstream: `${canonical}/${c.name}`, reference: `${input.registry}/${c.name}@${c.digest}` }));
  const excluded = controllers.filter((c) => !selected.includes(c.name)).map((c) => ({ name: c.name, objects: workloadsOf(mirrored.installYaml, `${canonical}/${c.name}`) }));

  const args = [`--registry=${input.registry}`, `--components=${components.join(',')}`];
  if (componentsExtra.length > 0) args.push(`--components-extra=${componentsExtra.join(',')}`);
  if (input.imagePullSecret !== undefined) args.push(`--image-pull-secret=${input.imagePullSecret}`);
  args.push(`--version=${mirrored.release}`);

  const kustomization = renderKustomization(input, images, excluded);
  return { release: mirrored.release, registry: input.registry, components, componentsExtra, args, images, excluded, unmirrored: mirrored.ignored, kustomization };
}

/** The workload objects of install.yaml whose pod template runs `image` (name without tag or digest). */
function workloadsOf(installYaml: Buffer | undefined, image: string): { kind: string; name: string; namespace: string | null }[] {
  if (installYaml === undefined) return [];
  const out: { kind: string; name: string; namespace: string | null }[] = [];
  for (const doc of parseAllDocuments(installYaml.toString('utf8'))) {
    const o = doc.toJSON() as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } | null;
    if (!o || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') continue;
    if (!JSON.stringify(o).includes(`"${image}:`) && !JSON.stringify(o).includes(`"${image}@`)) continue;
    out.push({ kind: o.kind, name: o.metadata.name, namespace: typeof o.metadata.namespace === 'string' ? o.metadata.namespace : null });
  }
  return out;
}

function apiVersionOf(kind: string): string {
  return ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(kind) ? 'apps/v1' : kind === 'Job' || kind === 'CronJob' ? 'batch/v1' : 'v1';
}

function renderKustomization(input: FluxInstallInput, images: PinnedImage[], excluded: FluxInstallResult['excluded']): string {
  const patches: Record<string, unknown>[] = [];
  for (const e of excluded) {
    for (const o of e.objects) {
      const meta: Record<string, string> = { name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}) };
      patches.push({ patch: stringify({ $patch: 'delete', apiVersion: apiVersionOf(o.kind), kind: o.kind, metadata: meta }) });
    }
  }
  if (input.imagePullSecret !== undefined) {
    patches.push({
      target: { kind: 'Deployment' },
      patch: stringify([{ op: 'add', path: '/spec/template/spec/imagePullSecrets', value: [{ name: input.imagePullSecret }] }]),
    });
  }
  const doc = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: ['install.yaml'],
    images: images.map((i) => ({ name: i.upstream, newName: `${input.registry}/${i.name}`, digest: i.digest })),
    ...(patches.length > 0 ? { patches } : {}),
  };
  const m = input.mirrored;
  const lines = [
    `Flux ${m.release} from the airlock mirror ${m.target}, every controller pinned by the digest airlock verified`,
    `(flux2#5843): \`kubectl apply -k .\` (or \`kubectl kustomize .\`). install.yaml is the release's, verified against`,
    `its signed checksums and read from the release artifact ${m.artifact.digest}.`,
    ...images.map((i) => `  ${i.name} ${i.tag} -> ${i.reference}`),
    ...excluded.map((e) => `  ${e.name}: left out (${e.objects.map((o) => `${o.kind}/${o.name}`).join(', ') || 'no workload found'} deleted by a patch)`),
    ...m.ignored.map((i) => `  NOT mirrored (outside the canonical prefix; pulled from where it points): ${i}`),
  ];
  return `${lines.map((l) => `# ${l}`).join('\n')}\n${stringify(doc, { lineWidth: 0 })}`;
}

/** Writes install.yaml and kustomization.yaml into `dir`, each through a temporary file renamed into place. */
export async function writeKustomization(dir: string, result: FluxInstallResult, installYaml: Buffer): Promise<string> {
  const target = resolve(dir);
  await mkdir(target, { recursive: true });
  const tmp = await mkdtemp(join(target, '.airlock-'));
  try {
    await writeFile(join(tmp, 'install.yaml'), installYaml, { mode: 0o644 });
    await writeFile(join(tmp, 'kustomization.yaml'), result.kustomization, { mode: 0o644 });
    await rename(join(tmp, 'install.yaml'), join(target, 'install.yaml'));
    await rename(join(tmp, 'kustomization.yaml'), join(target, 'kustomization.yaml'));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return target;
}
