/**
 * The release's checksums file, in sha256sum format. Sync calls this only on bytes whose signature src/verify has
 * accepted; the signature proves who wrote the file, not that it is well-formed, so parsing is still strict:
 * every asset is trusted through the one line that names it, and a file that could be read two ways (the same
 * name twice, a line a lenient parser would skip, a name that means a different path elsewhere) is refused whole.
 *
 * Accepted line: `<64 lowercase hex><space><space or *><name>` — GNU sha256sum's text and binary markers.
 * Lines end in LF, or all of them in CRLF (a file written on Windows); a mix, a lone CR, blank lines, comments,
 * BSD-style `SHA256 (name) = …` lines and escaped names (sha256sum's leading `\`) are refused. The final line
 * ending is optional. Names must be plain file names (names.ts).
 */
import type { Digest } from '../oci/digest.js';
import { fileNameProblem } from './names.js';
import { safeDetail, shown, upstreamError } from './refusal.js';

export interface ChecksumsFile {
  /** Name → `sha256:<hex>`, in file order. */
  readonly entries: ReadonlyMap<string, Digest>;
  readonly lineEnding: 'lf' | 'crlf';
}

export const DEFAULT_MAX_CHECKSUMS_BYTES = 1024 * 1024;
const LINE_RE = /^([0-9a-f]{64}) ([ *])(.*)$/s;

function malformed(line: number, why: string): never {
  throw upstreamError('REGISTRY_ERROR', 'checksums-line-malformed', `Line ${line} of the checksums file is malformed (${why}); refusing the whole file.`, { line });
}

export function parseChecksums(input: Uint8Array | string, maxBytes = DEFAULT_MAX_CHECKSUMS_BYTES): ChecksumsFile {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > maxBytes) {
    throw upstreamError('LIMIT_EXCEEDED', 'checksums-too-large', `The checksums file is ${size} bytes, over the ${maxBytes}-byte limit.`, { limit: maxBytes });
  }
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
  } catch (e) {
    throw upstreamError('REGISTRY_ERROR', 'checksums-encoding', 'The checksums file is not valid UTF-8.', {}, e);
  }
  if (text.length === 0) throw upstreamError('REGISTRY_ERROR', 'checksums-empty', 'The checksums file is empty, so it covers no asset.');

  // Line endings are decided once for the whole file, before any line is read.
  const crlf = text.includes('\r\n');
  if (crlf && /\r(?!\n)|(?<!\r)\n/.test(text)) {
    throw upstreamError('REGISTRY_ERROR', 'checksums-line-endings', 'The checksums file mixes CRLF and LF line endings (or has a lone CR); refusing an ambiguous file.');
  }
  if (!crlf && text.includes('\r')) {
    throw upstreamError('REGISTRY_ERROR', 'checksums-line-endings', 'The checksums file has a carriage return that does not end a line.');
  }
  const eol = crlf ? '\r\n' : '\n';
  const body = text.endsWith(eol) ? text.slice(0, -eol.length) : text;
  const lines = body.split(eol);

  const entries = new Map<string, Digest>();
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    const n = i + 1;
    if (line.length === 0) malformed(n, 'a blank line');
    const m = LINE_RE.exec(line);
    if (!m) malformed(n, 'expected 64 lowercase hex digits, a space, a space or *, and a file name');
    const name = m[3]!;
    const problem = fileNameProblem(name);
    if (problem) {
      throw upstreamError('REGISTRY_ERROR', 'checksums-name-invalid', `Line ${n} of the checksums file names ${shown(name)}, which is not a plain file name (${problem}).`, {
        line: n,
        name: safeDetail(name),
        problem,
      });
    }
    // Even with the same hash: a file listing a name twice was not written by a plain sha256sum run.
    if (seen.has(name.toLowerCase())) {
      throw upstreamError('REGISTRY_ERROR', 'checksums-name-duplicate', `The checksums file lists ${shown(name)} more than once (line ${n}); refusing an ambiguous file.`, {
        line: n,
        name,
      });
    }
    seen.add(name.toLowerCase());
    entries.set(name, `sha256:${m[1]}` as Digest);
  });
  return Object.freeze({ entries, lineEnding: crlf ? 'crlf' : 'lf' });
}

/** The names that must be covered by the checksums file but are not listed in it. */
export function missingFromChecksums(checksums: ChecksumsFile, names: Iterable<string>): string[] {
  return [...names].filter((n) => !checksums.entries.has(n));
}

/** Throws INTEGRITY (`checksums-entry-missing`) unless every name is listed; returns each name's digest. */
export function requireChecksums(checksums: ChecksumsFile, names: Iterable<string>): Map<string, Digest> {
  const wanted = [...names];
  const missing = missingFromChecksums(checksums, wanted);
  if (missing.length > 0) {
    throw upstreamError(
      'INTEGRITY',
      'checksums-entry-missing',
      `The signed checksums file does not list ${missing.map((m) => shown(m)).join(', ')}, so ${missing.length === 1 ? 'it' : 'they'} cannot be verified.`,
      { missing },
    );
  }
  return new Map(wanted.map((n) => [n, checksums.entries.get(n)!]));
}
