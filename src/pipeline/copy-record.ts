/**
 * How `airlock copy` is recorded in the ledger, so the ledger never says what did not happen and the target never
 * holds what the ledger does not know:
 *  - before the first byte reaches the target, the `verified` event (the verdicts with their bundles, the trust
 *    root's digest, and which signature objects will be carried) — or, for --insecure-skip-verify, the
 *    `insecure-copy` event naming every digest the plan may write;
 *  - after the content tag, one event per kind of digest written: `copied-upstream` for the signed image's graph,
 *    `copied-signature` for each signature object carried as it was, `composed` for what airlock composed (a
 *    signature manifest of the verified layers, a referrers fallback index).
 * A copy that writes nothing records nothing — unless the ledger (when the recorder can read it) does not account
 * for what the target already holds: a copy killed after a write and before its record leaves the image or a
 * signature object in the target unrecorded, and the copy that resumes finds it present. The digest was just
 * verified again, so that is recorded then (`verified`, unless this copy wrote and so declared it already, then
 * `copied-upstream`/`copied-signature`/`composed` with nothing written): every digest in the target is accounted
 * for once, and the target's content is never trusted on its own.
 */
import type { CopyRecordContext, CopyRecorder } from '../copy/references.js';
import type { CopyResult, ExtraManifest } from '../copy/types.js';
import type { JsonObject } from '../ledger/canonical.js';
import { composedEvent, copiedSignatureEvent, copiedUpstreamEvent, insecureCopyEvent, verifiedEvent, type LedgerEntry, type LedgerEventInput } from '../ledger/events.js';
import type { LedgerFilter } from '../ledger/query.js';
import type { Digest } from '../oci/digest.js';
import { childrenOf, parseManifest, type Descriptor } from '../oci/manifest.js';
import { parseReference, type Reference } from '../oci/reference.js';
import type { CopyVerification } from '../image/authorize.js';

/** Where the events go: a ledger run (LedgerRun satisfies it). */
export interface EventSink {
  append(events: readonly LedgerEventInput[]): number[];
}

/** `registry/repo` or `oci:DIR` without tag or digest: the ledger's image column. */
export function imageOf(display: string): string {
  const ref: Reference = parseReference(display);
  return ref.kind === 'registry' ? `${ref.registry}/${ref.repository}` : `${ref.kind}:${ref.path}`;
}

/** The digests an extra manifest consists of: itself, its config and layers, and blobs airlock composed for it. */
function extraDigests(e: ExtraManifest): Set<Digest> {
  const out = new Set<Digest>([e.descriptor.digest]);
  if (e.bytes) for (const d of childrenOf(parseManifest(e.bytes, e.descriptor.mediaType))) out.add(d.digest);
  for (const b of e.inlineBlobs ?? []) out.add(b.descriptor.digest);
  return out;
}

/** The ledger recorder; `reconciled` tells, after the copy, whether it recorded the image found present unrecorded. */
export type LedgerCopyRecorder = CopyRecorder<CopyVerification> & { readonly reconciled: boolean };

/**
 * `list` reads the ledger (the one `sink` appends to): with it, a copy also accounts for what the target already
 * held unrecorded (see above); without it, only what a copy writes is recorded.
 */
