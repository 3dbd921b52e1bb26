import { randomInt, randomUUID } from 'node:crypto';
import { v1, internalV1, fileDescriptorSet } from '@starlane/proto';
import { StarlaneError } from '@starlane/model';
import { FileMetadataStore, MetadataController, type MetadataRandom } from '@starlane/metadata';
import { controllerToProto } from '@starlane/metadata-rpc';
import { NodeFileSystem, systemClock } from '@starlane/node-io';
import { ensureWritableDirectory, durationMsOption, hostOption, integerOption, stringOption, withUnimplemented, type HostConfig, type ServiceDescription } from '@starlane/service-host';
import { Gauge } from 'prom-client';
import { version } from '../package.json';
import { adminService } from './admin-service';
import { initialClusterId } from './cluster-identity';
import { MetadataStreams, controllerService } from './controller-service';

export const controllerOptions = {
  dataDir: stringOption({ help: 'directory for cluster metadata', default: './data/controller', metavar: 'DIR' }),
  controllerId: integerOption({ help: 'id of this controller, unique among the controllers of a cluster', default: 0, min: 0, max: 2 ** 31 - 1 }),
  advertisedHost: hostOption({ help: 'host name others reach this controller at (default: the listen host)', default: '' }),
  nodeHeartbeatIntervalMs: durationMsOption({ help: 'how often storage nodes heartbeat', default: 1000, minMs: 10, maxMs: 60_000 }),
  nodeSessionTimeoutMs: durationMsOption({ help: 'a storage node without a heartbeat for this long is fenced', default: 6000, minMs: 20, maxMs: 600_000 }),
};

/** Cryptographic randomness for replica placement starts and topic ids. */
const systemRandom: MetadataRandom = { int: (bound) => randomInt(bound), uuid: () => randomUUID() };

/** The controller: cluster metadata, node liveness and partition leadership. */
export const controllerApp: ServiceDescription<typeof controllerOptions> = {
  name: 'controller',
  version,
  options: controllerOptions,
  fileDescriptorSet,
  async start({ config, logger, metrics }) {
    // The host merges its own options into the same object (flags such as --listen-host).
    const host = config as typeof config & Partial<HostConfig>;
    if (config.nodeSessionTimeoutMs <= config.nodeHeartbeatIntervalMs) {
      throw new StarlaneError('CONFIG_INVALID', `--node-session-timeout-ms (${config.nodeSessionTimeoutMs}) must be longer than --node-heartbeat-interval-ms (${config.nodeHeartbeatIntervalMs})`);
    }
    const dataDir = await ensureWritableDirectory(config.dataDir, 'metadata directory');
    const fs = new NodeFileSystem();
    const store = new FileMetadataStore({ fs, directory: dataDir });
    const advertisedHost = config.advertisedHost !== '' ? config.advertisedHost : (host.listenHost ?? '127.0.0.1');
    // With --grpc-port=0 the port is known only once the server listens (see listening()).
    let boundPort = host.grpcPort ?? 0;
    const controller = await MetadataController.open({
      store,
      clock: systemClock,
      random: systemRandom,
      controllerId: config.controllerId,
      host: advertisedHost,
      port: boundPort,
      heartbeatIntervalMs: config.nodeHeartbeatIntervalMs,
      sessionTimeoutMs: config.nodeSessionTimeoutMs,
      initialClusterId: () => initialClusterId(fs, dataDir),
    });
    const image = controller.image();
    logger.info(
      { event: 'metadata-loaded', clusterId: image.clusterId, metadataVersion: image.version, controllerEpoch: image.controller?.controllerEpoch, topics: image.topics.size, nodes: image.nodes.size, recovery: store.recovery, dataDir },
      `metadata loaded: cluster ${image.clusterId}, version ${image.version}`,
    );

    const versionGauge = new Gauge({ name: 'starlane_controller_metadata_version', help: 'Metadata version of the controller', registers: [metrics] });
    const nodesGauge = new Gauge({ name: 'starlane_controller_nodes', help: 'Registered storage nodes by state', labelNames: ['state'], registers: [metrics] });
    const updateGauges = (): void => {
      const current = controller.image();
      versionGauge.set(current.version);
      const byState = { active: 0, fenced: 0, 'controlled-shutdown': 0 };
      for (const node of current.nodes.values()) byState[node.state] += 1;
      for (const [state, count] of Object.entries(byState)) nodesGauge.set({ state }, count);
    };
    updateGauges();
    controller.subscribe((delta, next) => {
      updateGauges();
      for (const node of delta.nodes) {
        logger.info({ event: 'node-state', nodeId: node.nodeId, state: node.state, metadataVersion: next.version }, `node ${node.nodeId} is ${node.state}`);
      }
    });

    const locate = (): internalV1.ControllerLocation => {
      const current = controller.image().controller;
      return controllerToProto({ controllerId: config.controllerId, host: advertisedHost, port: boundPort, controllerEpoch: current?.controllerEpoch ?? 0 });
    };

    // Check sessions a few times per timeout, so a node is fenced at most a quarter late.
    const livenessCheckIntervalMs = Math.max(10, Math.min(config.nodeHeartbeatIntervalMs, Math.floor(config.nodeSessionTimeoutMs / 4)));
    const liveness = setInterval(() => {
      void controller.tick().then(
        (fenced) => {
          if (fenced.length > 0) logger.warn({ event: 'nodes-fenced', nodeIds: fenced }, `fenced node(s) ${fenced.join(', ')}: no heartbeat for ${config.nodeSessionTimeoutMs} ms`);
        },
        (error: unknown) => {
          // A store that failed leaves metadata in an unknown state: exit (1) and recover from disk.
          if (controller.failed !== undefined) throw error;
          logger.warn({ event: 'liveness-check-failed', err: error }, 'liveness check failed');
        },
      );
    }, livenessCheckIntervalMs);
    liveness.unref();

    // The host stops the gRPC server gracefully on these signals; open metadata streams would
    // hold that up for the whole grace period, so they end first.
    const streams = new MetadataStreams();
    const endStreams = (): void => streams.endAll('the controller is stopping');
    process.once('SIGTERM', endStreams);
    process.once('SIGINT', endStreams);

    return {
      services: [
        { definition: v1.AdminServiceService, implementation: withUnimplemented(v1.AdminServiceService, adminService(controller, config.controllerId, logger)) },
        { definition: internalV1.ControllerServiceService, implementation: withUnimplemented(internalV1.ControllerServiceService, controllerService(controller, locate, streams, logger)) },
      ],
      listening({ grpcPort }) {
        if (boundPort === 0) boundPort = grpcPort;
      },
      async stop() {
        process.off('SIGTERM', endStreams);
        process.off('SIGINT', endStreams);
        endStreams();
        clearInterval(liveness);
        await controller.close();
      },
    };
  },
};
