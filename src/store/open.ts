import { AirlockError } from '../errors.js';
import { formatReference, parseReference, type Reference } from '../oci/reference.js';
import { openLayoutStore } from './layout/store.js';
import type { StoreOptions } from './options.js';
import { RegistryStore } from './registry/store.js';
import type { ContentStore, Repository } from './types.js';

export interface OpenedReference {
  ref: Reference;
  store: ContentStore;
  repository: Repository;
  /** The tag or digest to resolve (digest wins), or undefined when the reference names only a repository. */
  target: string | undefined;
  display: string;
}

/**
 * The one place a backend is picked from a reference. `create` lets a layout be created when absent
 * (targets); sources must exist.
 */
export async function openReference(input: string | Reference, options: StoreOptions & { create?: boolean } = {}): Promise<OpenedReference> {
  const ref = typeof input === 'string' ? parseReference(input) : input;
  const store = await openStoreFor(ref, options);
  const repoName = ref.kind === 'registry' ? ref.repository : '';
  return { ref, store, repository: store.repository(repoName), target: ref.digest ?? ref.tag, display: formatReference(ref) };
}

export async function openStoreFor(ref: Reference, options: StoreOptions & { create?: boolean } = {}): Promise<ContentStore> {
  switch (ref.kind) {
    case 'registry':
      return new RegistryStore(ref.registry, options);
    case 'oci':
    case 'oci-archive':
      return openLayoutStore(ref.path, { ...options, kind: ref.kind, create: options.create ?? false });
    default:
      throw new AirlockError('BAD_INPUT', 'Unsupported reference kind.');
  }
}
