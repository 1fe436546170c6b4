import { neutralize } from '../log.js';
import type { InspectResult } from '../inspect.js';

/** Human rendering of results. Everything that came from a store is neutralised before it reaches the terminal. */
export function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function renderInspect(r: InspectResult): string {
  const n = neutralize;
  const lines = [
    `Reference:  ${n(r.reference)}`,
    `Digest:     ${r.digest}`,
    `Media type: ${n(r.mediaType)}${r.artifactType ? `  (artifact type ${n(r.artifactType)})` : ''}`,
    `Size:       ${r.size} B manifest, ${humanSize(r.totalSize)} in all`,
  ];
  if (r.manifests) {
    lines.push(`Manifests:  ${r.manifests.length}`);
    for (const m of r.manifests) {
      const what = m.attestationFor ? `attestation for ${m.attestationFor.slice(0, 19)}…` : n(m.platform);
      lines.push(`  ${what.padEnd(28)} ${m.digest}  ${humanSize(m.size)}`);
    }
  }
  if (r.config) lines.push(`Config:     ${r.config.digest}  ${n(r.config.mediaType)}`);
  if (r.layers) {
    lines.push(`Layers:     ${r.layers.length}`);
    for (const l of r.layers) lines.push(`  ${l.digest}  ${humanSize(l.size).padStart(10)}  ${n(l.mediaType)}`);
  }
  if (r.artifacts.length === 0) lines.push('Signatures: none found (no cosign .sig/.att/.sbom tag, no referrer)');
  else {
    lines.push('Signatures and attestations (unverified; use `airlock verify image`):');
    for (const a of r.artifacts) {
      const where = a.source === 'tag' ? `tag ${n(a.tag ?? '')}` : `referrer ${n(a.artifactType ?? a.mediaType)}`;
      lines.push(`  ${where}  ${a.digest}`);
    }
  }
  return lines.join('\n');
}
