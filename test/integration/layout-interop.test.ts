import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest, childrenOf } from '../../src/oci/manifest.js';
import { isAnyManifestMediaType, MediaTypes } from '../../src/oci/mediatypes.js';
import { openLayoutStore } from '../../src/store/layout/store.js';
import type { Repository } from '../../src/store/types.js';
import { blobOf, chunks, collect, jsonBytes, multiArchImage, pushImage, type TestImage } from '../support/layout-fixtures.js';

/**
 * Interop with the real reference clients: skopeo 1.9 (Debian) and oras 1.2 read the layouts and archives airlock
 * writes with the same bytes and digests, and airlock reads what they write.
 */
const exec = promisify(execFile);

async function run(cmd: string, args: string[]): Promise<Buffer> {
  const { stdout } = await exec(cmd, args, { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Every digest of the graph under `reference`, each manifest and blob read through airlock (and so verified). */
async function readGraph(repo: Repository, reference: string): Promise<string[]> {
  const seen: string[] = [];
  const visit = async (ref: string): Promise<void> => {
    const m = await repo.getManifest(ref);
    seen.push(m.descriptor.digest);
    for (const child of childrenOf(parseManifest(m.bytes, m.descriptor.mediaType))) {
      if (isAnyManifestMediaType(child.mediaType)) {
        await visit(child.digest);
      } else {
        await collect(await repo.openBlob(child));
        seen.push(child.digest);
      }
    }
  };
  await visit(reference);
  return seen.sort();
}

function expectedGraph(img: TestImage): string[] {
  return [img.index.descriptor.digest, ...img.manifests.flatMap((m) => [m.descriptor.digest, ...m.blobs.map((b) => b.descriptor.digest)])].sort();
}

let dir: string;
let img: TestImage;
let layout: string;
let archive: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-layout-interop-'));
  img = multiArchImage([4096, 1_500_000]);
  layout = join(dir, 'mirror');
  archive = join(dir, 'image.tar');
  const store = await openLayoutStore(layout, { kind: 'oci', create: true });
  await pushImage(store.repository('repo'), img, 'v1');
  await store.close();
  const tar = await openLayoutStore(archive, { kind: 'oci-archive', create: true });
  await pushImage(tar.repository(''), img, 'v1');
  await tar.close();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('skopeo and oras read what airlock wrote', () => {
  it('skopeo inspect --raw oci:DIR/repo:v1 returns the index byte for byte', async () => {
    const raw = await run('skopeo', ['inspect', '--raw', `oci:${layout}/repo:v1`]);
    expect(raw.equals(img.index.bytes)).toBe(true);
  });

  it('skopeo inspect resolves the platform manifest of the index', async () => {
    const out = JSON.parse((await run('skopeo', ['inspect', '--override-arch', 'arm64', `oci:${layout}/repo:v1`])).toString());
    // skopeo 1.9 reports the digest of what the tag names (the index) and the details of the chosen platform.
    expect(out.Digest).toBe(img.index.descriptor.digest);
    expect(out.Architecture).toBe('arm64');
    expect(out.Layers).toEqual(img.manifests[1]!.blobs.slice(1).map((b) => b.descriptor.digest));
  });

  it('oras manifest fetch --oci-layout DIR/repo:v1 returns the same bytes and digest', async () => {
    const raw = await run('oras', ['manifest', 'fetch', '--oci-layout', `${layout}/repo:v1`]);
    expect(raw.equals(img.index.bytes)).toBe(true);
    const desc = JSON.parse((await run('oras', ['manifest', 'fetch', '--oci-layout', '--descriptor', `${layout}/repo:v1`])).toString());
    expect(desc.digest).toBe(img.index.descriptor.digest);
    const child = img.manifests[2]!.descriptor.digest;
    const childRaw = await run('oras', ['manifest', 'fetch', '--oci-layout', `${layout}/repo@${child}`]);
    expect(childRaw.equals(img.manifests[2]!.bytes)).toBe(true);
  });

  it('skopeo and oras read the oci-archive airlock wrote', async () => {
    const raw = await run('skopeo', ['inspect', '--raw', `oci-archive:${archive}:v1`]);
    expect(raw.equals(img.index.bytes)).toBe(true);
    const viaOras = await run('oras', ['manifest', 'fetch', '--oci-layout', `${archive}:v1`]);
    expect(viaOras.equals(img.index.bytes)).toBe(true);
  });
});

describe('airlock reads what skopeo and oras wrote, with identical digests', () => {
  it('skopeo copy --all --preserve-digests oci: → oci:', async () => {
    const out = join(dir, 'skopeo-copy');
    await run('skopeo', ['copy', '--all', '--preserve-digests', '-q', `oci:${layout}/repo:v1`, `oci:${out}:v1`]);
    const store = await openLayoutStore(out, { kind: 'oci', create: false });
    expect(await store.repository('').listTags()).toEqual(['v1']);
    expect(await readGraph(store.repository(''), 'v1')).toEqual(expectedGraph(img));
    await store.close();
  });

  it('skopeo copy oci-archive: → oci-archive: (a tar skopeo wrote)', async () => {
    const out = join(dir, 'skopeo.tar');
    await run('skopeo', ['copy', '--all', '--preserve-digests', '-q', `oci-archive:${archive}:v1`, `oci-archive:${out}:v1`]);
    const store = await openLayoutStore(out, { kind: 'oci-archive', create: false });
    expect(await readGraph(store.repository(''), 'v1')).toEqual(expectedGraph(img));
    await store.close();
  });

  it('oras copy --from-oci-layout DIR/repo:v1 --to-oci-layout DIR2/repo:v1', async () => {
    const out = join(dir, 'oras-copy');
    await run('oras', ['copy', '--no-tty', '--from-oci-layout', `${layout}/repo:v1`, '--to-oci-layout', `${out}/repo:v1`]);
    const store = await openLayoutStore(out, { kind: 'oci', create: false });
    expect(await store.listRepositories!()).toEqual(['repo']);
    expect(await readGraph(store.repository('repo'), 'v1')).toEqual(expectedGraph(img));
    await store.close();
  });

  it('airlock adds a tag to a layout skopeo wrote, and skopeo still reads both tags', async () => {
    const out = join(dir, 'skopeo-copy');
    const store = await openLayoutStore(out, { kind: 'oci', create: false });
    await store.repository('').putManifest(img.manifests[0]!.bytes, img.manifests[0]!.descriptor.mediaType, 'amd64');
    await store.close();
    expect((await run('skopeo', ['inspect', '--raw', `oci:${out}:amd64`])).equals(img.manifests[0]!.bytes)).toBe(true);
    expect((await run('skopeo', ['inspect', '--raw', `oci:${out}:v1`])).equals(img.index.bytes)).toBe(true);
  });
});

describe('referrers in a layout, both ways', () => {
  it('airlock finds a referrer oras attached, and oras discovers one airlock wrote', async () => {
    const store = await openLayoutStore(layout, { kind: 'oci', create: true });
    const repo = store.repository('refs');
    await pushImage(repo, img, 'v1');

    const payload = join(dir, 'sbom.json');
    await writeFile(payload, '{"sbom":true}');
    await exec('oras', ['attach', '--no-tty', '--oci-layout', '--artifact-type', 'application/vnd.test.sbom', `${layout}/refs:v1`, 'sbom.json:application/json'], { cwd: dir });
    const fromOras = await repo.referrers(img.index.descriptor.digest);
    expect(fromOras.map((d) => d.artifactType)).toEqual(['application/vnd.test.sbom']);

    const empty = blobOf(new TextEncoder().encode('{}'), MediaTypes.ociEmpty);
    const bundle = blobOf(new TextEncoder().encode('{"bundle":1}'), MediaTypes.sigstoreBundleV03);
    for (const b of [empty, bundle]) await repo.putBlob(b.descriptor, chunks(b.bytes));
    const sig = await repo.putManifest(
      jsonBytes({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        artifactType: MediaTypes.sigstoreBundleV03,
        config: empty.descriptor,
        layers: [bundle.descriptor],
        subject: img.index.descriptor,
      }),
      MediaTypes.ociManifest,
    );
    await store.close();
    const discovered = JSON.parse((await run('oras', ['discover', '--oci-layout', '--format', 'json', `${layout}/refs:v1`])).toString());
    const digests = (discovered.manifests as { digest: string }[]).map((m) => m.digest).sort();
    expect(digests).toEqual([sig.digest, fromOras[0]!.digest].sort());
  });
});
