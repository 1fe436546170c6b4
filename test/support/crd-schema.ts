/**
 * Validates a Kubernetes object against a CustomResourceDefinition's `openAPIV3Schema`, as the API server would
 * with strict field validation, using ajv. The Kubernetes extensions become JSON Schema:
 *   x-kubernetes-int-or-string        → anyOf integer | string (the `type` it may carry is dropped);
 *   x-kubernetes-preserve-unknown-fields → the object keeps unknown fields (and, without a type, any value);
 *   other objects with `properties`   → `additionalProperties: false` (strict field validation rejects unknown fields);
 *   other x-kubernetes-* keywords     → removed (list/map types are merge semantics, not validation).
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parse } from 'yaml';

type Schema = Record<string, unknown>;

export function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const src = node as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(src)) {
    if (k.startsWith('x-kubernetes-')) continue;
    if (k === 'properties' || k === 'patternProperties' || k === 'definitions') {
      out[k] = Object.fromEntries(Object.entries(v as Schema).map(([name, s]) => [name, toJsonSchema(s)]));
    } else if (k === 'default' || k === 'enum' || k === 'example') {
      out[k] = v;
    } else {
      out[k] = toJsonSchema(v);
    }
  }
  if (src['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  const preserve = src['x-kubernetes-preserve-unknown-fields'] === true;
  if (!preserve && out.type === 'object' && out.properties !== undefined && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

export interface CrdValidator {
  group: string;
  kind: string;
  /** Served versions. */
  versions: string[];
  /** Errors (empty when valid), as `path: message` lines; apiVersion and kind are checked too. */
  validate(doc: unknown): string[];
}

export function crdValidator(file: string): CrdValidator {
  const crd = parse(readFileSync(file, 'utf8')) as {
    spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; schema: { openAPIV3Schema: unknown } }[] };
  };
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const served = crd.spec.versions.filter((v) => v.served);
  const validators = new Map(served.map((v) => [`${crd.spec.group}/${v.name}`, ajv.compile(toJsonSchema(v.schema.openAPIV3Schema) as Schema)]));
  return {
    group: crd.spec.group,
    kind: crd.spec.names.kind,
    versions: served.map((v) => v.name),
    validate(doc: unknown): string[] {
      const o = doc as { apiVersion?: unknown; kind?: unknown };
      if (o?.kind !== crd.spec.names.kind) return [`kind: ${String(o?.kind)} is not ${crd.spec.names.kind}`];
      const v = validators.get(String(o.apiVersion));
      if (!v) return [`apiVersion: ${String(o.apiVersion)} is not a served version of ${crd.spec.group}`];
      if (v(doc)) return [];
      return (v.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
    },
  };
}
