/**
 * Publishes each ledger checkpoint to a registry target as an OCI artifact, beside the mirrored content, so a copy
 * of the tree head lives where the mirror lives (usually another host than the ledger's). Checkpoints are the
 * fourth kind of digest in a target, self-authenticating: they are verified by their signature under the ledger
 * key (`airlock ledger verify --checkpoint`), not by a ledger event — an event for a checkpoint would need a newer
 * checkpoint, for ever.
 *
 * Layout: repository `airlock-ledger` beside the target repository (`reg/fluxcd/x` → `reg/fluxcd/airlock-ledger`),
 * an OCI image manifest with artifactType `application/vnd.airlock.ledger.checkpoint.v1`, the empty config, one
 * layer holding the signed note. Tags: `<ledger id>` (the latest) and `<ledger id>-<size>` (history). The
 * manifest has no timestamp, so the same checkpoint always has the same digest and a republication writes nothing.
 * A run with nothing to record HEADs the latest tag and publishes the ledger's latest checkpoint when the tag does
 * not name it (a run killed while publishing).
 */
import { createHash } from 'node:crypto';
import type { SignedCheckpoint } from '../ledger/checkpoint.js';
import type { CheckpointSink } from '../ledger/sinks.js';
import type { Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import { MediaTypes } from '../oci/mediatypes.js';
import type { RegistryReference } from '../oci/reference.js';
import { isLoopbackHost } from '../store/registry/endpoint.js';
import type { StoreOptions } from '../store/options.js';
import { RegistryStore } from '../store/registry/store.js';

export const CHECKPOINT_ARTIFACT_TYPE = 'application/vnd.airlock.ledger.checkpoint.v1';
export const CHECKPOINT_LAYER_TYPE = 'application/vnd.airlock.ledger.checkpoint.v1+note';
export const CHECKPOINT_REPOSITORY = 'airlock-ledger';

const EMPTY_CONFIG = Buffer.from('{}');

function describe(bytes: Uint8Array, mediaType: string): Descriptor {
  return { mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest, size: bytes.byteLength };
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** The tag-safe id of a ledger: the part of its origin after the last `/`, restricted to tag characters. */
export function checkpointTag(origin: string): string {
  const id = origin.slice(origin.lastIndexOf('/') + 1).replace(/[^A-Za-z0-9_.-]/g, '_');
  return `ledger-${id}`.slice(0, 100);
}

/** The manifest and its blobs for a checkpoint (pure, byte-deterministic). */
export function checkpointArtifact(checkpoint: SignedCheckpoint): { manifest: Uint8Array; note: Uint8Array } {
  const note = Buffer.from(checkpoint.note, 'utf8');
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType: CHECKPOINT_ARTIFACT_TYPE,
    config: describe(EMPTY_CONFIG, MediaTypes.ociEmpty),
    layers: [describe(note, CHECKPOINT_LAYER_TYPE)],
    annotations: {
      'dev.airlock.ledger.origin': checkpoint.origin,
      'dev.airlock.ledger.size': String(checkpoint.size),
      'dev.airlock.ledger.root-hash': checkpoint.rootHash.toString('base64'),
    },
  };
  return { manifest: Buffer.from(JSON.stringify(manifest)), note };
}

export class RegistryCheckpointSink implements CheckpointSink {
  readonly description: string;
  readonly leavesHost: boolean;
  private readonly repository: string;

  constructor(
    private readonly target: RegistryReference,
    private readonly options: StoreOptions,
  ) {
    const slash = target.repository.lastIndexOf('/');
    this.repository = slash < 0 ? CHECKPOINT_REPOSITORY : `${target.repository.slice(0, slash)}/${CHECKPOINT_REPOSITORY}`;
    this.description = `OCI artifact ${target.registry}/${this.repository}`;
    // A registry on this machine is in reach of whoever controls it; any other host is not.
    this.leavesHost = !isLoopbackHost(new URL(`http://${target.registry}`).hostname);
  }

  /**
   * One HEAD of the latest tag: it is written last, so when it names this checkpoint's manifest the history tag and
   * the blobs are there too.
   */
  async isPublished(checkpoint: SignedCheckpoint): Promise<boolean> {
    const { manifest } = checkpointArtifact(checkpoint);
    const store = new RegistryStore(this.target.registry, this.options);
    try {
      const head = await store.repository(this.repository).headManifest(checkpointTag(checkpoint.origin));
      return head?.digest === describe(manifest, MediaTypes.ociManifest).digest;
    } finally {
      await store.close();
    }
  }

  async publish(checkpoint: SignedCheckpoint): Promise<void> {
    const { manifest, note } = checkpointArtifact(checkpoint);
    const store = new RegistryStore(this.target.registry, this.options);
    try {
      const repo = store.repository(this.repository);
      for (const [bytes, mt] of [[EMPTY_CONFIG, MediaTypes.ociEmpty], [note, CHECKPOINT_LAYER_TYPE]] as const) {
        const d = describe(bytes, mt);
        if ((await repo.statBlob(d.digest)) === undefined) await repo.putBlob(d, once(bytes));
      }
      const tag = checkpointTag(checkpoint.origin);
      await repo.putManifest(manifest, MediaTypes.ociManifest, `${tag}-${checkpoint.size}`);
      await repo.putManifest(manifest, MediaTypes.ociManifest, tag);
    } finally {
      await store.close();
    }
  }
}
