/**
 * `{variable}` templates of release profiles, and identity expansion. Values are checked before they are put into
 * an identity (a tag must be a valid OCI tag, a name a single lowercase path component), and regexp-escaped when
 * the template is a regular expression: a version like `v1.9.4` must match only itself, not `v1x9y4`.
 */
import { AirlockError } from '../errors.js';
import { isTag } from '../oci/reference.js';
import type { IdentityTemplate } from './profile.js';

export const PLACEHOLDER_RE = /\{([A-Za-z]+)\}/g;

export const TEMPLATE_CONTEXTS = {
  assetName: ['tag', 'version'],
  archiveName: ['tag', 'version', 'os', 'arch'],
  checksumsMaterial: ['checksums', 'tag', 'version'],
  imageTag: ['tag', 'version'],
  checksumsIdentity: ['releaseTag', 'fluxVersion', 'version'],
  imageIdentity: ['releaseTag', 'fluxVersion', 'version', 'name'],
} as const;
export type TemplateContext = keyof typeof TEMPLATE_CONTEXTS;

/** The cosign extension flags an identity template may pin (the same keys as src/verify's POLICY_EXTENSIONS). */
export const IDENTITY_EXTENSION_KEYS = [
  'sourceRepositoryUri',
  'sourceRepositoryRef',
  'githubWorkflowRepository',
  'githubWorkflowRef',
  'githubWorkflowTrigger',
  'githubWorkflowName',
  'githubWorkflowSha',
] as const;

/** An identity with every placeholder expanded: exactly the shape of src/verify's `PolicyInput` (keyless part). */
export type ExpandedIdentity = { -readonly [K in keyof IdentityTemplate]: IdentityTemplate[K] };

/** Placeholders a template uses. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER_RE)].map((m) => m[1]!);
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function expandTemplate(template: string, vars: Readonly<Record<string, string>>, regexp = false): string {
  return template.replace(PLACEHOLDER_RE, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) {
      throw new AirlockError('INTERNAL', `The profile template ${JSON.stringify(template.slice(0, 120))} uses {${name}}, which has no value here.`);
    }
    return regexp ? escapeRegExp(value) : value;
  });
}

const NAME_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

export interface IdentityValues {
  releaseTag: string;
  version: string;
  name?: string;
}

/** Expands identity templates; throws BAD_INPUT if a value could change what the identity means. */
export function expandIdentities(templates: readonly IdentityTemplate[], values: IdentityValues): ExpandedIdentity[] {
  for (const [k, v] of [['release tag', values.releaseTag], ['version', values.version]] as const) {
    if (!isTag(v)) throw new AirlockError('BAD_INPUT', `The ${k} ${JSON.stringify(v.slice(0, 130))} cannot be put into an identity: it is not a valid tag.`);
  }
  if (values.name !== undefined && (values.name.length > 128 || !NAME_RE.test(values.name))) {
    throw new AirlockError('BAD_INPUT', `The image name ${JSON.stringify(values.name.slice(0, 130))} cannot be put into an identity: it is not one lowercase path component.`);
  }
  const vars: Record<string, string> = { releaseTag: values.releaseTag, fluxVersion: values.releaseTag, version: values.version };
  if (values.name !== undefined) vars.name = values.name;
  return templates.map((t) => {
    const out: ExpandedIdentity = { certificateOidcIssuer: expandTemplate(t.certificateOidcIssuer, vars) };
    if (t.certificateIdentity !== undefined) out.certificateIdentity = expandTemplate(t.certificateIdentity, vars);
    if (t.certificateIdentityRegexp !== undefined) out.certificateIdentityRegexp = expandTemplate(t.certificateIdentityRegexp, vars, true);
    for (const k of IDENTITY_EXTENSION_KEYS) {
      const v = t[k];
      if (v !== undefined) out[k] = expandTemplate(v, vars);
    }
    return out;
  });
}
