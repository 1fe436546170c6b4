/**
 * A release profile given as data (a YAML config's `profile:`), validated into a ReleaseProfile. Every mistake is
 * BAD_INPUT naming the key path, so the config loader can add file and line. Templates are checked here, once:
 * only the placeholders their context defines, names that expand to plain file names, identity regexps that
 * compile — so expansion at sync time cannot fail on the profile's account.
 */
import { AirlockError } from '../errors.js';
import { isTag } from '../oci/reference.js';
import { toCanonicalPrefix } from './install-yaml.js';
import { isPlainFileName } from './names.js';
import { deepFreeze, type AssetRole, type AssetRule, type IdentityTemplate, type ImageRule, type ReleaseProfile } from './profile.js';
import { expandTemplate, IDENTITY_EXTENSION_KEYS, placeholdersOf, TEMPLATE_CONTEXTS, type TemplateContext } from './template.js';

const ROLES: readonly AssetRole[] = ['cli-archive', 'install-manifest', 'manifests', 'crd-schemas', 'provenance', 'other'];
const SAMPLE: Record<string, string> = {
  tag: 'v1.2.3',
  version: '1.2.3',
  os: 'linux',
  arch: 'amd64',
  checksums: 'checksums.txt',
  releaseTag: 'v1.2.3',
  fluxVersion: 'v1.2.3',
  name: 'example',
};

type Obj = Record<string, unknown>;

function fail(path: string, why: string): never {
  throw new AirlockError('BAD_INPUT', `The release profile's ${path} ${why}.`, { details: { check: 'profile', path } });
}

function object(v: unknown, path: string, allowed: readonly string[]): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be a mapping');
  const unknown = Object.keys(v).find((k) => !allowed.includes(k));
  if (unknown !== undefined) fail(path, `has the unknown key ${JSON.stringify(unknown.slice(0, 60))} (known: ${allowed.join(', ')})`);
  return v as Obj;
}

function string(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 1024) fail(path, 'must be a non-empty string of at most 1024 characters');
  return v;
}

function list(v: unknown, path: string, max = 64): unknown[] {
  if (!Array.isArray(v)) fail(path, 'must be a list');
  if (v.length > max) fail(path, `has more than ${max} entries`);
  return v;
}

function boolean(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'must be true or false');
  return v;
}

function template(v: unknown, path: string, context: TemplateContext): string {
  const s = string(v, path);
  const allowed: readonly string[] = TEMPLATE_CONTEXTS[context];
  const bad = placeholdersOf(s).find((p) => !allowed.includes(p));
  if (bad !== undefined) fail(path, `uses {${bad}}, which is not defined here (use ${allowed.map((a) => `{${a}}`).join(', ')})`);
  return s;
}

function fileTemplate(v: unknown, path: string, context: TemplateContext): string {
  const s = template(v, path, context);
  if (!isPlainFileName(expandTemplate(s, SAMPLE))) fail(path, 'must expand to a plain file name');
  return s;
}

function identity(v: unknown, path: string, context: TemplateContext): IdentityTemplate {
  const o = object(v, path, ['certificateIdentity', 'certificateIdentityRegexp', 'certificateOidcIssuer', ...IDENTITY_EXTENSION_KEYS]);
  if ((o.certificateIdentity === undefined) === (o.certificateIdentityRegexp === undefined)) {
    fail(path, 'needs exactly one of certificateIdentity and certificateIdentityRegexp');
  }
  const out: IdentityTemplate = { certificateOidcIssuer: template(o.certificateOidcIssuer, `${path}.certificateOidcIssuer`, context) };
  if (o.certificateIdentity !== undefined) out.certificateIdentity = template(o.certificateIdentity, `${path}.certificateIdentity`, context);
  if (o.certificateIdentityRegexp !== undefined) {
    const re = template(o.certificateIdentityRegexp, `${path}.certificateIdentityRegexp`, context);
    try {
      new RegExp(expandTemplate(re, SAMPLE, true));
    } catch {
      fail(`${path}.certificateIdentityRegexp`, 'is not a valid regular expression');
    }
    out.certificateIdentityRegexp = re;
  }
  for (const k of IDENTITY_EXTENSION_KEYS) if (o[k] !== undefined) out[k] = template(o[k], `${path}.${k}`, context);
  return out;
}

function identities(v: unknown, path: string, context: TemplateContext): IdentityTemplate[] {
  const l = list(v, path, 16);
  if (l.length === 0) fail(path, 'must name at least one identity (anyone can obtain a certificate, so the signer must be named)');
  return l.map((x, i) => identity(x, `${path}[${i}]`, context));
}

const NAME_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

