import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AirlockError, messageOf } from '../../errors.js';
import type { StoreOptions } from '../options.js';
import { isDockerHub } from './endpoint.js';

/**
 * Credentials for a registry, from (in order) the options, then a docker config.json: `credHelpers[host]`, then
 * `credsStore`, then `auths`. Secrets stay inside the returned object: messages name only where they came from
 * (`source`), never their value, and errors raised here never embed file contents or helper output.
 */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker's `identitytoken`), exchanged at the token realm. */
  identityToken?: string;
  /** Where they came from, for messages: a file path or `credential helper docker-credential-x`. */
  source: string;
}

/** The subset of docker's config.json we read. */
export interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The auth file to read and whether the user named it (a named file that is missing is an error). */
export function authFilePath(options: StoreOptions, env: NodeJS.ProcessEnv = process.env): { path: string; explicit: boolean } {
  if (options.authFile) return { path: options.authFile, explicit: true };
  if (env.REGISTRY_AUTH_FILE) return { path: env.REGISTRY_AUTH_FILE, explicit: true };
  if (env.DOCKER_CONFIG) return { path: join(env.DOCKER_CONFIG, 'config.json'), explicit: false };
  return { path: join(env.HOME ?? homedir(), '.docker', 'config.json'), explicit: false };
}

/** docker.io, index.docker.io and registry-1.docker.io are one registry; other names compare lower-cased. */
function canonicalRegistry(host: string): string {
  return isDockerHub(host) ? 'docker.io' : host.toLowerCase();
}

/** A config key (`https://host/v1/`, `http://host`, `host`) reduced to host[:port], as docker does. */
export function normalizeConfigKey(key: string): string {
  const noScheme = key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const host = noScheme.split('/')[0] ?? '';
  return canonicalRegistry(host);
}

/** The key a credential helper is asked about: docker's historic URL for Docker Hub, the host otherwise. */
export function helperServerUrl(registry: string): string {
  return isDockerHub(registry) ? 'https://index.docker.io/v1/' : registry;
}

/** Finds the `auths` entry for a registry: exact spellings first, then any key that normalises to it. */
export function findAuthEntry(config: DockerConfig, registry: string): { key: string; entry: NonNullable<DockerConfig['auths']>[string] } | undefined {
  const auths = config.auths ?? {};
  const exact = isDockerHub(registry)
    ? ['https://index.docker.io/v1/', 'docker.io', 'index.docker.io', 'registry-1.docker.io']
    : [registry, `https://${registry}`, `http://${registry}`];
  for (const k of exact) {
    const entry = auths[k];
    if (entry) return { key: k, entry };
  }
  const want = canonicalRegistry(registry);
  for (const [k, entry] of Object.entries(auths)) if (normalizeConfigKey(k) === want) return { key: k, entry };
  return undefined;
}

function findHelper(config: DockerConfig, registry: string): string | undefined {
  const helpers = config.credHelpers ?? {};
  const want = canonicalRegistry(registry);
  for (const [k, name] of Object.entries(helpers)) if (normalizeConfigKey(k) === want) return name;
  return config.credsStore || undefined;
}

/** Decodes an `auths` entry. `source` names the file for messages. */
export function credentialsFromEntry(entry: NonNullable<DockerConfig['auths']>[string], registry: string, source: string): RegistryCredentials | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken, ...(entry.username ? { username: entry.username } : {}), source };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw new AirlockError('BAD_INPUT', `The "auth" entry for ${registry} in ${source} is not base64 of user:password; log in again to rewrite it.`);
    }
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source };
  }
  if (entry.username && entry.password !== undefined) return { username: entry.username, password: entry.password, source };
  return undefined;
}

async function readConfig(path: string, explicit: boolean): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return undefined;
    throw new AirlockError('BAD_INPUT', `Cannot read the auth file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}); check --authfile or REGISTRY_AUTH_FILE.`, { cause: e });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as DockerConfig;
  } catch {
    // No cause: a JSON.parse error quotes the file's text, which holds secrets.
    throw new AirlockError('BAD_INPUT', `The auth file ${path} is not valid JSON; fix or remove it.`);
  }
}

