/**
 * A release's files, once its checksums verified: plan which assets to take (pure), then download each to a
 * temporary file while hashing it, and keep it only if its sha256 is the one the SIGNED checksums list (GitHub's
 * own digest is checked while streaming too, but it proves only what GitHub stored, not who made it). An asset
 * that the checksums cannot vouch for is never kept.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { AirlockError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { requireChecksums, type ChecksumsFile, type GitHubReleases, type MatchedAsset, type ProfiledRelease } from '../upstream/index.js';

export interface AssetPlan {
  take: MatchedAsset[];
  /** Asset names left upstream, with why. */
  left: { name: string; why: 'platform-not-selected' | 'not-checksummed' | 'no-rule' }[];
}

/** Which assets to mirror: every checksummed file of the release, CLI archives only for the selected platforms. */
export function planAssets(profiled: ProfiledRelease, cliArchives: readonly string[]): AssetPlan {
  const take: MatchedAsset[] = [];
  const left: AssetPlan['left'] = profiled.unmatched.map((name) => ({ name, why: 'no-rule' as const }));
  for (const a of profiled.assets) {
    if (!a.checksummed) left.push({ name: a.asset.name, why: 'not-checksummed' });
    else if (a.role === 'cli-archive' && !(a.platform && cliArchives.includes(`${a.platform.os}_${a.platform.arch}`))) left.push({ name: a.asset.name, why: 'platform-not-selected' });
    else take.push(a);
  }
  return { take, left };
}

export interface VerifiedAsset {
  name: string;
  role: MatchedAsset['role'];
  digest: Digest;
  size: number;
  path: string;
}

/**
 * Downloads one planned asset into `dir` and keeps it only if it is what the signed checksums list. Refusals:
 * `checksums-entry-missing` (the checksums do not name it), `asset-not-in-checksums` (other bytes), and the
 * download's own (GitHub's digest, size, hosts).
 */
export async function downloadVerifiedAsset(github: GitHubReleases, a: MatchedAsset, checksums: ChecksumsFile, dir: string): Promise<VerifiedAsset> {
  const name = a.asset.name;
  const expected = requireChecksums(checksums, [name]).get(name)!;
  await mkdir(dir, { recursive: true });
  const partial = join(dir, `.partial-${name}`);
  const hash = createHash('sha256');
  let size = 0;
  const download = await github.downloadAsset(a.asset);
  try {
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    await pipeline(Readable.from(download.stream), counter, createWriteStream(partial, { mode: 0o644 }));
    const digest = `sha256:${hash.digest('hex')}` as Digest;
    if (digest !== expected) {
      throw new AirlockError('INTEGRITY', `The asset ${name} is ${digest}, not ${expected} as the signed checksums say; it was not kept.`, {
        details: { reason: 'asset-not-in-checksums', check: 'checksums', asset: name, digest, expected },
      });
    }
    await rename(partial, join(dir, name));
    return { name, role: a.role, digest, size, path: join(dir, name) };
  } catch (e) {
    await rm(partial, { force: true });
    await download.cancel().catch(() => undefined);
    throw e;
  }
}

export async function readVerifiedAsset(assets: readonly VerifiedAsset[], name: string): Promise<Buffer> {
  const a = assets.find((x) => x.name === name);
  if (!a) throw new AirlockError('INTERNAL', `The verified asset ${name} was not downloaded.`);
  const bytes = await readFile(a.path);
  // Re-checked: the file sat on disk between the check and this read.
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (digest !== a.digest) throw new AirlockError('INTEGRITY', `The verified asset ${name} changed on disk after it was checked.`);
  return bytes;
}
