/**
 * Trust material for a cluster policy, taken from the trusted_root.json airlock verified with — so the cluster
 * needs no TUF access for it: the Fulcio CA certificates valid when the signatures were logged, the Rekor key of
 * the log that logged them and the CT log key of the log whose SCT the certificate embeds, each as PEM of exactly
 * the DER bytes the trusted root holds.
 */
import { AirlockError } from '../errors.js';
import type { SignatureEvidence } from './mirrored-release.js';

export interface PolicyTrust {
  /** PEM CERTIFICATE blocks, concatenated. */
  roots: string;
  rekor: { pem: string; baseUrl: string; logId: string };
  ctlog: { pem: string; baseUrl: string; logId: string };
}

interface LogEntry {
  baseUrl?: string;
  publicKey?: { rawBytes?: string; validFor?: { start?: string; end?: string | null } };
  logId?: { keyId?: string };
}

interface CaEntry {
  certChain?: { certificates?: { rawBytes?: string }[] };
  validFor?: { start?: string; end?: string | null };
}

/** DER bytes (base64 as in trusted_root.json) as a PEM block, 64 characters a line. */
export function pemOf(label: 'CERTIFICATE' | 'PUBLIC KEY', base64Der: string): string {
  const b64 = Buffer.from(base64Der, 'base64').toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function logIdHex(e: LogEntry): string | undefined {
  return e.logId?.keyId ? Buffer.from(e.logId.keyId, 'base64').toString('hex') : undefined;
}

function covers(window: { start?: string; end?: string | null } | undefined, time: number): boolean {
  if (!window?.start) return false;
  return Date.parse(window.start) <= time && (window.end === undefined || window.end === null || time <= Date.parse(window.end));
}

/** The trust material one image's verified signatures were checked with (the first signature's logs). */
export function policyTrust(trustedRoot: Readonly<Record<string, unknown>>, image: string, signatures: readonly SignatureEvidence[]): PolicyTrust {
  const first = signatures.find((s) => s.tlogIds.length > 0 && s.ctlogIds.length > 0);
  if (!first) {
    throw new AirlockError('LEDGER_INVALID', `The ledger's verification of ${image} names no Rekor entry or no certificate SCT, so no log key can be chosen for the policy.`);
  }
  const tlogs = (trustedRoot.tlogs ?? []) as LogEntry[];
  const ctlogs = (trustedRoot.ctlogs ?? []) as LogEntry[];
  const cas = (trustedRoot.certificateAuthorities ?? []) as CaEntry[];
  const pick = (list: LogEntry[], ids: string[], what: string) => {
    const hit = list.find((l) => ids.includes(logIdHex(l) ?? '') && l.publicKey?.rawBytes);
    if (!hit) {
      throw new AirlockError('VERIFY_FAILED', `The trusted root in use has no ${what} key with log id ${ids.join(', ')}, which vouched for ${image}; use the trusted root the sync verified with (trust.trusted_root or --trusted-root).`);
    }
    return { pem: pemOf('PUBLIC KEY', hit.publicKey!.rawBytes!), baseUrl: hit.baseUrl ?? '', logId: logIdHex(hit)! };
  };
  const times = signatures.flatMap((s) => s.integratedTimes).map((t) => Date.parse(t)).filter((t) => !Number.isNaN(t));
  const valid = cas.filter((ca) => times.some((t) => covers(ca.validFor, t)));
  if (valid.length === 0) {
    throw new AirlockError('VERIFY_FAILED', `The trusted root in use has no Fulcio certificate authority valid when ${image} was signed; use the trusted root the sync verified with.`);
  }
  const roots = valid.flatMap((ca) => (ca.certChain?.certificates ?? []).map((c) => pemOf('CERTIFICATE', c.rawBytes ?? ''))).join('');
  return { roots, rekor: pick(tlogs, first.tlogIds, 'Rekor'), ctlog: pick(ctlogs, first.ctlogIds, 'CT log') };
}
