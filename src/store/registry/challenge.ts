/**
 * `WWW-Authenticate` parsing (RFC 7235 §4.1). Written by hand rather than with a regular expression because the
 * header is attacker-controlled and its grammar is not regular enough: one header may carry several challenges
 * separated by commas (`Bearer realm="…",service="…", Basic realm="…"`), and quoted strings may contain commas,
 * `=` and backslash escapes. Scheme and parameter names are case-insensitive (lower-cased here); for a repeated
 * parameter the first value wins, so a later duplicate cannot override the realm.
 */
export interface Challenge {
  /** lower-case: `basic`, `bearer`, … */
  scheme: string;
  /** lower-case names → unquoted values */
  params: Record<string, string>;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const MAX_HEADER = 8192;

export function parseWwwAuthenticate(header: string): Challenge[] {
  const s = header.length > MAX_HEADER ? header.slice(0, MAX_HEADER) : header;
  const out: Challenge[] = [];
  let current: Challenge | undefined;
  let i = 0;
  const skip = (re: RegExp) => {
    while (i < s.length && re.test(s[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && TCHAR.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    skip(/[\s,]/);
    if (i >= s.length) break;
    const name = token();
    skip(/[ \t]/);
    if (s[i] === '=') {
      i++;
      skip(/[ \t]/);
      const value = s[i] === '"' ? quoted() : token68();
      // A parameter with no name or before any scheme is malformed: its value is skipped.
      const key = name.toLowerCase();
      if (name !== '' && current && !(key in current.params)) current.params[key] = value;
      continue;
    }
    if (name === '') {
      if (s[i] === '"') quoted();
      else i++; // a stray character: skip it rather than loop forever
      continue;
    }
    current = { scheme: name.toLowerCase(), params: Object.create(null) as Record<string, string> };
    out.push(current);
  }
  return out;

  function quoted(): string {
    i++; // opening quote
    let v = '';
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      v += s[i];
      i++;
    }
    i++; // closing quote (or past the end when unterminated)
    return v;
  }
  function token68(): string {
    const start = i;
    while (i < s.length && /[^\s,]/.test(s[i]!)) i++;
    return s.slice(start, i);
  }
}