/** Credentials for `registry` (host[:port] as the user wrote it), or undefined for anonymous access. */
export async function findCredentials(registry: string, options: StoreOptions, env: NodeJS.ProcessEnv = process.env): Promise<RegistryCredentials | undefined> {
  const given = options.credentials ?? {};
  const direct = given[registry] ?? Object.entries(given).find(([k]) => canonicalRegistry(k) === canonicalRegistry(registry))?.[1];
  if (direct) return { username: direct.username, password: direct.password, source: `the credentials given for ${registry}` };

  const { path, explicit } = authFilePath(options, env);
  const config = await readConfig(path, explicit);
  if (!config) return undefined;
  const helper = findHelper(config, registry);
  if (helper) {
    const fromHelper = await runCredentialHelper(helper, helperServerUrl(registry), env);
    if (fromHelper) return fromHelper;
  }
  const found = findAuthEntry(config, registry);
  return found ? credentialsFromEntry(found.entry, registry, path) : undefined;
}

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HELPER_TIMEOUT_MS = 30_000;

/**
 * Runs `docker-credential-<name> get` with the server URL on stdin (the docker credential-helper protocol).
 * The name comes from a config file, so it is checked to be a plain name: a value like `../../tmp/x` must not
 * run a program of the file author's choosing outside PATH. No shell is involved. "Not found" means anonymous.
 */
export async function runCredentialHelper(name: string, serverUrl: string, env: NodeJS.ProcessEnv = process.env): Promise<RegistryCredentials | undefined> {
  if (!HELPER_NAME.test(name)) {
    throw new AirlockError('BAD_INPUT', `The credential helper name "${name.slice(0, 64).replace(/[^\x20-\x7e]/g, '?')}" in the auth file is not a plain name; fix credHelpers/credsStore.`);
  }
  const program = `docker-credential-${name}`;
  const source = `credential helper ${program}`;
  const { code, stdout, spawnError } = await new Promise<{ code: number | null; stdout: string; spawnError?: NodeJS.ErrnoException }>((resolve) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      if (out.length < 1_000_000) out += d;
    });
    child.stderr.resume(); // drained, never shown: helpers may echo secrets in diagnostics
    const timer = setTimeout(() => child.kill('SIGKILL'), HELPER_TIMEOUT_MS);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, stdout: '', spawnError: err });
    });
    child.once('close', (c) => {
      clearTimeout(timer);
      resolve({ code: c, stdout: out });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(serverUrl);
  });
  if (spawnError) {
    const why = spawnError.code === 'ENOENT' ? 'is not installed or not on PATH' : `could not be started (${spawnError.code ?? messageOf(spawnError)})`;
    throw new AirlockError('AUTH_FAILED', `The ${source} named in the auth file ${why}; install it or fix credHelpers/credsStore.`);
  }
  if (code !== 0) {
    // The protocol's answer for "nothing stored" is a non-zero exit with this text on stdout.
    if (/credentials not found/i.test(stdout)) return undefined;
    throw new AirlockError('AUTH_FAILED', `The ${source} failed (exit ${code ?? 'killed'}) when asked for ${serverUrl}; run it by hand to see why.`);
  }
  let reply: { Username?: unknown; Secret?: unknown };
  try {
    reply = JSON.parse(stdout) as typeof reply;
  } catch {
    throw new AirlockError('AUTH_FAILED', `The ${source} returned something that is not JSON; check that it implements the docker credential-helper protocol.`);
  }
  if (typeof reply.Secret !== 'string' || reply.Secret === '') return undefined;
  const username = typeof reply.Username === 'string' ? reply.Username : '';
  // Docker's convention: the user name "<token>" marks an identity (refresh) token.
  if (username === '<token>') return { identityToken: reply.Secret, source };
  return { username, password: reply.Secret, source };
}
