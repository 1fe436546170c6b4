/**
 * Crash safety of `airlock sync` at named points (issue #8): the built CLI syncs the generated signed Flux upstream
 * into a REAL docker-registry through a proxy (test/support/kill-proxy.ts) that SIGKILLs it at a point of the
 * protocol — no hook in the product:
 *   blob            N bytes (seeded) into a blob upload body;
 *   manifest        the registry answered a manifest PUT by digest, the answer not relayed;
 *   signature-tag   the registry answered a signature's tag PUT (`sha256-….sig|.att`), not relayed;
 *   content-tag     the registry answered an image's final tag PUT (target written, ledger not), not relayed;
 *   release         the registry answered the release artifact's tag PUT, not relayed;
 *   checkpoint      the registry answered a checkpoint artifact's tag PUT, not relayed (the named test: its first,
 *                   the history tag, so the latest tag is missing until the re-run publishes it).
 * Then a plain re-run must complete, and target and ledger must be those of an uninterrupted run into a fresh
 * registry and ledger; the re-run re-sends no blob the target holds and trusts nothing it did not verify itself.
 *
 * The seed is `SEED` or random, and printed; `SOAK=1` runs 50 random points (`SOAK=N`: N) instead of one of each kind.
 */
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/ledger/events.js';
import { runCli } from '../support/cli.js';
import { KillTargets } from '../support/crash-support.js';
import type { KillAction, SeenRequest } from '../support/kill-proxy.js';
import { eventKey, latestCheckpoint, multiset, readLedger, snapshotTarget, spawnCli, startUpstream, syncArgs, syncHome, type TargetSnapshot, type Upstream } from '../support/sync-world.js';

const SEED = process.env.SEED !== undefined ? Number(process.env.SEED) : Math.floor(Math.random() * 2 ** 31);
/** SOAK=1: 50 random kill points; SOAK=N (N > 1): N of them. */
const SOAK = process.env.SOAK === undefined || process.env.SOAK === '0' ? 0 : process.env.SOAK === '1' ? 50 : Number(process.env.SOAK);
console.log(`sync-crash: SEED=${SEED}${SOAK ? ` SOAK=${SOAK}` : ''} (re-run with SEED=${SEED} to repeat)`);

/** mulberry32: a small seeded PRNG, so a failing seed replays the same kill points. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** Iteration n's own stream: a test picked alone with -t meets the same kill point as in the full run. */
const randFor = (n: number): (() => number) => prng(SEED ^ Math.imul(n + 1, 0x9e3779b1));

const KINDS = ['blob', 'manifest', 'signature-tag', 'content-tag', 'release', 'checkpoint'] as const;
type Kind = (typeof KINDS)[number];

const LEDGER_REPO = 'mirror/airlock-ledger';
/** Blob kill points are uploads of at least this many bytes (layers, signatures, release files). */
const MIN_BODY = 1000;
const isUploadBody = (method: string, path: string): boolean => (method === 'PUT' || method === 'PATCH') && path.includes('/blobs/uploads/');
const manifestPut = (method: string, path: string): { repo: string; ref: string } | undefined => {
  const m = method === 'PUT' ? /^\/v2\/(.+)\/manifests\/([^/?]+)$/.exec(path) : null;
  return m ? { repo: m[1]!, ref: m[2]! } : undefined;
};

/** The class of a request a kill point counts, if any. */
function classOf(method: string, path: string): Kind | undefined {
  if (isUploadBody(method, path)) return 'blob';
  const m = manifestPut(method, path);
  if (!m) return undefined;
  if (m.repo === LEDGER_REPO) return 'checkpoint';
  if (m.repo === 'mirror/flux-release') return 'release';
  if (m.ref.startsWith('sha256:')) return 'manifest';
  if (/^sha256-[0-9a-f]{64}\.(sig|att)$/.test(m.ref)) return 'signature-tag';
  return 'content-tag';
}

interface Point {
  kind: Kind;
  /** Which request of its class (0-based, in arrival order). */
  index: number;
  /** For `blob`: the share of the body let through before the kill. */
  fraction: number;
}

