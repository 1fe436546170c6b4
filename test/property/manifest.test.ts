/** Manifest and index parsing: arbitrary JSON or bytes give a typed manifest or INTEGRITY, never another exception. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { childrenOf, parseManifest, type Descriptor } from '../../src/oci/manifest.js';
import { MediaTypes } from '../../src/oci/mediatypes.js';
import { params } from './fc-settings.js';

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`);
const annotations = fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }), { maxKeys: 3 });
const descriptor: fc.Arbitrary<Descriptor> = fc.record(
  {
    mediaType: fc.constantFrom(MediaTypes.ociLayerTarGzip, MediaTypes.ociManifest, 'application/vnd.oci.image.config.v1+json', 'application/x-thing'),
    digest,
    size: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    annotations,
    urls: fc.array(fc.webUrl(), { maxLength: 2 }),
  },
  { requiredKeys: ['mediaType', 'digest', 'size'] },
) as fc.Arbitrary<Descriptor>;
const imageManifest = fc.record({ schemaVersion: fc.constant(2), mediaType: fc.constant(MediaTypes.ociManifest), config: descriptor, layers: fc.array(descriptor, { maxLength: 6 }), annotations }, { requiredKeys: ['schemaVersion', 'config', 'layers'] });
const index = fc.record({ schemaVersion: fc.constant(2), mediaType: fc.constant(MediaTypes.ociIndex), manifests: fc.array(descriptor, { maxLength: 6 }), annotations }, { requiredKeys: ['schemaVersion', 'manifests'] });

function parsesOrIntegrity(bytes: Uint8Array, mediaType?: string): ReturnType<typeof parseManifest> | undefined {
  try {
    return parseManifest(bytes, mediaType);
  } catch (e) {
    expect(e).toBeInstanceOf(AirlockError);
    expect((e as AirlockError).code).toBe('INTEGRITY');
    expect((e as AirlockError).message).not.toMatch(/\n/);
    return undefined;
  }
}

describe('manifest and index parsing (property)', () => {
  it('valid generated manifests and indexes parse to their kind with exactly their descriptors as children', () => {
    fc.assert(
      fc.property(fc.oneof(imageManifest, index), fc.boolean(), (doc, withType) => {
        const isIndex = 'manifests' in doc;
        const p = parseManifest(enc(doc), withType ? (isIndex ? MediaTypes.ociIndex : MediaTypes.ociManifest) : undefined);
        expect(p.kind).toBe(isIndex ? 'index' : 'manifest');
        const expected = isIndex ? (doc as { manifests: Descriptor[] }).manifests : [(doc as { config: Descriptor }).config, ...(doc as { layers: Descriptor[] }).layers];
        expect(childrenOf(p)).toEqual(expected);
        // What is parsed is the document itself: serialising it again gives the same JSON.
        expect(JSON.stringify(isIndex && p.kind === 'index' ? p.index : p.kind === 'manifest' ? p.manifest : null)).toBe(JSON.stringify(doc));
      }),
      params(),
    );
  });

  it('arbitrary JSON and bytes: a typed manifest whose children are valid descriptors, or INTEGRITY', () => {
    const json = fc.oneof(fc.jsonValue(), fc.record({ schemaVersion: fc.oneof(fc.constant(2), fc.jsonValue()), mediaType: fc.oneof(fc.constant(MediaTypes.ociIndex), fc.string()), manifests: fc.jsonValue(), config: fc.jsonValue(), layers: fc.jsonValue(), subject: fc.jsonValue() }, { requiredKeys: [] }));
    fc.assert(
      fc.property(fc.oneof(json.map(enc), fc.uint8Array({ maxLength: 200 })), fc.option(fc.constantFrom(MediaTypes.ociIndex, MediaTypes.ociManifest, 'application/json'), { nil: undefined }), (bytes, mt) => {
        const p = parsesOrIntegrity(bytes, mt);
        if (p) {
          for (const d of childrenOf(p)) {
            expect(d.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
            expect(Number.isSafeInteger(d.size) && d.size >= 0).toBe(true);
          }
        }
      }),
      params(),
    );
  });

  it('a valid manifest with one field replaced by arbitrary JSON: still valid, or INTEGRITY', () => {
    const fields = ['schemaVersion', 'mediaType', 'config', 'layers', 'manifests', 'subject', 'annotations'];
    fc.assert(
      fc.property(fc.oneof(imageManifest, index), fc.constantFrom(...fields), fc.jsonValue(), fc.nat(5), (doc, field, value, at) => {
        const mutated: Record<string, unknown> = { ...(doc as Record<string, unknown>) };
        const list = (mutated.layers ?? mutated.manifests) as unknown[] | undefined;
        if (field === 'layers' && Array.isArray(list) && list.length > 0) {
          const copy = [...list];
          copy[at % copy.length] = value;
          mutated[mutated.layers ? 'layers' : 'manifests'] = copy;
        } else mutated[field] = value;
        parsesOrIntegrity(enc(mutated));
      }),
      params(),
    );
  });
});
