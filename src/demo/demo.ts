/**
 * `airlock demo`: the whole product, offline, in seconds. In DIR it keeps a demo config (`demo: true`), the ledger
 * and its key, the demo Sigstore's state (its CA key never leaves DIR) and the `oci:` mirror; it starts, in this
 * process and on loopback only, a STAND-IN upstream — the FAKE GitHub releases API, a read-only stand-in registry
 * for ghcr.io, and the local Sigstore test kit — generates (once; kept in DIR/upstream) a small Flux-shaped release
 * signed by the kit as Flux's pipelines sign, with ONE deliberately bad image, and runs the real `sync()` with the
 * demo config. A re-run reuses DIR's kit, upstream and ledger, so it mirrors and appends nothing new.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assertDemoUpstream } from '../config/demo-guard.js';
import { resolveLedgerSettings } from '../config/ledger-config.js';
import { resolveSyncConfig } from '../config/sync-flags.js';
import { AirlockError } from '../errors.js';
import { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log.js';
import { sync, type SyncResult } from '../pipeline/sync.js';
import { LayoutStore } from '../store/layout/store.js';
import { controllerReleaseClaims } from '../testkit/identity.js';
import { startLocalSigstore } from '../testkit/sigstore.js';
import { startFakeGitHub, type FakeAsset } from './fake-github.js';
import { controllers, publishRelease, type UpstreamRelease } from './flux-upstream.js';
import { startReadOnlyRegistry } from './registry.js';

export const DEMO_RELEASE_TAG = 'v2.9.4';
/** The deliberately bad image: kustomize-controller signed by source-controller's release pipeline. */
export const DEMO_REFUSED_IMAGE = 'kustomize-controller';
/** The refusal's image is the source reference (`HOST/fluxcd/NAME`). */
const isDeliberate = (image: string | null): boolean => image !== null && (image === DEMO_REFUSED_IMAGE || image.endsWith(`/${DEMO_REFUSED_IMAGE}`));
const DEMO_MARKER = /^demo: true$/m;

/** The stand-in release: good controllers and extras, and one controller signed by another controller's pipeline. */
export function demoRelease(): UpstreamRelease {
  return {
    tag: DEMO_RELEASE_TAG,
    layerSizes: [64 * 1024],
    images: [
      ...controllers({ 'source-controller': 'v1.9.4', 'helm-controller': 'v1.6.3', 'notification-controller': 'v1.9.1' }),
      { name: DEMO_REFUSED_IMAGE, tag: 'v1.9.2', kind: 'controller', signedBy: controllerReleaseClaims('source-controller', 'v1.9.4') },
      { name: 'flux-cli', tag: 'v2.9.4', kind: 'extra' },
      { name: 'flux-manifests', tag: 'v2.9.4', kind: 'extra' },
    ],
  };
}

export interface DemoOptions {
  dir: string;
  /** A registry prefix to mirror into instead of `oci:DIR/mirror`. */
  target?: string;
  toolVersion: string;
  logger?: Logger;
}

export interface DemoResult {
  dir: string;
  config: string;
  /** True when this run generated the stand-in release (first run); false when it reused DIR's. */
  generated: boolean;
  sync: SyncResult;
  /** Refusals other than the deliberate one (there should be none). */
  unexpectedRefusals: SyncResult['refusals'];
  ledger: { path: string; origin: string; entries: number; checkpoint: { size: number; rootHash: string } | null };
}

interface SavedRelease {
  tag: string;
  publishedAt: string;
  assets: string[];
}

