/**
 * What the mirror holds of one release, as the LEDGER says, for the cluster-side outputs (`airlock policy kyverno`,
 * `airlock flux install-args`): never the registry's word alone.
 *
 *   release artifact  the `composed` event of `<target>/<profile>-release:<tag>` gives the artifact's digest; its
 *                     manifest (fetched by that digest, so checked against it) names install.yaml by digest, so the
 *                     install manifest read here is the one sync verified against the signed checksums;
 *   images            install.yaml's images under the canonical prefix and the profile's extras, each with the
 *                     identities the profile binds to its name and version (releaseImages, as sync does);
 *   digests           the `copied-upstream` events whose target is `<target>/<name>:<tag>` (a tag never moves: two
 *                     digests for one target is a damaged ledger); the `verified` event of that digest says which
 *                     identity verified and which logs (Rekor entry, the certificate's SCTs) vouched for it;
 *   refusals          an image without a copied event is reported with the ledger's refusal, if any.
 * Optionally every digest is looked up in the mirror (HEAD in a registry, the index of an oci: layout).
 */
import { existsSync } from 'node:fs';
import { X509Certificate } from '@sigstore/core';
import type { SyncConfig } from '../config/config.js';
import { AirlockError, isAirlockError } from '../errors.js';
import { canonicalize } from '../ledger/canonical.js';
import type { LedgerEntry } from '../ledger/events.js';
import { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log.js';
import { isDigest, type Digest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { imageOf } from '../pipeline/copy-record.js';
import { releaseRepository } from '../pipeline/release-artifact.js';
import { targetFor } from '../pipeline/sync-image.js';
import { storeOptionsOf } from '../pipeline/sync.js';
import { openReference } from '../store/open.js';
import {
  compareSemVer,
  imagesFromInstallYaml,
  parseSemVer,
  releaseImages,
  type ExpandedIdentity,
  type ReleaseImage,
  type UnverifiedRelease,
} from '../upstream/index.js';
import { summarizePolicy, toPolicy } from '../verify/index.js';

/** Evidence of one signature that verified this digest, as the ledger's verdict recorded it. */
export interface SignatureEvidence {
  /** The Rekor log that logged it (hex log id), when the verdict names one. */
  tlogIds: string[];
  /** The CT logs whose SCTs the signing certificate embeds (hex log ids). */
  ctlogIds: string[];
  /** When Rekor integrated the entry (ISO 8601). */
  integratedTimes: string[];
  /** The signing certificate's Fulcio extensions, as the verdict recorded them. */
  extensions: Record<string, string>;
}

export interface MirroredImage {
  name: string;
  tag: string;
  /** Named by install.yaml (a controller) or one of the profile's extra images. */
  source: ReleaseImage['source'];
  /** `<target>/<name>:<tag>`. */
  target: string;
  /** The verified digest the mirror holds; null when the ledger has no copy of it. */
  digest: Digest | null;
  /** Every identity the profile accepts for this image at this version. */
  identities: ExpandedIdentity[];
  /** Those that verified a signature of `digest` (the ledger's verdict); empty when not mirrored. */
  verifiedIdentities: ExpandedIdentity[];
  signatures: SignatureEvidence[];
  /** Why it is not in the mirror, from the ledger's refusal (null: no refusal recorded). */
  refusal: string | null;
}

export interface MirroredRelease {
  release: string;
  target: string;
  artifact: { reference: string; digest: Digest };
  /** The verified install manifest's bytes (undefined when the profile reads its images from none). */
  installYaml: Buffer | undefined;
  images: MirroredImage[];
  /** Images the install manifest names outside the canonical prefix: never mirrored. */
  ignored: string[];
}

export interface ReadMirroredOptions {
  config: SyncConfig;
  ledgerPath: string;
  /** `vX.Y.Z`, or `latest`: the newest release whose artifact this ledger published to this target. */
  release: string;
  /** Look every mirrored digest up in the mirror (default true). */
  checkMirror?: boolean;
  logger?: Logger;
}

const LIMIT = 100_000;

export async function readMirroredRelease(o: ReadMirroredOptions): Promise<MirroredRelease> {
  const { config } = o;
  if (!existsSync(o.ledgerPath)) {
    throw new AirlockError('NOT_FOUND', `There is no ledger at ${o.ledgerPath}; run airlock sync first (or name the config with --config).`);
  }
  const ledger = Ledger.open(o.ledgerPath, { readOnly: true });
  try {
    const artifactImage = imageOf(targetFor(config.target, releaseRepository(config.profile.name), 'latest'));
    const published = ledger.list({ kind: 'composed', image: artifactImage, limit: LIMIT, order: 'asc' }).filter((e) => e.release !== null && isDigest(e.digest ?? ''));
    const event = pickRelease(published, o.release, config.target);
    const release = event.release!;
    const artifact = { reference: targetFor(config.target, releaseRepository(config.profile.name), release), digest: event.digest as Digest };
    const installYaml = config.profile.images.fromAsset !== undefined ? await readArtifactFile(config, artifact, config.profile.images.fromAsset, o.logger) : undefined;
    const install = installYaml !== undefined ? imagesFromInstallYaml(installYaml, { canonicalPrefix: config.images.canonicalPrefix }) : undefined;
    const model: UnverifiedRelease = { trust: 'unverified', id: undefined, tag: release, draft: false, prerelease: false, publishedAt: null, assets: [] };
    const images: MirroredImage[] = [];
    const copied = ledger.list({ kind: 'copied-upstream', limit: LIMIT, order: 'asc' });
    const refused = ledger.list({ kind: 'refused', release, limit: LIMIT, order: 'desc' });
    for (const image of releaseImages(config.profile, model, install)) {
      const target = targetFor(config.target, image.name, image.tag);
      const digests = [...new Set(copied.filter((e) => e.body.target === target && e.digest !== null).map((e) => e.digest!))];
      if (digests.length > 1) {
        throw new AirlockError('LEDGER_INVALID', `The ledger records ${target} at ${digests.length} digests (${digests.join(', ')}); a mirrored tag never moves, so the ledger or the target was tampered with.`);
      }
      const digest = (digests[0] as Digest | undefined) ?? null;
      const out: MirroredImage = {
        name: image.name,
        tag: image.tag,
        source: image.source,
        target,
        digest,
        identities: [...image.identities],
        verifiedIdentities: [],
        signatures: [],
        refusal: null,
      };
      if (digest === null) {
        const r = refused.find((e) => e.body.tag === image.tag && (e.image ?? '').endsWith(`/${image.name}`));
        out.refusal = r ? `${r.reason ?? 'refused'}: ${typeof r.body.message === 'string' ? r.body.message : ''}`.trim() : null;
      } else {
        const verdicts = ledger.list({ kind: 'verified', digest, limit: LIMIT, order: 'desc' }).filter((e) => e.digest === digest);
        if (verdicts.length === 0) throw new AirlockError('LEDGER_INVALID', `The ledger records a copy of ${target} at ${digest} but no verification of it; run airlock ledger verify.`);
        const evidence = signatureEvidence(verdicts[0]!);
        out.signatures = evidence.signatures;
        out.verifiedIdentities = image.identities.filter((id) => evidence.policies.has(canonicalize(summarizePolicy(toPolicy(id)))));
        if (out.verifiedIdentities.length === 0) {
          throw new AirlockError('LEDGER_INVALID', `The ledger's verification of ${target} at ${digest} names no identity the ${config.profile.name} profile accepts for it; was the profile changed since it was mirrored?`);
        }
      }
      images.push(out);
    }
    if (o.checkMirror ?? true) await checkInMirror(config, images, o.logger);
    return { release, target: config.target, artifact, installYaml, images, ignored: install?.ignored.map((i) => i.image) ?? [] };
  } finally {
    ledger.close();
  }
}

function pickRelease(published: LedgerEntry[], wanted: string, target: string): LedgerEntry {
  if (published.length === 0) {
    throw new AirlockError('NOT_FOUND', `The ledger records no release published to ${target}; run airlock sync first.`);
  }
  if (wanted !== 'latest') {
    const hit = published.filter((e) => e.release === wanted).at(-1);
    if (!hit) {
      const known = [...new Set(published.map((e) => e.release!))].join(', ');
      throw new AirlockError('NOT_FOUND', `The ledger records no release ${wanted} published to ${target} (it has ${known}); run airlock sync --release ${wanted} first.`);
    }
    return hit;
  }
  const versioned = published.filter((e) => parseSemVer(e.release!) !== undefined);
  if (versioned.length === 0) throw new AirlockError('NOT_FOUND', `No release published to ${target} has a semantic version; name one with --release.`);
  return versioned.reduce((best, e) => (compareSemVer(parseSemVer(e.release!)!, parseSemVer(best.release!)!) >= 0 ? e : best));
}

/** One file of the release artifact, by the digest its (digest-checked) manifest gives. */
async function readArtifactFile(config: SyncConfig, artifact: { reference: string; digest: Digest }, name: string, logger: Logger | undefined): Promise<Buffer> {
  const opened = await openReference(artifact.reference, storeOptionsOf(config, logger)).catch((e: unknown) => {
    throw missingArtifact(artifact, e);
  });
  try {
    // Fetched by the digest the ledger recorded: getManifest checks the bytes against it.
    const fetched = await opened.repository.getManifest(artifact.digest).catch((e: unknown) => {
      throw missingArtifact(artifact, e);
    });
    const parsed = parseManifest(fetched.bytes, fetched.descriptor.mediaType);
    const layers = parsed.kind === 'manifest' ? parsed.manifest.layers : [];
    const layer = layers.find((l) => l.annotations?.['org.opencontainers.image.title'] === name);
    if (!layer) throw new AirlockError('NOT_FOUND', `The release artifact ${artifact.reference}@${artifact.digest} holds no ${name}; it is not an airlock release artifact of this profile.`);
    const chunks: Uint8Array[] = [];
    // openBlob checks digest and size as the bytes arrive.
    for await (const c of await opened.repository.openBlob(layer)) chunks.push(c);
    return Buffer.concat(chunks);
  } finally {
    await opened.store.close().catch(() => undefined);
  }
}

function missingArtifact(artifact: { reference: string; digest: Digest }, e: unknown): unknown {
  if (isAirlockError(e, 'NOT_FOUND') || isAirlockError(e, 'LAYOUT_INVALID')) {
    return new AirlockError('NOT_FOUND', `The mirror does not hold the release artifact ${artifact.reference}@${artifact.digest} that the ledger recorded; run airlock sync to restore it.`, { cause: e });
  }
  return e;
}

interface VerdictEvidence {
  policies: Set<string>;
  signatures: SignatureEvidence[];
}

function signatureEvidence(event: LedgerEntry): VerdictEvidence {
  const policies = new Set<string>();
  const signatures: SignatureEvidence[] = [];
  const verdict = event.body.verdict as { signatures?: unknown } | undefined;
  for (const s of Array.isArray(verdict?.signatures) ? verdict.signatures : []) {
    const v = (s as { verdict?: Record<string, unknown> }).verdict;
    if (!v) continue;
    if (v.policy) policies.add(canonicalize(v.policy));
    const tlogs = Array.isArray(v.tlogEntries) ? (v.tlogEntries as { logId?: unknown; integratedTime?: unknown }[]) : [];
    const signer = v.signer as { certificate?: { pem?: unknown }; extensions?: Record<string, unknown> } | undefined;
    const pem = signer?.certificate?.pem;
    const extensions = Object.fromEntries(Object.entries(signer?.extensions ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
    signatures.push({
      tlogIds: tlogs.map((t) => t.logId).filter((x): x is string => typeof x === 'string'),
      integratedTimes: tlogs.map((t) => t.integratedTime).filter((x): x is string => typeof x === 'string'),
      ctlogIds: typeof pem === 'string' ? sctLogIds(pem) : [],
      extensions,
    });
  }
  return { policies, signatures };
}

/** The CT logs that issued the certificate's embedded SCTs. */
function sctLogIds(pem: string): string[] {
  try {
    const cert = X509Certificate.parse(pem);
    return (cert.extSCT?.signedCertificateTimestamps ?? []).map((s) => s.logID.toString('hex'));
  } catch {
    return [];
  }
}

async function checkInMirror(config: SyncConfig, images: readonly MirroredImage[], logger: Logger | undefined): Promise<void> {
  for (const image of images) {
    if (image.digest === null) continue;
    let held: boolean;
    try {
      const opened = await openReference(image.target, storeOptionsOf(config, logger));
      try {
        held = (await opened.repository.headManifest(image.digest)) !== undefined;
      } finally {
        await opened.store.close();
      }
    } catch (e) {
      if (!isAirlockError(e, 'NOT_FOUND') && !isAirlockError(e, 'LAYOUT_INVALID')) throw e;
      held = false;
    }
    if (!held) {
      throw new AirlockError('NOT_FOUND', `The ledger says ${image.target} was mirrored at ${image.digest}, but the mirror does not hold it; run airlock sync to restore it.`);
    }
  }
}
