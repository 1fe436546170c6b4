import { describe, expect, it } from 'vitest';
import { sha256Digest } from '../../src/oci/digest.js';
import type { Descriptor } from '../../src/oci/manifest.js';
import { MediaTypes } from '../../src/oci/mediatypes.js';
import { addUntagged, dropUntaggedChildren, REF_NAME, removeReference, setTag, tagOf, tagsOf } from '../../src/store/layout/tags.js';

const d = (s: string, mediaType: string = MediaTypes.ociManifest): Descriptor => ({ mediaType, digest: sha256Digest(s), size: s.length });

describe('layout tags (index.json entries)', () => {
  it('re-tagging replaces the entry: one entry per tag', () => {
    let e = setTag([], d('a'), 'v1');
    e = setTag(e, d('b'), 'v1');
    expect(e).toHaveLength(1);
    expect(e[0]?.digest).toBe(d('b').digest);
    expect(e[0]?.annotations).toEqual({ [REF_NAME]: 'v1' });
  });

  it('keeps several tags on one digest, and sorts tagged entries by tag then untagged by digest', () => {
    let e = addUntagged([], d('z'));
    e = setTag(e, d('a'), 'latest');
    e = setTag(e, d('a'), 'v1');
    e = addUntagged(e, d('y'));
    expect(e.map((x) => tagOf(x) ?? x.digest)).toEqual(['latest', 'v1', ...[d('y').digest, d('z').digest].sort()]);
  });

  it('the same pushes in any order give the same entries', () => {
    const ops = [(x: Descriptor[]) => setTag(x, d('a'), 'v1'), (x: Descriptor[]) => setTag(x, d('b'), 'v2'), (x: Descriptor[]) => addUntagged(x, d('c'))];
    const forward = ops.reduce((acc, op) => op(acc), [] as Descriptor[]);
    const backward = [...ops].reverse().reduce((acc, op) => op(acc), [] as Descriptor[]);
    expect(backward).toEqual(forward);
  });

  it('an untagged manifest is recorded once, not when already tagged, and its entry goes when it is tagged', () => {
    let e = addUntagged([], d('sig'));
    e = addUntagged(e, d('sig'));
    expect(e).toHaveLength(1);
    e = setTag(e, d('sig'), 'sha256-abc.sig');
    expect(e).toHaveLength(1);
    expect(tagOf(e[0]!)).toBe('sha256-abc.sig');
    expect(addUntagged(e, d('sig'))).toHaveLength(1);
  });

  it('drops untagged children once an index lists them, never tagged ones', () => {
    let e = addUntagged([], d('child1'));
    e = addUntagged(e, d('child2'));
    e = setTag(e, d('child2'), 'kept');
    e = dropUntaggedChildren(e, [d('child1').digest, d('child2').digest]);
    expect(e.map(tagOf)).toEqual(['kept']);
  });

  it('removes a tag or every entry of a digest', () => {
    let e = setTag([], d('a'), 'v1');
    e = setTag(e, d('a'), 'v2');
    e = setTag(e, d('b'), 'v3');
    expect(tagsOf(removeReference(e, 'v1'))).toEqual(['v2', 'v3']);
    expect(tagsOf(removeReference(e, d('a').digest))).toEqual(['v3']);
  });

  it('lists only valid tags, skipping foreign ref.name values that are full references', () => {
    const foreign: Descriptor = { ...d('x'), annotations: { [REF_NAME]: 'docker.io/library/alpine:3.19' } };
    expect(tagsOf([foreign, ...setTag([], d('a'), 'v1')])).toEqual(['v1']);
  });
});
