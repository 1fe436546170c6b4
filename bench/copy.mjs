#!/usr/bin/env node
/* global process, Buffer, setTimeout */
// airlock copy vs `skopeo copy --all --preserve-digests` on the same two local docker-registry instances.
// Usage (from the repository root, after `npm run build`):
//   bin/with-node node bench/copy.mjs [--runs 3] [--size-mib 600] [--rss-mib 1024] [--concurrency 4]
// Prints cold and warm median wall times and their ratio, the HTTP requests of a warm copy (from the registries'
// access logs), and airlock's peak RSS copying one big layer; writes the figures to bench/results/copy.json.
import { createHash, randomFillSync } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MIB, ROOT, benchSpace, dropSkopeoCache, load, log, median, requireBuild, run, secs, writeResults } from './common.mjs';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'size-mib': { type: 'string', default: '600' },
    'rss-mib': { type: 'string', default: '1024' },
    concurrency: { type: 'string', default: '4' },
  },
});
const RUNS = Number(opt.runs);
const SIZE_MIB = Number(opt['size-mib']);
const RSS_MIB = Number(opt['rss-mib']);
const CONCURRENCY = opt.concurrency;

requireBuild('bench/copy.mjs', 'copy');

// ---- a local OCI layout with random (incompressible) layers, written straight to disk ----

async function writeBlob(layout, bytes, mediaType) {
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(layout, 'blobs', 'sha256', hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.byteLength };
}

async function writeRandomBlob(layout, size) {
  const tmp = join(layout, 'blobs', `tmp-${process.pid}-${Math.random()}`);
  const fh = await open(tmp, 'w');
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(4 * MIB);
  for (let left = size; left > 0; ) {
    const n = Math.min(left, buf.length);
    randomFillSync(buf, 0, n);
    hash.update(buf.subarray(0, n));
    await fh.write(buf, 0, n);
    left -= n;
  }
  await fh.close();
  const hex = hash.digest('hex');
  await rename(tmp, join(layout, 'blobs', 'sha256', hex));
  return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${hex}`, size };
}

const json = (v) => Buffer.from(JSON.stringify(v));

async function writeImage(layout, platform, layerSizes) {
  const layers = [];
  for (const s of layerSizes) layers.push(await writeRandomBlob(layout, s));
  const config = await writeBlob(layout, json({ ...platform, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) }, config: {} }), 'application/vnd.oci.image.config.v1+json');
  return writeBlob(layout, json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers }), 'application/vnd.oci.image.manifest.v1+json');
}

/** A Flux-controller-shaped index: linux/amd64, arm64, arm/v7, each with a BuildKit attestation manifest. */
async function writeLayout(dir, totalMib, platforms) {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const perPlatform = Math.floor((totalMib * MIB) / platforms.length);
  const shares = [0.48, 0.32, 0.16, 0.04];
  const entries = [];
  for (const p of platforms) {
    const sizes = shares.map((s) => Math.floor(perPlatform * s));
    const m = await writeImage(dir, p, sizes);
    entries.push({ ...m, platform: p });
    const statement = await writeBlob(dir, json({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://spdx.dev/Document', subject: [{ digest: { sha256: m.digest.slice(7) } }] }), 'application/vnd.in-toto+json');
    const cfg = await writeBlob(dir, json({ architecture: 'unknown', os: 'unknown', rootfs: { type: 'layers', diff_ids: [statement.digest] }, config: {} }), 'application/vnd.oci.image.config.v1+json');
    const att = await writeBlob(dir, json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: cfg, layers: [statement] }), 'application/vnd.oci.image.manifest.v1+json');
    entries.push({ ...att, annotations: { 'vnd.docker.reference.digest': m.digest, 'vnd.docker.reference.type': 'attestation-manifest' }, platform: { architecture: 'unknown', os: 'unknown' } });
  }
  const index = entries.length === 1 ? entries[0] : await writeBlob(dir, json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }), 'application/vnd.oci.image.index.v1+json');
  const top = { mediaType: index.mediaType, digest: index.digest, size: index.size };
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }));
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return index.digest;
}

// ---- timed commands ----

// airlock's state (ledger, key, trust cache) for the bench's runs: never the user's home.
let benchEnv = {};
// Set once the source image is signed: the policy flags of a verifying copy.
let verifyFlags = [];

async function skopeoCopy(src, dst) {
  await dropSkopeoCache();
  return run('skopeo', ['copy', '--all', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false', '-q', src, dst], { env: benchEnv, cpu: true });
}

async function airlockCopy(src, dst, extra = [], { verify = false } = {}) {
  const mode = verify ? verifyFlags : ['--insecure-skip-verify'];
  const r = await run(process.execPath, [join(ROOT, 'bin', 'run.js'), 'copy', src, dst, ...mode, '--concurrency', CONCURRENCY, '--json', ...extra], { env: benchEnv, cpu: true });
  return { ...r, result: JSON.parse(r.stdout) };
}

// ---- the benchmark ----

async function measureRss(space, src) {
  log(`generating a ${RSS_MIB} MiB single-layer image…`);
  const bigLayout = join(space.base, 'big');
  await writeLayout(bigLayout, RSS_MIB, [{ architecture: 'amd64', os: 'linux' }]);
  await skopeoCopy(`oci:${bigLayout}:v1`, `docker://${src.host}/bench/big:v1`);
  await rm(bigLayout, { recursive: true, force: true });
  const bigDst = await space.registry();
  const timed = await run('/usr/bin/time', ['-v', process.execPath, join(ROOT, 'bin', 'run.js'), 'copy', `${src.host}/bench/big:v1`, `${bigDst.host}/mirror/big`, '--insecure-skip-verify', '--json'], { env: benchEnv });
  const maxRssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(timed.stderr)?.[1] ?? NaN);
  const result = JSON.parse(timed.stdout);
  return { layerMiB: RSS_MIB, maxRssMiB: maxRssKb / 1024, reportedPeakRssMiB: result.peakRssBytes / MIB, wallMs: timed.ms, bytesMoved: result.bytesMoved };
}

