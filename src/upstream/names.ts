/**
 * What counts as a plain file name. Asset names (release JSON) and the names in a checksums file become file
 * names on disk and paths in archives on the air-gapped side, so a name must not be able to walk out of the
 * directory it is written to or confuse whoever reads a listing: no separators of any platform (`/`, `\`, and `:`
 * for Windows drive and stream syntax), not `.` or `..`, no control characters (NUL, C0, DEL, C1 — which also
 * cover ANSI/OSC escapes and newlines), no Unicode line separators or bidirectional overrides (Trojan-Source
 * style listings), no leading or trailing white space, well-formed UTF-16, and at most 255 UTF-8 bytes (the
 * common file-system limit).
 */
export type FileNameProblem = 'empty' | 'too-long' | 'dot-name' | 'separator' | 'control-character' | 'edge-whitespace' | 'malformed-unicode';

const MAX_NAME_BYTES = 255;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;
const SEPARATOR = /[/\\:]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function fileNameProblem(name: string): FileNameProblem | undefined {
  if (name.length === 0) return 'empty';
  if (LONE_SURROGATE.test(name)) return 'malformed-unicode';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return 'too-long';
  if (name === '.' || name === '..') return 'dot-name';
  if (CONTROL.test(name)) return 'control-character';
  if (SEPARATOR.test(name)) return 'separator';
  if (name.trim() !== name) return 'edge-whitespace';
  return undefined;
}

export function isPlainFileName(name: string): boolean {
  return fileNameProblem(name) === undefined;
}
