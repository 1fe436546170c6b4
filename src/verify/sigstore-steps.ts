/**
 * @sigstore/verify's Verifier, one step at a time.
 *
 * `Verifier.verify(entity)` (4.1.x, dist/verifier.js) is exactly: verifyTimestamps → verifySigningKey →
 * verifyTLogs → verifySignature (→ its own policy, which we never pass). We call those four methods ourselves,
 * in the same order and with the same arguments, for two reasons:
 *  - each becomes one named check (checks.ts), so a failure says which one, and a test can switch one off;
 *  - verifyTimestamps returns the verified times, which verify() discards and a verdict must record.
 * They are TypeScript-private but ordinary methods at run time. If a future @sigstore/verify renames them,
 * `stepsOf` throws INTERNAL — verification fails closed, it never silently skips a step — and the unit tests
 * (verify-steps) fail at once.
 */
import { Verifier, type SignedEntity, type Signer, type TrustMaterial } from '@sigstore/verify';
import { AirlockError } from '../errors.js';

export interface VerifierSteps {
  verifyTimestamps(entity: SignedEntity): Date[];
  verifySigningKey(entity: SignedEntity, timestamps: Date[]): Signer;
  verifyTLogs(entity: SignedEntity): void;
  verifySignature(entity: SignedEntity, signer: Signer): void;
}

const STEP_NAMES = ['verifyTimestamps', 'verifySigningKey', 'verifyTLogs', 'verifySignature'] as const;

export interface Thresholds {
  tlogThreshold: number;
  ctlogThreshold: number;
  timestampThreshold: number;
}

export function sigstoreSteps(material: TrustMaterial, thresholds: Thresholds): VerifierSteps {
  const verifier = new Verifier(material, thresholds);
  return stepsOf(verifier);
}

export function stepsOf(verifier: Verifier): VerifierSteps {
  const v = verifier as unknown as Record<string, unknown>;
  for (const name of STEP_NAMES) {
    if (typeof v[name] !== 'function') {
      throw new AirlockError('INTERNAL', `@sigstore/verify no longer has Verifier.${name}; airlock must be updated for this version (verification refused).`);
    }
  }
  return verifier as unknown as VerifierSteps;
}
