/**
 * `airlock copy` with its record: the discovered ledger is opened (created, with its key and a notice, on first
 * use) once the flags are known to be good, the copy runs with the ledger recorder (copy-record.ts), a refusal (no signature, or none that verified)
 * is recorded once, and the run's checkpoint is written when anything was appended. The ledger is opened before
 * any store is contacted, so a missing key or a foreign ledger fails first and nothing is copied unrecorded.
 */
import { createHash } from 'node:crypto';
import type { LedgerSettings } from '../config/ledger-config.js';
import type { AirlockError} from '../errors.js';
import { isAirlockError } from '../errors.js';
import { copyReferences } from '../copy/references.js';
import type { CopyVerification } from '../image/authorize.js';
import { prepareVerifiedCopy, type CopyVerifiedOptions, type CopyVerifiedResult } from '../image/copy-verified.js';
import type { JsonObject } from '../ledger/canonical.js';
import { refusedEvent } from '../ledger/events.js';
import { Ledger, type CheckpointOutcome } from '../ledger/ledger.js';
import { toSinks } from '../ledger/sinks.js';
import { parseReference } from '../oci/reference.js';
import { RegistryCheckpointSink } from './checkpoint-artifact.js';
import { ledgerCopyRecorder, imageOf } from './copy-record.js';

export interface CopyAndRecordOptions extends CopyVerifiedOptions {
  ledger: LedgerSettings;
  toolVersion: string;
  /** The flags that decide the policy, for the run's config digest (what policy was in force). */
  policyDescription: JsonObject;
}

export interface CopyAndRecordResult extends CopyVerifiedResult {
  ledger: { path: string; appended: number; checkpoint: { size: number; rootHash: string } | null };
}

export async function copyAndRecord(o: CopyAndRecordOptions): Promise<CopyAndRecordResult> {
  // Bad flags fail here, before the ledger (and its key) is created or a store contacted.
  const prepared = prepareVerifiedCopy(o);
  const sinks = toSinks(o.ledger.sinks);
  const target = parseReference(o.target);
  // A registry target also holds a copy of each checkpoint (checkpoint-artifact.ts).
  if (target.kind === 'registry') sinks.push(new RegistryCheckpointSink(target, o.storeOptions ?? {}));
  const ledger = Ledger.open(o.ledger.path, { create: true, key: o.ledger.key, sinks, ...(o.logger ? { logger: o.logger } : {}) });
  try {
    const configDigest = `sha256:${createHash('sha256').update(JSON.stringify(o.policyDescription)).digest('hex')}`;
    const run = ledger.startRun({ command: 'copy', toolVersion: o.toolVersion, configDigest, source: o.source, target: o.target });
    let result: CopyVerifiedResult;
    try {
      result = await copyReferences<CopyVerification>({ ...prepared, recorder: ledgerCopyRecorder(run, (f) => ledger.list(f)) });
    } catch (e) {
      const refused = isAirlockError(e, 'VERIFY_FAILED') || isAirlockError(e, 'NO_SIGNATURE');
      if (refused) {
        const details = (e as AirlockError).details;
        run.appendRefusalOnce(
          refusedEvent({
            image: safeImage(o.source),
            digest: typeof details?.digest === 'string' ? details.digest : null,
            reason: (e as AirlockError).code,
            message: (e as AirlockError).message,
            evidence: JSON.parse(JSON.stringify({ check: details?.check ?? null, failures: details?.failures ?? null })) as JsonObject,
          }),
        );
      }
      await run.finish({ outcome: refused ? 'refusals' : 'failed', counts: { copied: 0, refused: refused ? 1 : 0 } });
      throw e;
    }
    const outcome: CheckpointOutcome | null = await run.finish({ outcome: 'ok', counts: { copied: result.alreadyPresent ? 0 : 1, refused: 0 } });
    const cp = outcome?.checkpoint;
    return {
      ...result,
      ledger: { path: o.ledger.path, appended: run.appendedCount, checkpoint: cp ? { size: cp.size, rootHash: cp.rootHash.toString('base64') } : null },
    };
  } finally {
    ledger.close();
  }
}

function safeImage(source: string): string | null {
  try {
    return imageOf(source);
  } catch {
    return null;
  }
}
