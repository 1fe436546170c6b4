/**
 * The signing key on disk. It lives outside the ledger's directory (so whoever can replace the ledger file
 * cannot also re-sign it), is created once — with a notice — when its ledger is created, and is refused when
 * others can read it, as ssh refuses an open private key.
 */
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { AirlockError } from '../errors.js';
import { warn, type Logger } from '../log.js';
import { generateSigningKey, parsePrivateKey, type SigningKey } from './keys.js';

const MAX_KEY_FILE = 4096;

/** Loads the key at `path`, which must be this ledger's (named after its origin). Throws LEDGER_KEY otherwise. */
export function loadKeyFile(path: string, origin: string): SigningKey {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AirlockError(
        'LEDGER_KEY',
        `The ledger's signing key ${path} is missing; restore it from your backup or set ledger.key to where it is (airlock never replaces a ledger's key silently).`,
        { cause: e, details: { path } },
      );
    }
    throw new AirlockError('LEDGER_KEY', `The ledger's signing key ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: e });
  }
  if (!st.isFile() || st.size > MAX_KEY_FILE) throw new AirlockError('LEDGER_KEY', `${path} is not a ledger key file.`);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new AirlockError(
      'LEDGER_KEY',
      `The ledger's signing key ${path} is accessible to other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 on it.`,
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new AirlockError('LEDGER_KEY', `The ledger's signing key ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: e });
  }
  const key = parsePrivateKey(text, `The key file ${path}`);
  if (key.name !== origin) {
    throw new AirlockError('LEDGER_KEY', `The key ${path} belongs to the ledger ${key.name}, not to this one (${origin}).`, {
      details: { path, keyName: key.name, origin },
    });
  }
  return key;
}

/**
 * Creates a new key at `path` (exclusively: an existing file is never overwritten) with mode 0600 in a
 * directory created 0700, and says so: the operator must back it up and give auditors its public key.
 */
export function createKeyFile(path: string, origin: string, logger?: Logger): SigningKey {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const { key, text } = generateSigningKey(origin);
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadKeyFile(path, origin);
    throw new AirlockError('LEDGER_KEY', `Cannot create the ledger's signing key ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: e });
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  chmodSync(path, 0o600); // the umask may have narrowed it further, never widened; make it exact
  warn(logger, `created the ledger signing key ${path}; back it up and give auditors its public key (airlock ledger checkpoint --json shows it)`, {
    path,
    origin,
  });
  return key;
}
