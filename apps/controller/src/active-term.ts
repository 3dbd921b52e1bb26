/**
 * This process as the active controller: a MetadataController over a store, the gRPC handlers
 * that serve it, and its liveness timer. A term is opened when the process becomes active (at
 * start with the file store, on winning the election with etcd) and closed when it stops
 * being active; a new term loads the metadata again.
 */
import type * as grpc from '@grpc/grpc-js';
import type { StarlaneError } from '@starlane/model';
import { MetadataController, type MetadataImage, type MetadataRandom, type MetadataStore } from '@starlane/metadata';
import { controllerToProto } from '@starlane/metadata-rpc';
import { systemClock } from '@starlane/node-io';
import { internalV1, v1 } from '@starlane/proto';
import { withUnimplemented, type Logger } from '@starlane/service-host';
import { adminService } from './admin-service';
import { controllerService, type MetadataStreams } from './controller-service';

export interface ActiveTermOptions {
  readonly store: MetadataStore;
  /** What the store's load found, for the log. */
  readonly recovery: () => unknown;
  readonly controllerId: number;
  readonly advertisedHost: string;
  /** The bound gRPC port (known only once the server listens when --grpc-port=0). */
  readonly port: () => number;
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMs: number;
  readonly random: MetadataRandom;
  readonly initialClusterId: () => Promise<string>;
  readonly streams: MetadataStreams;
  readonly logger: Logger;
  /** Called with the image after loading and after every change (for metrics). */
  readonly observe: (image: MetadataImage) => void;
}

export interface ActiveTerm {
  readonly controller: MetadataController;
  readonly adminService: grpc.UntypedServiceImplementation;
  readonly controllerService: grpc.UntypedServiceImplementation;
  /**
   * Resolves with the store's failure once a liveness check finds the controller refusing
   * every change (an append failed: what the store holds is unknown until it is loaded again).
   */
  readonly failed: Promise<StarlaneError>;
  /** Stops the liveness timer and closes the controller (queued commands finish first). */
  close(): Promise<void>;
}

export async function openActiveTerm(options: ActiveTermOptions): Promise<ActiveTerm> {
  const { logger, controllerId, advertisedHost } = options;
  const controller = await MetadataController.open({
    store: options.store,
    clock: systemClock,
    random: options.random,
    controllerId,
    host: advertisedHost,
    port: options.port(),
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    sessionTimeoutMs: options.sessionTimeoutMs,
    initialClusterId: options.initialClusterId,
  });
  const image = controller.image();
  logger.info(
    { event: 'metadata-loaded', clusterId: image.clusterId, metadataVersion: image.version, controllerEpoch: image.controller?.controllerEpoch, topics: image.topics.size, nodes: image.nodes.size, recovery: options.recovery() },
    `metadata loaded: cluster ${image.clusterId}, version ${image.version}`,
  );
  options.observe(image);
  controller.subscribe((delta, next) => {
    options.observe(next);
    for (const node of delta.nodes) {
      logger.info({ event: 'node-state', nodeId: node.nodeId, state: node.state, metadataVersion: next.version }, `node ${node.nodeId} is ${node.state}`);
    }
  });

  const locate = (): internalV1.ControllerLocation =>
    controllerToProto({ controllerId, host: advertisedHost, port: options.port(), controllerEpoch: controller.image().controller?.controllerEpoch ?? 0 });

  let reportFailure: (error: StarlaneError) => void = () => undefined;
  const failed = new Promise<StarlaneError>((resolve) => (reportFailure = resolve));
  // Check sessions a few times per timeout, so a node is fenced at most a quarter late.
  const livenessCheckIntervalMs = Math.max(10, Math.min(options.heartbeatIntervalMs, Math.floor(options.sessionTimeoutMs / 4)));
  const liveness = setInterval(() => {
    void controller.tick().then(
      (fenced) => {
        if (fenced.length > 0) logger.warn({ event: 'nodes-fenced', nodeIds: fenced }, `fenced node(s) ${fenced.join(', ')}: no heartbeat for ${options.sessionTimeoutMs} ms`);
      },
      (error: unknown) => {
        const failure = controller.failed;
        if (failure !== undefined) reportFailure(failure);
        else logger.warn({ event: 'liveness-check-failed', err: error }, 'liveness check failed');
      },
    );
  }, livenessCheckIntervalMs);
  liveness.unref();

  return {
    controller,
    adminService: withUnimplemented(v1.AdminServiceService, adminService(controller, controllerId, logger)),
    controllerService: withUnimplemented(internalV1.ControllerServiceService, controllerService(controller, locate, options.streams, logger)),
    failed,
    async close() {
      clearInterval(liveness);
      await controller.close();
    },
  };
}
