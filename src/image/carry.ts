/**
 * Which signature objects go along with a verified image (pure): ONLY what verified.
 *  - a `.sig` / `.att` manifest whose every layer verified is carried as it is (same digest, same tag);
 *  - one where only some layers verified is replaced by a composed manifest holding just those layers
 *    (composeSignatureManifest: byte-deterministic), reported as composed;
 *  - one where nothing verified is not carried;
 *  - a referrer bundle that verified is carried as it is, and listed in the target's referrers fallback index
 *    where the target has no referrers API.
 * Each verdict used is checked to be one src/verify sealed (run-time guard against hand-made results).
 */
import { composeSignatureManifest } from '../copy/compose.js';
import type { ExtraManifest } from '../copy/types.js';
import { AirlockError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import type { FoundSignatureManifest, FoundSignatures } from '../signatures/types.js';
import { isGenuineVerdict, type SignatureVerdict } from '../verify/index.js';

export interface CarriedObject {
  kind: 'signatures' | 'attestations' | 'referrer';
  /** What is written to the target (the composed digest when composed). */
  digest: Digest;
  tag?: string;
  /** True when a new manifest holding only the verified layers replaces the source's. */
  composed: boolean;
  /** The source manifest's digest (differs from `digest` when composed). */
  sourceDigest: Digest;
  layers: number;
  ofLayers: number;
}

export interface CarryPlan {
  extras: ExtraManifest[];
  /** Referrer manifests carried, for the target's fallback index. */
  referrers: Descriptor[];
  carried: CarriedObject[];
}

function genuine(v: SignatureVerdict): SignatureVerdict {
  if (!isGenuineVerdict(v.verdict)) throw new AirlockError('INTERNAL', 'A signature verdict that src/verify did not seal cannot be carried into a mirror.');
  return v;
}

function carryLegacy(m: FoundSignatureManifest | undefined, verified: readonly SignatureVerdict[], plan: CarryPlan): void {
  if (!m) return;
  const mine = verified.filter((v) => v.location.manifest.digest === m.descriptor.digest).map(genuine);
  const indexes = new Set(mine.map((v) => v.location.index));
  if (indexes.size === 0) return;
  const kind = m.kind === 'sig' ? 'signatures' : 'attestations';
  const total = m.manifest.layers.length;
  if (indexes.size === total) {
    plan.extras.push({ descriptor: m.descriptor, bytes: m.bytes, tag: m.tag });
    plan.carried.push({ kind, digest: m.descriptor.digest, tag: m.tag, composed: false, sourceDigest: m.descriptor.digest, layers: total, ofLayers: total });
    return;
  }
  // Compose from the verified layers only: a failed layer may share its blob digest with a verified one (the same
  // payload signed twice) while carrying other annotations, and must not be the one kept.
  const verifiedLayers = m.manifest.layers.filter((_, i) => indexes.has(i));
  const keep = verifiedLayers.map((l) => l.digest);
  const composed = composeSignatureManifest({ ...m.manifest, layers: verifiedLayers }, keep);
  plan.extras.push({ descriptor: composed.descriptor, bytes: composed.bytes, inlineBlobs: composed.inlineBlobs, tag: m.tag });
  const layers = new Set(keep).size;
  plan.carried.push({ kind, digest: composed.descriptor.digest, tag: m.tag, composed: true, sourceDigest: m.descriptor.digest, layers, ofLayers: total });
}

/** The extras for `found` given what verified: image signatures, and attestations when a rule accepted any. */
export function planCarry(found: FoundSignatures, signatures: readonly SignatureVerdict[], attestations: readonly SignatureVerdict[]): CarryPlan {
  const plan: CarryPlan = { extras: [], referrers: [], carried: [] };
  carryLegacy(found.signatures, signatures, plan);
  carryLegacy(found.attestations, attestations, plan);
  const verifiedReferrers = new Set([...signatures, ...attestations].filter((v) => v.format === 'referrer-bundle').map((v) => genuine(v).location.manifest.digest));
  for (const r of found.referrers) {
    if (!verifiedReferrers.has(r.descriptor.digest)) continue;
    plan.extras.push({ descriptor: r.descriptor, bytes: r.bytes });
    const artifactType = r.manifest.artifactType ?? r.manifest.config.mediaType;
    plan.referrers.push({ ...r.descriptor, artifactType, ...(r.manifest.annotations ? { annotations: r.manifest.annotations } : {}) });
    plan.carried.push({ kind: 'referrer', digest: r.descriptor.digest, composed: false, sourceDigest: r.descriptor.digest, layers: 1, ofLayers: 1 });
  }
  return plan;
}
