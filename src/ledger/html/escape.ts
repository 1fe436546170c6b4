/**
 * Escaping for each context a ledger value can reach in the report. Values come from upstream (image names, tags,
 * certificate fields, error messages quoting them): any of them may be hostile markup.
 */

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** For element text and double-quoted attribute values alike: every character that can end either is an entity. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML[c]!);
}

/**
 * JSON to embed in `<script type="application/json">`: `<`, `>` and `&` as \u escapes, so neither `</script>` nor
 * `<!--` can end or change the element, and U+2028/U+2029 escaped so the text is also a valid JS literal. JSON.parse
 * returns the original values.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** An http(s) URL that may become a link; anything else (javascript:, data:, relative) is shown as text only. */
export function safeHttpUrl(s: string | null): string | null {
  if (!s || !/^https?:\/\//i.test(s)) return null;
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}
