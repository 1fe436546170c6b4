/**
 * Ledger test kit: a private HOME/XDG layout per test, realistic events of every kind, and the "attacker" who
 * opens the real file with plain better-sqlite3, drops the triggers and edits rows.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  copiedSignatureEvent,
  copiedUpstreamEvent,
  composedEvent,
  insecureCopyEvent,
  refusedEvent,
  releaseDiscovered,
  verifiedEvent,
  type LedgerEventInput,
} from '../../src/ledger/events.js';
import { Ledger, type LedgerOpenOptions } from '../../src/ledger/ledger.js';
import { defaultKeyPath } from '../../src/config/paths.js';

export interface LedgerSandbox {
  root: string;
  env: { HOME: string; XDG_CONFIG_HOME: string; XDG_STATE_HOME: string };
  /** Where ledgers go (a directory of their own). */
  dataDir: string;
  ledgerPath: string;
  keyFor(origin: string): string;
  open(opts?: LedgerOpenOptions): Ledger;
  cleanup(): void;
}

export function ledgerSandbox(prefix = 'airlock-ledger-'): LedgerSandbox {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const env = {
    HOME: join(root, 'home'),
    XDG_CONFIG_HOME: join(root, 'home', '.config'),
    XDG_STATE_HOME: join(root, 'home', '.local', 'state'),
  };
  const dataDir = join(root, 'data');
  mkdirSync(dataDir, { recursive: true });
  const ledgerPath = join(dataDir, 'airlock.db');
  const keyFor = (origin: string) => defaultKeyPath(origin, env);
  return {
    root,
    env,
    dataDir,
    ledgerPath,
    keyFor,
    open: (opts = {}) => Ledger.open(ledgerPath, { key: keyFor, ...opts }),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export function digestOf(s: string): string {
  return `sha256:${createHash('sha256').update(s).digest('hex')}`;
}

/** n events cycling through every kind, as a sync of Flux releases would record them. */
export function sampleEvents(n: number, salt = ''): LedgerEventInput[] {
  const out: LedgerEventInput[] = [];
  for (let i = 0; i < n; i++) {
    const release = `v2.${Math.floor(i / 8)}.0`; // one release per cycle of eight kinds, discovered first
    const image = `ghcr.io/fluxcd/${['source', 'kustomize', 'helm', 'notification'][i % 4]}-controller`;
    const digest = digestOf(`${salt}image-${i}`);
    const sig = digestOf(`${salt}sig-${i}`);
    const target = `registry.internal/fluxcd/${image.split('/').pop()}:${release}`;
    switch (i % 8) {
      case 0:
        out.push(releaseDiscovered({ release, repository: 'fluxcd/flux2', checksums: { name: `flux_${release.slice(1)}_checksums.txt`, digest } }));
        break;
      case 1:
      case 2:
        out.push(
          verifiedEvent({
            image,
            digest,
            release,
            tag: release,
            verdict: { identity: 'https://github.com/fluxcd/flux2/.github/workflows/release.yml@refs/tags/' + release, issuer: 'https://token.actions.githubusercontent.com', logIndex: 1000 + i },
            trustRootDigest: digestOf('trusted_root.json'),
            bundleDigest: digestOf(`${salt}bundle-${i}`),
          }),
        );
        break;
      case 3:
        out.push(copiedUpstreamEvent({ image, digest, release, tag: release, source: `${image}:${release}`, target, written: [digest, digestOf(`${salt}layer-${i}`)] }));
        break;
      case 4:
        out.push(copiedSignatureEvent({ image, digest: sig, signs: digest, artifact: 'cosign-sig', release, source: `${image}:sha256-x.sig`, target, written: [sig] }));
        break;
      case 5:
        out.push(refusedEvent({ image, digest, release, tag: release, reason: 'IDENTITY_MISMATCH', message: 'Signed by another workflow.', evidence: { san: 'https://github.com/evil/fork' } }));
        break;
      case 6:
        out.push(composedEvent({ image, digest: digestOf(`${salt}composed-${i}`), subject: digest, release, what: 'signature-manifest', target, from: [sig], written: [digestOf(`${salt}composed-${i}`)] }));
        break;
      default:
        out.push(insecureCopyEvent({ image, digest, release, source: `${image}:${release}`, target, written: [digest], flag: '--insecure-skip-verify' }));
    }
  }
  return out;
}

/** The attacker: plain better-sqlite3 on the file, append-only triggers dropped, then `sql`. */
export function tamper(path: string, ...sql: string[]): void {
  const db = new Database(path);
  try {
    const triggers = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger'").pluck().all() as string[];
    for (const t of triggers) db.exec(`DROP TRIGGER ${t}`);
    for (const s of sql) db.exec(s);
  } finally {
    db.close();
  }
}

/** Bytes and mtime of a file (and whether -wal/-shm exist), to show something was left untouched. */
export function fingerprint(path: string): { sha256: string; mtimeMs: number; size: number } {
  const st = statSync(path);
  return { sha256: createHash('sha256').update(readFileSync(path)).digest('hex'), mtimeMs: st.mtimeMs, size: st.size };
}
