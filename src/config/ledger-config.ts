/**
 * The `ledger:` section of airlock.yaml, and only that: the full config schema arrives with sync, which will
 * read the rest. Unknown keys inside `ledger:` are errors naming file and line, so a typo never silently falls
 * back to a default for an audit setting.
 *
 *   ledger:
 *     path: airlock.db              # relative to the config file
 *     key: ~/.config/airlock/keys/airlock.ledger/<id>.ed25519
 *     checkpoint_sinks:
 *       - file: /mnt/audit/airlock.checkpoint
 *         leaves_host: true
 *       - command: [logger, -t, airlock-checkpoint]
 *   demo: true                      # only `airlock demo` writes this; lets the key sit beside the ledger
 */
import { dirname } from 'node:path';
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { AirlockError } from '../errors.js';
import type { SinkSpec } from '../ledger/sinks.js';
import { bool, failAt, readConfigDocument, str, type YamlCtx } from './yaml-nodes.js';
import { defaultKeyPath, defaultLedgerPath, discoverConfig, isInside, resolveConfigPath, type ConfigSource, type Env } from './paths.js';

export interface LedgerSettings {
  /** Absolute path of the ledger file. */
  path: string;
  /** The signing key's path for a ledger origin: the configured one, or the default; throws if it is misplaced. */
  key: (origin: string) => string;
  sinks: SinkSpec[];
  demo: boolean;
  configFile: string | null;
  configSource: ConfigSource;
}


interface LedgerSection {
  path?: string;
  key?: string;
  sinks: SinkSpec[];
  demo: boolean;
}

/** Reads and validates the ledger-related parts of a config file; paths are resolved against its directory. */
export function readLedgerSection(file: string, env: Env = process.env): LedgerSection {
  const { doc, ctx } = readConfigDocument(file);
  const base = dirname(file);
  const out: LedgerSection = { sinks: [], demo: false };
  if (doc.contents === null) return out;
  if (!isMap(doc.contents)) failAt(ctx, doc.contents, 'the config must be a mapping');
  const demo = doc.contents.get('demo', true);
  if (demo !== undefined) out.demo = bool(ctx, demo, 'demo');
  const section = doc.contents.get('ledger', true);
  if (section === undefined || (isScalar(section) && section.value === null)) return out;
  if (!isMap(section)) failAt(ctx, section as Node, 'ledger must be a mapping');
  for (const pair of section.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '';
    const v = pair.value;
    if (k === 'path') out.path = resolveConfigPath(str(ctx, v, 'ledger.path'), base, env);
    else if (k === 'key') out.key = resolveConfigPath(str(ctx, v, 'ledger.key'), base, env);
    else if (k === 'checkpoint_sinks') out.sinks = readSinks(ctx, v, base, env);
    else failAt(ctx, pair.key as Node, `unknown setting ledger.${k} (known: path, key, checkpoint_sinks)`);
  }
  return out;
}

function readSinks(ctx: YamlCtx, node: unknown, base: string, env: Env): SinkSpec[] {
  if (isScalar(node) && node.value === null) return [];
  if (!isSeq(node)) failAt(ctx, node as Node, 'ledger.checkpoint_sinks must be a list');
  return node.items.map((item) => {
    if (!isMap(item)) failAt(ctx, item as Node, 'each checkpoint sink must be a mapping with file: or command:');
    let leavesHost = false;
    let spec: SinkSpec | undefined;
    for (const pair of item.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : '';
      if (k === 'leaves_host') leavesHost = bool(ctx, pair.value, 'leaves_host');
      else if (k === 'file') spec = { type: 'file', path: resolveConfigPath(str(ctx, pair.value, 'file'), base, env), leavesHost };
      else if (k === 'command') {
        const v = pair.value;
        if (!isSeq(v) || v.items.length === 0) failAt(ctx, v as Node, 'command must be a non-empty list such as [logger, -t, airlock]');
        spec = { type: 'command', argv: v.items.map((a) => str(ctx, a, 'each command argument')), leavesHost };
      } else failAt(ctx, pair.key as Node, `unknown checkpoint sink setting ${k} (known: file, command, leaves_host)`);
    }
    if (!spec) failAt(ctx, item as Node, 'a checkpoint sink needs file: or command:');
    return { ...spec, leavesHost };
  });
}

/**
 * The ledger to use: `ledgerFlag` (a file) if given, else the config's `ledger.path` (default `airlock.db`
 * beside the config), else `$XDG_STATE_HOME/airlock/airlock.db`. A key inside the ledger's directory is
 * refused unless the config is a demo's.
 */
export function resolveLedgerSettings(opts: { config?: string; ledger?: string; env?: Env; cwd?: string } = {}): LedgerSettings {
  const env = opts.env ?? process.env;
  const found = discoverConfig({ flag: opts.config, env, cwd: opts.cwd });
  const section: LedgerSection = found.file ? readLedgerSection(found.file, env) : { sinks: [], demo: false };
  const configDir = found.file ? dirname(found.file) : null;
  const path = opts.ledger
    ? resolveConfigPath(opts.ledger, opts.cwd ?? process.cwd(), env)
    : (section.path ?? (configDir ? resolveConfigPath('airlock.db', configDir, env) : defaultLedgerPath(env)));
  const ledgerDir = dirname(path);
  const guard = (keyPath: string): string => {
    if (!section.demo && isInside(keyPath, ledgerDir)) {
      throw new AirlockError(
        'LEDGER_KEY',
        `The ledger key ${keyPath} is inside the ledger's directory ${ledgerDir}; keep it elsewhere (the default is under ${env.XDG_CONFIG_HOME || '~/.config'}/airlock/keys/) so whoever can replace the ledger cannot re-sign it.`,
      );
    }
    return keyPath;
  };
  // Checked when the key is used (by a writer), not here: a reader never needs the key at all.
  const configuredKey = section.key;
  const key = (origin: string) => guard(configuredKey ?? defaultKeyPath(origin, env));
  return { path, key, sinks: section.sinks, demo: section.demo, configFile: found.file, configSource: found.source };
}
