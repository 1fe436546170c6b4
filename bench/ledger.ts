/**
 * The ledger at scale: append rate in batches, `ledger verify` time, `ledger list --digest` latency, file size.
 *
 *   npm run build && bin/with-node node bench/ledger.ts [--events 1000000] [--batch 1000] [--queries 2000] [--keep]
 *     [--root DIR]   a directory holding another build's dist/ (e.g. `tsc --outDir DIR/dist`), to compare builds
 *     [--no-cli]     skip the `airlock ledger verify` run through the CLI
 *     [--out FILE]   where the figures go (default bench/results/ledger.json)
 *
 * Runs the built code (dist/), as the CLI does; Node strips this file's types. The ledger is a real file with the
 * production settings (WAL, synchronous=FULL: one fsync per batch). Events imitate a sync of Flux releases: per
 * image a verified verdict with evidence, the copy with every digest written, its signature, now and then a
 * refusal or a composed object. Writes the figures to bench/results/ledger.json.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type * as LedgerApi from '../src/ledger/ledger.js';
import type * as EventsApi from '../src/ledger/events.js';
import type * as VerifyApi from '../src/ledger/verify.js';
import type * as CheckpointApi from '../src/ledger/checkpoint.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '1000' },
    queries: { type: 'string', default: '2000' },
    keep: { type: 'boolean', default: false },
    root: { type: 'string', default: REPO },
    'no-cli': { type: 'boolean', default: false },
    out: { type: 'string', default: join(REPO, 'bench', 'results', 'ledger.json') },
  },
});
const ROOT = resolve(opt.root);
const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(join(ROOT, rel)).href)) as T;
const { Ledger } = await load<typeof LedgerApi>('dist/src/ledger/ledger.js');
const ev = await load<typeof EventsApi>('dist/src/ledger/events.js');
const { verifyLedger } = await load<typeof VerifyApi>('dist/src/ledger/verify.js');
const { parseSignedCheckpoint } = await load<typeof CheckpointApi>('dist/src/ledger/checkpoint.js');

const EVENTS = Number(opt.events);
const BATCH = Number(opt.batch);
const QUERIES = Number(opt.queries);

const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-ledger-'));
const env = { XDG_CONFIG_HOME: join(dir, 'config') };
Object.assign(process.env, env);
mkdirSync(join(dir, 'data'));
const path = join(dir, 'data', 'airlock.db');
const keyFor = (origin: string) => join(dir, 'config', 'airlock', 'keys', `${origin}.ed25519`);

const digest = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const CONTROLLERS = ['source', 'kustomize', 'helm', 'notification', 'image-reflector', 'image-automation', 'source-watcher', 'cli'];

/** Event i: one of eight kinds in the proportions of a sync (per image: verified, copied, signature…). */
function event(i: number): EventsApi.LedgerEventInput {
  const release = `v2.${Math.floor(i / 800)}.${Math.floor(i / 80) % 10}`;
  const name = CONTROLLERS[Math.floor(i / 8) % CONTROLLERS.length]!;
  const image = `ghcr.io/fluxcd/${name}-controller`;
  const d = digest(`image-${Math.floor(i / 8)}`);
  const target = `registry.internal/fluxcd/${name}-controller:${release}`;
  switch (i % 8) {
    case 0:
      return ev.releaseDiscovered({ release, repository: 'fluxcd/flux2', checksums: { name: `flux_${release.slice(1)}_checksums.txt`, digest: digest(`sums-${i}`) } });
    case 1:
    case 2:
      return ev.verifiedEvent({
        image,
        digest: d,
        release,
        tag: release,
        verdict: {
          certificateIdentity: `https://github.com/fluxcd/${name}-controller/.github/workflows/release.yml@refs/tags/${release}`,
          issuer: 'https://token.actions.githubusercontent.com',
          sourceRepositoryUri: `https://github.com/fluxcd/${name}-controller`,
          sourceRepositoryRef: `refs/tags/${release}`,
          rekor: { logIndex: 100_000_000 + i, integratedTime: 1_700_000_000 + i },
          signature: digest(`sig-${i}`),
        },
        trustRootDigest: digest('trusted_root.json'),
        bundleDigest: digest(`bundle-${i}`),
      });
    case 3:
      return ev.copiedUpstreamEvent({
        image,
        digest: d,
        release,
        tag: release,
        source: `${image}:${release}`,
        target,
        written: Array.from({ length: 12 }, (_, k) => digest(`blob-${i}-${k}`)),
      });
    case 4:
      return ev.copiedSignatureEvent({ image, digest: digest(`sig-${i}`), signs: d, artifact: 'cosign-sig', release, source: `${image}:sha256-x.sig`, target, written: [digest(`sig-${i}`), digest(`sigl-${i}`)] });
    case 5:
      return ev.refusedEvent({ image, digest: d, release, tag: release, reason: 'IDENTITY_MISMATCH', message: 'The signature was made by another workflow.', evidence: { san: 'https://github.com/fork/x/.github/workflows/release.yml@refs/heads/main' } });
    case 6:
      return ev.composedEvent({ image, digest: digest(`composed-${i}`), subject: d, release, what: 'signature-manifest', target, from: [digest(`sig-${i}`)], written: [digest(`composed-${i}`)] });
    default:
      return ev.runFinished({ outcome: 'ok', counts: { verified: 2, refused: 1 }, durationMs: 1234 });
  }
}