export function ledgerCopyRecorder(sink: EventSink, list?: (f: LedgerFilter) => LedgerEntry[]): LedgerCopyRecorder {
  let reconciled = false;
  return {
    get reconciled() {
      return reconciled;
    },

    beforeWrite(ctx, plan) {
      const image = imageOf(ctx.source);
      const tag = plan.tag ?? null;
      if (ctx.auth.subject.kind === 'unverified') {
        sink.append([insecureCopyEvent({ image, digest: plan.digest, tag, source: ctx.source, target: ctx.target, written: plan.digests, flag: '--insecure-skip-verify' })]);
        return;
      }
      const report = ctx.auth.report;
      if (!report) throw new Error('a verified copy reached the ledger without its verification report');
      const verdict = { ...(ctx.auth.evidence as JsonObject), carried: report.carried as unknown as JsonObject[] } as JsonObject;
      sink.append([verifiedEvent({ image, digest: plan.digest, tag, verdict, trustRootDigest: report.trustRoot.digest })]);
    },

    afterWrite(ctx: CopyRecordContext<CopyVerification>, result: CopyResult, referrersIndex: Descriptor | undefined) {
      if (ctx.auth.subject.kind === 'unverified') return; // insecure-copy already named every digest
      const image = imageOf(ctx.source);
      const tag = result.tag ?? null;
      const written = new Set<Digest>([...result.manifestsWritten, ...result.blobsCopied.map((b) => b.digest)]);
      const events: LedgerEventInput[] = [];
      const signatureDigests = new Set<Digest>();
      const extras = ctx.auth.extras ?? [];
      for (const c of ctx.auth.report?.carried ?? []) {
        const extra = extras.find((e) => e.descriptor.digest === c.digest);
        const parts = extra ? extraDigests(extra) : new Set<Digest>([c.digest]);
        parts.forEach((d) => signatureDigests.add(d));
        if (!written.has(c.digest)) continue; // the target already held it
        const mine = [...parts].filter((d) => written.has(d));
        if (c.composed) {
          events.push(composedEvent({ image, digest: c.digest, subject: result.digest, tag: c.tag ?? null, what: `${c.kind} manifest holding only the ${c.layers} verified of ${c.ofLayers} layers`, target: ctx.target, from: [c.sourceDigest], written: mine }));
        } else {
          events.push(copiedSignatureEvent({ image, digest: c.digest, tag: c.tag ?? null, signs: result.digest, artifact: c.kind, source: ctx.source, target: ctx.target, written: mine }));
        }
      }
      const upstream = [...written].filter((d) => !signatureDigests.has(d));
      if (upstream.length > 0 || result.tagged) {
        events.unshift(copiedUpstreamEvent({ image, digest: result.digest, tag, source: ctx.source, target: ctx.target, written: upstream }));
      }
      if (referrersIndex) {
        events.push(composedEvent({ image, digest: referrersIndex.digest, subject: result.digest, what: 'referrers fallback index', target: ctx.target, from: (ctx.auth.referrers ?? []).map((r) => r.digest), written: [referrersIndex.digest] }));
      }
      if (events.length > 0) sink.append(events);
    },

    settled(ctx: CopyRecordContext<CopyVerification>, result: CopyResult, wrote: boolean) {
      const report = ctx.auth.report;
      if (!list || ctx.auth.subject.kind === 'unverified' || !report) return; // insecure-copy named every digest before writing
      const image = imageOf(ctx.source);
      const tag = result.tag ?? null;
      const recorded = (digest: string, kind: 'copied-upstream' | 'copied-signature' | 'composed'): boolean =>
        list({ digest, kind, limit: 100_000 }).some((e) => e.digest === digest && e.body.target === ctx.target);
      const events: LedgerEventInput[] = [];
      const upstream = !recorded(result.digest, 'copied-upstream');
      if (upstream) events.push(copiedUpstreamEvent({ image, digest: result.digest, tag, source: ctx.source, target: ctx.target, written: [] }));
      for (const c of report.carried) {
        if (recorded(c.digest, c.composed ? 'composed' : 'copied-signature')) continue;
        events.push(
          c.composed
            ? composedEvent({ image, digest: c.digest, subject: result.digest, tag: c.tag ?? null, what: `${c.kind} manifest holding only the ${c.layers} verified of ${c.ofLayers} layers`, target: ctx.target, from: [c.sourceDigest], written: [] })
            : copiedSignatureEvent({ image, digest: c.digest, tag: c.tag ?? null, signs: result.digest, artifact: c.kind, source: ctx.source, target: ctx.target, written: [] }),
        );
      }
      if (events.length === 0) return;
      // A copy that wrote declared its verification before the first byte; one that wrote nothing declares it now.
      if (!wrote) {
        const verdict = { ...(ctx.auth.evidence as JsonObject), carried: report.carried as unknown as JsonObject[], reconciled: 'present in the target without a copied event; verified again' } as JsonObject;
        events.unshift(verifiedEvent({ image, digest: result.digest, tag, verdict, trustRootDigest: report.trustRoot.digest }));
      }
      sink.append(events);
      reconciled = upstream && !wrote;
    },
  };
}
