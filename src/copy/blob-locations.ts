import type { Digest } from '../oci/digest.js';

/**
 * Where blobs are known to be, per store, learnt during a run: every blob a copy finds, mounts or writes in a
 * target repository is recorded, so a later copy into another repository of the same store can ask for a
 * cross-repository mount instead of sending the bytes again. Only a hint: a failed mount falls back to a copy.
 */
export class BlobLocations {
  private readonly byStore = new Map<string, Map<Digest, Set<string>>>();

  record(storeLocation: string, repository: string, digest: Digest): void {
    let store = this.byStore.get(storeLocation);
    if (!store) this.byStore.set(storeLocation, (store = new Map()));
    let repos = store.get(digest);
    if (!repos) store.set(digest, (repos = new Set()));
    repos.add(repository);
  }

  /** Repositories of `storeLocation` other than `exceptRepository` known to hold `digest`, most recent first. */
  sourcesFor(storeLocation: string, digest: Digest, exceptRepository: string): string[] {
    const repos = this.byStore.get(storeLocation)?.get(digest);
    if (!repos) return [];
    return [...repos].filter((r) => r !== exceptRepository).reverse();
  }
}
