/**
 * Human output of `verify image|attestation` and of a verified `copy`, cosign-style: what was verified, the
 * checks performed on each valid signature, then each valid signature's format, signer, log index and time, and
 * each refused one with the check that refused it. Everything that came from a store is neutralised.
 */
import { neutralize } from '../log.js';
import type { CopyVerification } from './authorize.js';
import { CHECKS, type CheckName } from '../verify/index.js';
import { formatName, type FailureSummary, type SignatureSummary } from './summary.js';
import type { VerifyImageResult } from './verify-image.js';

const n = neutralize;

/** Format, tag and layer (position and digest: one payload signed twice is one blob in two layers). */
function where(s: SignatureSummary | FailureSummary): string {
  return `${formatName(s.format)}${s.tag ? ` ${n(s.tag)}` : ''}, layer ${s.index + 1} ${s.layer}`;
}

export function renderSignature(s: SignatureSummary, i: number): string[] {
  const lines = [`  ${i + 1}. ${where(s)}`];
  if (s.signer.kind === 'certificate') {
    lines.push(`     identity: ${n(s.signer.identity)}`, `     issuer:   ${n(s.signer.issuer)}`);
    for (const k of ['sourceRepositoryUri', 'sourceRepositoryRef'] as const) {
      const v = s.signer.extensions[k];
      if (v !== undefined) lines.push(`     ${k}: ${n(v)}`);
    }
  } else {
    lines.push(`     key:      ${s.signer.algorithm} ${s.signer.keyDigest}`);
  }
  if (s.predicateType !== undefined) lines.push(`     predicate type: ${n(s.predicateType)}`);
  lines.push(`     log index: ${s.logIndex === null ? 'none (--insecure-ignore-tlog)' : n(s.logIndex)}, time: ${s.time ?? 'none'}`);
  return lines;
}

export function renderFailure(f: FailureSummary): string {
  return `  - ${where(f)}: ${n(f.message)}`;
}

export function renderChecks(checks: readonly CheckName[]): string[] {
  return ['The following checks were performed on each of these signatures:', ...checks.map((c) => `  - ${c}: ${CHECKS[c]}`)];
}

export function renderVerifyImage(r: VerifyImageResult, what: 'signature' | 'attestation'): string {
  const lines = [`Verification for ${n(r.reference)} (${r.digest}) --`];
  if (r.predicateTypes) lines.push(`Predicate types asked for: ${r.predicateTypes.map(n).join(', ')}`);
  lines.push(...renderChecks(r.checks));
  lines.push(`Valid ${what}s (${r.verified.length}):`);
  r.verified.forEach((s, i) => lines.push(...renderSignature(s, i)));
  if (r.failed.length > 0) {
    lines.push(`${what === 'signature' ? 'Signatures' : 'Attestations'} that did not verify (${r.failed.length}), ignored:`);
    for (const f of r.failed) lines.push(renderFailure(f));
  }
  lines.push(`Trust root: ${r.trustRoot.source} ${r.trustRoot.digest}`);
  return lines.join('\n');
}

/** The verification part of a verified `copy`: who signed, what was carried (and composed), what was left out. */
export function renderCopyVerification(v: CopyVerification): string {
  const lines = [`Verified: ${v.signatures.length} signature(s)${v.signaturesFailed.length > 0 ? `, ${v.signaturesFailed.length} that did not verify left out` : ''}.`];
  v.signatures.forEach((s, i) => lines.push(...renderSignature(s, i)));
  if (v.attestations.checked) {
    lines.push(`Attestations: ${v.attestations.verified.length} verified${v.attestations.failed.length > 0 ? `, ${v.attestations.failed.length} left out` : ''}.`);
  }
  if (v.attestations.note) lines.push(`  ${n(v.attestations.note)}`);
  for (const c of v.carried) {
    const what = c.kind === 'referrer' ? 'referrer bundle' : `${c.kind} ${n(c.tag ?? '')}`;
    lines.push(`Carried ${what}: ${c.digest}${c.composed ? ` (composed: ${c.layers} of ${c.ofLayers} layers verified, from ${c.sourceDigest})` : ''}`);
  }
  return lines.join('\n');
}
