/**
 * `--policy FILE`: who may sign images, and who may sign which attestation predicate types. Identity entries use
 * the same keys as a release profile's identities (certificateIdentity[Regexp], certificateOidcIssuer[Regexp] and
 * the Fulcio extension keys), so one schema serves copy and sync; `key` names a PEM public key (relative to the
 * file) for key-based signatures. Mistakes are BAD_INPUT naming file and line.
 *
 *   version: 1
 *   signatures:                       # optional; added to the command line's policy flags
 *     - certificateIdentity: https://github.com/fluxcd/gha-workflows/.github/workflows/controller-release.yaml@refs/tags/v0.4.0
 *       certificateOidcIssuer: https://token.actions.githubusercontent.com
 *       sourceRepositoryUri: https://github.com/fluxcd/source-controller
 *   attestations:                     # attestations are carried only when a rule here accepts them
 *     - type: slsaprovenance          # cosign's name or a predicate type URI; or `types: [...]`
 *       certificateIdentityRegexp: ^https://github\.com/slsa-framework/slsa-github-generator/\.github/workflows/generator_container_slsa3\.yml@refs/tags/v[0-9.]+$
 *       certificateOidcIssuer: https://token.actions.githubusercontent.com
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { AirlockError, messageOf } from '../errors.js';
import { POLICY_EXTENSIONS, toPredicateTypes, type PolicyInput } from '../verify/index.js';

/** One identity entry: the policy flags' values, with a key file path instead of key material. */
export interface PolicyEntry {
  input: Omit<PolicyInput, 'key'>;
  keyPath?: string;
}

export interface PolicyFile {
  file: string;
  signatures: PolicyEntry[];
  attestations: (PolicyEntry & { predicateTypes: readonly string[] })[];
}

const IDENTITY_KEYS = ['certificateIdentity', 'certificateIdentityRegexp', 'certificateOidcIssuer', 'certificateOidcIssuerRegexp', ...Object.keys(POLICY_EXTENSIONS)];
const MAX_ENTRIES = 64;

interface Ctx {
  file: string;
  lines: LineCounter;
}

function fail(ctx: Ctx, node: unknown, what: string): never {
  const range = (node as Node | undefined)?.range;
  const at = range ? ctx.lines.linePos(range[0]) : undefined;
  throw new AirlockError('BAD_INPUT', `${ctx.file}${at ? `:${at.line}` : ''}: ${what}.`, { details: { file: ctx.file, line: at?.line, check: 'policy' } });
}

function scalarString(ctx: Ctx, node: unknown, key: string): string {
  if (!isScalar(node) || typeof node.value !== 'string' || node.value === '') fail(ctx, node, `${key} must be a non-empty string`);
  return node.value;
}

function entry(ctx: Ctx, node: unknown, where: string, extra: readonly string[]): { entry: PolicyEntry; fields: Map<string, unknown> } {
  if (!isMap(node)) fail(ctx, node, `${where} must be a mapping`);
  const allowed = [...IDENTITY_KEYS, 'key', 'insecureIgnoreTlog', ...extra];
  const input: Record<string, unknown> = {};
  const fields = new Map<string, unknown>();
  let keyPath: string | undefined;
  for (const pair of node.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!allowed.includes(k)) fail(ctx, pair.key, `${where} has the unknown key ${JSON.stringify(k.slice(0, 60))} (known: ${allowed.join(', ')})`);
    if (k === 'key') keyPath = resolve(dirname(ctx.file), scalarString(ctx, pair.value, `${where}.key`));
    else if (k === 'insecureIgnoreTlog') {
      if (!isScalar(pair.value) || typeof pair.value.value !== 'boolean') fail(ctx, pair.value, `${where}.insecureIgnoreTlog must be true or false`);
      input.insecureIgnoreTlog = pair.value.value;
    } else if (extra.includes(k)) fields.set(k, pair.value);
    else input[k] = scalarString(ctx, pair.value, `${where}.${k}`);
  }
  return { entry: { input: input as PolicyEntry['input'], ...(keyPath ? { keyPath } : {}) }, fields };
}

function entries(ctx: Ctx, node: unknown, name: string): unknown[] {
  if (node === undefined || node === null) return [];
  if (!isSeq(node)) fail(ctx, node, `${name} must be a list`);
  if (node.items.length > MAX_ENTRIES) fail(ctx, node, `${name} has more than ${MAX_ENTRIES} entries`);
  return node.items;
}

function predicateTypes(ctx: Ctx, fields: Map<string, unknown>, where: string, at: unknown): readonly string[] {
  const one = fields.get('type');
  const many = fields.get('types');
  if ((one === undefined) === (many === undefined)) fail(ctx, at, `${where} needs exactly one of type and types`);
  const names = one !== undefined ? [scalarString(ctx, one, `${where}.type`)] : isSeq(many) ? many.items.map((n, i) => scalarString(ctx, n, `${where}.types[${i}]`)) : fail(ctx, many, `${where}.types must be a list`);
  try {
    return [...new Set(names.flatMap((n) => toPredicateTypes(n)))];
  } catch (e) {
    fail(ctx, one ?? many, `${where}: ${messageOf(e).replace(/\.$/, '')}`);
  }
}

/** Parses policy YAML text; `file` is used for messages and to resolve `key` paths. */
export function parsePolicyFile(text: string, file: string): PolicyFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const ctx: Ctx = { file, lines };
  if (doc.errors.length > 0) fail(ctx, undefined, `is not valid YAML (${doc.errors[0]!.message.split('\n')[0]})`);
  const root = doc.contents;
  if (!isMap(root)) fail(ctx, root, 'must be a mapping with version, signatures and attestations');
  for (const pair of root.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!['version', 'signatures', 'attestations'].includes(k)) fail(ctx, pair.key, `has the unknown key ${JSON.stringify(k.slice(0, 60))} (known: version, signatures, attestations)`);
  }
  const version = root.get('version', true);
  const v: unknown = isScalar(version) ? version.value : undefined;
  if (v !== 1) fail(ctx, version ?? root, 'must say version: 1');
  const signatures = entries(ctx, root.get('signatures', true), 'signatures').map((n, i) => entry(ctx, n, `signatures[${i}]`, []).entry);
  const attestations = entries(ctx, root.get('attestations', true), 'attestations').map((n, i) => {
    const where = `attestations[${i}]`;
    const { entry: e, fields } = entry(ctx, n, where, ['type', 'types']);
    return { ...e, predicateTypes: predicateTypes(ctx, fields, where, n) };
  });
  return { file, signatures, attestations };
}

export function readPolicyFile(path: string): PolicyFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_INPUT';
    throw new AirlockError(code, `The policy file ${path} could not be read (${messageOf(e)}).`, { cause: e });
  }
  return parsePolicyFile(text, path);
}
