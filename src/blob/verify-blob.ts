/**
 * `airlock verify blob FILE`: verifies a blob signed keyless as Flux signs its release checksums.
 *
 *  - `--bundle F`: the bundle holds everything; verified offline.
 *  - `--signature F --certificate F`: cosign v2's detached files, which carry no transparency evidence (FACTS §1).
 *    The evidence is fetched from Rekor: search by the blob's SHA-256, read a bounded number of the entries found,
 *    select the one that logged this signature with this certificate (anyone can log entries for the same hash:
 *    see src/rekor/select.ts), build a bundle from the given files plus that entry, and verify the bundle.
 * Verification itself is src/verify's verifyBundle, against the trust root and identity policy given. With
 * `--output-bundle F` the verified bundle is written out, so the blob verifies later offline (airlock or cosign).
 */
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { AirlockError, messageOf } from '../errors.js';
import { debug, type Logger } from '../log.js';
import type { Digest } from '../oci/digest.js';
import { loadOfflineTrustAnchor, loadTrustAnchor, loadTrustAnchorFile, type TrustAnchor } from '../trust/index.js';
import { checkFailed } from '../verify/checks.js';
import { summarizeVerdict, toPolicy, verifyBundle, type PolicyInput, type VerdictSummary } from '../verify/index.js';
import { toBlobBundle } from '../rekor/bundle.js';
import { PUBLIC_GOOD_REKOR_URL, RekorClient } from '../rekor/client.js';
import { ENTRY_CHECKS, expectedEntryUuid, selectRekorEntry, type DetachedSignature, type EntryCheck, type Rejection } from '../rekor/select.js';
import type { RekorEntry } from '../rekor/entry.js';
import { parseCertificateFile, parseSignatureFile } from './detached.js';

export interface VerifyBlobOptions {
  file: string;
  bundlePath?: string;
  signaturePath?: string;
  certificatePath?: string;
  policy: PolicyInput;
  trustedRootPath?: string;
  /** Where `airlock trust update` keeps the refreshed root (see --trust-dir). */
  trustDir?: string;
  /** Rekor to search (default public-good); plain http only to loopback. */
  rekorUrl?: string;
  /** Entries read per search at most (default 32). */
  maxRekorEntries?: number;
  outputBundlePath?: string;
  logger?: Logger;
}

/** Test seams, for the mutation tests only: which entry checks selection applies. */
export interface VerifyBlobSeams {
  entryChecks?: readonly EntryCheck[];
}

export interface RekorLookup {
  url: string;
  /** Entries the search by hash returned, and how many of them were read. */
  found: number;
  read: number;
  /** How the matching entry was found: among the search results, or by its computed UUID. */
  via: 'search' | 'uuid';
  uuid: string;
  logIndex: number;
  /** The entries passed over, with the first check each failed. */
  rejected: Rejection[];
}

export interface VerifyBlobResult {
  file: string;
  digest: Digest;
  source: 'bundle' | 'rekor';
  rekor?: RekorLookup;
  outputBundle?: string;
  verdict: VerdictSummary;
}

/** Reads a user-named file. A missing bundle or signature file means there is no signature (as verify-bundle). */
async function readInput(path: string, what: 'file' | 'bundle' | 'signature' | 'certificate'): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    if (missing && (what === 'bundle' || what === 'signature')) {
      throw new AirlockError('NO_SIGNATURE', `There is no ${what} at ${path}, so there is no signature to verify.`, { cause: e });
    }
    throw new AirlockError(missing ? 'NOT_FOUND' : 'BAD_INPUT', `The ${what} ${path} could not be read (${messageOf(e)}).`, { cause: e });
  }
  if ((what === 'bundle' || what === 'signature') && bytes.toString('utf8').trim() === '') {
    throw new AirlockError('NO_SIGNATURE', `The ${what} ${path} is empty, so there is no signature to verify.`);
  }
  return bytes;
}

function checkFlags(o: VerifyBlobOptions): void {
  if (o.bundlePath !== undefined && (o.signaturePath !== undefined || o.certificatePath !== undefined)) {
    throw new AirlockError('BAD_INPUT', 'Give --bundle, or --signature with --certificate, not both.');
  }
  if (o.bundlePath === undefined && o.signaturePath === undefined && o.certificatePath === undefined) {
    throw new AirlockError('NO_SIGNATURE', 'No signature was given: pass --bundle, or --signature and --certificate (the .sig and .pem files).');
  }
  if (o.bundlePath === undefined && (o.signaturePath === undefined || o.certificatePath === undefined)) {
    throw new AirlockError('BAD_INPUT', '--signature and --certificate go together: a keyless blob signature is verified with its certificate.');
  }
}