/** Bytes this process handed to write(2) and bytes it caused to be written to storage (Linux /proc/self/io). */
function io(): { wchar: number; writeBytes: number } {
  try {
    const f = Object.fromEntries(readFileSync('/proc/self/io', 'utf8').trim().split('\n').map((l) => l.split(': ') as [string, string]));
    return { wchar: Number(f.wchar), writeBytes: Number(f.write_bytes) };
  } catch {
    return { wchar: NaN, writeBytes: NaN };
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const out: Record<string, unknown> = { node: process.version, events: EVENTS, batch: BATCH, loadAverageStart: loadavg()[0] };
const log = (s: string) => process.stdout.write(`${s}\n`);
log(`ledger bench: ${EVENTS} events in batches of ${BATCH}, Node ${process.version}, load average ${loadavg()[0]!.toFixed(2)}, ${path}`);

// 1. Append in batches (one BEGIN IMMEDIATE transaction and one fsync each), a checkpoint every 100k events.
const ledger = Ledger.open(path, { create: true, key: keyFor });
let kept: string | undefined;
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const io0 = io();
let t0 = performance.now();
let buildMs = 0;
let appendCpuMs = 0;
for (let i = 0; i < EVENTS; i += BATCH) {
  const b0 = performance.now();
  const batch = Array.from({ length: Math.min(BATCH, EVENTS - i) }, (_, k) => event(i + k));
  buildMs += performance.now() - b0;
  const c0 = cpuMs();
  ledger.append(batch);
  appendCpuMs += cpuMs() - c0;
  if ((i + BATCH) % 100_000 === 0 || i + BATCH >= EVENTS) {
    const cp = await ledger.checkpoint();
    if (!kept && cp) kept = cp.checkpoint.note;
  }
  if ((i + BATCH) % 200_000 === 0) log(`  ${i + BATCH} appended, ${(((i + BATCH) / (performance.now() - t0 - buildMs)) * 1000).toFixed(0)}/s`);
}
const appendMs = performance.now() - t0 - buildMs;
const appendRate = (EVENTS / appendMs) * 1000;
const appendCpuRate = (EVENTS / appendCpuMs) * 1000;
log(
  `append: ${appendRate.toFixed(0)} events/s wall, ${appendCpuRate.toFixed(0)} per CPU-second, in batches of ${BATCH} (${(appendMs / 1000).toFixed(1)} s; event construction excluded: ${(buildMs / 1000).toFixed(1)} s)`,
);
const io1 = io();
const written = { wcharPerEvent: Math.round((io1.wchar - io0.wchar) / EVENTS), writeBytesPerEvent: Math.round((io1.writeBytes - io0.writeBytes) / EVENTS) };
log(`append wrote ${written.wcharPerEvent} bytes per event through write(2), ${written.writeBytesPerEvent} to storage; load average ${loadavg()[0]!.toFixed(2)}`);
out.append = { eventsPerSecond: Math.round(appendRate), eventsPerCpuSecond: Math.round(appendCpuRate), seconds: appendMs / 1000, ...written, loadAverage: loadavg()[0] };

// 1b. One event per transaction (what a sync recording each step as it happens does): fsync-bound.
t0 = performance.now();
const SINGLE = 500;
for (let i = 0; i < SINGLE; i++) ledger.append([event(EVENTS + i)]);
const singleRate = (SINGLE / (performance.now() - t0)) * 1000;
log(`append one event per transaction: ${singleRate.toFixed(0)} events/s`);
out.appendSingle = { eventsPerSecond: Math.round(singleRate) };
await ledger.checkpoint();
ledger.close(); // checkpoints the WAL into the file

// 2. File size.
const bytes = statSync(path).size;
const total = EVENTS + SINGLE;
log(`file: ${(bytes / 2 ** 20).toFixed(0)} MiB, ${(bytes / total).toFixed(0)} bytes per event`);
out.file = { bytes, bytesPerEvent: Math.round(bytes / total) };

// 3. `ledger list --digest` in process: random digests that exist (and some that do not), p50/p99.
const reader = Ledger.open(path, { readOnly: true });
// (Builds from before Ledger.queries.plan existed have no plan to show.)
const plan = (reader.queries as Partial<Pick<typeof reader.queries, 'plan'>>).plan?.({ digest: digest('plan'), limit: 100 }) ?? [];
log(`query plan of --digest: ${plan.join(' / ')}`);
const times: number[] = [];
let hits = 0;
for (let q = 0; q < QUERIES; q++) {
  const d = q % 10 === 9 ? digest(`absent-${q}`) : digest(`image-${Math.floor(Math.random() * (EVENTS / 8))}`);
  const s = performance.now();
  hits += reader.list({ digest: d, limit: 100 }).length;
  times.push(performance.now() - s);
}
times.sort((a, b) => a - b);
const p50 = percentile(times, 50);
const p99 = percentile(times, 99);
log(`list --digest: p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms, max ${times[times.length - 1]!.toFixed(3)} ms (${QUERIES} queries, ${hits} entries returned)`);
out.listDigest = { p50Ms: p50, p99Ms: p99, maxMs: times[times.length - 1], queries: QUERIES, plan: plan.join(' / ') };
const s1 = performance.now();
const proof = reader.prove(Math.floor(EVENTS / 3));
out.proveMs = performance.now() - s1;
log(`prove: ${(out.proveMs as number).toFixed(2)} ms (${proof.auditPath.length} hashes)`);

// 4. `ledger verify` in process, against the first checkpoint kept (consistency proof to the end).
const v0 = performance.now();
const vc0 = cpuMs();
const result = verifyLedger(reader, { kept: { checkpoint: parseSignedCheckpoint(kept!, 'kept'), source: 'kept' } });
const verifyMs = performance.now() - v0;
const verifyCpuMs = cpuMs() - vc0;
reader.close();
log(`verify (in process): ${(verifyMs / 1000).toFixed(1)} s wall, ${(verifyCpuMs / 1000).toFixed(1)} s CPU, ok=${result.ok}, ${result.treeSize} entries, ${result.checkpoints.count} checkpoints, consistent with the kept one: ${result.kept?.consistent}`);
out.verify = { seconds: verifyMs / 1000, cpuSeconds: verifyCpuMs / 1000, ok: result.ok, peakRssMiB: Math.round(process.memoryUsage().rss / 2 ** 20), loadAverage: loadavg()[0] };

// 5. The same through the CLI, as an auditor runs it (Node and oclif start-up included). Only for the repo's own build.
if (!opt['no-cli'] && ROOT === REPO) {
  const c0 = performance.now();
  const cli = spawnSync(process.execPath, [join(REPO, 'bin', 'run.js'), 'ledger', 'verify', '--ledger', path, '--json'], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const cliMs = performance.now() - c0;
  log(`verify (airlock ledger verify): ${(cliMs / 1000).toFixed(1)} s, exit ${cli.status}`);
  out.verifyCli = { seconds: cliMs / 1000, exit: cli.status };
}
out.loadAverageEnd = loadavg()[0];

mkdirSync(dirname(resolve(opt.out)), { recursive: true });
writeFileSync(resolve(opt.out), `${JSON.stringify(out, null, 2)}\n`);
if (!opt.keep) rmSync(dir, { recursive: true, force: true });
else log(`kept ${dir}`);
