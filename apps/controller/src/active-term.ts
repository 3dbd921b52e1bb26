/**
 * This process as the active controller: a MetadataController over a store, the gRPC handlers
 * that serve it, and its timers (node liveness, preferred-leader balancing). A term is opened
 * when the process becomes active (at start with the file store, on winning the election with
 * etcd) and closed when it stops being active; a new term loads the metadata again.
 */
import type * as grpc from '@grpc/grpc-js';
import type { StarlaneError } from '@starlane/model';
import { MetadataController, type MetadataDelta, type MetadataImage, type MetadataRandom, type MetadataStore } from '@starlane/metadata';
import { controllerToProto } from '@starlane/metadata-rpc';
import { systemClock } from '@starlane/node-io';
import { internalV1, v1 } from '@starlane/proto';
import { withUnimplemented, type Logger } from '@starlane/service-host';
import { adminService, type ControllerLister } from './admin-service';
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
  /** How often preferred leaders are restored (Kafka's leader.imbalance.check.interval.seconds); 0: never. */
  readonly leaderImbalanceCheckIntervalMs: number;
  readonly random: MetadataRandom;
  readonly initialClusterId: () => Promise<string>;
  readonly streams: MetadataStreams;
  readonly logger: Logger;
  /** Called with the image after loading (no delta) and after every change (for metrics). */
  readonly observe: (image: MetadataImage, delta?: MetadataDelta) => void;
  /** The controllers DescribeCluster lists. */
  readonly listControllers: ControllerLister;
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
  /** Where this controller serves, as NOT_CONTROLLER refusals and GetActiveController name it. */
  locate(): internalV1.ControllerLocation;
  /** Stops the timers and closes the controller (queued commands finish first). */
  close(): Promise<void>;
}

/**
 * Balancing passes one check runs back to back while a pass stops at its bound (1000
 * leaderships each): 100 000 partitions per check; any beyond wait for the next check.
 */
export const preferredLeaderPassesPerCheckMax = 100;

/**
 * One preferred-leader check (Kafka's auto.leader.rebalance.enable): a balancing pass, and
 * another at once while the last one stopped at its bound. Resolves with the number of
 * leaderships moved; rejects with the controller's failure.
 */
export async function balancePreferredLeaders(controller: MetadataController, logger: Logger): Promise<number> {
  let moved = 0;
  for (let pass = 0; pass < preferredLeaderPassesPerCheckMax; pass += 1) {
    const { elected, more } = await controller.electPreferredLeaders();
    moved += elected.length;
    if (elected.length > 0) {
      logger.info({ event: 'preferred-leaders-elected', partitions: elected.length, more }, `moved ${elected.length} leaderships back to their preferred replicas`);
    }
    if (!more) break;
  }
  return moved;
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
    options.observe(next, delta);
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

  // Preferred-leader balancing: one check at a time; a check still running when the next is
  // due (a slow store) makes that one skip rather than queue behind it.
  let balancing = false;
  const balance = (): void => {
    if (balancing) return;
    balancing = true;
    void balancePreferredLeaders(controller, logger)
      .catch((error: unknown) => {
        const failure = controller.failed;
        if (failure !== undefined) reportFailure(failure);
        else logger.warn({ event: 'leader-balancing-failed', err: error }, 'preferred-leader balancing failed; retried at the next check');
      })
      .finally(() => (balancing = false));
  };
  const balancer = options.leaderImbalanceCheckIntervalMs > 0 ? setInterval(balance, options.leaderImbalanceCheckIntervalMs) : undefined;
  balancer?.unref();

  return {
    controller,
    adminService: withUnimplemented(v1.AdminServiceService, adminService(controller, controllerId, logger, options.streams, options.listControllers)),
    controllerService: withUnimplemented(internalV1.ControllerServiceService, controllerService(controller, locate, options.streams, logger)),
    failed,
    locate,
    async close() {
      clearInterval(liveness);
      if (balancer !== undefined) clearInterval(balancer);
      await controller.close();
    },
  };
}
