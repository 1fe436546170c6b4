import { relative } from 'node:path';
import { renderSync } from '../cli/sync-render.js';
import { neutralize } from '../log.js';
import { DEMO_REFUSED_IMAGE, type DemoResult } from './demo.js';

/** The demo's human report: the sync's own summary, the deliberate refusal explained, the ledger, what to try next. */
export function renderDemo(r: DemoResult, cwd: string = process.cwd()): string {
  const images = r.sync.releases.flatMap((x) => x.images);
  const mirrored = images.filter((i) => i.status === 'copied' || i.status === 'present' || i.status === 'reconciled');
  const copied = images.filter((i) => i.status === 'copied').length;
  const dirArg = relative(cwd, r.dir) || '.';
  const cp = r.ledger.checkpoint;
  const lines = [
    `airlock demo in ${neutralize(r.dir)} — ${r.generated ? 'generated a stand-in Flux release (signed by the local Sigstore)' : 'reused the stand-in release kept there'}, served on loopback only.`,
    '',
    renderSync(r.sync),
    '',
    `Mirrored ${mirrored.length} verified images (${copied} copied this run); refused ${r.sync.refusals.length}.`,
    r.unexpectedRefusals.length === 0 && r.sync.refusals.length > 0
      ? `${r.sync.refusals.length} refusal, as designed (exit 0): ${DEMO_REFUSED_IMAGE} is signed by source-controller's release pipeline — a valid signature from the wrong repository — so it was refused${r.sync.refusals.every((x) => x.newlyRecorded) ? ' and recorded' : ' (recorded once, by the first run)'}, and nothing of it reached the mirror.`
      : r.sync.refusals.length === 0
        ? `The deliberate refusal (${DEMO_REFUSED_IMAGE}) was recorded by an earlier run and stays outstanding; nothing new was appended.`
        : `Unexpected refusals: ${r.unexpectedRefusals.length}.`,
    `Ledger ${neutralize(r.ledger.path)}: ${r.ledger.entries} entries; checkpoint ${cp ? `origin ${neutralize(r.ledger.origin)}, size ${cp.size}, root ${cp.rootHash}` : 'none'}.`,
    '',
    'Continue:',
    `  cd ${dirArg}`,
    '  airlock ledger list            # every decision, the refusal included',
    '  airlock ledger verify          # the Merkle tree against its signed checkpoint',
    r.sync.target.startsWith('oci:') ? '  skopeo inspect oci:mirror/source-controller:v1.9.4' : `  skopeo inspect docker://${neutralize(r.sync.target)}/source-controller:v1.9.4`,
    '  airlock ledger export --format html --out report.html   # the auditor\'s report, one self-contained page',
    '  airlock audit registry         # what the mirror holds against what the ledger accounts for',
    '  airlock archive save --release latest --out flux.tar    # carry the release across the air gap (then: archive load)',
    '  airlock flux install-args --registry registry.internal/fluxcd --components source-controller,helm-controller,notification-controller --kustomize flux',
    '  airlock policy kyverno --registry registry.internal/fluxcd --components source-controller,helm-controller,notification-controller',
    `  airlock releases / airlock sync  # need the stand-in upstream: they work while \`airlock demo\` runs; re-run \`airlock demo --dir ${dirArg}\` any time (it mirrors nothing new)`,
  ];
  return lines.join('\n');
}
