/**
 * src/upstream/checksums.ts: sha256sum-format files, parsed strictly even though sync only parses verified bytes.
 * Each hostile case names the check that stops it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors.js';
import { missingFromChecksums, parseChecksums, requireChecksums } from '../../src/upstream/checksums.js';
import { isPlainFileName } from '../../src/upstream/names.js';
import { refusalReasonOf, UPSTREAM_REFUSAL_REASONS } from '../../src/upstream/refusal.js';
import { reasonOf } from '../support/errors.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('parseChecksums', () => {
  it('reads goreleaser output (text and binary markers, final newline optional)', () => {
    const c = parseChecksums(Buffer.from(`${A}  flux_2.9.4_linux_amd64.tar.gz\n${B} *install.yaml\n`));
    expect([...c.entries]).toEqual([
      ['flux_2.9.4_linux_amd64.tar.gz', `sha256:${A}`],
      ['install.yaml', `sha256:${B}`],
    ]);
    expect(c.lineEnding).toBe('lf');
    expect(parseChecksums(`${A}  install.yaml`).entries.get('install.yaml')).toBe(`sha256:${A}`);
  });

  it('accepts a file whose lines all end in CRLF, and strips the CR from names', () => {
    const c = parseChecksums(`${A}  a.tar.gz\r\n${B}  install.yaml\r\n`);
    expect(c.lineEnding).toBe('crlf');
    expect([...c.entries.keys()]).toEqual(['a.tar.gz', 'install.yaml']);
  });

  it('refuses mixed line endings and lone carriage returns (checksums-line-endings)', () => {
    expect(reasonOf(() => parseChecksums(`${A}  a\r\n${B}  b\n`))).toBe('checksums-line-endings');
    expect(reasonOf(() => parseChecksums(`${A}  a\r\n${B}  b\rc\r\n`))).toBe('checksums-line-endings');
    // Without CRLF anywhere, a CR inside a name would otherwise become part of it.
    expect(reasonOf(() => parseChecksums(`${A}  a\r\n`.replace('\r\n', '\r') + `${B}  b\n`))).toBe('checksums-line-endings');
  });

  it('refuses an empty file (checksums-empty)', () => {
    expect(reasonOf(() => parseChecksums(new Uint8Array()))).toBe('checksums-empty');
  });

  it('refuses the same name twice, even with the same hash (checksums-name-duplicate)', () => {
    expect(reasonOf(() => parseChecksums(`${A}  install.yaml\n${A}  install.yaml\n`))).toBe('checksums-name-duplicate');
    expect(reasonOf(() => parseChecksums(`${A}  install.yaml\n${B}  install.yaml\n`))).toBe('checksums-name-duplicate');
    expect(reasonOf(() => parseChecksums(`${A}  install.yaml\n${B} *install.yaml\n`))).toBe('checksums-name-duplicate');
    expect(reasonOf(() => parseChecksums(`${A}  install.yaml\n${B}  INSTALL.yaml\n`))).toBe('checksums-name-duplicate');
  });

  describe('malformed lines (checksums-line-malformed)', () => {
    for (const [what, text] of [
      ['a blank line in the middle', `${A}  a\n\n${B}  b\n`],
      ['two trailing newlines', `${A}  a\n\n`],
      ['a short hash', `${A.slice(1)}  a\n`],
      ['a long hash', `${A}a  a\n`],
      ['uppercase hex', `${A.toUpperCase()}  a\n`],
      ['a single space', `${A} a\n`],
      ['a tab', `${A}\ta\n`],
      ['a comment', `# checksums\n${A}  a\n`],
      ['BSD style', `SHA256 (a) = ${A}\n`],
      ["sha256sum's escaped-name marker", `\\${A}  a\\\\b\n`],
      ['a leading space', ` ${A}  a\n`],
      ['a byte-order mark', `\ufeff${A}  a\n`],
      ['a sha512 line', `${'c'.repeat(128)}  a\n`],
    ] as const) {
      it(`refuses ${what}`, () => {
        expect(reasonOf(() => parseChecksums(text))).toBe('checksums-line-malformed');
      });
    }
    it('says which line', () => {
      try {
        parseChecksums(`${A}  a\n${B}  b\nnonsense\n`);
        expect.unreachable();
      } catch (e) {
        expect((e as Error).message).toMatch(/^Line 3 of the checksums file is malformed/);
      }
    });
  });

  describe('names that are not plain file names (checksums-name-invalid)', () => {
    for (const name of ['../install.yaml', '/etc/passwd', 'dir/install.yaml', 'a\u0000b', 'a\u001b[31mb', 'install.yaml ', '', '..', 'C:\\x']) {
      it(`refuses ${JSON.stringify(name)}`, () => {
        expect(reasonOf(() => parseChecksums(`${A}  ${name}\n`))).toBe('checksums-name-invalid');
      });
    }
  });

  it('refuses bytes that are not UTF-8 (checksums-encoding) and oversized files (checksums-too-large)', () => {
    expect(reasonOf(() => parseChecksums(Buffer.concat([Buffer.from(`${A}  a`), Buffer.from([0xff, 0x0a])])))).toBe('checksums-encoding');
    expect(reasonOf(() => parseChecksums(`${A}  a\n`.repeat(100), 1000))).toBe('checksums-too-large');
  });
});

describe('missing entries', () => {
  const c = parseChecksums(`${A}  install.yaml\n${B}  manifests.tar.gz\n`);
  it('lists the names that must be covered but are not', () => {
    expect(missingFromChecksums(c, ['install.yaml', 'crd-schemas.tar.gz', 'manifests.tar.gz'])).toEqual(['crd-schemas.tar.gz']);
  });
  it('refuses an asset the checksums do not cover (checksums-entry-missing, INTEGRITY)', () => {
    try {
      requireChecksums(c, ['install.yaml', 'crd-schemas.tar.gz']);
      expect.unreachable();
    } catch (e) {
      expect(isAirlockError(e, 'INTEGRITY')).toBe(true);
      expect(refusalReasonOf(e)).toBe('checksums-entry-missing');
      expect((e as { details: { missing: string[] } }).details.missing).toEqual(['crd-schemas.tar.gz']);
    }
  });
  it('gives each covered name its digest', () => {
    expect(requireChecksums(c, ['manifests.tar.gz'])).toEqual(new Map([['manifests.tar.gz', `sha256:${B}`]]));
  });
  it('is exact about names (no case folding, no prefix matching)', () => {
    expect(missingFromChecksums(c, ['Install.yaml', 'install.yam', './install.yaml'])).toHaveLength(3);
  });
});

describe('parseChecksums properties (fast-check, seeded; more runs with SOAK=1)', () => {
  const runs = process.env.SOAK === '1' ? 20_000 : 500;
  const line = fc.tuple(fc.stringMatching(/^[0-9a-f]{64}$/), fc.constantFrom(' ', '*'), fc.string({ minLength: 1, maxLength: 40 }));

  it('either refuses with a known reason or returns only plain names with sha256 digests', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.tuple(fc.array(line, { maxLength: 8 }), fc.constantFrom('\n', '\r\n')).map(([ls, eol]) => ls.map(([h, m, n]) => `${h} ${m}${n}`).join(eol)),
    );
    fc.assert(
      fc.property(text, (t) => {
        try {
          const c = parseChecksums(t);
          for (const [name, digest] of c.entries) {
            expect(isPlainFileName(name)).toBe(true);
            expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
          }
        } catch (e) {
          expect(isAirlockError(e)).toBe(true);
          expect(UPSTREAM_REFUSAL_REASONS).toContain(refusalReasonOf(e));
        }
      }),
      { seed: 20260807, numRuns: runs },
    );
  });

  it('reads back exactly what sha256sum would write for plain names', () => {
    const plain = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,60}$/);
    const entries = fc.uniqueArray(fc.tuple(plain, fc.stringMatching(/^[0-9a-f]{64}$/)), { minLength: 1, maxLength: 20, selector: ([n]) => n.toLowerCase() });
    fc.assert(
      fc.property(entries, fc.boolean(), (es, crlf) => {
        const eol = crlf ? '\r\n' : '\n';
        const c = parseChecksums(es.map(([n, h]) => `${h}  ${n}${eol}`).join(''));
        expect([...c.entries]).toEqual(es.map(([n, h]) => [n, `sha256:${h}`]));
      }),
      { seed: 7, numRuns: runs },
    );
  });
});
