/**
 * The content-addressed unpacking `archive load` uses (extractArchive with verifyBlobs): a blob whose bytes do
 * not hash to its name is refused as it streams (INTEGRITY), a file under blobs/ with any other name is refused
 * (LAYOUT_INVALID), and the progress callback sees every byte. Without the option, the old behaviour stays.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack as tarPack } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { DEFAULT_ARCHIVE_LIMITS, extractArchive } from '../../src/store/layout/archive.js';
import { collect } from '../support/layout-fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-archive-extract-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function makeTar(path: string, files: [string, string][]): Promise<void> {
  const p = tarPack();
  const out = collect(p as unknown as AsyncIterable<Uint8Array>);
  for (const [name, body] of files) {
    await new Promise<void>((resolve, reject) => p.entry({ name, type: 'file', mode: 0o644 }, body, (e) => (e ? reject(e) : resolve())));
  }
  p.finalize();
  await writeFile(path, await out);
}

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

async function refusal(files: [string, string][], verifyBlobs: boolean): Promise<string> {
  const tar = join(dir, 'a.tar');
  await makeTar(tar, files);
  const dest = await mkdtemp(join(dir, 'out-'));
  try {
    await extractArchive(tar, dest, DEFAULT_ARCHIVE_LIMITS, { verifyBlobs });
    return 'accepted';
  } catch (e) {
    if (e instanceof AirlockError) return `${e.code}: ${e.message}`;
    throw e;
  }
}

describe('extractArchive with verifyBlobs', () => {
  it('accepts blobs that hash to their names, and reports progress up to the whole file', async () => {
    const tar = join(dir, 'ok.tar');
    await makeTar(tar, [['repo/blobs/sha256/' + hex('hello'), 'hello'], ['repo/index.json', '{}']]);
    const seen: number[] = [];
    const dest = await mkdtemp(join(dir, 'out-'));
    await extractArchive(tar, dest, DEFAULT_ARCHIVE_LIMITS, { verifyBlobs: true, onProgress: (n) => seen.push(n) });
    expect(await readFile(join(dest, 'repo', 'blobs', 'sha256', hex('hello')), 'utf8')).toBe('hello');
    expect(seen.at(-1)).toBe((await stat(tar)).size);
  });

  it('refuses a blob whose bytes do not hash to its name (INTEGRITY) — accepted without the option', async () => {
    const files: [string, string][] = [['repo/blobs/sha256/' + hex('hello'), 'hellO']];
    expect(await refusal(files, true)).toMatch(/^INTEGRITY: The archive entry "repo\/blobs\/sha256\/[0-9a-f]{64}" in .* does not hash to its name/);
    expect(await refusal(files, false)).toBe('accepted');
  });

  it('refuses a file under blobs/ that is not named blobs/sha256/<hex> (LAYOUT_INVALID)', async () => {
    expect(await refusal([['repo/blobs/md5/abc', 'x']], true)).toMatch(/^LAYOUT_INVALID: .*not named blobs\/sha256\/<hex>/);
    expect(await refusal([['repo/blobs/sha256/ABC', 'x']], true)).toMatch(/^LAYOUT_INVALID: /);
  });
});
