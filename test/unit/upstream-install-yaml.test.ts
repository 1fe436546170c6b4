/**
 * src/upstream/install-yaml.ts: the images a release deploys, read from install.yaml — never from a hard-coded
 * list. Hostile cases name the check that stops them.
 */
import { describe, expect, it } from 'vitest';
import { imagesFromInstallYaml, toCanonicalPrefix } from '../../src/upstream/install-yaml.js';
import { reasonOf } from '../support/errors.js';

const prefix = 'ghcr.io/fluxcd';
const D = `sha256:${'d'.repeat(64)}`;

function deployment(name: string, image: string, extra = ''): string {
  return `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: flux-system
spec:
  template:
    spec:
      containers:
      - name: manager
        image: ${image}
        args: ["--log-level=info"]
${extra}`;
}

const CRD = `---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: imagepolicies.image.toolkit.fluxcd.io
spec:
  versions:
  - name: v1
    schema:
      openAPIV3Schema:
        properties:
          image:
            description: "image: not a reference, a schema"
            type: string
`;

/** A Flux-shaped install.yaml: seven controllers with their own versions, plus a CRD whose schema has an `image` key. */
const FLUX_INSTALL_YAML = [
  '# Flux version: v2.9.4',
  CRD,
  deployment('source-controller', 'ghcr.io/fluxcd/source-controller:v1.9.4'),
  deployment('kustomize-controller', 'ghcr.io/fluxcd/kustomize-controller:v1.9.2'),
  deployment('helm-controller', 'ghcr.io/fluxcd/helm-controller:v1.6.3'),
  deployment('notification-controller', 'ghcr.io/fluxcd/notification-controller:v1.9.0'),
  deployment('image-reflector-controller', 'ghcr.io/fluxcd/image-reflector-controller:v1.1.1'),
  deployment('image-automation-controller', 'ghcr.io/fluxcd/image-automation-controller:v1.1.2'),
  deployment('source-watcher', 'ghcr.io/fluxcd/source-watcher:v2.2.3'),
].join('\n');

