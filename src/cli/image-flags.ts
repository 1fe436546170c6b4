import { Flags } from '@oclif/core';
import type { PolicyOptions, TrustOptions } from '../image/policies.js';
import { trustDirFlag } from '../trust/flags.js';
import { identityPolicyFlags, policyInputFromFlags } from './identity-flags.js';

/**
 * The policy and trust flags of the commands that verify images (`verify image`, `verify attestation`, `copy`):
 * cosign's identity flags, or `--key` for key-based signatures, and the trust root to verify against.
 */
export const imagePolicyFlags = {
  ...identityPolicyFlags,
  key: Flags.string({ description: 'PEM public key for key-based signatures (cosign --key), instead of the certificate flags' }),
  'insecure-ignore-tlog': Flags.boolean({ description: 'with --key only: accept signatures that are not in a transparency log' }),
  'trusted-root': Flags.string({ description: 'trusted_root.json to verify against (private Sigstore, or from `airlock trust export`)' }),
  ...trustDirFlag,
};

type ImageFlagValues = Parameters<typeof policyInputFromFlags>[0] & {
  key?: string;
  'insecure-ignore-tlog'?: boolean;
  'trusted-root'?: string;
  'trust-dir'?: string;
};

export function imageOptionsFromFlags(f: ImageFlagValues): PolicyOptions & TrustOptions {
  return {
    policy: policyInputFromFlags(f),
    ...(f.key !== undefined ? { keyPath: f.key } : {}),
    insecureIgnoreTlog: f['insecure-ignore-tlog'] === true,
    ...(f['trusted-root'] !== undefined ? { trustedRootPath: f['trusted-root'] } : {}),
    ...(f['trust-dir'] !== undefined ? { trustDir: f['trust-dir'] } : {}),
  };
}
