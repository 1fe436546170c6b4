import { neutralize } from '../log.js';
import { renderVerdict } from '../verify/summary.js';
import type { VerifyBlobResult } from './verify-blob.js';

/** Human output of `verify blob`: cosign-style verdict, then where the transparency evidence came from. */
export function renderVerifyBlob(r: VerifyBlobResult): string {
  const lines = [renderVerdict(r.verdict, r.file)];
  if (r.rekor) {
    const k = r.rekor;
    lines.push(
      `Rekor: entry ${k.logIndex} (${k.uuid}) at ${neutralize(k.url)}, found ${k.via === 'search' ? 'by hash search' : 'by its UUID'}; ` +
        `${k.found} entries for the hash, ${k.read} read, ${k.rejected.length} passed over`,
    );
  }
  if (r.outputBundle) lines.push(`Bundle written to ${neutralize(r.outputBundle)}`);
  return lines.join('\n');
}
