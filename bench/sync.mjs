#!/usr/bin/env node
/* global process, fetch */
// A full `airlock sync` of the generated Flux release (every image verified with its signatures and provenance,
// the release files checked, everything recorded in the ledger) into an empty docker-registry, against
// `skopeo sync --all --preserve-digests` of the same repositories (every tag: images, .sig and .att, nothing
// verified) from the same source registry into another empty docker-registry.
// Usage (from the repository root, after `npm run build`):
//   bin/with-node node bench/sync.mjs [--runs 3] [--layer-mib 6,3]
// Prints both median wall times and the ratio; writes bench/results/sync.json.
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MIB, ROOT, benchSpace, dropSkopeoCache, load, log, median, publishUpstream, requireBuild, run, secs, settle, syncArgs, syncHome, writeResults } from './common.mjs';

const { values: opt } = parseArgs({ options: { runs: { type: 'string', default: '3' }, 'layer-mib': { type: 'string', default: '6,3' } } });
const RUNS = Number(opt.runs);
const LAYERS = opt['layer-mib'].split(',').map((x) => Math.round(Number(x) * MIB));
requireBuild('bench/sync.mjs');

/** tag → digest of every repository under `prefix` in a registry (for checking both tools wrote the same). */
async function tagsOf(host, repos) {
  const out = {};
  for (const repo of repos) {
    const list = await (await fetch(`http://${host}/v2/${repo}/tags/list`)).json();
    for (const tag of list.tags ?? []) {
      const r = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json' } });
      out[`${repo.split('/').pop()}:${tag}`] = r.headers.get('docker-content-digest');
    }
  }
  return out;
}

const space = await benchSpace('sync');
const base = space.base;
let up;
try {
  const loadStart = load();
  const src = await space.registry();
  log(`publishing the generated release: 4 controllers and flux-cli (3 platforms, layers of ${opt['layer-mib']} MiB each), flux-manifests; signed…`);
  up = await publishUpstream(base, src, LAYERS);
  const sourceTags = await tagsOf(src.host, up.repositories);
  const yaml = join(base, 'skopeo-sync.yaml');
  await writeFile(yaml, [`${src.host}:`, '  tls-verify: false', '  images-by-tag-regex:', ...up.repositories.map((r) => `    ${r}: '.*'`), ''].join('\n'));

  const times = { airlock: [], skopeo: [] };
  const cpu = { airlock: [], skopeo: [] };
  let bytes = 0;
  const loadRuns = load();
  for (let i = 0; i < RUNS; i++) {
    for (const tool of i % 2 === 0 ? ['skopeo', 'airlock'] : ['airlock', 'skopeo']) {
      const dst = await space.registry();
      let r;
      if (tool === 'airlock') {
        const home = await syncHome(base, `home-${i}`);
        r = await run(process.execPath, [join(ROOT, 'bin', 'run.js'), ...syncArgs(up, home, src.host, dst.host)], { env: home.env, cpu: true });
        const result = JSON.parse(r.stdout);
        const statuses = result.releases[0].images.map((x) => x.status);
        if (statuses.some((s) => s !== 'copied')) throw new Error(`airlock sync: ${statuses.join(', ')}`);
      } else {
        await dropSkopeoCache();
        r = await run('skopeo', ['sync', '--all', '--preserve-digests', '--src', 'yaml', '--dest', 'docker', '--dest-tls-verify=false', yaml, `${dst.host}/mirror`], { cpu: true });
      }
      await settle();
      // Both tools must have mirrored the same thing: every tag of every repository at the same digest.
      const repos = up.repositories.map((x) => `mirror/${x.split('/')[1]}`); // skopeo's yaml source keeps the last path element too
      const got = await tagsOf(dst.host, repos);
      if (JSON.stringify(got, Object.keys(sourceTags).sort()) !== JSON.stringify(sourceTags, Object.keys(sourceTags).sort())) {
        throw new Error(`${tool} mirrored other tags or digests than the source holds: ${JSON.stringify(got)}; catalog ${JSON.stringify(await (await fetch(`http://${dst.host}/v2/_catalog`)).json())}; ${r.stderr.slice(-1500)}`);
      }
      bytes = dst.requests.filter((l) => l.startsWith('PUT ') && l.includes('/blobs/uploads/')).length;
      times[tool].push(r.ms);
      cpu[tool].push(r.cpuMs);
      log(`run ${i + 1} ${tool}: ${secs(r.ms)} (CPU ${secs(r.cpuMs)}, ${bytes} blob uploads, load ${load()[0]})`);
      await space.stop(dst);
    }
  }

  const figures = {
    date: new Date().toISOString(),
    command: `bin/with-node node bench/sync.mjs --runs ${RUNS} --layer-mib ${opt['layer-mib']}`,
    machine: { cpus: cpus().length, node: process.version, loadavg: { start: loadStart, runs: loadRuns, end: load() } },
    release: { repositories: up.repositories.length, tags: Object.keys(sourceTags).length, layerBytes: LAYERS, platformImages: 15, approxMiB: Math.round((15 * LAYERS.reduce((a, b) => a + b, 0)) / MIB) },
    airlockMs: median(times.airlock),
    skopeoMs: median(times.skopeo),
    ratio: median(times.airlock) / median(times.skopeo),
    airlockCpuMs: median(cpu.airlock),
    skopeoCpuMs: median(cpu.skopeo),
    all: times,
    allCpu: cpu,
  };
  await writeResults('sync', figures);
  process.stdout.write(
    [
      `airlock sync (verifying everything, recording) vs skopeo sync --all --preserve-digests (verifying nothing) — ${figures.release.tags} tags in ${figures.release.repositories} repositories, ~${figures.release.approxMiB} MiB of layers, median of ${RUNS}, local docker-registry instances`,
      `airlock ${secs(figures.airlockMs)}   skopeo ${secs(figures.skopeoMs)}   ratio ${figures.ratio.toFixed(2)}   (CPU: airlock ${secs(figures.airlockCpuMs)}, skopeo ${secs(figures.skopeoCpuMs)})`,
      `load average (1/5/15 min): ${figures.machine.loadavg.start.join(' ')} at start, ${figures.machine.loadavg.end.join(' ')} at end`,
    ].join('\n') + '\n',
  );
} finally {
  await space.close(() => up?.stop());
}
