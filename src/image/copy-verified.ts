/**
 * `airlock copy SRC DST`, verifying by default: the policies and trust root are built from the flags first (bad
 * flags fail before any store is contacted), the source digest is verified before the target is opened, and only
 * the image graph and the signature objects that verified are copied. `--insecure-skip-verify` copies the graph
 * alone, marked unverified, and refuses policy flags that it would silently ignore.
 */
import { copyReferences, type CopyCommandResult, type CopyReferencesOptions } from '../copy/references.js';
import { AirlockError } from '../errors.js';
import { parseReference } from '../oci/reference.js';
import type { SignatureLimits } from '../signatures/index.js';
import { authorizeImageCopy, type CopyVerification } from './authorize.js';
import { loadImagePolicies, loadVerifyTrust, type PolicyOptions, type TrustOptions } from './policies.js';

export interface CopyVerifiedOptions extends Omit<CopyReferencesOptions<CopyVerification>, 'authorize'>, PolicyOptions, TrustOptions {
  limits?: Partial<SignatureLimits>;
}

export type CopyVerifiedResult = CopyCommandResult<CopyVerification>;

function policyGiven(o: PolicyOptions): boolean {
  return Object.values(o.policy ?? {}).some((v) => v !== undefined) || o.keyPath !== undefined || o.policyFile !== undefined || o.insecureIgnoreTlog === true;
}

/**
 * Everything a copy decides before touching anything: the flags, the policies and trust root, the references.
 * Throws BAD_INPUT before any store or ledger is opened; returns what copyReferences runs.
 */
export function prepareVerifiedCopy(o: CopyVerifiedOptions): CopyReferencesOptions<CopyVerification> {
  parseReference(o.source);
  parseReference(o.target);
  if (o.insecureSkipVerify) {
    if (policyGiven(o)) {
      throw new AirlockError('BAD_INPUT', '--insecure-skip-verify copies without verifying anything, so the policy flags given with it would be ignored; give one or the other.');
    }
    return o;
  }
  const policies = loadImagePolicies(o);
  const trust = loadVerifyTrust(o);
  return {
    ...o,
    authorize: (source, digest) => authorizeImageCopy(source, digest, { policies, trust, ...(o.limits ? { limits: o.limits } : {}) }),
  };
}

export async function copyVerified(o: CopyVerifiedOptions): Promise<CopyVerifiedResult> {
  return copyReferences<CopyVerification>(prepareVerifiedCopy(o));
}
