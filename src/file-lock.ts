import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { AirlockError } from './errors.js';

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * A lock within this process (a promise chain per path) and across processes (a lock file created with O_EXCL).
 * Used for a layout's index.json read-modify-write (held for milliseconds: two runs writing one layout must not
 * drop each other's tags) and for a whole sync run on one ledger and one target (held for minutes).
 *
 * The lock file holds `pid host token time`. It is stale when its owner is a dead process on this host, or when
 * it is older than `staleMs`.
 */
export interface LockOptions {
  /** Give up after this long; default 30 s. */
  timeoutMs?: number;
  /** A lock file older than this is taken over; default 60 s. */
  staleMs?: number;
  /** The sentence said when the lock cannot be had in time (default: names the file). */
  lockedMessage?: (holder: string) => string;
}

const chains = new Map<string, Promise<unknown>>();

export async function withLock<T>(lockPath: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const previous = chains.get(lockPath) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(async () => {
    const token = await acquireFileLock(lockPath, options);
    try {
      return await fn();
    } finally {
      await releaseFileLock(lockPath, token);
    }
  });
  chains.set(lockPath, run);
  try {
    return await run;
  } finally {
    // Drop the chain when nothing was queued behind us, so the map does not grow with every layout ever touched.
    if (chains.get(lockPath) === run) chains.delete(lockPath);
  }
}

async function acquireFileLock(lockPath: string, options: LockOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 60_000;
  const token = randomBytes(8).toString('hex');
  const content = `${process.pid} ${hostname()} ${token} ${Date.now()}\n`;
  const deadline = Date.now() + timeoutMs;
  let wait = 5;
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx', 0o644);
      try {
        await fh.writeFile(content);
      } finally {
        await fh.close();
      }
      return token;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (await takeOverIfStale(lockPath, staleMs)) continue;
    if (Date.now() >= deadline) {
      const holder = (await readFile(lockPath, 'utf8').catch(() => '')).split(' ');
      const who = holder[0] ? `pid ${holder[0]} on ${holder[1] ?? '?'}` : 'another process';
      throw new AirlockError(
        'LOCKED',
        options.lockedMessage?.(who) ?? `Another process (${who}) holds ${lockPath}; wait for it to finish, or delete the file if no airlock is running.`,
      );
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 100);
  }
}

async function releaseFileLock(lockPath: string, token: string): Promise<void> {
  // Only remove the lock if it is still ours: a holder declared stale may have been replaced meanwhile.
  const held = await readFile(lockPath, 'utf8').catch(() => '');
  if (held.split(' ')[2] === token) await unlink(lockPath).catch(() => undefined);
}

function isDeadLocalProcess(pid: number, host: string): boolean {
  if (host !== hostname() || !Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Removes a stale lock file; true when the caller should retry immediately. */
async function takeOverIfStale(lockPath: string, staleMs: number): Promise<boolean> {
  let text: string;
  let mtimeMs: number;
  try {
    text = await readFile(lockPath, 'utf8');
    mtimeMs = (await stat(lockPath)).mtimeMs;
  } catch (e) {
    if (isNotFound(e)) return true; // released between our open and read
    throw e;
  }
  const [pid, host] = text.split(' ');
  // An empty file is a holder between open and write: only age makes it stale.
  const stale = Date.now() - mtimeMs > staleMs || (text.length > 0 && isDeadLocalProcess(Number(pid), host ?? ''));
  if (!stale) return false;
  // rename is atomic, so of two processes that both judged the lock stale only one moves it away.
  const aside = `${lockPath}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(lockPath, aside);
  } catch (e) {
    if (isNotFound(e)) return true;
    throw e;
  }
  const moved = await readFile(aside, 'utf8').catch(() => '');
  if (moved !== text) {
    // We moved a fresh lock someone created after our read: put it back (link fails if yet another exists).
    await link(aside, lockPath).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
  return true;
}