describe('imagesFromInstallYaml', () => {
  it('extracts every controller image under the prefix with its own version', () => {
    const r = imagesFromInstallYaml(Buffer.from(FLUX_INSTALL_YAML), { canonicalPrefix: prefix });
    expect(r.images.map((i) => `${i.name}:${i.tag}`)).toEqual([
      'source-controller:v1.9.4',
      'kustomize-controller:v1.9.2',
      'helm-controller:v1.6.3',
      'notification-controller:v1.9.0',
      'image-reflector-controller:v1.1.1',
      'image-automation-controller:v1.1.2',
      'source-watcher:v2.2.3',
    ]);
    expect(r.images[0]).toEqual({ name: 'source-controller', tag: 'v1.9.4', digest: undefined, reference: 'ghcr.io/fluxcd/source-controller:v1.9.4' });
    expect(r.ignored).toEqual([]);
  });

  it('finds images in initContainers, ephemeral containers and any other kind, and keeps a pinned digest', () => {
    const yaml = `${deployment('a', 'ghcr.io/fluxcd/a:v1', `      initContainers:\n      - name: init\n        image: ghcr.io/fluxcd/init:v2@${D}\n`)}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: x, image: "ghcr.io/fluxcd/cron:v3"}]}}}}}
`;
    const r = imagesFromInstallYaml(yaml, { canonicalPrefix: prefix });
    expect(r.images.map((i) => i.reference)).toEqual(['ghcr.io/fluxcd/a:v1', `ghcr.io/fluxcd/init:v2@${D}`, 'ghcr.io/fluxcd/cron:v3']);
    expect(r.images[1]!.digest).toBe(D);
  });

  it('reports images outside the canonical prefix as ignored, never as images', () => {
    const yaml = [
      deployment('a', 'ghcr.io/fluxcd/source-controller:v1.9.4'),
      deployment('b', 'docker.io/evil/miner:latest'),
      deployment('c', 'ghcr.io/fluxcd-evil/source-controller:v1.9.4'),
      deployment('d', 'fluxcd/source-controller:v1.9.4'),
      deployment('e', 'ghcr.io/other/fluxcd/x:v1'),
      deployment('f', 'docker.io/evil/miner:latest'),
    ].join('\n');
    const r = imagesFromInstallYaml(yaml, { canonicalPrefix: prefix });
    expect(r.images.map((i) => i.name)).toEqual(['source-controller']);
    expect(r.ignored).toEqual([
      { image: 'docker.io/evil/miner:latest', reason: 'outside-prefix' },
      { image: 'ghcr.io/fluxcd-evil/source-controller:v1.9.4', reason: 'outside-prefix' },
      { image: 'fluxcd/source-controller:v1.9.4', reason: 'outside-prefix' },
      { image: 'ghcr.io/other/fluxcd/x:v1', reason: 'outside-prefix' },
    ]);
  });

  it('lists an image used twice once', () => {
    const r = imagesFromInstallYaml([deployment('a', 'ghcr.io/fluxcd/x:v1'), deployment('b', 'ghcr.io/fluxcd/x:v1')].join('\n'), { canonicalPrefix: prefix });
    expect(r.images).toHaveLength(1);
  });

  it('matches the registry case-insensitively (host names are)', () => {
    expect(imagesFromInstallYaml(deployment('a', 'GHCR.IO/fluxcd/x:v1'), { canonicalPrefix: prefix }).images[0]!.reference).toBe('ghcr.io/fluxcd/x:v1');
  });

  describe('refusals', () => {
    for (const [check, image] of [
      ['image-digest-malformed', 'ghcr.io/fluxcd/x:v1@sha256:1234'],
      ['image-digest-malformed', `ghcr.io/fluxcd/x@md5:${'d'.repeat(32)}`],
      ['image-tag-invalid', 'ghcr.io/fluxcd/x:-v1'],
      ['image-tag-invalid', `ghcr.io/fluxcd/x:${'v'.repeat(129)}`],
      ['image-name-dotdot', 'ghcr.io/fluxcd/../evil/x:v1'],
      ['image-name-dotdot', 'ghcr.io/fluxcd/x..y:v1'],
      ['image-name-nested', 'ghcr.io/fluxcd/sub/x:v1'],
      ['image-tag-missing', `ghcr.io/fluxcd/x@${D}`],
      ['image-tag-missing', 'ghcr.io/fluxcd/x'],
      ['image-reference-malformed', 'ghcr.io/fluxcd/X_Upper:v1'],
      ['image-tag-invalid', '"ghcr.io/fluxcd/x:v1 --privileged"'],
      ['image-reference-malformed', '"ghcr.io/flux cd/x:v1"'],
      ['image-reference-malformed', 'https://ghcr.io/fluxcd/x:v1'],
    ] as const) {
      it(`refuses ${image.slice(0, 50)} (${check})`, () => {
        expect(reasonOf(() => imagesFromInstallYaml(deployment('a', image), { canonicalPrefix: prefix }))).toBe(check);
      });
    }

    it('refuses YAML that does not parse, or repeats a key (install-yaml-malformed)', () => {
      expect(reasonOf(() => imagesFromInstallYaml('a: [1, 2\nb: {', { canonicalPrefix: prefix }))).toBe('install-yaml-malformed');
      expect(reasonOf(() => imagesFromInstallYaml('image: ghcr.io/fluxcd/a:v1\nimage: ghcr.io/fluxcd/b:v1\n', { canonicalPrefix: prefix }))).toBe('install-yaml-malformed');
      expect(reasonOf(() => imagesFromInstallYaml(Buffer.from([0x61, 0x3a, 0x20, 0xff]), { canonicalPrefix: prefix }))).toBe('install-yaml-malformed');
    });

    it('refuses an alias bomb (install-yaml-malformed) instead of expanding it', () => {
      const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
      for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
      expect(reasonOf(() => imagesFromInstallYaml(lines.join('\n'), { canonicalPrefix: prefix }))).toBe('install-yaml-malformed');
    });

    it('refuses deep nesting (install-yaml-malformed)', () => {
      expect(reasonOf(() => imagesFromInstallYaml(`${'['.repeat(5000)}${']'.repeat(5000)}`, { canonicalPrefix: prefix }))).toBe('install-yaml-malformed');
    });

    it('refuses an oversized file before parsing it (install-yaml-too-large)', () => {
      expect(reasonOf(() => imagesFromInstallYaml('x'.repeat(2000), { canonicalPrefix: prefix, maxBytes: 1000 }))).toBe('install-yaml-too-large');
    });
  });

  it('ignores non-string image values (CRD schemas) and accepts an empty stream', () => {
    expect(imagesFromInstallYaml(CRD, { canonicalPrefix: prefix })).toEqual({ images: [], ignored: [] });
    expect(imagesFromInstallYaml('', { canonicalPrefix: prefix })).toEqual({ images: [], ignored: [] });
  });
});

describe('toCanonicalPrefix', () => {
  it('accepts registry/path and refuses tags, digests and bare names', () => {
    expect(toCanonicalPrefix('ghcr.io/fluxcd')).toEqual({ registry: 'ghcr.io', repository: 'fluxcd' });
    expect(toCanonicalPrefix('registry.internal:5000/mirror/fluxcd')).toEqual({ registry: 'registry.internal:5000', repository: 'mirror/fluxcd' });
    for (const bad of ['ghcr.io/fluxcd:v1', `ghcr.io/fluxcd@${D}`, 'fluxcd', '', 'ghcr.io/Flux']) {
      expect(() => toCanonicalPrefix(bad)).toThrow(/canonical image prefix/);
    }
  });
});
