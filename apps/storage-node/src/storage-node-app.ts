import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { retentionCheckIntervalMs } from '@starlane/log';
import { MetadataWatcher } from '@starlane/metadata-rpc';
import { NodeFileSystem, systemClock, timerScheduler } from '@starlane/node-io';
import { fileDescriptorSet } from '@starlane/proto';
import { ReplicaNode, partitionsFolderName } from '@starlane/replica';
import {
  durationMsOption,
  ensureWritableDirectory,
  addressListOption,
  hostOption,
  integerOption,
  stringOption,
  withUnimplemented,
  type HostConfig,
  type ServiceDescription,
} from '@starlane/service-host';
import { version } from '../package.json';
import { readLinuxBootId } from './boot-id';
import { NodeIdentity } from './node-identity';
import { NodeSession } from './node-session';
import { registerStorageMetrics } from './metrics';
import { GrpcReplicaStreams } from './replica-streams';
import { StorageService } from './storage-service';
import { storageNodeServiceDefinition } from './wire-codec';

/** Longest a stop spends asking the controller to move leaderships away; it is also kept
 * well inside the host's shutdown grace, which the rest of the stop needs. */
export const controlledShutdownMsMax = 2000;

export const storageNodeOptions = {
  nodeId: integerOption({ help: "this node's id: unique in the cluster, stable across restarts", default: 1, min: 0, max: 2 ** 31 - 1 }),
  controllers: addressListOption({ help: 'controller addresses to bootstrap from (any controller redirects to the active one)', default: ['127.0.0.1:9091'] }),
  dataDir: stringOption({ help: 'directory for partition logs', default: './data/storage-node', metavar: 'DIR' }),
  advertisedHost: hostOption({ help: 'host gateways and other nodes reach this node at (default: the listen host)', default: '' }),
  advertisedPort: integerOption({ help: 'port gateways and other nodes reach this node at (default: the gRPC port)', default: 0, min: 0, max: 65535, metavar: 'PORT' }),
  rack: stringOption({ help: 'rack or zone of this node, used to spread replicas (default: none)', default: '' }),
  replicaLagTimeMaxMs: durationMsOption({ help: "a follower that has not caught up with the leader for this long leaves the ISR (Kafka's replica.lag.time.max.ms)", default: 30_000 }),
  logRetentionCheckIntervalMs: durationMsOption({
    help: "how often each log deletes segments past retention.ms or retention.bytes (Kafka's log.retention.check.interval.ms); the first check runs at most 30 s after a log opens",
    default: retentionCheckIntervalMs,
    minMs: 1000,
    maxMs: 86_400_000,
  }),
};

