/**
 * A release's root of trust: its checksums file, verified against the release identity. A release that ships a
 * Sigstore bundle is verified offline from it; one that ships cosign v2's detached `.sig`/`.pem` (every Flux
 * release so far) has no transparency evidence of its own, so the Rekor entry that logged THIS signature and
 * certificate is found (anyone can log entries for the same hash) and made into a bundle — kept as evidence,
 * and published with the release so the air-gapped side can verify offline.
 */
import { createHash } from 'node:crypto';
import { findEntry } from '../blob/verify-blob.js';
import { parseCertificateFile, parseSignatureFile } from '../blob/detached.js';
import { AirlockError, isAirlockError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { toBlobBundle } from '../rekor/bundle.js';
import { PUBLIC_GOOD_REKOR_URL, RekorClient } from '../rekor/client.js';
import { ENTRY_CHECKS } from '../rekor/select.js';
import type { TrustAnchor } from '../trust/index.js';
import type { ExpandedIdentity } from '../upstream/template.js';
import { parseChecksums, type ChecksumsFile, type ChecksumsMaterial, type GitHubReleases, type UnverifiedAsset } from '../upstream/index.js';
import { summarizeVerdict, toPolicy, verifyBundle, type Verdict, type VerdictSummary } from '../verify/index.js';
import type { Logger } from '../log.js';

/** Signature material is tiny; a bound keeps a hostile release from making us buffer much. */
const MAX_MATERIAL_BYTES = 64 * 1024;
const MAX_CHECKSUMS_BYTES = 1024 * 1024;

export interface VerifiedChecksums {
  name: string;
  bytes: Buffer;
  digest: Digest;
  file: ChecksumsFile;
  /** The bundle the verdict was reached with (for detached material: built from the files and Rekor's entry). */
  bundle: unknown;
  bundleSource: 'release-bundle' | 'rekor';
  /** The release's signature files as downloaded (.sig/.pem or its bundle), for publishing beside the files. */
  material: { name: string; bytes: Buffer }[];
  verdict: VerdictSummary;
}

/** Reads a small asset whole, through the client (never with the token), checked against GitHub's digest. */
export async function fetchAssetBytes(github: GitHubReleases, asset: UnverifiedAsset, maxBytes: number): Promise<Buffer> {
  const download = await github.downloadAsset(asset, { maxBytes });
  const chunks: Uint8Array[] = [];
  for await (const chunk of download.stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * The checksums file's bundle verified against the first of the identities it satisfies; VERIFY_FAILED (the last
 * failure) when none does. Shared by `sync` and `archive load` (src/archive/verify-release.ts).
 */
export function verifyAgainstAny(bundle: unknown, bytes: Buffer, trust: TrustAnchor, identities: readonly ExpandedIdentity[]): Verdict {
  let last: unknown;
  for (const identity of identities) {
    try {
      return verifyBundle({ bundle, artifact: { bytes } }, trust, toPolicy(identity));
    } catch (e) {
      if (!isAirlockError(e, 'VERIFY_FAILED')) throw e;
      last = e;
    }
  }
  throw last ?? new AirlockError('INTERNAL', 'The release profile names no identity for the checksums file.');
}

export async function verifyReleaseChecksums(
  github: GitHubReleases,
  material: ChecksumsMaterial,
  trust: TrustAnchor,
  o: { rekorUrl?: string | undefined; logger?: Logger | undefined },
): Promise<VerifiedChecksums> {
  const bytes = await fetchAssetBytes(github, material.checksums, MAX_CHECKSUMS_BYTES);
  let bundle: unknown;
  let bundleSource: VerifiedChecksums['bundleSource'];
  const kept: VerifiedChecksums['material'] = [];
  const shipped = material.bundles[0];
  if (shipped) {
    const text = await fetchAssetBytes(github, shipped, MAX_MATERIAL_BYTES * 4);
    kept.push({ name: shipped.name, bytes: text });
    try {
      bundle = JSON.parse(text.toString('utf8'));
    } catch (e) {
      throw new AirlockError('VERIFY_FAILED', `The release's bundle ${shipped.name} is not JSON, so the checksums cannot be verified.`, { cause: e, details: { check: 'bundle-format' } });
    }
    bundleSource = 'release-bundle';
  } else if (material.detached) {
    const { signature, certificate } = material.detached;
    const digest = createHash('sha256').update(bytes).digest();
    const sigBytes = await fetchAssetBytes(github, signature, MAX_MATERIAL_BYTES);
    const pemBytes = await fetchAssetBytes(github, certificate, MAX_MATERIAL_BYTES);
    kept.push({ name: signature.name, bytes: sigBytes }, { name: certificate.name, bytes: pemBytes });
    const given = {
      signature: parseSignatureFile(sigBytes, signature.name),
      certificateDer: parseCertificateFile(pemBytes, certificate.name),
      digestHex: digest.toString('hex'),
    };
    const client = new RekorClient({ baseUrl: o.rekorUrl ?? PUBLIC_GOOD_REKOR_URL, ...(o.logger ? { logger: o.logger } : {}) });
    const { entry } = await findEntry(client, given, ENTRY_CHECKS);
    bundle = toBlobBundle({ signature: given.signature, certificateDer: given.certificateDer, digest }, entry);
    bundleSource = 'rekor';
  } else {
    throw new AirlockError('NO_SIGNATURE', `The checksums file ${material.checksums.name} has no signature material.`);
  }
  const verdict = verifyAgainstAny(bundle, bytes, trust, material.identities);
  // Parsed only now: the signature says who wrote the file; the strict parser says it can be read one way only.
  const file = parseChecksums(bytes);
  return { name: material.checksums.name, bytes, digest: verdict.artifact.digest, file, bundle, bundleSource, material: kept, verdict: summarizeVerdict(verdict) };
}
