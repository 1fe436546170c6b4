/** The ledger's canonical JSON against an independent RFC 8785 implementation (`canonicalize`), and its own laws. */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, CanonicalJsonError, isCanonicalJson } from '../../src/ledger/canonical.js';
import { params } from './fc-settings.js';

const oracle = createRequire(import.meta.url)('canonicalize') as (v: unknown) => string;
const names = fc.oneof(fc.constantFrom('0', '1', '9', '10', '01', '-1', '1.5', '4294967294', '4294967295', '__proto__', 'a', 'é', '\u0000', '\ud83d\ude00'), fc.string());
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.string({ unit: 'grapheme-composite' }),
    fc.string({ unit: 'binary' }).filter((s) => (s as string & { isWellFormed(): boolean }).isWellFormed()),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(names, tie('value'), { maxKeys: 5 }),
  ),
})).value;

describe('canonical JSON (property)', () => {
  it('equals the RFC 8785 reference implementation on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.oneof(json, fc.jsonValue()), (v) => {
        expect(canonicalize(v)).toBe(oracle(v));
      }),
      params(),
    );
  });

  it('is idempotent, parses back to an equal value, and is recognised as canonical', () => {
    fc.assert(
      fc.property(json, (v) => {
        const c = canonicalize(v);
        const back = JSON.parse(c) as unknown;
        expect(canonicalize(back)).toBe(c);
        expect(isCanonicalJson(c)).toBe(true);
        expect(back).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      params(),
    );
  });

  it('does not depend on member order', () => {
    fc.assert(
      fc.property(fc.dictionary(names, json, { maxKeys: 8 }), fc.nat(), (o, seed) => {
        const keys = Object.keys(o);
        const shuffled: Record<string, unknown> = {};
        for (let i = 0; i < keys.length; i++) {
          const k = keys[(i + seed) % keys.length]!;
          Object.defineProperty(shuffled, k, { value: o[k], enumerable: true, writable: true, configurable: true });
        }
        expect(canonicalize(shuffled)).toBe(canonicalize(o));
      }),
      params(),
    );
  });

  it('refuses non-I-JSON values (non-finite numbers, lone surrogates, non-plain objects) with CanonicalJsonError only', () => {
    const bad = fc.oneof(
      fc.constantFrom(Number.NaN, Infinity, -Infinity, '\ud800', 'a\udc00b', new Date(0), new Map(), 1n, () => 1, Symbol('x')),
      fc.constantFrom(Number.NaN, '\ud800', new Date(0)).chain((x) => fc.constantFrom([x], { k: x }, { a: [{ b: x }] })),
    );
    fc.assert(
      fc.property(bad, (v) => {
        expect(() => canonicalize(v)).toThrow(CanonicalJsonError);
      }),
      params(0.25),
    );
  });
});
