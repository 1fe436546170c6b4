/**
 * Two `airlock sync` runs on the same ledger and registry target at the same instant (issue #8: no corruption, one
 * clear outcome). The target's proxy is a gate: it holds every request to the registry until one process has
 * exited, so the winner cannot finish before the loser has met the lock, however the machine schedules them. Then: one exit 0, one exit 13 (LOCKED) that wrote nothing; the target is
 * complete and accounted for by the ledger; `ledger verify` passes. With --wait both finish (0, 0), the second a
 * no-op. sync-cli.test.ts covers the same on an `oci:` target without the gate.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncResult } from '../../src/pipeline/sync.js';
import { runCli } from '../support/cli.js';
import { startKillProxy, type KillProxy } from '../support/kill-proxy.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { readLedger, snapshotTarget, spawnCli, startUpstream, syncArgs, syncHome, type SyncHome, type Upstream } from '../support/sync-world.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-sync-concurrent-'));
let up: Upstream;
let reg: RunningRegistry;
let target: KillProxy;
let home: SyncHome;

beforeAll(async () => {
  up = await startUpstream(join(dir, 'upstream'), { layerSizes: [4096] });
  reg = await startRegistry();
  target = await startKillProxy(reg.url);
  home = syncHome(join(dir, 'home'));
}, 120_000);

afterAll(async () => {
  await target?.stop();
  await reg?.stop();
  await up?.stop();
});

describe('two airlock syncs at once on a registry target', () => {
  it('one mirrors, the other exits 13 having written nothing; the target is complete and every tag accounted for; with --wait both finish', async () => {
    const args = syncArgs(up, home, target.host);
    let open!: () => void;
    target.gate = new Promise<void>((resolve) => (open = resolve));
    const a = spawnCli(args, home.env);
    const b = spawnCli(args, home.env);
    // Whichever exits first opens the gate; a second process reaching the registry while the gate is closed
    // would be two syncs at once.
    const firstOut = await Promise.race([a.done, b.done]);
    open();
    target.gate = undefined;
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect([ra.code, rb.code].sort(), `${ra.stderr}\n${rb.stderr}`).toEqual([0, 13]);
    expect(firstOut.code).toBe(13);
    expect((JSON.parse(firstOut.stdout) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'LOCKED', message: expect.stringMatching(/--wait SECONDS/) as unknown });

    // The target is complete, and each of its tags is the digest a copied event of the ledger names.
    const snap = await snapshotTarget(reg.storageDir);
    const events = readLedger(home.ledgerPath);
    expect(events.filter((e) => e.kind === 'run-started')).toHaveLength(1);
    for (const [name, digest] of up.published.digests) {
      const tag = name.endsWith('-controller') ? Object.keys(snap.tags[`mirror/${name}`] ?? {}).find((t) => t.startsWith('v')) : 'v2.9.4';
      expect(snap.tags[`mirror/${name}`]?.[tag!], name).toBe(digest);
      expect(events.filter((e) => e.kind === 'copied-upstream' && e.digest === digest), name).toHaveLength(1);
    }
    const copied = new Set(events.filter((e) => e.kind === 'copied-upstream' || e.kind === 'copied-signature' || e.kind === 'composed').map((e) => e.digest));
    for (const [repo, tags] of Object.entries(snap.tags)) {
      if (repo === 'mirror/airlock-ledger') continue;
      for (const [tag, digest] of Object.entries(tags)) expect(copied.has(digest), `${repo}:${tag} → ${digest} has no event`).toBe(true);
    }
    const v = await runCli(['ledger', 'verify', '--config', home.config, '--json'], { env: home.env });
    expect(v.code, v.stdout + v.stderr).toBe(0);

    // With --wait, the second waits for the first: both exit 0, the later one found nothing to do.
    const [c, d] = await Promise.all([spawnCli([...args, '--wait', '60'], home.env).done, spawnCli([...args, '--wait', '60'], home.env).done]);
    expect([c.code, d.code], `${c.stderr}\n${d.stderr}`).toEqual([0, 0]);
    for (const r of [c, d]) expect((JSON.parse(r.stdout) as SyncResult).ledger.appended).toBe(0);
    expect(readLedger(home.ledgerPath)).toHaveLength(events.length);
  }, 180_000);
});
