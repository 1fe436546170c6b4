import PQueue from 'p-queue';

/**
 * Concurrent transfers per store (registry host or layout), shared by every copy of a run so that copying many
 * images at once never opens more than `perStore` transfers against one registry. A transfer takes a slot on
 * both its source and its target store; the slots are always taken in the same (sorted) order, so two copies
 * going in opposite directions cannot each hold one store and wait for the other.
 */
export class StoreLimiter {
  private readonly queues = new Map<string, PQueue>();

  constructor(readonly perStore = 4) {}

  run<T>(storeLocations: string[], fn: () => Promise<T>): Promise<T> {
    const ordered = [...new Set(storeLocations)].sort();
    const step = (i: number): Promise<T> => {
      const loc = ordered[i];
      if (loc === undefined) return fn();
      return this.queueFor(loc).add(() => step(i + 1));
    };
    return step(0);
  }

  private queueFor(location: string): PQueue {
    let q = this.queues.get(location);
    if (!q) this.queues.set(location, (q = new PQueue({ concurrency: this.perStore })));
    return q;
  }
}
