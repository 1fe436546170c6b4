/**
 * The shape `verify-bundle --json` prints (the Verdict without the bulky bundle JSON and certificate PEM) and the
 * human rendering, cosign-style: what was verified, the checks that ran, who signed, the log evidence.
 */
import { neutralize } from '../log.js';
import { CHECKS } from './checks.js';
import type { Verdict } from './verdict.js';

export interface VerdictSummary {
  verified: true;
  artifact: Verdict['artifact'];
  bundle: { mediaType: string; content: Verdict['bundle']['content'] };
  dsse?: Verdict['dsse'];
  signer:
    | { kind: 'certificate'; identity: string; issuer: string; extensions: Record<string, string>; certificate: { serialNumber: string; notBefore: string; notAfter: string; sha256: string } }
    | { kind: 'key'; keyDigest: string; algorithm: string };
  tlogEntries: Verdict['tlogEntries'];
  timestamps: Verdict['timestamps'];
  trustRoot: Verdict['trustRoot'];
  policy: Verdict['policy'];
  checks: Verdict['checks'];
}

export function summarizeVerdict(v: Verdict): VerdictSummary {
  const s = v.signer;
  return {
    verified: true,
    artifact: v.artifact,
    bundle: { mediaType: v.bundle.mediaType, content: v.bundle.content },
    ...(v.dsse ? { dsse: v.dsse } : {}),
    signer:
      s.kind === 'certificate'
        ? {
            kind: 'certificate',
            identity: s.identity,
            issuer: s.issuer,
            extensions: { ...s.extensions },
            certificate: { serialNumber: s.certificate.serialNumber, notBefore: s.certificate.notBefore, notAfter: s.certificate.notAfter, sha256: s.certificate.sha256 },
          }
        : { kind: 'key', keyDigest: s.keyDigest, algorithm: s.algorithm },
    tlogEntries: v.tlogEntries,
    timestamps: v.timestamps,
    trustRoot: v.trustRoot,
    policy: v.policy,
    checks: v.checks,
  };
}

export function renderVerdict(v: VerdictSummary, artifactLabel: string): string {
  const n = neutralize;
  const lines = [`Verified OK: ${n(artifactLabel)} (${v.artifact.digest})`, 'The following checks were performed:'];
  for (const c of v.checks) lines.push(`  - ${c}: ${CHECKS[c]}`);
  if (v.signer.kind === 'certificate') {
    lines.push('Signer (Fulcio certificate):', `  identity: ${n(v.signer.identity)}`, `  issuer:   ${n(v.signer.issuer)}`);
    for (const [k, val] of Object.entries(v.signer.extensions)) {
      if (k !== 'issuer' && k !== 'issuerLegacy') lines.push(`  ${k}: ${n(val)}`);
    }
  } else {
    lines.push(`Signer (public key): ${v.signer.algorithm} ${v.signer.keyDigest}`);
  }
  if (v.dsse) lines.push(`In-toto statement: predicate ${n(v.dsse.predicateType)}, ${v.dsse.subjects.length} subject(s)`);
  for (const t of v.tlogEntries) {
    lines.push(`Transparency log: entry ${n(t.logIndex)} (${n(t.kind)} ${n(t.version)}) in log ${t.logId.slice(0, 16)}…${t.integratedTime ? `, integrated ${t.integratedTime}` : ''}`);
  }
  if (v.tlogEntries.length === 0) lines.push('Transparency log: none (--insecure-ignore-tlog)');
  for (const t of v.timestamps) lines.push(`Timestamp: ${t.time} (${t.source})`);
  lines.push(`Trust root: ${v.trustRoot.source} ${v.trustRoot.digest}`);
  return lines.join('\n');
}
