/**
 * Where the controller keeps metadata records. A store holds a snapshot (the records that
 * recreate the state at some version) followed by batches, each applied on top of the version
 * before it. Appends are conditional on the version the writer last saw, so a store shared by
 * several controllers (etcd) refuses a writer that is no longer the active one, and durable
 * before they resolve: nothing is acknowledged or published that a crash could take back.
 */
import { StarlaneError } from '@starlane/model';
import type { MetadataSnapshot } from './controller-state';
import type { MetadataBatch } from './records';

export interface LoadedMetadata {
  /** The newest snapshot, if the store has one. */
  readonly snapshot: MetadataSnapshot | undefined;
  /** Batches after the snapshot, in version order, each following the one before. */
  readonly batches: readonly MetadataBatch[];
}

export interface MetadataStore {
  /** Recovers what was committed. Called once, before any append. */
  load(): Promise<LoadedMetadata>;
  /**
   * Appends `batch` if the store is at `batch.baseVersion` (else NOT_CONTROLLER: another writer
   * moved it), durably. `snapshot` gives the state after the batch, for a store that compacts
   * its history; it is called only when the store wants it. A failed append leaves the store
   * unusable (STORAGE_UNAVAILABLE from then on): the writer must reload to learn what survived.
   */
  append(batch: MetadataBatch, snapshot: () => MetadataSnapshot): Promise<void>;
  close(): Promise<void>;
}

/**
 * A store that keeps everything in memory: for tests of the controller's logic, and as the
 * reference the other stores' contract tests compare against.
 */
export class MemoryMetadataStore implements MetadataStore {
  private snapshot: MetadataSnapshot | undefined;
  private batches: MetadataBatch[] = [];
  private version = 0;

  async load(): Promise<LoadedMetadata> {
    return { snapshot: this.snapshot, batches: [...this.batches] };
  }

  async append(batch: MetadataBatch, snapshot: () => MetadataSnapshot): Promise<void> {
    if (batch.baseVersion !== this.version) throw new StarlaneError('NOT_CONTROLLER', `metadata store is at version ${this.version}, not ${batch.baseVersion}`);
    this.batches.push(batch);
    this.version = batch.version;
    // Compact like a real store would, so snapshot-then-batches recovery is exercised here too.
    if (this.batches.length >= 64) {
      this.snapshot = snapshot();
      this.batches = [];
    }
  }

  async close(): Promise<void> {
    // Nothing to release: the contents stay for the next load.
  }
}
