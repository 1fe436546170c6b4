/**
 * A fresh ledger must not silently start against a target that already holds what an airlock mirrored: the new
 * ledger would know nothing of that content, and an auditor asking it "what is in our mirror" would get a wrong
 * answer. Signs of an airlock mirror: a release artifact repository (`<profile>-release`) or a ledger checkpoint
 * repository (`airlock-ledger`) with tags. The way on is explicit: the ledger that mirrored it, or --adopt-target,
 * which re-verifies every tag it meets and records it as reconciled (never trusting it as found).
 */
import { AirlockError } from '../errors.js';
import { openReference } from '../store/open.js';
import type { StoreOptions } from '../store/options.js';
import { CHECKPOINT_REPOSITORY } from './checkpoint-artifact.js';

/** The repositories under `target` (a registry prefix or oci:DIR) whose tags mark an airlock mirror. */
async function mirroredMarks(target: string, markers: readonly string[], options: StoreOptions): Promise<string[]> {
  const found: string[] = [];
  for (const name of markers) {
    const ref = target.startsWith('oci:') ? `oci:${target.slice(4).replace(/\/$/, '')}/${name}` : `${target.replace(/\/$/, '')}/${name}`;
    let opened;
    try {
      opened = await openReference(ref, options);
    } catch {
      continue; // an oci: directory that does not exist yet holds nothing
    }
    try {
      const tags = await opened.repository.listTags().catch(() => []);
      if (tags.length > 0) found.push(`${opened.display} (${tags.length} tags)`);
    } finally {
      await opened.store.close().catch(() => undefined);
    }
  }
  return found;
}

export async function guardFreshLedger(o: {
  ledgerPath: string;
  ledgerIsEmpty: boolean;
  target: string;
  releaseRepository: string;
  adoptTarget: boolean;
  storeOptions: StoreOptions;
}): Promise<void> {
  if (!o.ledgerIsEmpty || o.adoptTarget) return;
  const marks = await mirroredMarks(o.target, [o.releaseRepository, CHECKPOINT_REPOSITORY], o.storeOptions);
  if (marks.length === 0) return;
  throw new AirlockError(
    'LEDGER_INVALID',
    `The target ${o.target} already holds content an airlock mirrored (${marks.join(', ')}), but the ledger ${o.ledgerPath} is empty: point --config at the ledger that mirrored it, or run again with --adopt-target to re-verify and record what the target holds.`,
    { details: { target: o.target, ledger: o.ledgerPath, found: marks } },
  );
}
