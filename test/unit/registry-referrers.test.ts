import { describe, expect, it } from 'vitest';
import { sha256Digest } from '../../src/oci/digest.js';
import { MediaTypes } from '../../src/oci/mediatypes.js';
import { filterApplied, matchesArtifactType } from '../../src/store/registry/referrers.js';

const d = (artifactType?: string) => ({ mediaType: MediaTypes.ociManifest, digest: sha256Digest('x'), size: 1, ...(artifactType ? { artifactType } : {}) });

describe('matchesArtifactType', () => {
  it('keeps exact matches, untyped entries and empty-typed entries (cosign#4641)', () => {
    expect(matchesArtifactType(d('a/b'), 'a/b')).toBe(true);
    expect(matchesArtifactType(d('c/d'), 'a/b')).toBe(false);
    expect(matchesArtifactType(d(MediaTypes.ociEmpty), 'a/b')).toBe(true);
    expect(matchesArtifactType(d(), 'a/b')).toBe(true);
    expect(matchesArtifactType(d('c/d'), undefined)).toBe(true);
  });
});

describe('filterApplied', () => {
  it('reads OCI-Filters-Applied', () => {
    expect(filterApplied(new Response('', { headers: { 'OCI-Filters-Applied': 'artifactType' } }))).toBe(true);
    expect(filterApplied(new Response('', { headers: { 'OCI-Filters-Applied': 'annotation, artifactType' } }))).toBe(true);
    expect(filterApplied(new Response('', { headers: { 'OCI-Filters-Applied': 'annotation' } }))).toBe(false);
    expect(filterApplied(new Response(''))).toBe(false);
  });
});
