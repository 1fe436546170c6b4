/**
 * `airlock copy` records into the discovered ledger (issue 6 item 5), in the order that keeps the ledger and the
 * target honest: the verified (or insecure-copy) event is committed before the first byte reaches the target,
 * the copied/composed events after the tag; a copy with nothing new appends nothing; a refusal is recorded once.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { copyVerified } from '../../src/image/copy-verified.js';
import type { LedgerEventInput } from '../../src/ledger/events.js';
import type { Digest } from '../../src/oci/digest.js';
import type { Descriptor } from '../../src/oci/manifest.js';
import { CHECKPOINT_ARTIFACT_TYPE, checkpointTag } from '../../src/pipeline/checkpoint-artifact.js';
import { ledgerCopyRecorder } from '../../src/pipeline/copy-record.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { signImageLikeCosign2 } from '../../src/testkit/image-signers.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { runCli } from '../support/cli.js';
import type { PushedIndex } from '../support/copy-images.js';
import { CONTROLLER_FLAGS, CONTROLLER_SAN, controllerClaims, ISSUER, pushImage } from '../support/image-signing.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-e2e-copy-ledger-'));
let kit: LocalSigstore;
let src: RunningRegistry;
let dst: RunningRegistry;
let srcStore: RegistryStore;
let config: string;
let n = 0;

async function sourceImage(signed: boolean): Promise<{ name: string; ref: string; digest: Digest; index: PushedIndex }> {
  const name = `fluxcd/ledgered-${n++}`;
  const { digest, index } = await pushImage(srcStore.repository(name), 'v1.9.4');
  if (signed) await signImageLikeCosign2(kit, srcStore.repository(name), digest, { identity: controllerClaims() });
  return { name, ref: `${src.host}/${name}:v1.9.4`, digest, index };
}

interface Entry {
  seq: number;
  kind: string;
  status: string | null;
  digest: string | null;
  reason: string | null;
  body: Record<string, unknown>;
}

async function entries(): Promise<Entry[]> {
  const r = await runCli(['ledger', 'list', '--config', config, '--oldest', '--limit', '1000', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { entries: Entry[] }).entries;
}

const trust = () => ['--trusted-root', kit.trustedRootPath, '--config', config];

beforeAll(async () => {
  kit = await startLocalSigstore({ stateDir: join(dir, 'kit') });
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  srcStore = new RegistryStore(src.host);
  const init = await runCli(['init', '--dir', join(dir, 'state')]);
  expect(init.code, init.stderr).toBe(0);
  config = join(dir, 'state', 'airlock.yaml');
}, 60_000);

afterAll(async () => {
  await srcStore?.close();
  await Promise.all([src?.stop(), dst?.stop()]);
  await kit?.close();
});

describe('airlock copy records into the ledger', () => {
  it('verified before copied, every written digest accounted for; a re-run appends nothing; the ledger verifies', async () => {
    const img = await sourceImage(true);
    const target = `${dst.host}/mirror/one`;
    const r = await runCli(['copy', img.ref, target, ...CONTROLLER_FLAGS, ...trust(), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { ledger: { appended: number; checkpoint: { size: number } | null }; manifestsWritten: string[]; blobsCopied: { digest: string }[] };
    expect(out.ledger.appended).toBeGreaterThan(0);
    expect(out.ledger.checkpoint?.size).toBe(out.ledger.appended);

    const e = await entries();
    expect(e.map((x) => x.kind)).toEqual(['run-started', 'verified', 'copied-upstream', 'copied-signature', 'run-finished']);
    const verified = e[1]!;
    expect(verified.digest).toBe(img.digest);
    expect(JSON.stringify(verified.body)).toContain(CONTROLLER_SAN);
    expect(verified.body.trustRootDigest).toMatch(/^sha256:/);
    // Every digest written appears in exactly one copied/composed event.
    const recorded = e.filter((x) => x.kind.startsWith('copied') || x.kind === 'composed').flatMap((x) => x.body.written as string[]);
    const written = [...out.manifestsWritten, ...out.blobsCopied.map((b) => b.digest)];
    expect([...recorded].sort()).toEqual([...new Set(written)].sort());

    const again = await runCli(['copy', img.ref, target, ...CONTROLLER_FLAGS, ...trust(), '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { ledger: { appended: number } }).ledger.appended).toBe(0);
    expect(await entries()).toHaveLength(e.length);

    const v = await runCli(['ledger', 'verify', '--config', config, '--json']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });

  it('publishes the checkpoint to the registry target as an OCI artifact that verifies the ledger', async () => {
    const img = await sourceImage(true);
    const r = await runCli(['copy', img.ref, `${dst.host}/mirror/published`, ...CONTROLLER_FLAGS, ...trust()]);
    expect(r.code, r.stderr).toBe(0);
    const cp = JSON.parse((await runCli(['ledger', 'checkpoint', '--config', config, '--json'])).stdout) as { origin: string; note: string; verifierKey: string };
    const tag = checkpointTag(cp.origin);
    const store = new RegistryStore(dst.host);
    try {
      const repo = store.repository('mirror/airlock-ledger');
      const { bytes } = await repo.getManifest(tag);
      const manifest = JSON.parse(Buffer.from(bytes).toString()) as { artifactType: string; layers: Descriptor[] };
      expect(manifest.artifactType).toBe(CHECKPOINT_ARTIFACT_TYPE);
      const chunks: Uint8Array[] = [];
      for await (const c of await repo.openBlob(manifest.layers[0]!)) chunks.push(c);
      const published = Buffer.concat(chunks).toString();
      expect(published).toBe(cp.note);
      const kept = join(dir, 'kept.checkpoint');
      writeFileSync(kept, published);
      const pinned = join(dir, 'ledger.vkey');
      writeFileSync(pinned, `${cp.verifierKey}\n`);
      const v = await runCli(['ledger', 'verify', '--config', config, '--checkpoint', kept, '--public-key', pinned]);
      expect(v.code, v.stdout + v.stderr).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('a refusal is recorded once, with its reason; nothing reaches the target', async () => {
    const img = await sourceImage(false);
    const before = (await entries()).length;
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['copy', img.ref, `${dst.host}/mirror/unsigned`, ...CONTROLLER_FLAGS, ...trust()]);
      expect(r.code).toBe(EXIT_CODES.NO_SIGNATURE);
    }
    const added = (await entries()).slice(before);
    expect(added.map((x) => x.kind)).toEqual(['run-started', 'refused', 'run-finished']);
    expect(added[1]).toMatchObject({ digest: img.digest, reason: 'NO_SIGNATURE', status: 'refused' });
    expect(existsSync(join(dst.storageDir, 'docker/registry/v2/repositories/mirror/unsigned'))).toBe(false);
  });

  it('--insecure-skip-verify is recorded as unverified, naming every digest before it is written', async () => {
    const img = await sourceImage(false);
    const before = (await entries()).length;
    const r = await runCli(['copy', img.ref, `${dst.host}/mirror/insecure`, '--insecure-skip-verify', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    const added = (await entries()).slice(before);
    expect(added.map((x) => x.kind)).toEqual(['run-started', 'insecure-copy', 'run-finished']);
    expect(added[1]).toMatchObject({ digest: img.digest, status: 'unverified' });
    expect(added[1]!.body.written).toContain(img.digest);
  });

  it('the verified event is recorded while the target holds nothing of the image', async () => {
    const img = await sourceImage(true);
    const events: LedgerEventInput[] = [];
    const inner = ledgerCopyRecorder({ append: (evts) => (events.push(...evts), evts.map((_, i) => i)) });
    const blobs = [...img.index.images, ...img.index.attestations].flatMap((m) => m.blobs.map((b) => b.descriptor.digest));
    let heldAtDeclaration = -1;
    const result = await copyVerified({
      source: img.ref,
      target: `${dst.host}/mirror/ordered`,
      insecureSkipVerify: false,
      policy: { certificateIdentity: CONTROLLER_SAN, certificateOidcIssuer: ISSUER },
      trustedRootPath: kit.trustedRootPath,
      recorder: {
        beforeWrite(ctx, plan) {
          heldAtDeclaration = blobs.filter((d) => existsSync(dst.blobPath(d))).length;
          inner.beforeWrite(ctx, plan);
        },
        afterWrite: (ctx, res, idx) => inner.afterWrite(ctx, res, idx),
      },
    });
    expect(heldAtDeclaration).toBe(0);
    expect(events.map((e) => e.kind)).toEqual(['verified', 'copied-upstream', 'copied-signature']);
    expect(blobs.every((d) => existsSync(dst.blobPath(d)))).toBe(true);
    expect(result.digest).toBe(img.digest);
  });
});
