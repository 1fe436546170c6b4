import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, isCanonicalJson, serializeNumber } from '../../src/ledger/canonical.js';

/** A double from its IEEE 754 bit pattern, as RFC 8785 Appendix B lists them. */
function fromBits(hex: string): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, BigInt(`0x${hex}`));
  return dv.getFloat64(0);
}

describe('RFC 8785 canonical JSON', () => {
  it('formats numbers as RFC 8785 Appendix B does', () => {
    const table: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'], // -0
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, want] of table) expect(serializeNumber(fromBits(bits)), bits).toBe(want);
  });

  it('refuses NaN and the infinities', () => {
    for (const bits of ['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000']) {
      expect(() => canonicalize(fromBits(bits))).toThrow(/not a JSON number/);
    }
  });

  it('reproduces the RFC 8785 §3.2.2 example byte for byte', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalize(input)).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });

  it('sorts member names by UTF-16 code units (RFC 8785 §3.2.3), not by code points or locale', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const values = Object.values(JSON.parse(canonicalize(input)) as Record<string, string>);
    // JSON.parse re-orders the integer-like key "1" first; read the order from the text instead.
    const text = canonicalize(input);
    const order = ['Carriage Return', 'One', 'Control', 'Latin Small Letter O With Diaeresis', 'Euro Sign', 'Emoji: Grinning Face', 'Hebrew Letter Dalet With Dagesh'];
    const positions = order.map((v) => text.indexOf(v));
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(values).toHaveLength(7);
    // The emoji (a surrogate pair, U+D83D…) sorts before U+FB33 in UTF-16 although its code point is larger.
    expect(text.indexOf('Emoji')).toBeLessThan(text.indexOf('Hebrew'));
  });

  it('escapes only quote, backslash and C0 controls, with lowercase hex', () => {
    expect(canonicalize('a"b\\c\u0000\u001f\u007f\u2028é\b\f\n\r\t')).toBe('"a\\"b\\\\c\\u0000\\u001f\u007f\u2028é\\b\\f\\n\\r\\t"');
    expect(canonicalize('/')).toBe('"/"');
  });

  it('refuses lone surrogates, non-plain objects, undefined in arrays and runaway nesting', () => {
    expect(() => canonicalize('\ud800')).toThrow(/surrogate/);
    expect(() => canonicalize('x\udc00')).toThrow(/surrogate/);
    expect(() => canonicalize({ d: new Date(0) })).toThrow(/plain objects/);
    expect(() => canonicalize([1, undefined])).toThrow(/undefined/);
    expect(() => canonicalize(10n)).toThrow(/bigint/);
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(() => canonicalize(deep)).toThrow(/deeper/);
  });

  it('omits undefined members, keeps array order, sorts nested objects', () => {
    expect(canonicalize({ b: [3, 1, { z: 1, a: null }], a: undefined, c: true })).toBe('{"b":[3,1,{"a":null,"z":1}],"c":true}');
    expect(canonicalize(Object.assign(Object.create(null) as object, { b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
  });

  it('is idempotent and recognises its own output as canonical', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const c = canonicalize(v);
        expect(canonicalize(JSON.parse(c))).toBe(c);
        expect(isCanonicalJson(c)).toBe(true);
      }),
      { numRuns: 300 },
    );
    expect(isCanonicalJson('{"b":1,"a":2}')).toBe(false);
    expect(isCanonicalJson('{"a": 2}')).toBe(false);
    expect(isCanonicalJson('{"a":2.0}')).toBe(false);
    expect(isCanonicalJson('{"a":1,"a":1}')).toBe(false);
  });

  it('orders integer-like and __proto__ member names like any other (the fast path hands those to the serializer)', () => {
    const parsed = JSON.parse('{"b":1,"10":2,"9":3,"__proto__":{"x":1},"01":4,"4294967295":5,"4294967294":6,"-1":7}') as object;
    expect(canonicalize(parsed)).toBe('{"-1":7,"01":4,"10":2,"4294967294":6,"4294967295":5,"9":3,"__proto__":{"x":1},"b":1}');
    expect(canonicalize({ a: [{ 2: 'x', 10: 'y' }] })).toBe('{"a":[{"10":"y","2":"x"}]}');
  });

  // An independent implementation (the `canonicalize` package, a devDependency) as an oracle.
  const require = createRequire(import.meta.url);
  const oracle = require('canonicalize') as (v: unknown) => string;
  it('agrees with an independent RFC 8785 implementation on random JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalize(v)).toBe(oracle(v));
      }),
      { numRuns: 500 },
    );
    const names = fc.oneof(fc.constantFrom('0', '1', '9', '10', '01', '-1', '1.5', '4294967294', '4294967295', '__proto__', 'a'), fc.string());
    fc.assert(
      fc.property(fc.dictionary(names, fc.jsonValue()), (v) => {
        expect(canonicalize(v)).toBe(oracle(v));
      }),
      { numRuns: 300 },
    );
  });
});
