/**
 * Targets for the crash tests (test/e2e/copy-crash.test.ts, sync-crash.test.ts): each a REAL docker-registry behind
 * its own kill proxy (kill-proxy.ts). Whatever a test leaves running is stopped by `releaseAll` in its afterAll.
 */
import { startKillProxy, type KillProxy } from './kill-proxy.js';
import { startRegistry, type RunningRegistry } from './registry.js';

export interface KillTarget {
  reg: RunningRegistry;
  proxy: KillProxy;
}

export class KillTargets {
  private readonly started: KillTarget[] = [];

  /** A fresh, empty registry behind a fresh kill proxy. */
  async fresh(): Promise<KillTarget> {
    const reg = await startRegistry();
    const proxy = await startKillProxy(reg.url);
    const t = { reg, proxy };
    this.started.push(t);
    return t;
  }

  /** Stops the proxy and the registry. */
  async release(t: KillTarget): Promise<void> {
    this.started.splice(this.started.indexOf(t), 1);
    await t.proxy.stop();
    await t.reg.stop();
  }

  /** Stops every target not released yet, ignoring failures (for afterAll). */
  async releaseAll(): Promise<void> {
    for (const t of [...this.started]) await this.release(t).catch(() => undefined);
  }
}
