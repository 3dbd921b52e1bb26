/**
 * Test fixtures for the storage node: a partition manager on a real temporary directory (or the
 * in-memory filesystem) driven by a manual clock and scheduler (metadata and record fixtures
 * come from `@starlane/testing`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryFileSystem, type LogFileSystem } from '@starlane/io-ports';
import type { StarlaneError } from '@starlane/model';
import { NodeFileSystem } from '@starlane/node-io';
import { ManualClock, ManualScheduler, RecordingLogger, clusterId, thisNode } from '@starlane/testing';
import { PartitionManager, } from '@starlane/replica';

// The shared metadata and record fixtures, re-exported so the tests here import one module.
export { RecordingLogger, batch, clusterId, image, recordsOf, thisNode, topic, type TopicSpec } from '@starlane/testing';

export interface ManagerHarness {
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
 * `fs`: the filesystem the managers use instead of a plain NodeFileSystem (a faulty wrapper, say).
 * `inMemory`: the managers use a MemoryFileSystem instead, so that every file operation is
 * promise work that `settle()` finishes (a test that waits for a read or a timer without
 * sleeping needs that; real disk I/O completes when the threadpool says).
 */
export async function managerHarness(options: { fs?: LogFileSystem; inMemory?: boolean } = {}): Promise<ManagerHarness> {
  const memory = options.inMemory === true ? new MemoryFileSystem() : undefined;
  const root = memory === undefined ? await mkdtemp(join(tmpdir(), 'starlane-storage-node-')) : '/data';
  const partitionsDir = join(root, 'partitions');
  const fs = memory ?? options.fs ?? new NodeFileSystem();
  const removeTree = (path: string): Promise<void> => (memory === undefined ? rm(path, { recursive: true, force: true }) : memory.removeTree(path));
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
      removeTree,
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
      if (memory === undefined) await rm(root, { recursive: true, force: true });
    },
  };
}

/** Resolves once every hosted partition has opened (or failed to). */
export async function settled(manager: PartitionManager): Promise<void> {
  await Promise.all(manager.partitions().map((partition) => partition.opened.catch(() => undefined)));
}
