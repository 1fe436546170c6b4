import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors.js';
import { initConfig } from '../../src/config/init.js';
import { readLedgerSection, resolveLedgerSettings } from '../../src/config/ledger-config.js';
import { defaultKeyPath, defaultLedgerPath, discoverConfig, isInside } from '../../src/config/paths.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { ledgerSandbox, type LedgerSandbox } from '../support/ledger-fixtures.js';

let sb: LedgerSandbox;
let cwd: string;
beforeEach(() => {
  sb = ledgerSandbox('airlock-config-');
  cwd = join(sb.root, 'cwd');
  mkdirSync(cwd, { recursive: true });
});
afterEach(() => sb.cleanup());

function err(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isAirlockError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected an error');
}

describe('config discovery', () => {
  it('follows --config, $AIRLOCK_CONFIG, ./airlock.yaml, $XDG_CONFIG_HOME/airlock/config.yaml, in that order', () => {
    const env = { ...sb.env } as Record<string, string>;
    expect(discoverConfig({ env, cwd })).toEqual({ file: null, source: 'none' });
    const user = join(sb.env.XDG_CONFIG_HOME, 'airlock', 'config.yaml');
    mkdirSync(join(sb.env.XDG_CONFIG_HOME, 'airlock'), { recursive: true });
    writeFileSync(user, '');
    expect(discoverConfig({ env, cwd })).toEqual({ file: user, source: 'user' });
    writeFileSync(join(cwd, 'airlock.yaml'), '');
    expect(discoverConfig({ env, cwd })).toEqual({ file: join(cwd, 'airlock.yaml'), source: 'cwd' });
    const envFile = join(sb.root, 'env.yaml');
    writeFileSync(envFile, '');
    expect(discoverConfig({ env: { ...env, AIRLOCK_CONFIG: envFile }, cwd })).toEqual({ file: envFile, source: 'env' });
    const flagFile = join(sb.root, 'flag.yaml');
    writeFileSync(flagFile, '');
    expect(discoverConfig({ flag: flagFile, env: { ...env, AIRLOCK_CONFIG: envFile }, cwd })).toEqual({ file: flagFile, source: 'flag' });
  });

  it('an explicitly named config that is missing is an error, never a fall-through', () => {
    writeFileSync(join(cwd, 'airlock.yaml'), '');
    expect(err(() => discoverConfig({ flag: 'nope.yaml', env: sb.env, cwd })).code).toBe('NOT_FOUND');
    expect(err(() => discoverConfig({ env: { ...sb.env, AIRLOCK_CONFIG: '/nope.yaml' }, cwd })).code).toBe('NOT_FOUND');
  });

  it('without a config the ledger lives at $XDG_STATE_HOME/airlock/airlock.db (default ~/.local/state), whatever the cwd', () => {
    const s = resolveLedgerSettings({ env: sb.env, cwd });
    expect(s.path).toBe(join(sb.env.XDG_STATE_HOME, 'airlock', 'airlock.db'));
    expect(defaultLedgerPath({ HOME: '/home/u' })).toBe('/home/u/.local/state/airlock/airlock.db');
    expect(defaultLedgerPath({ HOME: '/home/u', XDG_STATE_HOME: 'relative/ignored' })).toBe('/home/u/.local/state/airlock/airlock.db');
    expect(s.key('airlock.ledger/abc')).toBe(join(sb.env.XDG_CONFIG_HOME, 'airlock', 'keys', 'airlock.ledger', 'abc.ed25519'));
    expect(() => defaultKeyPath('../../etc/passwd', sb.env)).toThrow(/cannot name a key file/);
  });
});

