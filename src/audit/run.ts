/**
 * The audit as the CLI runs it: the target from the config (or --target), the ledger opened read-only, the
 * checkpoint key (pinned, else the key file's, else the ledger's own record), the trust root for --verify (the
 * config's trusted root, else the offline one: never the network).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { SyncConfig } from '../config/config.js';
import type { LedgerSettings } from '../config/ledger-config.js';
import { AirlockError } from '../errors.js';
import { keyFileVerifier } from '../ledger/actions.js';
import { parseVerifierKey } from '../ledger/keys.js';
import { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log.js';
import { parseReference } from '../oci/reference.js';
import { storeOptionsOf } from '../pipeline/sync.js';
import { openStoreFor } from '../store/open.js';
import { loadOfflineTrustAnchor, loadTrustAnchorFile } from '../trust/index.js';
import { auditTarget, type AuditResult } from './audit.js';
import type { AuditScope } from './ledger-model.js';
import { resolve } from 'node:path';

export interface RunAuditOptions {
  config: SyncConfig;
  ledger: LedgerSettings;
  verify: boolean;
  /** Where the ledger recorded the target, when it has moved since (`--recorded-as`). */
  recordedAs?: string | undefined;
  /** A verifier key the auditor pinned (`ledger checkpoint --json` .verifierKey). */
  publicKeyFile?: string | undefined;
  logger?: Logger | undefined;
}

export function auditScope(target: string): AuditScope {
  const ref = parseReference(target);
  if (ref.kind === 'registry') {
    // A prefix names no tag; parsed with a child repository below it so a bare prefix is not read as `:latest`.
    const prefix = target.replace(/\/+$/, '');
    const below = prefix.includes('/') ? prefix.slice(prefix.indexOf('/') + 1) : '';
    if (prefix.includes('@') || below.includes(':')) {
      throw new AirlockError('BAD_INPUT', `The target ${target} names a tag or digest; give the registry prefix the mirror lives under, e.g. registry.internal/fluxcd.`);
    }
    const child = parseReference(`${prefix}/x`);
    if (child.kind !== 'registry') throw new AirlockError('BAD_INPUT', `The target ${target} is not a registry prefix or an oci: directory.`);
    return { kind: 'registry', registry: child.registry, prefix: child.repository.slice(0, -2) };
  }
  if (ref.kind === 'oci') return { kind: 'oci', root: resolve(ref.path) };
  throw new AirlockError('BAD_INPUT', `The target ${target} is an archive; audit a registry prefix or an oci: directory.`);
}

export async function runAudit(o: RunAuditOptions): Promise<AuditResult> {
  const target = o.config.target;
  const scope = auditScope(target);
  const recordedScope = o.recordedAs !== undefined ? auditScope(o.recordedAs) : undefined;
  if (recordedScope && recordedScope.kind !== scope.kind) {
    throw new AirlockError('BAD_INPUT', `--recorded-as ${o.recordedAs} is not the same kind of target as ${target}; give the registry prefix or oci: directory the ledger recorded.`);
  }
  if (scope.kind === 'oci' && !existsSync(scope.root)) {
    throw new AirlockError('NOT_FOUND', `The target ${target} does not exist; check --target or the config's target.`);
  }
  const pinnedText = o.publicKeyFile !== undefined ? readPinned(o.publicKeyFile) : undefined;
  const trust = o.verify ? (o.config.trust.trustedRoot !== undefined ? loadTrustAnchorFile(o.config.trust.trustedRoot) : loadOfflineTrustAnchor()) : undefined;
  const ledger = Ledger.open(o.ledger.path, { readOnly: true });
  try {
    const checkpointKey = pinnedText !== undefined ? parseVerifierKey(pinnedText, `The public key ${o.publicKeyFile}`, ledger.origin) : (keyFileVerifier(o.ledger, ledger.origin) ?? ledger.storedKey);
    const ref = parseReference(target);
    const store = await openStoreFor(ref, storeOptionsOf(o.config, o.logger));
    try {
      return await auditTarget({ store, target, scope, recordedScope, ledger, checkpointKey, verify: trust ? { trust } : undefined, logger: o.logger });
    } finally {
      await store.close();
    }
  } finally {
    ledger.close();
  }
}

function readPinned(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new AirlockError('NOT_FOUND', `The public key ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: e });
  }
}
