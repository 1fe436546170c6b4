/**
 * Where airlock's files live, decided the same way every time — never by whatever directory cron happens to
 * start in. The config is `--config FILE`, else `$AIRLOCK_CONFIG`, else `./airlock.yaml`, else
 * `$XDG_CONFIG_HOME/airlock/config.yaml`; with none, state lives under `$XDG_STATE_HOME/airlock/`. Ledger keys
 * live under `$XDG_CONFIG_HOME/airlock/keys/`, away from any ledger.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { AirlockError } from '../errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

export type ConfigSource = 'flag' | 'env' | 'cwd' | 'user' | 'none';

export interface ConfigDiscovery {
  /** Absolute path of the config file, or null when there is none. */
  file: string | null;
  source: ConfigSource;
}

export const CONFIG_FILE_NAME = 'airlock.yaml';

function home(env: Env): string {
  return env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir();
}

/** An XDG base directory: the variable when it is an absolute path (the spec says to ignore relative ones), else the default. */
function xdg(env: Env, name: string, fallback: string[]): string {
  const v = env[name];
  return v && isAbsolute(v) ? v : join(home(env), ...fallback);
}

export function xdgConfigHome(env: Env = process.env): string {
  return xdg(env, 'XDG_CONFIG_HOME', ['.config']);
}

export function xdgStateHome(env: Env = process.env): string {
  return xdg(env, 'XDG_STATE_HOME', ['.local', 'state']);
}

/** Where the ledger lives when there is no config at all. */
export function defaultStateDir(env: Env = process.env): string {
  return join(xdgStateHome(env), 'airlock');
}

export function defaultLedgerPath(env: Env = process.env): string {
  return join(defaultStateDir(env), 'airlock.db');
}

/** The default key of a ledger: `$XDG_CONFIG_HOME/airlock/keys/<origin>.ed25519` (the origin's slash makes a subdirectory). */
export function defaultKeyPath(origin: string, env: Env = process.env): string {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(origin) || origin.split('/').some((p) => p === '.' || p === '..')) {
    throw new AirlockError('LEDGER_INVALID', `The ledger origin "${origin.slice(0, 80)}" cannot name a key file; the ledger is damaged.`);
  }
  return join(xdgConfigHome(env), 'airlock', 'keys', `${origin}.ed25519`);
}

/** True when `path` is `dir` or inside it (lexically, after resolving both). */
export function isInside(path: string, dir: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function mustExist(file: string, what: string): string {
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new AirlockError('NOT_FOUND', `The config file ${file} (${what}) does not exist.`, { details: { file } });
  }
  if (!st.isFile()) throw new AirlockError('BAD_INPUT', `The config file ${file} (${what}) is not a file.`);
  return file;
}

export function discoverConfig(opts: { flag?: string; env?: Env; cwd?: string } = {}): ConfigDiscovery {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  // An explicitly named file that is missing is an error, never a silent fall-through to another config.
  if (opts.flag) return { file: mustExist(resolve(cwd, opts.flag), 'from --config'), source: 'flag' };
  if (env.AIRLOCK_CONFIG) return { file: mustExist(resolve(cwd, env.AIRLOCK_CONFIG), 'from $AIRLOCK_CONFIG'), source: 'env' };
  const local = resolve(cwd, CONFIG_FILE_NAME);
  if (existsSync(local)) return { file: local, source: 'cwd' };
  const user = join(xdgConfigHome(env), 'airlock', 'config.yaml');
  if (existsSync(user)) return { file: user, source: 'user' };
  return { file: null, source: 'none' };
}

/** Expands a leading `~/` and resolves a path relative to `base` (the config file's directory). */
export function resolveConfigPath(p: string, base: string, env: Env = process.env): string {
  if (p === '~' || p.startsWith('~/')) return join(home(env), p.slice(1));
  return resolve(base, p);
}