function decider(point: Point): (req: { method: string; path: string; contentLength: number | undefined }) => KillAction {
  let seen = 0;
  return ({ method, path, contentLength }) => {
    if (classOf(method, path) !== point.kind) return undefined;
    if (point.kind === 'blob' && (contentLength ?? 0) < MIN_BODY) return undefined; // cut layers, not `{}`
    if (seen++ !== point.index) return undefined;
    if (point.kind === 'blob') return { afterBodyBytes: Math.min(contentLength! - 1, Math.max(1, Math.floor(point.fraction * contentLength!))) };
    return { beforeRelay: true };
  };
}

/**
 * The target host appears in the image column of composed events (the same event into another registry), and the
 * release artifact's digest differs between independent ledgers (its Rekor bundle, see comparable()).
 */
const normalize = (e: LedgerEntry, targetHost: string): string => {
  const image = e.image?.replace(targetHost, 'TARGET') ?? null;
  return eventKey({ ...e, image, digest: e.kind === 'composed' && image === `TARGET/${RELEASE_REPO}` ? 'RELEASE-ARTIFACT-MANIFEST' : e.digest });
};
/**
 * What is recorded BEFORE the target is written — `verified`, and the release artifact's `composed` (declared with
 * the digests it will write) — is declared again by a run that resumes the write: these are compared as sets.
 */
const isDeclaration = (key: string): boolean => {
  const [kind, image] = JSON.parse(key) as [string, string | null];
  return kind === 'verified' || (kind === 'composed' && image === `TARGET/${RELEASE_REPO}`);
};
const CONTENT_KINDS = new Set(['copied-upstream', 'copied-signature', 'composed', 'release-discovered', 'refused']);

const RELEASE_REPO = 'mirror/flux-release';

/**
 * The target without the checkpoint artifacts (each ledger has its own), and with the release artifact's manifest
 * and its Rekor bundle named by role: the bundle is the checksums' Rekor evidence as fetched when this ledger
 * first saw the release (the kit's Rekor signs a fresh checkpoint per answer), so two independent ledgers hold
 * different bytes there — everything else of the artifact (checksums, signature, certificate, files) is compared
 * by digest. Returns the artifact's digest too, to be checked against the ledger's composed event.
 */
async function comparable(s: TargetSnapshot, storageDir: string): Promise<{ view: Omit<TargetSnapshot, 'blobs'>; artifact: string | undefined }> {
  const drop = <T,>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).filter(([k]) => k !== LEDGER_REPO));
  const artifact = s.tags[RELEASE_REPO]?.['v2.9.4'];
  const roles = new Map<string, string>();
  if (artifact) {
    roles.set(artifact, 'RELEASE-ARTIFACT-MANIFEST');
    const m = JSON.parse(await readFile(blobFile(storageDir, artifact), 'utf8')) as { layers: { digest: string; annotations?: Record<string, string> }[] };
    for (const l of m.layers) if (l.annotations?.['org.opencontainers.image.title']?.endsWith('.sigstore.json')) roles.set(l.digest, 'RELEASE-REKOR-BUNDLE');
  }
  const named = (d: string): string => roles.get(d) ?? d;
  const tags = Object.fromEntries(Object.entries(drop(s.tags)).map(([r, t]) => [r, Object.fromEntries(Object.entries(t).map(([k, d]) => [k, named(d)]))]));
  const linked = Object.fromEntries(Object.entries(drop(s.linked)).map(([r, ds]) => [r, ds.map(named).sort()]));
  return { view: { tags, linked }, artifact };
}

const blobFile = (storageDir: string, digest: string): string => join(storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7), 'data');

const dir = mkdtempSync(join(tmpdir(), 'airlock-sync-crash-'));
let up: Upstream;
let reference: { target: Omit<TargetSnapshot, 'blobs'>; events: string[]; counts: Record<Kind, number>; bodySizes: number[] };
const targets = new KillTargets();

