/**
 * A no-op `airlock sync` (issue #8): after a complete sync, running it again writes nothing to the target (every
 * file of the docker-registry's storage, bytes and sizes, unchanged), appends nothing to the ledger (its file
 * untouched: bytes, size and mtime; no WAL grown), asks GitHub for the release list with If-None-Match (answered
 * 304), and asks the target only HEADs: each image's tag once, each carried signature's tag once, the release
 * artifact's tag once, the ledger checkpoint's tag once (to publish it again if a killed run left it unpublished). The built CLI against the generated signed upstream in a REAL docker-registry, both
 * registries behind counting proxies. The figures (wall time, requests by kind) are printed; bench/noop.mjs
 * measures the same outside the test runner.
 */
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncResult } from '../../src/pipeline/sync.js';
import { startKillProxy, type KillProxy } from '../support/kill-proxy.js';
import { fingerprint } from '../support/ledger-fixtures.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { hashTree, spawnCli, startUpstream, syncArgs, syncHome, type SyncHome, type Upstream } from '../support/sync-world.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-sync-noop-'));
let up: Upstream;
let reg: RunningRegistry;
let target: KillProxy;
let source: KillProxy;
let home: SyncHome;
let args: string[];

const walSize = (path: string): number => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);

beforeAll(async () => {
  up = await startUpstream(join(dir, 'upstream'));
  reg = await startRegistry();
  target = await startKillProxy(reg.url);
  source = await startKillProxy(up.src.url);
  home = syncHome(join(dir, 'home'));
  args = syncArgs(up, home, target.host, source.host);
  const first = await spawnCli(args, home.env).done;
  expect(first.code, first.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await target?.stop();
  await source?.stop();
  await reg?.stop();
  await up?.stop();
});

describe('airlock sync run again after a complete sync', () => {
  it('writes nothing to the target or the ledger, asks GitHub with If-None-Match and the target only HEADs, once each', async () => {
    const storage = await hashTree(reg.storageDir);
    const ledger = fingerprint(home.ledgerPath);
    const wal = walSize(home.ledgerPath);
    const [t0, s0, g0] = [target.requests.length, source.requests.length, up.github.requests.length];

    const again = await spawnCli(args, home.env).done;
    expect(again.code, again.stderr).toBe(0);
    const result = JSON.parse(again.stdout) as SyncResult;
    expect(result.ledger).toMatchObject({ appended: 0, checkpoint: null });
    expect(result.releases[0]!.images.map((i) => i.status)).toEqual(['present', 'present', 'present', 'present']);
    expect(result.releases[0]!.artifact?.status).toBe('present');

    // Nothing written: the registry's storage and the ledger's file are as they were, byte for byte.
    expect(await hashTree(reg.storageDir)).toEqual(storage);
    expect(fingerprint(home.ledgerPath)).toEqual(ledger);
    expect(walSize(home.ledgerPath)).toBe(wal);

    // GitHub: the release list with the ETag it gave, answered 304; no API answer with a body.
    const gh = up.github.requests.slice(g0);
    const api = gh.filter((r) => r.origin === 'api' && !r.path.includes('/releases/download/'));
    expect(api.length).toBeGreaterThan(0);
    expect(api.every((r) => r.ifNoneMatch !== undefined && r.status === 304), JSON.stringify(api)).toBe(true);

    // The target: only HEADs — each image's tag once, each signature tag it carries once, the release artifact's tag.
    const t = target.requests.slice(t0);
    expect(t.filter((r) => r.method !== 'HEAD')).toEqual([]);
    const heads = t.map((r) => r.path);
    expect(new Set(heads).size).toBe(heads.length);
    for (const image of result.releases[0]!.images) {
      expect(heads.filter((p) => p === `/v2/mirror/${image.name}/manifests/${image.tag}`), image.name).toHaveLength(1);
      const sigs = heads.filter((p) => p.startsWith(`/v2/mirror/${image.name}/manifests/sha256-${image.digest!.slice(7)}.`));
      expect(sigs.length, image.name).toBe(image.name.endsWith('-controller') ? 2 : 1); // .sig (+ .att for controllers)
    }
    expect(heads.filter((p) => p === '/v2/mirror/flux-release/manifests/v2.9.4')).toHaveLength(1);
    // …and the ledger's latest checkpoint tag, once: found in place, so nothing is published again.
    expect(heads.filter((p) => /^\/v2\/mirror\/airlock-ledger\/manifests\/ledger-[^/]+$/.test(p) && !/-\d+$/.test(p)), heads.join('\n')).toHaveLength(1);
    expect(heads).toHaveLength(4 + 6 + 1 + 1);

    const s = source.requests.slice(s0);
    const byKind = (rs: { method: string; path: string }[]): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const r of rs) {
        const kind = `${r.method} ${/\/manifests\/sha256:/.test(r.path) ? 'manifest by digest' : /\/manifests\/sha256-/.test(r.path) ? 'signature tag' : /\/manifests\//.test(r.path) ? 'manifest by tag' : /\/blobs\//.test(r.path) ? 'blob' : /\/referrers\//.test(r.path) ? 'referrers' : r.path}`;
        out[kind] = (out[kind] ?? 0) + 1;
      }
      return out;
    };
    const figures = {
      wallMs: Math.round(again.ms),
      target: byKind(t),
      source: byKind(s),
      github: { api304: api.length, assetDownloads: gh.filter((r) => r.origin === 'download').length, redirects: gh.filter((r) => r.status === 302).length },
    };
    console.log(`sync-noop: ${JSON.stringify(figures)}`);
  }, 120_000);
});
