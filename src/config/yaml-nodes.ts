/**
 * Reading validated values out of a parsed YAML document, every mistake naming file, line and key. The config is
 * read from nodes (not from plain JS values) precisely so an error can say where it is: a typo in an audit or
 * trust setting must stop the run, never fall back silently to a default.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type YAMLMap } from 'yaml';
import { AirlockError } from '../errors.js';

export interface YamlCtx {
  file: string;
  lines: LineCounter;
}

/** Reads and parses a config file: NOT_FOUND when it cannot be read, BAD_INPUT `file:line` when it is not YAML. */
export function readConfigDocument(file: string): { doc: Document.Parsed; ctx: YamlCtx } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AirlockError('NOT_FOUND', `The config file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: e });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new AirlockError('BAD_INPUT', `${file}:${e.linePos?.[0]?.line ?? '?'}: not valid YAML (${e.message.split('\n')[0]}).`, { cause: e });
  }
  return { doc, ctx: { file, lines } };
}

/** BAD_INPUT `file:line: key what.` */
export function failAt(ctx: YamlCtx, node: unknown, what: string): never {
  const range = (node as Node | undefined)?.range;
  const at = range ? ctx.lines.linePos(range[0]) : undefined;
  throw new AirlockError('BAD_INPUT', `${ctx.file}${at ? `:${at.line}` : ''}: ${what}.`, { details: { file: ctx.file, line: at?.line } });
}

export function isNull(node: unknown): boolean {
  return node === undefined || node === null || (isScalar(node) && node.value === null);
}

/** The entries of a mapping, refusing keys not in `known` (named with their full path). */
export function entries(ctx: YamlCtx, node: unknown, path: string, known: readonly string[]): Map<string, unknown> {
  if (!isMap(node)) failAt(ctx, node, `${path} must be a mapping`);
  const out = new Map<string, unknown>();
  for (const pair of (node as YAMLMap).items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!known.includes(k)) failAt(ctx, pair.key ?? node, `unknown setting ${path ? `${path}.` : ''}${k} (known: ${known.join(', ')})`);
    out.set(k, pair.value);
  }
  return out;
}

export function str(ctx: YamlCtx, node: unknown, key: string): string {
  if (!isScalar(node) || typeof node.value !== 'string' || node.value === '') failAt(ctx, node, `${key} must be a non-empty string`);
  return node.value;
}

export function bool(ctx: YamlCtx, node: unknown, key: string): boolean {
  if (!isScalar(node) || typeof node.value !== 'boolean') failAt(ctx, node, `${key} must be true or false`);
  return node.value;
}

export function int(ctx: YamlCtx, node: unknown, key: string, min: number, max: number): number {
  if (!isScalar(node) || typeof node.value !== 'number' || !Number.isSafeInteger(node.value) || node.value < min || node.value > max) {
    failAt(ctx, node, `${key} must be a whole number from ${min} to ${max}`);
  }
  return node.value;
}

export function strList(ctx: YamlCtx, node: unknown, key: string): string[] {
  if (isNull(node)) return [];
  if (!isSeq(node)) failAt(ctx, node, `${key} must be a list`);
  return node.items.map((item, i) => {
    if (isScalar(item) && typeof item.value === 'number') return String(item.value);
    return str(ctx, item, `${key}[${i}]`);
  });
}

/** The node at a dotted/indexed path such as `profile.images.extra[0].tag`, for placing an error found later. */
export function nodeAt(root: unknown, path: string): unknown {
  let node: unknown = root;
  for (const part of path.split(/\.|(?=\[)/)) {
    if (part === '') continue;
    const index = /^\[(\d+)\]$/.exec(part);
    if (index && isSeq(node)) node = node.items[Number(index[1])];
    else if (isMap(node)) node = node.get(part, true);
    else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}
