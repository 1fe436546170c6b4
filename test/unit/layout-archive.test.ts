import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract as tarExtract, pack as tarPack, type Pack } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { extractArchive } from '../../src/store/layout/archive.js';
import { openLayoutStore } from '../../src/store/layout/store.js';
import { collect, multiArchImage, pushImage } from '../support/layout-fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-layout-archive-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Entry = Parameters<Pack['entry']>[0] & { body?: string };

/** Builds a tar with exactly these headers (hostile ones included) using tar-stream's packer. */
async function makeTar(path: string, entries: Entry[]): Promise<void> {
  const p = tarPack();
  const out = collect(p as unknown as AsyncIterable<Uint8Array>);
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const sink = p.entry(header, body ?? '', (err) => (err ? reject(err) : resolve()));
      void sink;
    });
  }
  p.finalize();
  await writeFile(path, await out);
}

const layoutFiles: Entry[] = [
  { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
  { name: 'index.json', body: '{"schemaVersion":2,"manifests":[]}' },
];

async function errorOf(p: Promise<unknown>): Promise<AirlockError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AirlockError);
  return e as AirlockError;
}

describe('oci-archive reading refuses hostile entries before anything is parsed', () => {
  const cases: [string, Entry[], RegExp][] = [
    ['a symlink', [...layoutFiles, { name: 'blobs/sha256/x', type: 'symlink', linkname: '/etc/passwd' }], /symlink entry/],
    ['a hard link', [...layoutFiles, { name: 'blobs/sha256/x', type: 'link', linkname: 'index.json' }], /link entry/],
    ['a character device', [...layoutFiles, { name: 'dev', type: 'character-device', devmajor: 1, devminor: 3 }], /character-device entry/],
    ['a fifo', [...layoutFiles, { name: 'pipe', type: 'fifo' }], /fifo entry/],
    ['a ../ name', [...layoutFiles, { name: '../x', body: 'escape' }], /climbs out/],
    ['a nested ../ name', [...layoutFiles, { name: 'blobs/../../x', body: 'escape' }], /climbs out/],
    ['an absolute name', [...layoutFiles, { name: '/etc/x', body: 'escape' }], /absolute entry name/],
    ['a duplicate index.json', [...layoutFiles, { name: 'index.json', body: '{"schemaVersion":2,"manifests":[{}]}' }], /index\.json" twice/],
    ['a duplicate spelled ./index.json', [...layoutFiles, { name: './index.json', body: '{}' }], /twice/],
    ['a name with an empty component', [...layoutFiles, { name: 'blobs//x', body: '{}' }], /empty or \. component/],
  ];
  for (const [name, entries, message] of cases) {
    it(name, async () => {
      const tar = join(dir, 'hostile.tar');
      await makeTar(tar, entries);
      const e = await errorOf(openLayoutStore(tar, { kind: 'oci-archive', create: false, tempDir: dir }));
      expect(e.code).toBe('LAYOUT_INVALID');
      expect(e.exitCode).toBe(8);
      expect(e.message).toMatch(message);
      // The private unpack directory is removed, and nothing escaped next to it.
      expect((await readdir(dir)).sort()).toEqual(['hostile.tar']);
    });
  }

  it('an entry over the size limit (LIMIT_EXCEEDED), checked from the header before writing', async () => {
    const tar = join(dir, 'big.tar');
    await makeTar(tar, [...layoutFiles, { name: 'blobs/sha256/big', body: 'x'.repeat(5000) }]);
    const unpacked = await mkdtemp(join(dir, 'u-'));
    const e = await errorOf(extractArchive(tar, unpacked, { maxEntryBytes: 4096, maxTotalBytes: 1e9, maxEntries: 100 }));
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(await readdir(join(unpacked))).not.toContain('blobs');
    expect(e.exitCode).toBe(7);
  });

  it('too many entries, and too many bytes in total', async () => {
    const tar = join(dir, 'many.tar');
    await makeTar(tar, [...layoutFiles, { name: 'a', body: 'x'.repeat(100) }, { name: 'b', body: 'x'.repeat(100) }]);
    const e1 = await errorOf(extractArchive(tar, await mkdtemp(join(dir, 'u-')), { maxEntryBytes: 1e9, maxTotalBytes: 1e9, maxEntries: 3 }));
    expect(e1.code).toBe('LIMIT_EXCEEDED');
    const e2 = await errorOf(extractArchive(tar, await mkdtemp(join(dir, 'u-')), { maxEntryBytes: 1e9, maxTotalBytes: 150, maxEntries: 100 }));
    expect(e2.code).toBe('LIMIT_EXCEEDED');
  });

  it('a file that is not a tar, and a missing file', async () => {
    await writeFile(join(dir, 'junk.tar'), randomBytes(2048));
    expect((await errorOf(openLayoutStore(join(dir, 'junk.tar'), { kind: 'oci-archive', create: false, tempDir: dir }))).code).toBe('LAYOUT_INVALID');
    const missing = await errorOf(openLayoutStore(join(dir, 'none.tar'), { kind: 'oci-archive', create: false, tempDir: dir }));
    expect(missing.code).toBe('LAYOUT_INVALID');
    expect(missing.message).toMatch(/does not exist/);
  });
});

describe('oci-archive writing', () => {
  it('round-trips, packs deterministically, extends an existing archive, and cleans up its temp directory', async () => {
    const work = join(dir, 'work');
    await mkdir(work);
    const img = multiArchImage([1000, 300_000]);
    const a = join(dir, 'a.tar');
    const b = join(dir, 'b.tar');
    for (const file of [a, b]) {
      const store = await openLayoutStore(file, { kind: 'oci-archive', create: true, tempDir: work });
      await pushImage(store.repository(''), img, 'v1');
      await store.close();
      await store.close();
    }
    expect(await readdir(work)).toEqual([]);
    expect((await readFile(a)).equals(await readFile(b))).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['a.tar', 'b.tar', 'work']);

    const reader = await openLayoutStore(a, { kind: 'oci-archive', create: false, tempDir: work });
    const got = await reader.repository('').getManifest('v1');
    expect(got.descriptor.digest).toBe(img.index.descriptor.digest);
    const layer = img.manifests[2]!.blobs[2]!;
    expect((await collect(await reader.repository('').openBlob(layer.descriptor))).equals(layer.bytes)).toBe(true);
    await reader.close();
    // Reading did not rewrite the archive.
    expect((await readFile(a)).equals(await readFile(b))).toBe(true);

    const writer = await openLayoutStore(a, { kind: 'oci-archive', create: true, tempDir: work });
    await writer.repository('').putManifest(img.manifests[0]!.bytes, img.manifests[0]!.descriptor.mediaType, 'amd64');
    await writer.close();
    const again = await openLayoutStore(a, { kind: 'oci-archive', create: false, tempDir: work });
    expect(await again.repository('').listTags()).toEqual(['amd64', 'v1']);
    await again.close();
    expect(await readdir(work)).toEqual([]);
  });

  it('holds several repositories with long nested names; entries are sorted, mtime 0, owner 0/0, 0644/0755', async () => {
    const file = join(dir, 'multi.tar');
    const img = multiArchImage([100]);
    const long = 'fluxcd/a-rather-long-repository-name-for-the-ustar-limit/and-then-another-component';
    const store = await openLayoutStore(file, { kind: 'oci-archive', create: true, tempDir: dir });
    await pushImage(store.repository(long), img, 'v1');
    await pushImage(store.repository('short'), img, 'v1');
    await store.close();

    const names: string[] = [];
    const ex = tarExtract();
    const done = (async () => {
      for await (const entry of ex) {
        const h = entry.header;
        names.push(h.name);
        expect([h.mtime.getTime(), h.uid, h.gid, h.mode]).toEqual([0, 0, 0, h.type === 'directory' ? 0o755 : 0o644]);
        entry.resume();
      }
    })();
    ex.end(await readFile(file));
    await done;
    expect(names).toEqual([...names].sort());
    expect(names).toContain(`${long}/index.json`);
    expect(names.some((n) => n.startsWith('short/blobs/sha256/'))).toBe(true);

    const reader = await openLayoutStore(file, { kind: 'oci-archive', create: false, tempDir: dir });
    expect(await reader.listRepositories!()).toEqual([long, 'short']);
    expect((await reader.repository(long).getManifest('v1')).descriptor.digest).toBe(img.index.descriptor.digest);
    await reader.close();
  });

  it('an archive opened with create but never written is not created', async () => {
    const store = await openLayoutStore(join(dir, 'never.tar'), { kind: 'oci-archive', create: true, tempDir: dir });
    expect(await store.repository('').listTags()).toEqual([]);
    await store.close();
    expect(await readdir(dir)).toEqual([]);
  });
});
