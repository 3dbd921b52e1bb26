/**
 * The storage node's replica code as the simulator runs it: `ReplicaNode` and `NodeLifecycle`
 * of @starlane/replica wired to the SimNode port of @starlane/testing, as storage-node-app.ts
 * wires them to gRPC and the disk: the controller port is the simulated network's link to the
 * real MetadataController, fetch streams are the simulated network's streams, and the node's
 * identity (cluster id, clean stop, boot) is a file on its simulated disk, judged at start by the
 * storage node's rule (`nothingUnflushedLost`): a kill within the host's boot lost nothing, a
 * power loss (a new boot) or new data may have.
 */
import { joinPath } from '@starlane/io-ports';
import type { MetadataImage } from '@starlane/metadata';
import {
  NodeLifecycle,
  ReplicaNode,
  bootIdOnceRegistered,
  bootIdToRecord,
  nothingUnflushedLost,
  type ControllerPort,
  type ReplicaFetchRequest,
  type ReplicaFetchResponse,
} from '@starlane/replica';
import { readAll, type SimNode, type SimNodeEnvironment, type SimNodeFactory, type SimReplicaState } from '@starlane/testing';

/** Kafka's replica.lag.time.max.ms, scaled to the simulation's 600 ms session timeout. */
export const replicaLagTimeMaxMs = 1000;
/** Deadline of the lifecycle's registration and heartbeat calls (the gRPC port's default, scaled). */
export const controllerCallMs = 500;
/** How long a clean stop waits for the controlled shutdown. */
export const controlledShutdownMs = 1000;
const identityFileName = 'node.identity';

/** As the storage node's meta.json and clean-shutdown marker, in one file. */
interface Identity {
  readonly clusterId: string;
  /** The run that wrote it stopped cleanly (every log closed). */
  readonly cleanShutdown: boolean;
  /** The boot whose page cache holds the data's unflushed writes, if known (the storage node's meta.json `bootId`). */
  readonly bootId?: string;
}

type Env = SimNodeEnvironment<ReplicaFetchRequest, ReplicaFetchResponse>;

/** The ControllerPort over the simulated network, mapping as the controller's gRPC service does. */
function controllerPort(env: Env): ControllerPort {
  return {
    registerNode: (input) =>
      env.controller.call(
        'RegisterNode',
        async (c) => {
          const { nodeEpoch } = await c.registerNode({ nodeId: input.nodeId, incarnationId: input.incarnationId, clusterId: input.clusterId, host: input.host, port: input.port, rack: input.rack, cleanShutdown: input.cleanShutdown });
          return { nodeEpoch: BigInt(nodeEpoch), clusterId: c.image().clusterId, heartbeatIntervalMs: c.heartbeatIntervalMs, sessionTimeoutMs: c.sessionTimeoutMs };
        },
        controllerCallMs,
      ),
    heartbeat: (input) =>
      env.controller.call('Heartbeat', (c) => c.heartbeat({ nodeId: input.nodeId, nodeEpoch: Number(input.nodeEpoch), metadataVersion: input.metadataVersion, offlineLogDirIds: input.offlineLogDirIds }), controllerCallMs),
    controlledShutdown: (input, timeoutMs) => env.controller.call('ControlledShutdown', (c) => c.controlledShutdown({ nodeId: input.nodeId, nodeEpoch: Number(input.nodeEpoch) }), timeoutMs ?? controllerCallMs),
    alterPartition: (input, timeoutMs) => env.controller.call('AlterPartition', (c) => c.alterPartition({ nodeId: input.nodeId, nodeEpoch: Number(input.nodeEpoch), partitions: input.partitions }), timeoutMs),
  };
}

/** The stored identity; undefined for new (or wiped) data. */
async function readIdentity(env: Env): Promise<Identity | undefined> {
  const bytes = await env.fs.readFile(joinPath(env.directory, identityFileName));
  return bytes === null ? undefined : (JSON.parse(bytes.toString('utf8')) as Identity);
}

function writeIdentity(env: Env, identity: Identity): Promise<void> {
  return env.fs.writeFileAtomic(joinPath(env.directory, identityFileName), Buffer.from(JSON.stringify(identity)));
}

