/**
 * The policies and trust root an image verification runs against, built from what the user gave: cosign's policy
 * flags (or `--key`), a `--policy` file, `--trusted-root`. Bad flags fail here, before any store is contacted.
 */
import { readFileSync } from 'node:fs';
import { AirlockError, messageOf } from '../errors.js';
import { loadOfflineTrustAnchor, loadTrustAnchorFile, parsePublicKey, type TrustAnchor } from '../trust/index.js';
import { toPolicy, toPredicateTypes, type AttestationRule, type Policy, type PolicyInput } from '../verify/index.js';
import { readPolicyFile, type PolicyEntry } from './policy-file.js';

export interface PolicyOptions {
  /** The certificate policy flags (identity, issuer, extensions). */
  policy?: Omit<PolicyInput, 'key' | 'insecureIgnoreTlog'>;
  /** `--key`: a PEM public key file for key-based signatures. */
  keyPath?: string;
  insecureIgnoreTlog?: boolean;
  /** `--policy`: identities for signatures and attestation rules. */
  policyFile?: string;
}

export interface TrustOptions {
  trustedRootPath?: string;
  trustDir?: string;
}

export interface ImagePolicies {
  signatures: Policy[];
  attestations: AttestationRule[];
}

function readKey(path: string): ReturnType<typeof parsePublicKey> {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_INPUT';
    throw new AirlockError(code, `The key ${path} could not be read (${messageOf(e)}).`, { cause: e });
  }
  return parsePublicKey(pem, `the key ${path}`);
}

function fromEntry(e: PolicyEntry): Policy {
  return toPolicy({ ...e.input, ...(e.keyPath ? { key: readKey(e.keyPath) } : {}) });
}

/** The policy the flags describe, or undefined when no policy flag was given. */
export function flagPolicy(o: PolicyOptions): Policy | undefined {
  const given = Object.values(o.policy ?? {}).some((v) => v !== undefined) || o.keyPath !== undefined || o.insecureIgnoreTlog === true;
  if (!given) return undefined;
  return toPolicy({ ...o.policy, ...(o.keyPath !== undefined ? { key: readKey(o.keyPath) } : {}), insecureIgnoreTlog: o.insecureIgnoreTlog === true });
}

/** Signature policies (flags, then the file's) and attestation rules (the file's); at least one signature policy. */
export function loadImagePolicies(o: PolicyOptions): ImagePolicies {
  const signatures: Policy[] = [];
  const fromFlags = flagPolicy(o);
  if (fromFlags) signatures.push(fromFlags);
  const file = o.policyFile !== undefined ? readPolicyFile(o.policyFile) : undefined;
  for (const e of file?.signatures ?? []) signatures.push(fromEntry(e));
  // No policy at all: toPolicy's own refusal says what is missing (an identity and an issuer, or --key).
  if (signatures.length === 0) signatures.push(toPolicy({}));
  const attestations = (file?.attestations ?? []).map((e) => Object.freeze({ predicateTypes: e.predicateTypes, policy: fromEntry(e) }));
  return { signatures, attestations };
}

/** `verify attestation --type T` with the policy flags: one rule. */
export function attestationRuleFromFlags(o: PolicyOptions, type: string): AttestationRule {
  const predicateTypes = toPredicateTypes(type);
  return Object.freeze({ predicateTypes, policy: flagPolicy(o) ?? toPolicy({}) });
}

/** --trusted-root, else the last `airlock trust update`, else the embedded public-good root. Never the network. */
export function loadVerifyTrust(o: TrustOptions): TrustAnchor {
  return o.trustedRootPath !== undefined ? loadTrustAnchorFile(o.trustedRootPath) : loadOfflineTrustAnchor(o.trustDir);
}
