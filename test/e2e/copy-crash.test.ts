/**
 * Crash safety of `airlock copy`: the built CLI copies a signed image (a multi-arch index and its cosign `.sig`) into
 * a REAL docker-registry through a proxy (test/support/kill-proxy.ts) that SIGKILLs it once the registry has
 * answered — the answer never relayed, so the process never sees the write succeed:
 *   signature-tag   the `.sig` tag PUT (`sha256-….sig`): the signature object is in the target, not in the ledger;
 *   content-tag     the image's tag PUT: everything is in the target, the ledger holds only the `verified` event.
 * The same copy run again must complete, and the ledger must account for every digest of the target exactly as
 * an uninterrupted copy's ledger does (`copied-upstream` for the image, `copied-signature` for the `.sig`, each
 * once, each after a verification of its own run), `ledger verify` must pass, and the run's checkpoint must be
 * published beside the copy. Without the recorder's reconciliation (copy-record.ts `settled`) the resumed copy
 * finds the objects present and records nothing for them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/ledger/events.js';
import type { Digest } from '../../src/oci/digest.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { signImageLikeCosign2 } from '../../src/testkit/image-signers.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { runCli } from '../support/cli.js';
import { KillTargets } from '../support/crash-support.js';
import { CONTROLLER_FLAGS, controllerClaims, pushImage } from '../support/image-signing.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { eventKey, latestCheckpoint, multiset, readLedger, snapshotTarget, spawnCli, syncHome, type SyncHome } from '../support/sync-world.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-copy-crash-'));
const REPO = 'mirror/app';
const LEDGER_REPO = 'mirror/airlock-ledger';
let kit: LocalSigstore;
let src: RunningRegistry;
let source: string;
let digest: Digest;
let reference: { events: string[]; target: Record<string, string> };
const targets = new KillTargets();

type Kind = 'signature-tag' | 'content-tag';
const CONTENT_KINDS = new Set(['copied-upstream', 'copied-signature', 'composed', 'insecure-copy']);

function classOf(method: string, path: string): Kind | undefined {
  const m = method === 'PUT' ? /^\/v2\/(.+)\/manifests\/([^/?]+)$/.exec(path) : null;
  if (!m || m[1] !== REPO || m[2]!.startsWith('sha256:')) return undefined;
  return /^sha256-[0-9a-f]{64}\.(sig|att)$/.test(m[2]!) ? 'signature-tag' : 'content-tag';
}

const args = (home: SyncHome, host: string): string[] => ['copy', source, `${host}/${REPO}:v1.9.4`, ...CONTROLLER_FLAGS, '--trusted-root', kit.trustedRootPath, '--config', home.config, '--json'];

const contentEvents = (events: LedgerEntry[]): string[] => events.filter((e) => CONTENT_KINDS.has(e.kind)).map(eventKey);

beforeAll(async () => {
  kit = await startLocalSigstore({ stateDir: join(dir, 'kit') });
  src = await startRegistry();
  const store = new RegistryStore(src.host);
  const pushed = await pushImage(store.repository('fluxcd/app'), 'v1.9.4');
  digest = pushed.digest;
  await signImageLikeCosign2(kit, store.repository('fluxcd/app'), digest, { identity: controllerClaims() });
  await store.close();
  source = `${src.host}/fluxcd/app:v1.9.4`;

  // The uninterrupted copy: what every killed-and-resumed copy must end up equal to.
  const t = await targets.fresh();
  const home = syncHome(join(dir, 'reference'));
  const r = await spawnCli(args(home, t.proxy.host), home.env).done;
  expect(r.code, r.stderr).toBe(0);
  const events = readLedger(home.ledgerPath);
  reference = { events: contentEvents(events), target: (await snapshotTarget(t.reg.storageDir)).tags[REPO] ?? {} };
  expect(Object.keys(reference.target).sort()).toEqual([`sha256-${digest.slice(7)}.sig`, 'v1.9.4']);
  expect(multiset(reference.events.map((k) => JSON.parse(k)[0] as string))).toEqual({ 'copied-signature': 1, 'copied-upstream': 1 });
  await targets.release(t);
}, 120_000);

afterAll(async () => {
  await targets.releaseAll();
  await src?.stop();
  await kit?.close();
});

describe('airlock copy killed after a tag PUT, then run again', () => {
  for (const kind of ['signature-tag', 'content-tag'] as const) {
    it(`killed after the ${kind} PUT: the re-run records every digest of the target as an uninterrupted copy does`, async () => {
      const t = await targets.fresh();
      const home = syncHome(join(dir, kind));
      try {
        const first = spawnCli(args(home, t.proxy.host), home.env);
        t.proxy.kill = first.kill;
        t.proxy.decide = ({ method, path }) => (classOf(method, path) === kind ? { beforeRelay: true } : undefined);
        const crashed = await first.done;
        t.proxy.kill = undefined;
        expect(t.proxy.killedAt, 'the kill point was never reached').toBeDefined();
        expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
        const before = readLedger(home.ledgerPath);
        // The killed copy wrote what its record does not name yet.
        const held = (await snapshotTarget(t.reg.storageDir)).tags[REPO] ?? {};
        const killedTag = t.proxy.killedAt!.path.replace(/^.*\/manifests\//, '');
        expect(held[killedTag]).toBe(reference.target[killedTag]);
        expect(before.some((e) => CONTENT_KINDS.has(e.kind) && e.digest === held[killedTag])).toBe(false);

        const again = await spawnCli(args(home, t.proxy.host), home.env).done;
        expect(again.code, again.stderr).toBe(0);

        // The target is the uninterrupted copy's; the ledger names each of its tagged digests as copied into it.
        const after = await snapshotTarget(t.reg.storageDir);
        expect(after.tags[REPO]).toEqual(reference.target);
        const events = readLedger(home.ledgerPath);
        expect(multiset(contentEvents(events))).toEqual(multiset(reference.events));
        const target = `${t.proxy.host}/${REPO}:v1.9.4`;
        for (const d of Object.values(after.tags[REPO]!)) {
          expect(events.filter((e) => (e.kind === 'copied-upstream' || e.kind === 'copied-signature') && e.digest === d && e.body.target === target), d).toHaveLength(1);
        }
        // Appended only; each copy recorded by the re-run follows a verification of its own.
        expect(events.slice(0, before.length)).toEqual(before);
        const rerun = events.slice(before.length);
        for (const [i, e] of rerun.entries()) {
          if (e.kind !== 'copied-upstream' && e.kind !== 'copied-signature') continue;
          const subject = e.kind === 'copied-upstream' ? e.digest : e.subject;
          expect(rerun.slice(0, i).some((v) => v.kind === 'verified' && v.digest === subject), `${e.kind} ${e.digest} without a verification before it`).toBe(true);
        }
        const verify = await runCli(['ledger', 'verify', '--config', home.config, '--json'], { env: home.env });
        expect(verify.code, verify.stdout + verify.stderr).toBe(0);

        // A second re-run finds everything recorded: it appends nothing.
        const third = await spawnCli(args(home, t.proxy.host), home.env).done;
        expect(third.code, third.stderr).toBe(0);
        expect(readLedger(home.ledgerPath)).toHaveLength(events.length);

        // The checkpoint covers every entry and is published beside the copy (history tag and latest tag).
        const size = latestCheckpoint(home.ledgerPath)?.size;
        expect(size).toBe(events.length);
        const ledgerTags = after.tags[LEDGER_REPO] ?? {};
        const history = Object.keys(ledgerTags).filter((tag) => tag.endsWith(`-${size}`));
        expect(history, Object.keys(ledgerTags).join(', ')).toHaveLength(1);
        expect(ledgerTags[history[0]!.slice(0, -`-${size}`.length)]).toBe(ledgerTags[history[0]!]);
      } finally {
        await targets.release(t);
      }
    }, 120_000);
  }
});