async function main() {
  const space = await benchSpace('copy');
  const base = space.base;
  const loadBefore = load();
  benchEnv = { XDG_CONFIG_HOME: join(base, 'xdg-config'), XDG_STATE_HOME: join(base, 'xdg-state'), XDG_CACHE_HOME: join(base, 'xdg-cache') };
  let kit;
  try {
    log(`generating a ${SIZE_MIB} MiB multi-arch image (3 platforms + attestation manifests, random layers)…`);
    const layout = join(base, 'layout');
    const digest = await writeLayout(layout, SIZE_MIB, [
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux' },
      { architecture: 'arm', os: 'linux', variant: 'v7' },
    ]);
    const src = await space.registry();
    await skopeoCopy(`oci:${layout}:v1`, `docker://${src.host}/bench/multiarch:v1`);
    await rm(layout, { recursive: true, force: true });
    const srcRef = `${src.host}/bench/multiarch:v1`;

    // Sign the image as a Flux controller's release pipeline would (cosign 2 legacy .sig), with the local Sigstore
    // test kit, so a verifying copy can be timed too (set-up, not timed).
    const { startLocalSigstore } = await import(join(ROOT, 'dist/src/testkit/sigstore.js'));
    const { signImageLikeCosign2 } = await import(join(ROOT, 'dist/src/testkit/image-signers.js'));
    const { controllerReleaseClaims, subjectAlternativeName, GITHUB_ACTIONS_ISSUER } = await import(join(ROOT, 'dist/src/testkit/identity.js'));
    const { RegistryStore } = await import(join(ROOT, 'dist/src/store/registry/store.js'));
    kit = await startLocalSigstore({ stateDir: join(base, 'kit') });
    const claims = controllerReleaseClaims('source-controller', 'v1.9.4');
    const store = new RegistryStore(src.host, {});
    await signImageLikeCosign2(kit, store.repository('bench/multiarch'), digest, { identity: claims });
    await store.close();
    verifyFlags = [
      '--certificate-identity', subjectAlternativeName(claims).uri,
      '--certificate-oidc-issuer', GITHUB_ACTIONS_ISSUER,
      '--certificate-source-repository-uri', 'https://github.com/fluxcd/source-controller',
      '--trusted-root', kit.trustedRootPath,
    ];

    const cold = { airlock: [], skopeo: [], verified: [] };
    const coldCpu = { airlock: [], skopeo: [], verified: [] };
    const loadCold = load();
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 === 0 ? ['skopeo', 'airlock', 'verified'] : ['verified', 'airlock', 'skopeo'];
      for (const tool of order) {
        const dst = await space.registry();
        const r =
          tool === 'skopeo'
            ? await skopeoCopy(`docker://${srcRef}`, `docker://${dst.host}/mirror/multiarch:v1`)
            : await airlockCopy(srcRef, `${dst.host}/mirror/multiarch`, [], { verify: tool === 'verified' });
        if (tool !== 'skopeo' && r.result.digest !== digest) throw new Error(`airlock copied ${r.result.digest}, expected ${digest}`);
        cold[tool].push(r.ms);
        coldCpu[tool].push(r.cpuMs);
        log(`cold ${tool} run ${i + 1}: ${secs(r.ms)} (CPU ${secs(r.cpuMs)}, load ${load()[0]})`);
        await space.stop(dst);
      }
    }

    // Warm: every blob already in the target.
    const dst = await space.registry();
    await airlockCopy(srcRef, `${dst.host}/mirror/multiarch`);
    const warm = { airlock: [], skopeo: [] };
    let airlockRequests;
    let skopeoRequests;
    for (let i = 0; i < RUNS; i++) {
      src.requests.length = 0;
      dst.requests.length = 0;
      const s = await skopeoCopy(`docker://${srcRef}`, `docker://${dst.host}/mirror/multiarch:v1`);
      skopeoRequests = { source: src.requests.length, target: dst.requests.length };
      warm.skopeo.push(s.ms);
      src.requests.length = 0;
      dst.requests.length = 0;
      const a = await airlockCopy(srcRef, `${dst.host}/mirror/multiarch`);
      await new Promise((r) => setTimeout(r, 50)); // let the access logs flush
      airlockRequests = { source: [...src.requests], target: [...dst.requests], bytesMoved: a.result.bytesMoved, blobsCopied: a.result.blobsCopied.length };
      warm.airlock.push(a.ms);
      log(`warm run ${i + 1}: skopeo ${secs(s.ms)}, airlock ${secs(a.ms)} (${airlockRequests.source.length + airlockRequests.target.length} requests)`);
    }

    // Peak RSS copying one big layer (--rss-mib 0 skips it).
    let rss = { layerMiB: 0, maxRssMiB: NaN, reportedPeakRssMiB: NaN, wallMs: NaN, bytesMoved: 0 };
    if (RSS_MIB > 0) rss = await measureRss(space, src);


    const figures = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, node: process.version, loadavg: { start: loadBefore, cold: loadCold, end: load() } },
      image: { sizeMiB: SIZE_MIB, digest, runs: RUNS, concurrency: Number(CONCURRENCY) },
      cold: {
        airlockMs: median(cold.airlock),
        skopeoMs: median(cold.skopeo),
        ratio: median(cold.airlock) / median(cold.skopeo),
        // airlock verifying the signature first (and recording in its ledger), against skopeo copying blindly
        verifiedMs: median(cold.verified),
        verifiedRatio: median(cold.verified) / median(cold.skopeo),
        verifiedCpuMs: median(coldCpu.verified),
        // user+system CPU seconds of each whole process: steadier than wall time on a shared machine
        airlockCpuMs: median(coldCpu.airlock),
        skopeoCpuMs: median(coldCpu.skopeo),
        all: cold,
        allCpu: coldCpu,
      },
      warm: {
        airlockMs: median(warm.airlock),
        skopeoMs: median(warm.skopeo),
        ratio: median(warm.airlock) / median(warm.skopeo),
        airlockRequests,
        skopeoRequests,
        all: warm,
      },
      rss,
    };
    await writeResults('copy', figures);

    const ar = airlockRequests;
    const lines = [
      `airlock copy vs skopeo copy --all --preserve-digests — ${SIZE_MIB} MiB multi-arch image, median of ${RUNS}, two local docker-registry`,
      `cold (empty target):   airlock ${secs(figures.cold.airlockMs)}   skopeo ${secs(figures.cold.skopeoMs)}   ratio ${figures.cold.ratio.toFixed(2)}   (CPU: airlock ${secs(figures.cold.airlockCpuMs)}, skopeo ${secs(figures.cold.skopeoCpuMs)})`,
      `cold, verifying:        airlock ${secs(figures.cold.verifiedMs)}   ratio ${figures.cold.verifiedRatio.toFixed(2)} against skopeo copying without verifying   (CPU ${secs(figures.cold.verifiedCpuMs)})`,
      `warm (all blobs there): airlock ${secs(figures.warm.airlockMs)}   skopeo ${secs(figures.warm.skopeoMs)}   ratio ${figures.warm.ratio.toFixed(2)}   (whole command, Node start-up included)`,
      `warm HTTP requests:     airlock ${ar.source.length + ar.target.length} (source: ${ar.source.join(', ')}; target: ${ar.target.join(', ')}), ${ar.blobsCopied} blobs / ${ar.bytesMoved} bytes sent; skopeo ${skopeoRequests.source + skopeoRequests.target}`,
      `peak RSS copying one ${RSS_MIB} MiB layer: ${rss.maxRssMiB.toFixed(1)} MiB (/usr/bin/time -v; --json says ${rss.reportedPeakRssMiB.toFixed(1)} MiB), in ${secs(rss.wallMs)}`,
      `load average (1/5/15 min): ${figures.machine.loadavg.start.join(' ')} at start, ${figures.machine.loadavg.end.join(' ')} at end`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await space.close(() => kit?.close());
  }
}

await main();
