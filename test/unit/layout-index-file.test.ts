import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { MediaTypes } from '../../src/oci/mediatypes.js';
import { readIndexFile, serializeIndex, updateIndex } from '../../src/store/layout/index-file.js';
import { withLock } from '../../src/file-lock.js';
import { openLayoutStore } from '../../src/store/layout/store.js';
import { setTag } from '../../src/store/layout/tags.js';
import { imageManifest } from '../support/layout-fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-layout-index-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function errorOf(p: Promise<unknown>): Promise<AirlockError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AirlockError);
  return e as AirlockError;
}

async function readLayout(path: string): Promise<unknown> {
  const store = await openLayoutStore(path, { kind: 'oci', create: false });
  return store.repository('').listTags();
}

const m = { mediaType: MediaTypes.ociManifest, digest: sha256Digest('m'), size: 1 };

describe('corrupt or missing layouts give LAYOUT_INVALID (exit 8)', () => {
  const cases: [string, (d: string) => Promise<void>, RegExp][] = [
    ['no oci-layout file', async (d) => writeFile(join(d, 'index.json'), '{"schemaVersion":2,"manifests":[]}'), /no oci-layout file/],
    ['wrong imageLayoutVersion', async (d) => writeFile(join(d, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}'), /imageLayoutVersion 1\.0\.0/],
    ['oci-layout not JSON', async (d) => writeFile(join(d, 'oci-layout'), 'hello'), /not valid JSON/],
    ['index.json missing', async (d) => writeFile(join(d, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}'), /no index\.json/],
    [
      'index.json not JSON',
      async (d) => {
        await writeFile(join(d, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
        await writeFile(join(d, 'index.json'), '{"schemaVersion":2,');
      },
      /not valid JSON/,
    ],
    [
      'index.json without manifests',
      async (d) => {
        await writeFile(join(d, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
        await writeFile(join(d, 'index.json'), '{"schemaVersion":2}');
      },
      /not an OCI image index/,
    ],
    [
      'an entry with a path-like digest',
      async (d) => {
        await writeFile(join(d, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
        const bad = { mediaType: MediaTypes.ociManifest, digest: 'sha256:../../../etc/passwd', size: 10 };
        await writeFile(join(d, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [bad] }));
      },
      /invalid entry manifests\[0\]/,
    ],
  ];
  for (const [name, make, message] of cases) {
    it(name, async () => {
      await make(dir);
      const e = await errorOf(readLayout(dir));
      expect(e.code).toBe('LAYOUT_INVALID');
      expect(e.exitCode).toBe(8);
      expect(e.message).toMatch(message);
      expect(e.message).toContain(dir);
    });
  }

  it('a missing directory, without create', async () => {
    const e = await errorOf(openLayoutStore(join(dir, 'nope'), { kind: 'oci', create: false }));
    expect(e.code).toBe('LAYOUT_INVALID');
    expect(e.exitCode).toBe(8);
    expect(e.message).toMatch(/does not exist/);
  });

  it('a file where a directory is expected', async () => {
    await writeFile(join(dir, 'f'), 'x');
    const e = await errorOf(openLayoutStore(join(dir, 'f'), { kind: 'oci', create: false }));
    expect(e.code).toBe('LAYOUT_INVALID');
  });

  it('refuses to turn a non-empty foreign directory into a layout', async () => {
    await writeFile(join(dir, 'notes.txt'), 'mine');
    const store = await openLayoutStore(dir, { kind: 'oci', create: true });
    const img = imageManifest({ os: 'linux', architecture: 'amd64' }, [10]);
    const e = await errorOf(store.repository('').putManifest(img.bytes, img.descriptor.mediaType, 'v1'));
    expect(e.code).toBe('LAYOUT_INVALID');
    expect(await readdir(dir)).toEqual(['notes.txt']);
  });
});

describe('index.json writing', () => {
  it('is deterministic: fixed key order, sorted entries, sorted annotations', () => {
    const a = setTag(setTag([], m, 'b'), { ...m, digest: sha256Digest('n') }, 'a');
    const once = Buffer.from(serializeIndex({ manifests: a })).toString();
    const twice = Buffer.from(serializeIndex({ manifests: [...a].reverse() })).toString();
    expect(once).toBe(twice);
    expect(once.startsWith('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType"')).toBe(true);
    expect(JSON.parse(once).manifests.map((e: { annotations: Record<string, string> }) => e.annotations['org.opencontainers.image.ref.name'])).toEqual(['a', 'b']);
  });

  it('writes atomically, leaves no temp or lock file, and skips a write that changes nothing', async () => {
    await updateIndex(dir, (e) => setTag(e, m, 'v1'));
    expect((await readIndexFile(dir))?.manifests).toHaveLength(1);
    const before = await stat(join(dir, 'index.json'));
    await new Promise((r) => setTimeout(r, 20));
    await updateIndex(dir, (e) => setTag(e, m, 'v1'));
    expect((await stat(join(dir, 'index.json'))).mtimeMs).toBe(before.mtimeMs);
    expect((await readdir(dir)).sort()).toEqual(['index.json']);
  });

  it('keeps every tag when many writers update the same index concurrently (two store instances)', async () => {
    const s1 = await openLayoutStore(dir, { kind: 'oci', create: true });
    const s2 = await openLayoutStore(dir, { kind: 'oci', create: true });
    const imgs = Array.from({ length: 16 }, (_, i) => imageManifest({ os: 'linux', architecture: `a${i}` }, [8]));
    await Promise.all(imgs.map((img, i) => (i % 2 ? s1 : s2).repository('').putManifest(img.bytes, img.descriptor.mediaType, `t${i}`)));
    expect(await s1.repository('').listTags()).toHaveLength(16);
    expect((await readdir(dir)).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
  });
});

describe('cross-process lock (index.json.lock)', () => {
  const lockPath = () => join(dir, 'index.json.lock');

  it('waits for a live holder, gives LOCKED (exit 13) after the timeout, and takes over once the holder is dead', async () => {
    // A real other process holds the lock: it writes its pid and sleeps until killed.
    const child = spawn(process.execPath, [
      '-e',
      `require('fs').writeFileSync(${JSON.stringify(lockPath())}, process.pid + ' ' + require('os').hostname() + ' tok ' + Date.now() + '\\n', { flag: 'wx' }); process.stdout.write('held\\n'); setInterval(() => {}, 1000);`,
    ]);
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const e = await errorOf(withLock(lockPath(), async () => 'x', { timeoutMs: 200 }));
    expect(e.code).toBe('LOCKED');
    expect(e.exitCode).toBe(13);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // The holder died without releasing: its pid is gone, so the lock is stale and taken over.
    expect(await withLock(lockPath(), async () => 'ran', { timeoutMs: 2000 })).toBe('ran');
    await expect(stat(lockPath())).rejects.toThrow();
  });

  it('takes over a lock file older than staleMs (holder on another host)', async () => {
    await writeFile(lockPath(), '1 some-other-host tok 0\n');
    const old = new Date(Date.now() - 120_000);
    await utimes(lockPath(), old, old);
    expect(await withLock(lockPath(), async () => 'ran', { timeoutMs: 2000 })).toBe('ran');
  });

  it('does not take over a fresh lock of another host', async () => {
    await writeFile(lockPath(), '1 some-other-host tok 0\n');
    const e = await errorOf(withLock(lockPath(), async () => 'x', { timeoutMs: 150 }));
    expect(e.code).toBe('LOCKED');
    expect(await readFile(lockPath(), 'utf8')).toContain('some-other-host');
  });

  it('serialises callers within one process', async () => {
    await mkdir(dir, { recursive: true });
    let inside = 0;
    let max = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withLock(lockPath(), async () => {
          inside++;
          max = Math.max(max, inside);
          await new Promise((r) => setTimeout(r, 5));
          inside--;
        }),
      ),
    );
    expect(max).toBe(1);
  });
});
