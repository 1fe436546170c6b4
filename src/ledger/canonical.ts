/**
 * RFC 8785 JSON Canonicalization Scheme (JCS), written for the ledger: every leaf of the Merkle tree is the
 * canonical JSON of one stored row, so the same row must always produce the same bytes, on any machine and in
 * any later version of airlock. An auditor reproduces these bytes with any JCS implementation.
 *
 * Only I-JSON values are accepted (RFC 7493): finite numbers, well-formed UTF-16 strings (no lone surrogates),
 * plain objects and arrays. Anything else throws instead of being silently coerced, because a value that
 * canonicalises "somehow" is a value two implementations may disagree on.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Deeper nesting than this is refused: bodies are small records, and recursion on hostile input must stay bounded. */
export const MAX_DEPTH = 64;

export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

/** The RFC 8785 serialisation of `value`. Object members whose value is `undefined` are omitted, as JSON.stringify does. */
export function canonicalize(value: unknown): string {
  // Fast path: check the value and copy it with every object's members in RFC 8785 order, then let
  // JSON.stringify write it — for I-JSON values it writes exactly RFC 8785's bytes (same number formatting, same
  // escapes). It cannot keep the order of integer-like member names (ECMAScript lists those first, ascending), so
  // a value with one is written by the serializer below instead; the two are tested against each other.
  try {
    return JSON.stringify(sortedCopy(value, 0));
  } catch (e) {
    if (e === SLOW_PATH) return serialize(value, 0);
    throw e;
  }
}

const SLOW_PATH = new Error('an integer-like or __proto__ member name');

function isWellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}

/** A member name whose place in an object ECMAScript decides (array indices first), or that assignment would not create. */
function reordered(k: string): boolean {
  const c = k.charCodeAt(0);
  return (c >= 0x30 && c <= 0x39 && /^(0|[1-9]\d{0,9})$/.test(k) && Number(k) < 4294967295) || k === '__proto__';
}

function sortedCopy(v: unknown, depth: number): unknown {
  if (v === null) return v;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      if (!Number.isFinite(v)) throw new CanonicalJsonError(`${v} is not a JSON number`);
      return v;
    case 'string':
      if (!isWellFormed(v)) throw new CanonicalJsonError('a string holds a lone UTF-16 surrogate');
      return v;
    case 'object': {
      if (depth >= MAX_DEPTH) throw new CanonicalJsonError(`JSON nested deeper than ${MAX_DEPTH} levels`);
      if (Array.isArray(v)) {
        const out = new Array<unknown>(v.length);
        for (let i = 0; i < v.length; i++) {
          if (!(i in v) || v[i] === undefined) throw new CanonicalJsonError('an array holds undefined');
          out[i] = sortedCopy(v[i], depth + 1);
        }
        return out;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new CanonicalJsonError('only plain objects are JSON objects (not Dates, Maps, Buffers or class instances)');
      }
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o).sort();
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const x = o[k];
        if (x === undefined) continue;
        if (!isWellFormed(k)) throw new CanonicalJsonError('a string holds a lone UTF-16 surrogate');
        if (reordered(k)) throw SLOW_PATH;
        out[k] = sortedCopy(x, depth + 1);
      }
      return out;
    }
    default:
      throw new CanonicalJsonError(`a ${typeof v} is not a JSON value`);
  }
}

function serialize(v: unknown, depth: number): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return serializeNumber(v);
    case 'string':
      return serializeString(v);
    case 'object':
      if (depth >= MAX_DEPTH) throw new CanonicalJsonError(`JSON nested deeper than ${MAX_DEPTH} levels`);
      if (Array.isArray(v)) return serializeArray(v, depth + 1);
      return serializeObject(v as Record<string, unknown>, depth + 1);
    default:
      throw new CanonicalJsonError(`a ${typeof v} is not a JSON value`);
  }
}

/**
 * RFC 8785 §3.2.2.3 defines number output as ECMAScript's Number::toString, which is exactly what String(n)
 * does (shortest round-trip digits, exponent from 1e21 and below 1e-6); -0 serialises as "0".
 */
export function serializeNumber(n: number): string {
  if (!Number.isFinite(n)) throw new CanonicalJsonError(`${n} is not a JSON number`);
  if (Object.is(n, -0)) return '0';
  return String(n);
}

// Characters that need escaping, plus surrogates (checked for pairing): when none occurs the string is emitted as is.
// eslint-disable-next-line no-control-regex
const NEEDS_WORK = /["\\\u0000-\u001f\ud800-\udfff]/;

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

/** RFC 8785 §3.2.2.2: only `"`, `\` and C0 controls are escaped (short forms where JSON has them, else \u00xx lowercase). */
export function serializeString(s: string): string {
  if (!NEEDS_WORK.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const short = SHORT_ESCAPES[c];
    if (short !== undefined) out += short;
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw new CanonicalJsonError('a string holds a lone UTF-16 surrogate');
      out += s[i]! + s[i + 1]!;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) throw new CanonicalJsonError('a string holds a lone UTF-16 surrogate');
    else out += s[i]!;
  }
  return `${out}"`;
}

function serializeArray(a: unknown[], depth: number): string {
  const parts: string[] = [];
  for (let i = 0; i < a.length; i++) {
    // Holes and undefined have no JSON form inside an array; JSON.stringify would write null, which would hide a bug.
    if (!(i in a) || a[i] === undefined) throw new CanonicalJsonError('an array holds undefined');
    parts.push(serialize(a[i], depth));
  }
  return `[${parts.join(',')}]`;
}

function serializeObject(o: Record<string, unknown>, depth: number): string {
  const proto = Object.getPrototypeOf(o) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new CanonicalJsonError('only plain objects are JSON objects (not Dates, Maps, Buffers or class instances)');
  }
  // RFC 8785 §3.2.3: members sorted by their names as arrays of UTF-16 code units, which is the default
  // (comparator-less) order of Array.prototype.sort.
  const keys = Object.keys(o).sort();
  const parts: string[] = [];
  for (const k of keys) {
    const v = o[k];
    if (v === undefined) continue;
    parts.push(`${serializeString(k)}:${serialize(v, depth)}`);
  }
  return `{${parts.join(',')}}`;
}

/** True when `text` is already in canonical form (what the ledger stores), i.e. parse-then-canonicalise is the identity. */
export function isCanonicalJson(text: string): boolean {
  try {
    return canonicalize(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}