/** A storage node: stores partition logs and serves appends and reads for the partitions it leads. */
export const storageNodeApp: ServiceDescription<typeof storageNodeOptions> = {
  name: 'storage-node',
  version,
  options: storageNodeOptions,
  fileDescriptorSet,
  async start({ config, logger, metrics, rpc }) {
    // The host merges its own options into the same object (--listen-host, --grpc-port, ...).
    const host = config as typeof config & Partial<HostConfig>;
    const dataDir = await ensureWritableDirectory(config.dataDir, 'data directory');
    const fs = new NodeFileSystem();
    const identity = await NodeIdentity.load(fs, dataDir, config.nodeId, randomUUID, () => readLinuxBootId());
    // `cleanShutdown` as registration reports it (clean_shutdown): nothing unflushed can have been lost.
    logger.info({ event: 'data-directory', dataDir, nodeId: identity.nodeId, clusterId: identity.clusterId, cleanShutdown: identity.nothingUnflushedLost }, 'data directory ready');

    let session: NodeSession | undefined;
    // The replica code (hosted partitions, fetchers, ISR updater, checkpoints) over the disk,
    // gRPC streams to leaders and the node session.
    const replica = new ReplicaNode({
      nodeId: config.nodeId,
      // Empty for new data: the session learns it at registration (`storeClusterId`).
      clusterId: identity.clusterId,
      directory: join(dataDir, partitionsFolderName),
      fs,
      clock: systemClock,
      scheduler: timerScheduler,
      removeTree: (path) => rm(path, { recursive: true, force: true }),
      replicaLagTimeMaxMs: config.replicaLagTimeMaxMs,
      retentionCheckIntervalMs: config.logRetentionCheckIntervalMs,
      nodeEpoch: () => session?.current?.nodeEpoch,
      streams: new GrpcReplicaStreams(),
      alterPartition: (changes, timeoutMs) => session?.lifecycle.alterPartition(changes, timeoutMs) ?? Promise.resolve(undefined),
      logger,
      // Fetching starts only once metadata arrives, after the metrics below exist.
      onDivergence: (outcome) => nodeMetrics.divergence(outcome),
      // The data directory failed: tell the controller at once.
      onDirectoryFailure: () => session?.logDirsChanged(),
    });
    const manager = replica.manager;
    await replica.start();

    const watcher = new MetadataWatcher({ controllers: config.controllers, nodeId: config.nodeId, logger, clock: systemClock });
    const nodeMetrics = registerStorageMetrics({ registry: metrics, rpc, manager, nowMs: () => systemClock.nowMs() });
    const service = new StorageService(replica, timerScheduler, logger, nodeMetrics.counters);

    const advertisedHost = config.advertisedHost !== '' ? config.advertisedHost : (host.listenHost ?? '127.0.0.1');
    // Registration waits for the bound port: with --grpc-port=0 it is known only then.
    const register = (boundPort: number): void => {
      const advertisedPort = config.advertisedPort !== 0 ? config.advertisedPort : boundPort;
      session = new NodeSession({
        controllers: config.controllers,
        nodeId: config.nodeId,
        incarnationId: randomUUID(),
        host: advertisedHost,
        port: advertisedPort,
        rack: config.rack,
        logDirs: [{ dirId: identity.directoryId, path: dataDir }],
        // clean_shutdown on the wire: nothing unflushed can have been lost (a clean stop, or an
        // unclean one within this boot, whose page cache kept every write).
        cleanShutdown: identity.nothingUnflushedLost,
        softwareVersion: version,
        clusterId: identity.clusterId,
        storeClusterId: async (clusterId) => {
          await identity.storeClusterId(clusterId);
          manager.setClusterId(clusterId);
          // Metadata that arrived before the cluster id was known was held back until now (the
          // session heartbeats once this returns, reporting the version applied here).
          if (watcher.ready) replica.applyMetadata(watcher.current());
        },
        // Metadata waits for the image that shows this registration (`ReplicaNode.registered`).
        onRegistered: () => {
          replica.registered();
          // The controller has heard of any loss; a write that fails leaves the next start
          // reporting one again, which is only conservative.
          identity.registered().catch((error: unknown) => {
            logger.warn({ event: 'boot-id-not-recorded', error: error instanceof Error ? error.message : String(error) }, 'could not record the boot with the data; the next start reports unflushed writes as possibly lost');
          });
        },
        metadataVersion: () => manager.appliedVersion,
        offlineLogDirIds: () => (manager.directoryFailure === undefined ? [] : [identity.directoryId]),
        clock: systemClock,
        scheduler: timerScheduler,
        logger,
        onFatal: (error) => {
          logger.error({ event: 'node-session-failed', errorCode: error.code, error: error.message }, 'this node cannot be part of the cluster; exiting');
          // The host's failure path: logged, exit code 1.
          setImmediate(() => {
            throw error;
          });
        },
        // The controller removed this node, or its controlled shutdown is complete: stop as on SIGTERM.
        onShutdownRequested: () => process.kill(process.pid, 'SIGTERM'),
      });
      session.start();
    };

    watcher.onChange((image) => {
      const before = manager.metadata;
      replica.applyMetadata(image);
      nodeMetrics.metadataApplied(before, manager.metadata);
      session?.metadataApplied();
    });

    let shuttingDown: Promise<void> | undefined;
    // Leaderships move away while this node still serves, then streams are wound down, so the
    // gRPC server's graceful stop has nothing left to wait for. It starts on the signal itself,
    // beside the host's stop, since the host calls stop() only after the gRPC server stopped.
    const beginShutdown = (): Promise<void> => {
      shuttingDown ??= (async () => {
        const graceMs = host.shutdownGraceMs ?? 3000;
        const outcome = await session?.stop(Math.max(0, Math.min(controlledShutdownMsMax, graceMs - 1000)));
        if (outcome !== undefined) logger.info({ event: 'controlled-shutdown', completed: outcome.completed, remaining: outcome.remainingLeaderships.length }, 'leaving the cluster');
        service.drain();
      })();
      return shuttingDown;
    };
    const onSignal = (): void => void beginShutdown();
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);

    watcher.start();

    return {
      services: [
        {
          definition: storageNodeServiceDefinition,
          implementation: withUnimplemented(storageNodeServiceDefinition, service.handlers()),
        },
      ],
      listening({ grpcPort }) {
        register(grpcPort);
      },
      async stop() {
        process.removeListener('SIGTERM', onSignal);
        process.removeListener('SIGINT', onSignal);
        await beginShutdown();
        watcher.close();
        const clean = await replica.close();
        if (clean) await identity.markCleanShutdown();
        logger.info({ event: 'partitions-closed', clean }, clean ? 'every partition log closed cleanly' : 'some partition logs did not close cleanly');
      },
    };
  },
};
