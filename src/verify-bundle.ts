/**
 * `airlock verify-bundle`: reads the files the user named, then hands bytes to the pure verifier (src/verify).
 * Follows the sigstore-conformance client protocol: exit 0 verified, VERIFY_FAILED (10) when verification fails,
 * NO_SIGNATURE (11) when there is no bundle or no signature in it, BAD_INPUT (2) for bad flags.
 * Never touches the network: the trust root is --trusted-root, else the last TUF-refreshed one, else the embedded.
 */
import { readFileSync } from 'node:fs';
import { AirlockError, messageOf } from './errors.js';
import { loadOfflineTrustAnchor, loadTrustAnchorFile } from './trust/load.js';
import { parsePublicKey } from './trust/keys.js';
import { checkFailed } from './verify/checks.js';
import { toPolicy, type PolicyInput } from './verify/policy.js';
import { summarizeVerdict, type VerdictSummary } from './verify/summary.js';
import { verifyBundle, type ArtifactInput, type Verdict } from './verify/index.js';

export interface VerifyBundleFilesOptions {
  bundlePath: string;
  /** A file path, or `sha256:<hex>` for digest mode. */
  artifact: string;
  /** The certificate policy flags (identity, issuer, extensions); the key comes from keyPath. */
  policy?: Omit<PolicyInput, 'key' | 'insecureIgnoreTlog'>;
  keyPath?: string;
  insecureIgnoreTlog?: boolean;
  trustedRootPath?: string;
  trustDir?: string;
}

export interface VerifyBundleFilesResult {
  verdict: Verdict;
  summary: VerdictSummary;
}

const DIGEST_ARG = /^sha256:([0-9a-fA-F]{64})$/;

export function verifyBundleFiles(o: VerifyBundleFilesOptions): VerifyBundleFilesResult {
  // Flags first: a bad command line is reported before the bundle or artifact is read.
  const key = o.keyPath === undefined ? undefined : parsePublicKey(readUserFile(o.keyPath, 'key'), `the key ${o.keyPath}`);
  const policy = toPolicy({ ...o.policy, ...(key ? { key } : {}), insecureIgnoreTlog: o.insecureIgnoreTlog === true });
  const artifact = readArtifact(o.artifact);
  const bundle = readBundle(o.bundlePath);
  const trust = o.trustedRootPath !== undefined ? loadTrustAnchorFile(o.trustedRootPath) : loadOfflineTrustAnchor(o.trustDir);
  const verdict = verifyBundle({ bundle, artifact }, trust, policy);
  return { verdict, summary: summarizeVerdict(verdict) };
}

function readArtifact(arg: string): ArtifactInput {
  if (arg.startsWith('sha256:')) {
    const m = DIGEST_ARG.exec(arg);
    if (!m) throw new AirlockError('BAD_INPUT', `"${arg.slice(0, 80)}" is not sha256:<64 hex digits>; give the artifact file or its sha256 digest.`);
    return { digest: { algorithm: 'sha256', hex: m[1]!.toLowerCase() } };
  }
  return { bytes: readUserFile(arg, 'artifact') };
}

function readBundle(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AirlockError('NO_SIGNATURE', `There is no bundle at ${path}, so there is no signature to verify.`, { cause: e });
    }
    throw new AirlockError('BAD_INPUT', `The bundle ${path} could not be read (${messageOf(e)}).`, { cause: e });
  }
  if (text.trim() === '') throw new AirlockError('NO_SIGNATURE', `The bundle ${path} is empty, so there is no signature to verify.`);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw checkFailed('bundle-format', `${path} is not valid JSON (${messageOf(e)})`, { cause: e });
  }
}

function readUserFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_INPUT';
    throw new AirlockError(code, `The ${what} ${path} could not be read (${messageOf(e)}).`, { cause: e });
  }
}
