import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors.js';
import { formatReference, parseReference, parseRegistryReference } from '../../src/oci/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it('parses registry references with port, tag and digest', () => {
    expect(parseReference(`127.0.0.1:5000/fluxcd/source-controller:v1.9.4@${D}`)).toEqual({
      kind: 'registry',
      registry: '127.0.0.1:5000',
      repository: 'fluxcd/source-controller',
      tag: 'v1.9.4',
      digest: D,
    });
    expect(parseReference('ghcr.io/fluxcd/flux-cli:v2.9.4')).toMatchObject({ registry: 'ghcr.io', repository: 'fluxcd/flux-cli', tag: 'v2.9.4' });
  });

  it('normalises Docker Hub names like docker does', () => {
    expect(parseReference('alpine')).toMatchObject({ registry: 'docker.io', repository: 'library/alpine', tag: 'latest' });
    expect(parseReference('fluxcd/flux-cli:v2')).toMatchObject({ registry: 'docker.io', repository: 'fluxcd/flux-cli' });
    expect(parseReference('localhost/x:1')).toMatchObject({ registry: 'localhost', repository: 'x' });
  });

  it('parses layout references in skopeo spelling', () => {
    expect(parseReference('oci:./mirror/source-controller:v1')).toEqual({ kind: 'oci', path: './mirror/source-controller', tag: 'v1' });
    expect(parseReference('oci:/tmp/x')).toEqual({ kind: 'oci', path: '/tmp/x' });
    expect(parseReference(`oci-archive:/tmp/a.tar@${D}`)).toEqual({ kind: 'oci-archive', path: '/tmp/a.tar', digest: D });
  });

  it('accepts a bare repository as a prefix when asked', () => {
    expect(parseRegistryReference('registry.internal/fluxcd', { requireTagOrDigest: false })).toEqual({
      kind: 'registry',
      registry: 'registry.internal',
      repository: 'fluxcd',
    });
  });

  it.each([
    ['', 'empty'],
    ['Foo/Bar:1', 'uppercase repository'],
    ['ghcr.io/fluxcd/x:bad tag', 'space'],
    ['https://ghcr.io/fluxcd/x', 'URL scheme'],
    ['ghcr.io/fluxcd/x@sha256:abc', 'short digest'],
    ['ghcr.io/fluxcd/x:-bad', 'tag starting with dash'],
    ['ghcr.io/../x:1', 'dot-dot path component'],
    ['docker-archive:/x.tar', 'unsupported transport'],
    ['oci::tag', 'empty layout path'],
  ])('refuses %j (%s) with BAD_INPUT', (input) => {
    try {
      parseReference(input);
      expect.unreachable('should have thrown');
    } catch (e) {
      expect(isAirlockError(e, 'BAD_INPUT')).toBe(true);
      expect((e as Error).message).toMatch(/not a valid reference/);
    }
  });

  it('round-trips through formatReference', () => {
    for (const s of [`127.0.0.1:5000/a/b:c@${D}`, 'oci:/x/y:t', 'oci-archive:f.tar:t']) {
      expect(formatReference(parseReference(s))).toBe(s);
    }
  });
});
