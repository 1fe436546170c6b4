/** Checksums parsing: a well-formed file reads back; a duplicate, malformed or missing line is always refused. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors.js';
import { parseChecksums, refusalReasonOf, requireChecksums, UPSTREAM_REFUSAL_REASONS } from '../../src/upstream/index.js';
import { params } from './fc-settings.js';

const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
const plainName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,40}$/).filter((n) => n !== '.' && n !== '..');
const entries = fc.uniqueArray(fc.tuple(plainName, hex, fc.constantFrom(' ', '*')), { minLength: 1, maxLength: 12, selector: ([n]) => n.toLowerCase() });
const file = (es: [string, string, string][], eol: string, final: boolean): string => es.map(([n, h, m]) => `${h} ${m}${n}`).join(eol) + (final ? eol : '');

function reasonOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    expect(isAirlockError(e)).toBe(true);
    return refusalReasonOf(e);
  }
}

describe('checksums parsing (property)', () => {
  it('reads back every entry of a well-formed file, LF or CRLF, final newline or not', () => {
    fc.assert(
      fc.property(entries, fc.constantFrom('\n', '\r\n'), fc.boolean(), (es, eol, final) => {
        const c = parseChecksums(file(es, eol, final));
        expect([...c.entries]).toEqual(es.map(([n, h]) => [n, `sha256:${h}`]));
        // A single line without a final line ending has no line ending to tell: it reads as LF.
        expect(c.lineEnding).toBe(eol === '\r\n' && (final || es.length > 1) ? 'crlf' : 'lf');
      }),
      params(),
    );
  });

  it('a name listed twice (same or other hash, any case) is refused as checksums-name-duplicate', () => {
    fc.assert(
      fc.property(entries, fc.nat(), hex, fc.boolean(), fc.nat(), (es, which, h2, upper, at) => {
        const [name] = es[which % es.length]!;
        const dup: [string, string, ' ' | '*'] = [upper ? name.toUpperCase() : name, h2, ' '];
        const withDup = [...es];
        withDup.splice((at % es.length) + 1, 0, dup);
        // A duplicate placed before the original is the original's duplicate: either way one name twice.
        expect(reasonOf(() => parseChecksums(file(withDup, '\n', true)))).toBe('checksums-name-duplicate');
      }),
      params(),
    );
  });

  it('a malformed line anywhere refuses the whole file, with a known reason', () => {
    const badLine = fc.oneof(
      fc.constant(''),
      hex.map((h) => `${h.toUpperCase()}  x`),
      hex.map((h) => `${h.slice(1)}  x`),
      hex.map((h) => `${h} x`),
      hex.map((h) => `${h}\tx`),
      hex.map((h) => `SHA256 (x) = ${h}`),
      hex.map((h) => `${h}  ../x`),
      hex.map((h) => `${h}  /etc/passwd`),
      hex.map((h) => `${h}  a\u001b[2Kb`),
      hex.map((h) => `${h}  \\x`),
      fc.string({ maxLength: 30 }).filter((s) => !/^[0-9a-f]{64} [ *]/.test(s)),
    );
    fc.assert(
      fc.property(entries, badLine, fc.nat(), (es, bad, at) => {
        const lines = es.map(([n, h, m]) => `${h} ${m}${n}`);
        lines.splice(at % (lines.length + 1), 0, bad);
        const reason = reasonOf(() => parseChecksums(`${lines.join('\n')}\n`));
        expect(reason).toBeDefined();
        expect(UPSTREAM_REFUSAL_REASONS).toContain(reason);
      }),
      params(),
    );
  });

  it('an asset the file does not list is refused as checksums-entry-missing; listed ones get their digest', () => {
    fc.assert(
      fc.property(entries, plainName, (es, extra) => {
        fc.pre(!es.some(([n]) => n === extra));
        const c = parseChecksums(file(es, '\n', true));
        expect(reasonOf(() => requireChecksums(c, [...es.map(([n]) => n), extra]))).toBe('checksums-entry-missing');
        expect([...requireChecksums(c, es.map(([n]) => n)).values()]).toEqual(es.map(([, h]) => `sha256:${h}`));
      }),
      params(),
    );
  });
});