export const replicaNodeFactory: SimNodeFactory<ReplicaFetchRequest, ReplicaFetchResponse> | undefined = (env) => {
  let lifecycle: NodeLifecycle | undefined;
  let latest: MetadataImage | undefined;
  let clusterId = '';
  let bootId: string | undefined;
  const node = new ReplicaNode({
    nodeId: env.nodeId,
    directory: joinPath(env.directory, 'partitions'),
    fs: env.fs,
    clock: env.clock,
    scheduler: env.scheduler,
    removeTree: (path) => env.removeTree(path),
    replicaLagTimeMaxMs,
    nodeEpoch: () => lifecycle?.current?.nodeEpoch,
    streams: env.streams,
    alterPartition: (changes, timeoutMs) => lifecycle?.alterPartition(changes, timeoutMs) ?? Promise.resolve(undefined),
    logger: env.logger,
    onDirectoryFailure: () => lifecycle?.logDirsChanged(),
  });
  const simNode: SimNode<ReplicaFetchRequest, ReplicaFetchResponse> = {
    async start() {
      await env.fs.makeDirectory(joinPath(env.directory, 'partitions'));
      const stored = await readIdentity(env);
      clusterId = stored?.clusterId ?? '';
      const lostNothing = nothingUnflushedLost({ isNew: stored === undefined, stoppedCleanly: stored?.cleanShutdown ?? false, bootId: stored?.bootId }, env.bootId);
      bootId = bootIdToRecord(lostNothing, env.bootId);
      // Dirty until a clean stop says otherwise (as the storage node's identity file).
      await writeIdentity(env, { clusterId, cleanShutdown: false, bootId });
      await node.start();
      if (clusterId !== '') node.manager.setClusterId(clusterId);
      lifecycle = new NodeLifecycle({
        controller: controllerPort(env),
        nodeId: env.nodeId,
        incarnationId: `node-${env.nodeId}-incarnation-${env.incarnation}`,
        host: `node-${env.nodeId}`,
        port: 9092,
        rack: '',
        logDirs: [{ dirId: `dir-${env.nodeId}`, path: env.directory }],
        cleanShutdown: lostNothing,
        softwareVersion: 'simulated',
        clusterId,
        storeClusterId: async (id) => {
          clusterId = id;
          await writeIdentity(env, { clusterId, cleanShutdown: false, bootId });
          node.manager.setClusterId(id);
          if (latest !== undefined) node.applyMetadata(latest);
        },
        onRegistered: () => {
          node.registered();
          // The controller has heard of any loss (NodeIdentity.registered).
          if (bootId === bootIdOnceRegistered(env.bootId)) return;
          bootId = bootIdOnceRegistered(env.bootId);
          writeIdentity(env, { clusterId, cleanShutdown: false, bootId }).catch((error: unknown) => {
            // Only conservative: the next start reports a possible loss again.
            env.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'could not record the boot with the data');
          });
        },
        metadataVersion: () => node.manager.appliedVersion,
        offlineLogDirIds: () => (node.manager.directoryFailure === undefined ? [] : [`dir-${env.nodeId}`]),
        clock: env.clock,
        scheduler: env.scheduler,
        logger: env.logger,
        onFatal: (error) => env.fail(`node lifecycle failed: ${error.code} ${error.message}`),
      });
      lifecycle.start();
    },
    applyMetadata(image) {
      latest = image;
      node.applyMetadata(image);
      lifecycle?.metadataApplied();
    },
    get metadataVersion() {
      return node.manager.appliedVersion;
    },
    openFetchSession: () => node.openFetchSession(),
    produce: (request) => node.produce(request),
    latestOffset: (topicId, partition) => node.latestOffset(topicId, partition),
    replicas(): SimReplicaState[] {
      return node.manager.partitions().flatMap((hosted) => {
        const log = hosted.onlineLog;
        if (log === undefined) return [];
        return [{ topicId: hosted.topicId, partition: hosted.partition, leaderEpoch: hosted.state.leaderEpoch, isLeader: hosted.isLeader, highWatermark: hosted.highWatermark, logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset }];
      });
    },
    async readRecords(topicId, partition, fromOffset) {
      const log = node.manager.partition(topicId, partition)?.onlineLog;
      return log === undefined ? [] : readAll(log, fromOffset);
    },
    async close() {
      await lifecycle?.stop(controlledShutdownMs);
      const clean = await node.close();
      await writeIdentity(env, { clusterId, cleanShutdown: clean, bootId });
    },
  };
  return simNode;
};