beforeAll(async () => {
  up = await startUpstream(join(dir, 'upstream'));
  // The uninterrupted run: what every crashed-and-resumed run must end up equal to.
  const t = await targets.fresh();
  const home = syncHome(join(dir, 'reference'));
  const r = await spawnCli(syncArgs(up, home, t.proxy.host), home.env).done;
  expect(r.code, r.stderr).toBe(0);
  const counts = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  for (const q of t.proxy.requests) {
    const c = classOf(q.method, q.path);
    if (c && (c !== 'blob' || q.bodyBytes >= MIN_BODY)) counts[c]++;
  }
  reference = {
    target: (await comparable(await snapshotTarget(t.reg.storageDir), t.reg.storageDir)).view,
    events: readLedger(home.ledgerPath).filter((e) => !e.kind.startsWith('run-')).map((e) => normalize(e, t.proxy.host)),
    counts,
    bodySizes: t.proxy.requests.filter((q) => isUploadBody(q.method, q.path)).map((q) => q.bodyBytes),
  };
  await targets.release(t);
}, 120_000);

afterAll(async () => {
  await targets.releaseAll();
  await up?.stop();
});

function pickPoint(n: number, kind?: Kind): Point {
  const rand = randFor(n);
  const k = kind ?? KINDS[Math.floor(rand() * KINDS.length)]!;
  return { kind: k, index: Math.floor(rand() * reference.counts[k]), fraction: rand() };
}

