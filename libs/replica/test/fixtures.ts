/**
 * Test fixtures for the replica: a partition manager on an in-memory filesystem driven by a
 * manual clock and scheduler (metadata and record fixtures come from `@starlane/testing`).
 */
import { MemoryFileSystem, joinPath, type LogFileSystem } from '@starlane/io-ports';
import type { StarlaneError } from '@starlane/model';
import { ManualClock, ManualScheduler, RecordingLogger, clusterId, thisNode } from '@starlane/testing';
import { PartitionManager } from '../src/partition-manager';

// The shared metadata and record fixtures, re-exported so the tests here import one module.
export { RecordingLogger, batch, clusterId, image, recordsOf, thisNode, topic, type TopicSpec } from '@starlane/testing';

export interface ManagerHarness {
  /** The disk every manager of the harness uses (restarts included). */
  readonly disk: MemoryFileSystem;
  readonly root: string;
  readonly partitionsDir: string;
  readonly manager: PartitionManager;
  readonly scheduler: ManualScheduler;
  readonly clock: ManualClock;
  readonly logger: RecordingLogger;
  /** What the managers reported through `onDirectoryFailure`. */
  readonly directoryFailures: StarlaneError[];
  /** A new manager over the same directory (a restart). */
  restart(): Promise<PartitionManager>;
  cleanUp(): Promise<void>;
}

/**
 * `fs`: given the harness's in-memory disk, the filesystem the managers use instead of it (a
 * faulty wrapper, say).
 */
export async function managerHarness(options: { fs?: (disk: MemoryFileSystem) => LogFileSystem } = {}): Promise<ManagerHarness> {
  const disk = new MemoryFileSystem();
  const root = '/data';
  const partitionsDir = joinPath(root, 'partitions');
  const fs = options.fs?.(disk) ?? disk;
  const clock = new ManualClock();
  const scheduler = new ManualScheduler(clock);
  const logger = new RecordingLogger();
  const directoryFailures: StarlaneError[] = [];
  const make = async (): Promise<PartitionManager> => {
    const manager = new PartitionManager({
      nodeId: thisNode,
      directory: partitionsDir,
      fs,
      clock,
      scheduler,
      removeTree: (path) => disk.removeTree(path),
      replicaLagTimeMaxMs: 30_000,
      logger,
      onDirectoryFailure: (error) => directoryFailures.push(error),
    });
    await manager.start();
    manager.setClusterId(clusterId);
    return manager;
  };
  const managers = [await make()];
  return {
    disk,
    root,
    partitionsDir,
    manager: managers[0] as PartitionManager,
    scheduler,
    clock,
    logger,
    directoryFailures,
    async restart() {
      const next = await make();
      managers.push(next);
      return next;
    },
    async cleanUp() {
      for (const manager of managers) await manager.close();
    },
  };
}

/** Resolves once every hosted partition has opened (or failed to). */
export async function settled(manager: PartitionManager): Promise<void> {
  await Promise.all(manager.partitions().map((partition) => partition.opened.catch(() => undefined)));
}
