import type { Repository } from '../store/types.js';

const COUNTED = new Set([
  'headManifest',
  'getManifest',
  'putManifest',
  'deleteManifest',
  'statBlob',
  'openBlob',
  'putBlob',
  'mountBlob',
  'listTags',
  'referrers',
]);

/**
 * The repository with every store operation counted into `counts` — what the copy asked of each side, reported
 * in the result so a re-run can be seen to do (almost) nothing. Methods run on the real object, so backends
 * with private state work unchanged, and optional capabilities (mountBlob) stay visible to type guards.
 */
export function countingRepository(repo: Repository, counts: Record<string, number>): Repository {
  return new Proxy(repo, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string' || !COUNTED.has(prop)) return value;
      return (...args: unknown[]) => {
        counts[prop] = (counts[prop] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