describe('the ledger: section', () => {
  it('reads path, key and sinks relative to the config file', () => {
    const file = join(cwd, 'airlock.yaml');
    writeFileSync(
      file,
      `target: oci:./mirror   # another section, read by sync
ledger:
  path: state/airlock.db
  key: ~/keys/ledger.ed25519
  checkpoint_sinks:
    - file: ../audit/airlock.checkpoint
      leaves_host: true
    - command: [logger, -t, airlock-checkpoint]
`,
    );
    const s = resolveLedgerSettings({ env: sb.env, cwd });
    expect(s.path).toBe(join(cwd, 'state', 'airlock.db'));
    expect(s.key('airlock.ledger/x')).toBe(join(sb.env.HOME, 'keys', 'ledger.ed25519'));
    expect(s.sinks).toEqual([
      { type: 'file', path: join(sb.root, 'audit', 'airlock.checkpoint'), leavesHost: true },
      { type: 'command', argv: ['logger', '-t', 'airlock-checkpoint'], leavesHost: false },
    ]);
    expect(s.configSource).toBe('cwd');
  });

  it('names file and line of a mistake', () => {
    const file = join(cwd, 'airlock.yaml');
    writeFileSync(file, 'ledger:\n  path: a.db\n  keyy: x\n');
    expect(err(() => readLedgerSection(file)).message).toBe(`${file}:3: unknown setting ledger.keyy (known: path, key, checkpoint_sinks).`);
    writeFileSync(file, 'ledger:\n  checkpoint_sinks:\n    - command: logger\n');
    expect(err(() => readLedgerSection(file)).message).toMatch(new RegExp(`^${file}:3: command must be a non-empty list`));
    writeFileSync(file, 'ledger: [\n');
    expect(err(() => readLedgerSection(file))).toMatchObject({ code: 'BAD_INPUT' });
    writeFileSync(file, 'demo: yes please\n');
    expect(err(() => readLedgerSection(file)).message).toBe(`${file}:1: demo must be true or false.`);
  });

  it('refuses a key inside the ledger directory unless the config is a demo', () => {
    const file = join(cwd, 'airlock.yaml');
    writeFileSync(file, 'ledger:\n  path: airlock.db\n  key: keys/ledger.ed25519\n');
    const settings = resolveLedgerSettings({ env: sb.env, cwd }); // readers never need the key: no error yet
    expect(err(() => settings.key('airlock.ledger/x'))).toMatchObject({ code: 'LEDGER_KEY', message: expect.stringMatching(/inside the ledger's directory/) });
    writeFileSync(file, 'demo: true\nledger:\n  path: airlock.db\n  key: keys/ledger.ed25519\n');
    expect(resolveLedgerSettings({ env: sb.env, cwd }).key('airlock.ledger/x')).toBe(join(cwd, 'keys', 'ledger.ed25519'));
    expect(isInside('/a/b/c', '/a/b')).toBe(true);
    expect(isInside('/a/bc', '/a/b')).toBe(false);
  });
});

describe('airlock init', () => {
  it('writes airlock.yaml with the ledger beside it and the key under the config directory, and the config finds both', () => {
    const notices: string[] = [];
    const r = initConfig({ dir: 'site', cwd, env: sb.env, logger: { log: (_l, m) => notices.push(m) } });
    expect(r.config).toBe(join(cwd, 'site', 'airlock.yaml'));
    expect(r.ledger).toBe(join(cwd, 'site', 'airlock.db'));
    expect(r.key).toBe(join(sb.env.XDG_CONFIG_HOME, 'airlock', 'keys', `${r.origin}.ed25519`));
    expect(statSync(r.key).mode & 0o777).toBe(0o600);
    expect(notices.join()).toMatch(/created the ledger signing key/);
    expect(readFileSync(r.config, 'utf8')).toMatch(/^ledger:\n {2}# .*\n {2}path: airlock\.db$/m);
    const s = resolveLedgerSettings({ env: sb.env, cwd: join(cwd, 'site') });
    expect(s).toMatchObject({ path: r.ledger, configSource: 'cwd' });
    expect(s.key(r.origin)).toBe(r.key);
    const l = Ledger.open(s.path, { key: s.key });
    expect(l.origin).toBe(r.origin);
    expect(l.size()).toBe(0);
    l.close();
    expect(err(() => initConfig({ dir: 'site', cwd, env: sb.env })).message).toMatch(/already exists; airlock init never overwrites/);
  });
});
