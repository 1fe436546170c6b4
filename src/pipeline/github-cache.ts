/**
 * GitHub's ETag cache kept between runs, so a cron sync revalidates the release list with If-None-Match (a 304
 * costs nothing against the rate limit) instead of downloading it again. The file holds only what GitHub
 * answered (no token: the client never puts it in the cache) and is only an optimisation: a missing or damaged
 * file means an ordinary request, and nothing read from it is trusted more than a fresh answer would be.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { CachedResponse, ResponseCache } from '../upstream/index.js';

export class FileResponseCache implements ResponseCache {
  private readonly entries = new Map<string, CachedResponse>();
  private dirty = false;

  constructor(private readonly path: string) {
    try {
      const data = JSON.parse(readFileSync(path, 'utf8')) as Record<string, CachedResponse>;
      for (const [url, e] of Object.entries(data)) {
        if (typeof e?.etag === 'string' && typeof e.body === 'string') this.entries.set(url, { etag: e.etag, body: e.body, ...(typeof e.link === 'string' ? { link: e.link } : {}) });
      }
    } catch {
      // Absent or unreadable: start empty (the next save replaces it).
    }
  }

  get(url: string): CachedResponse | undefined {
    return this.entries.get(url);
  }

  set(url: string, entry: CachedResponse): void {
    this.entries.set(url, entry);
    this.dirty = true;
  }

  /** Written atomically (temp file, rename), only when something changed. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    const tmp = `${this.path}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.entries)), { mode: 0o600 });
    await rename(tmp, this.path);
    this.dirty = false;
  }
}