export function toReleaseProfile(data: unknown, path = 'profile'): ReleaseProfile {
  const o = object(data, path, ['name', 'repository', 'checksums', 'platforms', 'assets', 'images']);
  const name = string(o.name, `${path}.name`);
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(name)) fail(`${path}.name`, 'must be lowercase letters, digits and dashes');
  const repository = string(o.repository, `${path}.repository`);
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/.test(repository) || repository.endsWith('/..') || repository.endsWith('/.')) {
    fail(`${path}.repository`, 'must be a GitHub owner/repository');
  }

  const c = object(o.checksums, `${path}.checksums`, ['name', 'signature', 'bundles', 'identities']);
  const checksums: ReleaseProfile['checksums'] = {
    name: fileTemplate(c.name, `${path}.checksums.name`, 'assetName'),
    bundles: list(c.bundles ?? [], `${path}.checksums.bundles`, 8).map((b, i) => fileTemplate(b, `${path}.checksums.bundles[${i}]`, 'checksumsMaterial')),
    identities: identities(c.identities, `${path}.checksums.identities`, 'checksumsIdentity'),
  };
  if (c.signature !== undefined) {
    const s = object(c.signature, `${path}.checksums.signature`, ['signature', 'certificate']);
    checksums.signature = {
      signature: fileTemplate(s.signature, `${path}.checksums.signature.signature`, 'checksumsMaterial'),
      certificate: fileTemplate(s.certificate, `${path}.checksums.signature.certificate`, 'checksumsMaterial'),
    };
  }
  if (checksums.signature === undefined && checksums.bundles.length === 0) fail(`${path}.checksums`, 'needs a signature (signature + certificate) or at least one bundle name');

  let platforms: ReleaseProfile['platforms'];
  if (o.platforms !== undefined) {
    const p = object(o.platforms, `${path}.platforms`, ['os', 'arch']);
    const values = (v: unknown, at: string): string[] =>
      list(v, at, 32).map((x, i) => {
        const s = string(x, `${at}[${i}]`);
        if (!/^[a-z0-9]{1,32}$/.test(s)) fail(`${at}[${i}]`, 'must be lowercase letters and digits');
        return s;
      });
    platforms = { os: values(p.os, `${path}.platforms.os`), arch: values(p.arch, `${path}.platforms.arch`) };
  }

  const assets = list(o.assets ?? [], `${path}.assets`).map((x, i): AssetRule => {
    const at = `${path}.assets[${i}]`;
    const a = object(x, at, ['name', 'role', 'required', 'checksummed']);
    const role = a.role as AssetRole;
    if (!ROLES.includes(role)) fail(`${at}.role`, `must be one of ${ROLES.join(', ')}`);
    const assetName = fileTemplate(a.name, `${at}.name`, role === 'cli-archive' ? 'archiveName' : 'assetName');
    if (role === 'cli-archive') {
      if (!assetName.includes('{os}') || !assetName.includes('{arch}')) fail(`${at}.name`, 'must contain {os} and {arch}');
      if (!platforms) fail(`${path}.platforms`, 'must list the os and arch values when a cli-archive rule is given');
    }
    return { name: assetName, role, required: boolean(a.required ?? false, `${at}.required`), checksummed: boolean(a.checksummed ?? true, `${at}.checksummed`) };
  });
  if (new Set(assets.map((a) => a.name)).size !== assets.length) fail(`${path}.assets`, 'names the same asset twice');

  const im = object(o.images, `${path}.images`, ['canonicalPrefix', 'fromAsset', 'identities', 'provenance', 'extra']);
  const canonicalPrefix = string(im.canonicalPrefix, `${path}.images.canonicalPrefix`);
  try {
    toCanonicalPrefix(canonicalPrefix);
  } catch (e) {
    throw new AirlockError('BAD_INPUT', `The release profile's ${path}.images.canonicalPrefix must be a registry/path such as ghcr.io/fluxcd.`, {
      cause: e,
      details: { check: 'profile', path: `${path}.images.canonicalPrefix` },
    });
  }
  const images: ReleaseProfile['images'] = { canonicalPrefix, identities: [], extra: [] };
  if (im.fromAsset !== undefined) {
    images.fromAsset = string(im.fromAsset, `${path}.images.fromAsset`);
    if (!assets.some((a) => a.name === images.fromAsset && a.role === 'install-manifest' && a.checksummed)) {
      fail(`${path}.images.fromAsset`, 'must be the name of a checksummed install-manifest asset');
    }
    images.identities = identities(im.identities, `${path}.images.identities`, 'imageIdentity');
  } else if (im.identities !== undefined) {
    fail(`${path}.images.identities`, 'applies only to images read from fromAsset; give identities per extra image');
  }
  if (im.provenance !== undefined) images.provenance = identities(im.provenance, `${path}.images.provenance`, 'imageIdentity');
  images.extra = list(im.extra ?? [], `${path}.images.extra`).map((x, i): ImageRule => {
    const at = `${path}.images.extra[${i}]`;
    const e = object(x, at, ['name', 'tag', 'identities', 'provenance']);
    const n = string(e.name, `${at}.name`);
    if (!NAME_RE.test(n)) fail(`${at}.name`, 'must be one lowercase path component');
    const tag = template(e.tag, `${at}.tag`, 'imageTag');
    if (!isTag(expandTemplate(tag, SAMPLE))) fail(`${at}.tag`, 'must expand to a valid tag');
    const rule: ImageRule = { name: n, tag, identities: identities(e.identities, `${at}.identities`, 'imageIdentity') };
    if (e.provenance !== undefined) rule.provenance = identities(e.provenance, `${at}.provenance`, 'imageIdentity');
    return rule;
  });
  if (new Set(images.extra.map((e) => e.name)).size !== images.extra.length) fail(`${path}.images.extra`, 'names the same image twice');

  const profile: ReleaseProfile = { name, repository, checksums, assets, images };
  if (platforms) profile.platforms = platforms;
  return deepFreeze(profile);
}