/** DIR must be absent, empty, or a previous demo's (its airlock.yaml says `demo: true`). */
function prepareDir(dir: string): void {
  if (existsSync(dir)) {
    const entries = readdirSync(dir);
    const config = join(dir, 'airlock.yaml');
    const isDemo = existsSync(config) && DEMO_MARKER.test(readFileSync(config, 'utf8'));
    if (entries.length > 0 && !isDemo) {
      throw new AirlockError('BAD_INPUT', `${dir} is not empty and is not an airlock demo directory; give --dir a new or empty directory.`);
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

function configText(o: { githubApi: string; source: string; rekorUrl: string; target: string }): string {
  return `# airlock DEMO configuration, written by \`airlock demo\` on every run (the stand-in upstream's ports change).
# demo: true trusts the demo's local Sigstore (sigstore/, whose CA key stays in this directory) and lets the ledger
# key sit beside the ledger; airlock refuses such a config for any upstream but the demo's own loopback stand-in.
# For a real mirror, run airlock init elsewhere.
version: 1
demo: true
ledger:
  path: airlock.db
  key: airlock-ledger.key
  checkpoint_sinks: []
upstream:
  # The FAKE GitHub releases API (stand-in), running only while \`airlock demo\` runs.
  github_api: ${o.githubApi}
  repository: fluxcd/flux2
  token_env: null
  releases:
    newest: 1
images:
  canonical_prefix: ghcr.io/fluxcd
  # The read-only stand-in registry for ghcr.io/fluxcd, serving upstream/ (running only while \`airlock demo\` runs).
  source: ${o.source}
trust:
  trusted_root: sigstore/trusted_root.json
  tuf_refresh: false
  rekor_url: ${o.rekorUrl}
target: ${o.target}
assets:
  cli_archives: [linux_amd64]
`;
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const dir = resolve(o.dir);
  prepareDir(dir);
  const upstreamDir = join(dir, 'upstream');
  const releaseDir = join(upstreamDir, 'release');
  const savedPath = join(upstreamDir, 'release.json');
  const kit = await startLocalSigstore({ stateDir: join(dir, 'sigstore'), ...(o.logger ? { logger: o.logger } : {}) });
  const cleanups: (() => Promise<void>)[] = [() => kit.close()];
  try {
    const github = await startFakeGitHub('fluxcd/flux2');
    cleanups.push(() => github.stop());
    let generated = false;
    if (!existsSync(savedPath)) {
      // First run (or a run killed while generating): generate the stand-in release from scratch.
      rmSync(upstreamDir, { recursive: true, force: true });
      mkdirSync(releaseDir, { recursive: true });
      const images = new LayoutStore('oci', join(upstreamDir, 'images'), join(upstreamDir, 'images'), true);
      const published = await publishRelease(kit, github, images, 'fluxcd', demoRelease());
      await images.close();
      for (const a of published.assets) writeFileSync(join(releaseDir, a.name), a.bytes);
      const saved: SavedRelease = { tag: published.tag, publishedAt: '2026-08-07T10:00:00Z', assets: published.assets.map((a) => a.name) };
      writeFileSync(savedPath, `${JSON.stringify(saved, null, 2)}\n`);
      generated = true;
    }
    const saved = JSON.parse(readFileSync(savedPath, 'utf8')) as SavedRelease;
    if (!generated) {
      const assets: FakeAsset[] = saved.assets.map((name) => ({ name, bytes: readFileSync(join(releaseDir, name)) }));
      github.addRelease({ tag: saved.tag, publishedAt: saved.publishedAt, assets });
    } else {
      // publishRelease listed it with the current time; list it as every later run will.
      github.rawRelease(saved.tag, { ...(github.releaseJson(saved.tag) as Record<string, unknown>), published_at: saved.publishedAt });
    }
    const store = new LayoutStore('oci', join(upstreamDir, 'images'), join(upstreamDir, 'images'), false);
    cleanups.push(() => store.close());
    const registry = await startReadOnlyRegistry(store);
    cleanups.push(() => registry.stop());

    const configPath = join(dir, 'airlock.yaml');
    writeFileSync(configPath, configText({ githubApi: github.apiBase, source: `${registry.host}/fluxcd`, rekorUrl: kit.rekorUrl, target: o.target ?? 'oci:./mirror' }));
    const config = resolveSyncConfig({ config: configPath, flags: {}, cwd: dir });
    const ledger = resolveLedgerSettings({ config: configPath, cwd: dir });
    assertDemoUpstream(config);
    const result = await sync({ config, ledger, toolVersion: o.toolVersion, ...(o.logger ? { logger: o.logger } : {}) });

    const l = Ledger.open(ledger.path, { readOnly: true });
    let summary: DemoResult['ledger'];
    try {
      const cp = l.latestCheckpoint();
      const root = cp?.note.split('\n')[2] ?? '';
      summary = { path: ledger.path, origin: l.origin, entries: l.size(), checkpoint: cp ? { size: cp.size, rootHash: root } : null };
    } finally {
      l.close();
    }
    const unexpectedRefusals = result.refusals.filter((r) => !isDeliberate(r.image));
    return { dir, config: configPath, generated, sync: result, unexpectedRefusals, ledger: summary };
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}
