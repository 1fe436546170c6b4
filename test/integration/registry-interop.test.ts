import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest, type Digest } from '../../src/oci/digest.js';
import type { Descriptor } from '../../src/oci/manifest.js';
import { MediaTypes } from '../../src/oci/mediatypes.js';
import { RegistryStore, type RegistryRepository } from '../../src/store/registry/store.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

const run = promisify(execFile);
const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
const sha256Hex = (b: Uint8Array | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Runs a reference client (skopeo, oras) and returns its stdout as raw bytes, so digests are of the exact bytes. */
async function tool(cmd: string, args: string[], cwd?: string): Promise<Buffer> {
  const { stdout } = await run(cmd, args, { cwd, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, HOME: cwd ?? process.env.HOME } });
  return stdout;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function pushBlob(repo: RegistryRepository, bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
  const d: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength };
  await repo.putBlob(d, once(bytes));
  return d;
}

describe('registry interop with skopeo and oras', () => {
  let reg: RunningRegistry;
  let store: RegistryStore;
  let work: string;

  beforeAll(async () => {
    reg = await startRegistry();
    store = new RegistryStore(reg.host);
    work = await mkdtemp(join(tmpdir(), 'airlock-interop-'));
  });
  afterAll(async () => {
    await store?.close();
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('what airlock pushed, skopeo and oras read with identical digests', async () => {
    const repo = store.repository('interop/app');
    const children: Descriptor[] = [];
    for (const architecture of ['amd64', 'arm64']) {
      const config = await pushBlob(repo, enc({ architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }), MediaTypes.ociConfig);
      const layer = await pushBlob(repo, randomBytes(40_000), MediaTypes.ociLayerTarGzip);
      const m = await repo.putManifest(enc({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers: [layer] }), MediaTypes.ociManifest);
      children.push({ ...m, platform: { os: 'linux', architecture } });
    }
    const index = await repo.putManifest(enc({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: children }), MediaTypes.ociIndex, 'v1');

    const ref = `${reg.host}/interop/app`;
    const skopeoRaw = await tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}:v1`]);
    expect(sha256Hex(skopeoRaw)).toBe(index.digest);
    const orasRaw = await tool('oras', ['manifest', 'fetch', '--plain-http', `${ref}:v1`], work);
    expect(sha256Hex(orasRaw)).toBe(index.digest);
    const orasDesc = JSON.parse((await tool('oras', ['manifest', 'fetch', '--plain-http', '--descriptor', `${ref}:v1`], work)).toString()) as Descriptor;
    expect(orasDesc).toMatchObject({ mediaType: MediaTypes.ociIndex, digest: index.digest, size: index.size });

    // skopeo's non-raw inspect of a platform manifest also reads its config blob through the registry.
    const child = children[1] as Descriptor;
    const inspected = JSON.parse((await tool('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}@${child.digest}`])).toString()) as { Digest: string; Architecture: string };
    expect(inspected).toMatchObject({ Digest: child.digest, Architecture: 'arm64' });
  });

  it('what oras pushed and attached, airlock reads with the same digests', async () => {
    const content = randomBytes(5000);
    await writeFile(join(work, 'payload.bin'), content);
    const ref = `${reg.host}/interop/oras`;
    await tool('oras', ['push', '--plain-http', '--artifact-type', 'application/vnd.airlock.test', `${ref}:v1`, 'payload.bin:application/octet-stream'], work);
    const orasDesc = JSON.parse((await tool('oras', ['manifest', 'fetch', '--plain-http', '--descriptor', `${ref}:v1`], work)).toString()) as Descriptor;

    const repo = store.repository('interop/oras');
    const got = await repo.getManifest('v1');
    expect(got.descriptor).toEqual({ mediaType: orasDesc.mediaType, digest: orasDesc.digest, size: orasDesc.size });
    expect(await repo.headManifest('v1')).toEqual(got.descriptor);
    const doc = JSON.parse(Buffer.from(got.bytes).toString()) as { layers: Descriptor[] };
    const parts: Uint8Array[] = [];
    for await (const c of await repo.openBlob(doc.layers[0] as Descriptor)) parts.push(c);
    expect(Buffer.concat(parts).equals(content)).toBe(true);

    // oras attach on a registry without the referrers API writes the fallback index at sha256-<hex>.
    await writeFile(join(work, 'bundle.json'), '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}');
    await tool('oras', ['attach', '--plain-http', '--artifact-type', MediaTypes.sigstoreBundleV03, `${ref}@${orasDesc.digest}`, `bundle.json:${MediaTypes.sigstoreBundleV03}`], work);
    const found = await repo.referrers(orasDesc.digest as Digest, MediaTypes.sigstoreBundleV03);
    expect(found).toHaveLength(1);
    expect(found[0]?.artifactType).toBe(MediaTypes.sigstoreBundleV03);
    const attached = await repo.getManifest((found[0] as Descriptor).digest);
    expect((JSON.parse(Buffer.from(attached.bytes).toString()) as { subject: Descriptor }).subject.digest).toBe(orasDesc.digest);
  });
});