async function crashAndResume(point: Point, n: number): Promise<void> {
  const t = await targets.fresh();
  const home = syncHome(join(dir, `run-${n}`));
  const args = syncArgs(up, home, t.proxy.host);
  try {
    // 1. The run killed at the point.
    const first = spawnCli(args, home.env);
    t.proxy.kill = first.kill;
    t.proxy.decide = decider(point);
    const crashed = await first.done;
    t.proxy.kill = undefined;
    const label = `${point.kind} #${point.index}${point.kind === 'blob' ? ` after ${t.proxy.killedAt?.bytes} bytes` : ''} (SEED=${SEED})`;
    expect(t.proxy.killedAt, `the kill point ${label} was never reached`).toBeDefined();
    expect(crashed.signal, `${label}: ${crashed.stderr}`).toBe('SIGKILL');
    const before = await snapshotTarget(t.reg.storageDir);
    const beforeEvents = readLedger(home.ledgerPath);

    // 2. A plain re-run completes.
    const from = t.proxy.requests.length;
    const again = await spawnCli(args, home.env).done;
    expect(again.code, `${label}: ${again.stderr}`).toBe(0);
    const rerun: SeenRequest[] = t.proxy.requests.slice(from);

    // 3. The target is the uninterrupted run's (the checkpoint artifacts aside: each ledger has its own).
    const after = await snapshotTarget(t.reg.storageDir);
    const { view, artifact } = await comparable(after, t.reg.storageDir);
    expect(view, label).toEqual(reference.target);

    // 4. The ledger holds what the uninterrupted run recorded: the same content events, each as often; a
    //    `verified` may be there twice (the crashed run's and the re-run's own — a new verification, recorded).
    const events = readLedger(home.ledgerPath);
    const mine = events.filter((e) => !e.kind.startsWith('run-')).map((e) => normalize(e, t.proxy.host));
    const contentOnly = (keys: string[]): Record<string, number> => multiset(keys.filter((k) => CONTENT_KINDS.has(JSON.parse(k)[0] as string) && !isDeclaration(k)));
    expect(contentOnly(mine), label).toEqual(contentOnly(reference.events));
    expect(new Set(mine), label).toEqual(new Set(reference.events));
    const verify = await runCli(['ledger', 'verify', '--config', home.config, '--json'], { env: home.env });
    expect(verify.code, `${label}: ${verify.stdout}${verify.stderr}`).toBe(0);
    // The release artifact's `composed` is a declaration made before its first blob: a run killed while writing it
    // declares it again when the re-run writes the rest (each event's `written` says which part). Same digest.
    expect([...new Set(events.filter((e) => e.kind === 'composed' && e.image?.endsWith(RELEASE_REPO)).map((e) => e.digest))], label).toEqual([artifact]);
    // The entries before the crash are still there, unchanged: the ledger was only appended to.
    expect(events.slice(0, beforeEvents.length)).toEqual(beforeEvents);

    // 5. Nothing trusted unverified: every copy the re-run recorded follows a verification of that digest in the
    //    re-run itself, not the crashed run's.
    const rerunEvents = events.slice(beforeEvents.length);
    for (const [i, e] of rerunEvents.entries()) {
      if (e.kind !== 'copied-upstream' && e.kind !== 'copied-signature') continue;
      const subject = e.kind === 'copied-upstream' ? e.digest : e.subject;
      const verified = rerunEvents.slice(0, i).some((v) => v.kind === 'verified' && v.digest === subject && v.image === e.image);
      expect(verified, `${label}: ${e.kind} ${e.digest} with no verified event of ${subject} before it in the re-run`).toBe(true);
    }

    // 6. No blob the target already held was sent again.
    //    (A blob goes into each repository that needs it: one held by another repository is not "there".)
    const held = new Set(Object.entries(before.linked).flatMap(([repo, ds]) => ds.map((d) => `${repo}@${d}`)));
    const resent = rerun
      .filter((q) => isUploadBody(q.method, q.path) && q.method === 'PUT')
      .map((q) => `${/^\/v2\/(.+)\/blobs\/uploads\//.exec(q.path)?.[1]}@${new URL(q.path, 'http://x').searchParams.get('digest')}`)
      .filter((d) => held.has(d));
    expect(resent, label).toEqual([]);

    // 7. Every entry is covered by a signed checkpoint (a re-run with nothing new to record still signs what the
    //    killed run appended), and that checkpoint is published beside the mirror: under its history tag, and
    //    under the latest tag — also when the kill hit the checkpoint's own publication (the re-run, with nothing
    //    to record, finds the latest tag not naming it and publishes it, the ledger untouched).
    const size = latestCheckpoint(home.ledgerPath)?.size;
    expect(size, label).toBe(events.length);
    const ledgerTags = after.tags[LEDGER_REPO] ?? {};
    const history = Object.keys(ledgerTags).filter((tag) => tag.endsWith(`-${size}`));
    expect(history, `${label}: the checkpoint of size ${size} is not in the target (${Object.keys(ledgerTags).join(', ')})`).toHaveLength(1);
    const latestTag = history[0]!.slice(0, -`-${size}`.length);
    expect(ledgerTags[latestTag], `${label}: the latest checkpoint tag ${latestTag} does not name the checkpoint of size ${size}`).toBe(ledgerTags[history[0]!]);
    if (point.kind === 'checkpoint') {
      expect(events.length, `${label}: the re-run appended to the ledger`).toBe(beforeEvents.length);
    }
    console.log(`sync-crash: ${label}: killed at ${t.proxy.killedAt?.method} ${t.proxy.killedAt?.path.replace(/\?.*/, '')}, re-run ${Math.round(again.ms)} ms, ${rerun.length} requests, ${events.length - beforeEvents.length} events appended`);
  } finally {
    await targets.release(t);
  }
}

describe('airlock sync killed at a named point, then run again', () => {
  it('reference run: every kind of kill point occurs', () => {
    for (const k of KINDS) expect(reference.counts[k], k).toBeGreaterThan(0);
    expect(Math.max(...reference.bodySizes)).toBeGreaterThan(40_000);
  });

  if (!SOAK) {
    for (const kind of KINDS) {
      it(`killed at ${kind}: the re-run completes, target and ledger equal an uninterrupted run's`, async () => {
        const point = pickPoint(KINDS.indexOf(kind), kind);
        // The checkpoint's first tag PUT (its history tag): the latest tag is then still missing from the target.
        await crashAndResume(kind === 'checkpoint' ? { ...point, index: 0 } : point, KINDS.indexOf(kind));
      }, 120_000);
    }
  } else {
    it(`SOAK: ${SOAK} random kill points`, async () => {
      for (let i = 0; i < SOAK; i++) await crashAndResume(pickPoint(100 + i), 100 + i);
    }, 3_600_000);
  }
});
