/** Reference parsing: parse∘format round-trips valid references; on any string it returns or throws BAD_INPUT. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { formatReference, parseReference, parseRegistryReference } from '../../src/oci/reference.js';
import { params } from './fc-settings.js';

const alnum = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const component = fc.tuple(alnum, fc.array(fc.tuple(fc.constantFrom('.', '_', '__', '-', '--'), alnum), { maxLength: 2 })).map(([a, rest]) => a + rest.map(([s, b]) => s + b).join(''));
const repository = fc.array(component, { minLength: 2, maxLength: 4 }).map((cs) => cs.join('/'));
const host = fc.oneof(
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/), fc.constantFrom('io', 'example', 'internal')).map(([a, b]) => `${a}.${b}`),
  fc.integer({ min: 1, max: 65535 }).map((p) => `127.0.0.1:${p}`),
  fc.integer({ min: 1, max: 65535 }).map((p) => `localhost:${p}`),
);
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}$/);
const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`);

function rejectsOnlyWithBadInput(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AirlockError);
    expect((e as AirlockError).code).toBe('BAD_INPUT');
    // One line, whatever the input held: control characters are shown escaped (upstream names references too).
    // eslint-disable-next-line no-control-regex
    expect((e as AirlockError).message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  }
}

describe('reference parsing (property)', () => {
  it('round-trips every valid registry reference: format(parse(s)) === s and parse(format(r)) equals r', () => {
    fc.assert(
      fc.property(host, repository, fc.option(tag, { nil: undefined }), fc.option(digest, { nil: undefined }), (h, repo, t, d) => {
        const s = `${h}/${repo}${t !== undefined ? `:${t}` : ''}${d !== undefined ? `@${d}` : ''}`;
        const ref = parseRegistryReference(s, { requireTagOrDigest: false });
        expect(ref).toEqual({ kind: 'registry', registry: h, repository: repo, ...(t !== undefined ? { tag: t } : {}), ...(d !== undefined ? { digest: d } : {}) });
        expect(formatReference(ref)).toBe(s);
        expect(parseReference(formatReference(ref))).toEqual(t === undefined && d === undefined ? { ...ref, tag: 'latest' } : ref);
      }),
      params(),
    );
  });

  it('round-trips oci: and oci-archive: references', () => {
    const path = fc.stringMatching(/^[A-Za-z0-9_./-]{1,40}$/);
    fc.assert(
      fc.property(fc.constantFrom('oci', 'oci-archive'), path, fc.option(tag, { nil: undefined }), fc.option(digest, { nil: undefined }), (kind, p, t, d) => {
        const s = `${kind}:${p}${t !== undefined ? `:${t}` : ''}${d !== undefined ? `@${d}` : ''}`;
        const ref = parseReference(s);
        expect(ref).toMatchObject({ kind, path: p });
        expect(formatReference(ref)).toBe(s);
        expect(parseReference(formatReference(ref))).toEqual(ref);
      }),
      params(),
    );
  });

  it('on any string: a reference or one BAD_INPUT sentence, never another exception', () => {
    const hostileChars = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '/', ':', '@', '.', '-', '_', ' ', '\n', '\u001b', '[', ']', '%', '?', '#', 'é', '\u0000'), maxLength: 60 });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 80 }), hostileChars), (s) => {
        rejectsOnlyWithBadInput(() => {
          const ref = parseReference(s);
          // Whatever is accepted formats back to something that parses to the same reference.
          expect(parseReference(formatReference(ref))).toEqual(ref);
        });
      }),
      params(),
    );
  });

  it('on any string around a valid reference (prefix/suffix garbage): a reference or BAD_INPUT', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 10 }), host, repository, tag, fc.string({ maxLength: 10 }), (pre, h, r, t, post) => {
        rejectsOnlyWithBadInput(() => parseReference(`${pre}${h}/${r}:${t}${post}`));
      }),
      params(),
    );
  });
});
