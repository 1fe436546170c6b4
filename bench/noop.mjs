#!/usr/bin/env node
/* global process */
// A no-op `airlock sync`: after a complete sync of the generated release, the same sync again, timed (whole
// process), with every HTTP request it made counted by the registries' own access logs and the FAKE GitHub.
// Usage (from the repository root, after `npm run build`):
//   bin/with-node node bench/noop.mjs [--runs 5]
// Writes bench/results/noop.json.
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, benchSpace, byKind, load, log, median, publishUpstream, requireBuild, run, secs, settle, syncArgs, syncHome, writeResults } from './common.mjs';

const { values: opt } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(opt.runs);
requireBuild('bench/noop.mjs');

const space = await benchSpace('noop');
const base = space.base;
let up;
try {
  const loadStart = load();
  const src = await space.registry();
  const dst = await space.registry();
  log('publishing the generated release (4 controllers, flux-cli, flux-manifests, signed)…');
  up = await publishUpstream(base, src, [256 * 1024]);
  const home = await syncHome(base, 'home');
  const args = [join(ROOT, 'bin', 'run.js'), ...syncArgs(up, home, src.host, dst.host)];
  const first = await run(process.execPath, args, { env: home.env });
  const firstResult = JSON.parse(first.stdout);
  log(`first sync: ${secs(first.ms)}, ${firstResult.ledger.appended} ledger entries`);

  const wall = [];
  const cpu = [];
  let last;
  for (let i = 0; i < RUNS; i++) {
    await settle();
    src.requests.length = 0;
    dst.requests.length = 0;
    const g0 = up.github.requests.length;
    const r = await run(process.execPath, args, { env: home.env, cpu: true });
    await settle();
    const result = JSON.parse(r.stdout);
    if (result.ledger.appended !== 0) throw new Error(`the re-run appended ${result.ledger.appended} entries`);
    const gh = up.github.requests.slice(g0);
    last = {
      target: { total: dst.requests.length, byKind: byKind(dst.requests) },
      source: { total: src.requests.length, byKind: byKind(src.requests) },
      github: {
        total: gh.length,
        api: gh.filter((q) => q.origin === 'api' && !q.path.includes('/releases/download/')).map((q) => `${q.method} ${q.path} → ${q.status}${q.ifNoneMatch ? ' (If-None-Match)' : ''}`),
        assetRedirects: gh.filter((q) => q.status === 302).length,
        assetDownloads: gh.filter((q) => q.origin === 'download').length,
      },
    };
    wall.push(r.ms);
    cpu.push(r.cpuMs);
    log(`no-op run ${i + 1}: ${secs(r.ms)} (CPU ${secs(r.cpuMs)}), requests: target ${last.target.total}, source ${last.source.total}, GitHub ${last.github.total}`);
  }

  const figures = {
    date: new Date().toISOString(),
    command: 'bin/with-node node bench/noop.mjs --runs ' + RUNS,
    machine: { cpus: cpus().length, node: process.version, loadavg: { start: loadStart, end: load() } },
    release: { images: firstResult.releases[0].images.length, firstSyncMs: first.ms, ledgerEntries: firstResult.ledger.appended },
    noop: { runs: RUNS, wallMs: median(wall), cpuMs: median(cpu), all: wall, requests: last },
  };
  await writeResults('noop', figures);
  const t = last.target;
  const s = last.source;
  process.stdout.write(
    [
      `no-op airlock sync of ${figures.release.images} images (median of ${RUNS}): ${secs(figures.noop.wallMs)} wall, ${secs(figures.noop.cpuMs)} CPU (whole process, Node start-up included)`,
      `target:  ${t.total} requests ${JSON.stringify(t.byKind)}`,
      `source:  ${s.total} requests ${JSON.stringify(s.byKind)}`,
      `GitHub:  ${last.github.api.join('; ')}; ${last.github.assetRedirects} asset redirects + ${last.github.assetDownloads} asset downloads (the release files are checked against the signed checksums on every run)`,
      `load average: ${figures.machine.loadavg.start.join(' ')} at start, ${figures.machine.loadavg.end.join(' ')} at end`,
    ].join('\n') + '\n',
  );
} finally {
  await space.close(() => up?.stop());
}