/** Finds the Rekor entry that logged `given`: a bounded search by hash, then a direct lookup by computed UUID. */
export async function findEntry(client: RekorClient, given: DetachedSignature, checks: readonly EntryCheck[]): Promise<{ entry: RekorEntry; lookup: Omit<RekorLookup, 'uuid' | 'logIndex'> }> {
  const { entries, found } = await client.entriesForHash(given.digestHex);
  const selection = selectRekorEntry(entries, given, checks);
  const base = { url: client.baseUrl.href, found, read: entries.length, rejected: selection.rejected };
  if (selection.entry) return { entry: selection.entry, lookup: { ...base, via: 'search' } };
  const direct = await client.getEntry(expectedEntryUuid(given));
  const second = direct ? selectRekorEntry([direct], given, checks) : undefined;
  if (second?.entry) return { entry: second.entry, lookup: { ...base, via: 'uuid' } };
  throw new AirlockError(
    'NO_SIGNATURE',
    `Rekor at ${client.baseUrl.host} has no entry logging this signature and certificate for sha256:${given.digestHex} (${found} entries for the hash, ${entries.length} read, none matched); the signature was never logged there.`,
    { details: { check: 'tlog-entry-selection', found, read: entries.length, rejected: selection.rejected } },
  );
}

async function writeBundle(path: string, bundle: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, `${JSON.stringify(bundle, null, 2)}\n`);
    await rename(tmp, path);
  } catch (e) {
    throw new AirlockError('BAD_INPUT', `The bundle could not be written to ${path} (${messageOf(e)}).`, { cause: e });
  }
}

async function loadTrust(o: VerifyBlobOptions, online: boolean): Promise<TrustAnchor> {
  if (o.trustedRootPath !== undefined) return loadTrustAnchorFile(o.trustedRootPath);
  // Going to Rekor means being online anyway: refresh the public-good root through TUF when reachable. With a
  // bundle, stay offline as verify-bundle does (the last refreshed root, else the embedded one).
  if (!online) return loadOfflineTrustAnchor(o.trustDir);
  return loadTrustAnchor({ refresh: 'if-online', ...(o.trustDir ? { trustDir: o.trustDir } : {}), ...(o.logger ? { logger: o.logger } : {}) });
}

export async function verifyBlob(o: VerifyBlobOptions, seams: VerifyBlobSeams = {}): Promise<VerifyBlobResult> {
  checkFlags(o);
  const policy = toPolicy(o.policy); // bad flags fail before anything is read or fetched
  const client = o.bundlePath === undefined ? new RekorClient({ baseUrl: o.rekorUrl ?? PUBLIC_GOOD_REKOR_URL, ...(o.maxRekorEntries ? { maxEntries: o.maxRekorEntries } : {}), ...(o.logger ? { logger: o.logger } : {}) }) : undefined;
  const bytes = await readInput(o.file, 'file');
  const trust = await loadTrust(o, client !== undefined);

  let bundle: unknown;
  let rekor: RekorLookup | undefined;
  if (o.bundlePath !== undefined) {
    const text = await readInput(o.bundlePath, 'bundle');
    try {
      bundle = JSON.parse(text.toString('utf8'));
    } catch (e) {
      throw checkFailed('bundle-format', `${o.bundlePath} is not valid JSON (${messageOf(e)})`, { cause: e });
    }
  } else {
    const digest = createHash('sha256').update(bytes).digest();
    const given: DetachedSignature = {
      signature: parseSignatureFile(await readInput(o.signaturePath!, 'signature'), o.signaturePath!),
      certificateDer: parseCertificateFile(await readInput(o.certificatePath!, 'certificate'), o.certificatePath!),
      digestHex: digest.toString('hex'),
    };
    const { entry, lookup } = await findEntry(client!, given, seams.entryChecks ?? ENTRY_CHECKS);
    debug(o.logger, 'rekor entry selected', { uuid: entry.uuid, logIndex: entry.logIndex, via: lookup.via, rejected: lookup.rejected.length });
    rekor = { ...lookup, uuid: entry.uuid, logIndex: entry.logIndex };
    bundle = toBlobBundle({ signature: given.signature, certificateDer: given.certificateDer, digest }, entry);
  }

  const verdict = verifyBundle({ bundle, artifact: { bytes } }, trust, policy);
  if (o.outputBundlePath !== undefined) await writeBundle(o.outputBundlePath, bundle);
  return {
    file: o.file,
    digest: verdict.artifact.digest,
    source: o.bundlePath !== undefined ? 'bundle' : 'rekor',
    ...(rekor ? { rekor } : {}),
    ...(o.outputBundlePath !== undefined ? { outputBundle: o.outputBundlePath } : {}),
    verdict: summarizeVerdict(verdict),
  };
}
