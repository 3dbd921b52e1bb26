import { randomInt, randomUUID } from 'node:crypto';
import { v1, internalV1, fileDescriptorSet } from '@starlane/proto';
import { StarlaneError } from '@starlane/model';
import { FileMetadataStore, type MetadataRandom } from '@starlane/metadata';
import { ControllerElection, ControllerRegistration, clusterNamespace, connectEtcd, controllerLeaseTtlMsDefault, etcdPrefixDefault } from '@starlane/metadata-etcd';
import { controllerToProto } from '@starlane/metadata-rpc';
import { NodeFileSystem } from '@starlane/node-io';
import {
  durationMsOption,
  ensureWritableDirectory,
  enumOption,
  addressListOption,
  hostOption,
  integerOption,
  stringOption,
  type HostConfig,
  type ServiceDescription,
} from '@starlane/service-host';
import { version } from '../package.json';
import { openActiveTerm, type ActiveTerm } from './active-term';
import type { ControllerView } from './admin-service';
import { initialClusterId, newClusterId } from './cluster-identity';
import { MetadataStreams } from './controller-service';
import { ElectedRole } from './elected-role';
import { registerControllerMetrics } from './metrics';
import { routed, standbyControllerService, standbyStatusService, type ActiveLocator } from './standby';

export const controllerOptions = {
  dataDir: stringOption({ help: 'directory for cluster metadata (with --metadata-store=file)', default: './data/controller', metavar: 'DIR' }),
  controllerId: integerOption({ help: 'id of this controller, unique among the controllers of a cluster (with etcd, a second process started with an id in use exits 2)', default: 0, min: 0, max: 2 ** 31 - 1 }),
  advertisedHost: hostOption({ help: 'host name others reach this controller at (default: the listen host)', default: '' }),
  nodeHeartbeatIntervalMs: durationMsOption({ help: 'how often storage nodes heartbeat', default: 1000, minMs: 10, maxMs: 60_000 }),
  nodeSessionTimeoutMs: durationMsOption({ help: 'a storage node without a heartbeat for this long is fenced', default: 6000, minMs: 20, maxMs: 600_000 }),
  leaderImbalanceCheckIntervalMs: durationMsOption({
    help: 'how often leadership moves back to preferred replicas that are in sync (Kafka: leader.imbalance.check.interval.seconds); 0 disables',
    default: 300_000,
    minMs: 0,
    maxMs: 86_400_000,
  }),
  metadataStore: enumOption({
    help: 'where cluster metadata is kept: files in --data-dir (one controller), or etcd (shared by an active controller and its standbys)',
    default: 'file',
    values: ['file', 'etcd'],
  }),
  etcdEndpoints: addressListOption({ help: 'etcd client endpoints (with --metadata-store=etcd)', default: ['127.0.0.1:2379'] }),
  etcdPrefix: stringOption({ help: 'etcd key prefix of this cluster; ends with /', default: etcdPrefixDefault, metavar: 'PREFIX', pattern: /\/$/ }),
  controllerLeaseTtlMs: durationMsOption({
    help: 'TTL of the controller leases in etcd, a whole number of seconds (such as 3000 or 3s): a standby takes over about this long after the active controller dies',
    default: controllerLeaseTtlMsDefault,
    minMs: 1000,
    maxMs: 60_000,
    // etcd grants leases in whole seconds; 1500 would silently become 2 s.
    stepMs: 1000,
    stepReason: 'etcd leases count whole seconds',
  }),
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
    const advertisedHost = config.advertisedHost !== '' ? config.advertisedHost : (host.listenHost ?? '127.0.0.1');
    // With --grpc-port=0 the port is known only once the server listens (see listening()).
    let boundPort = host.grpcPort ?? 0;

    // Calls go to the active term's handlers while there is one, else to the standby's.
    let term: ActiveTerm | undefined;
    const controllerMetrics = registerControllerMetrics(metrics, () => term?.controller.image());

    // The host stops the gRPC server gracefully on these signals; open metadata streams would
    // hold that up for the whole grace period, so they end first.
    const streams = new MetadataStreams();
    const endStreams = (): void => streams.endAll('the controller is stopping');
    process.once('SIGTERM', endStreams);
    process.once('SIGINT', endStreams);

    // With etcd, every controller registers its id there (see listening()); DescribeCluster
    // lists the others as standbys. A list that fails still names this one.
    let registration: ControllerRegistration | undefined;
    const listControllers = async (): Promise<ControllerView[]> => {
      const self: ControllerView = { controllerId: config.controllerId, host: advertisedHost, port: boundPort, active: true };
      const registered = await (registration?.list() ?? Promise.resolve([])).catch((error: unknown) => {
        logger.warn({ event: 'controller-list-failed', err: error }, 'cannot list the controllers registered in etcd; DescribeCluster names only this one');
        return [];
      });
      const standbys = registered.filter((other) => other.controllerId !== self.controllerId).map(({ controllerId, host, port }) => ({ controllerId, host, port, active: false }));
      return [self, ...standbys];
    };

    const termOptions = {
      listControllers,
      controllerId: config.controllerId,
      advertisedHost,
      port: () => boundPort,
      heartbeatIntervalMs: config.nodeHeartbeatIntervalMs,
      sessionTimeoutMs: config.nodeSessionTimeoutMs,
      leaderImbalanceCheckIntervalMs: config.leaderImbalanceCheckIntervalMs,
      random: systemRandom,
      streams,
      logger,
      observe: controllerMetrics.observe,
    };

    let locateActive: ActiveLocator = () => undefined;
    const standby = {
      admin: standbyStatusService(v1.AdminServiceService, config.controllerId, () => locateActive()),
      controller: standbyControllerService(config.controllerId, () => locateActive()),
    };
    const serve = (next: ActiveTerm | undefined): void => {
      term = next;
      controllerMetrics.setActive(next !== undefined);
    };
    const services = [
      { definition: v1.AdminServiceService, implementation: routed(v1.AdminServiceService, () => term?.adminService ?? standby.admin) },
      { definition: internalV1.ControllerServiceService, implementation: routed(internalV1.ControllerServiceService, () => term?.controllerService ?? standby.controller) },
    ];
    const forgetSignals = (): void => {
      process.off('SIGTERM', endStreams);
      process.off('SIGINT', endStreams);
    };

    if (config.metadataStore === 'file') {
      const dataDir = await ensureWritableDirectory(config.dataDir, 'metadata directory');
      const fs = new NodeFileSystem();
      const store = new FileMetadataStore({ fs, directory: dataDir });
      const active = await openActiveTerm({ ...termOptions, store: controllerMetrics.timed(store, 'file'), recovery: () => ({ ...store.recovery, dataDir }), initialClusterId: () => initialClusterId(fs, dataDir) });
      // A store that failed leaves metadata in an unknown state: exit (1) and recover from disk.
      void active.failed.then((error) => {
        throw error;
      });
      serve(active);
      return {
        services,
        listening({ grpcPort }) {
          if (boundPort === 0) boundPort = grpcPort;
        },
        async stop() {
          forgetSignals();
          endStreams();
          await active.close();
        },
      };
    }

    // etcd: every controller campaigns; the winner serves as active, the others as standbys.
    // No etcd request outlives the lease: past it, what the request was for is moot.
    const client = connectEtcd({ endpoints: config.etcdEndpoints, requestTimeoutMs: config.controllerLeaseTtlMs });
    const namespace = clusterNamespace(client, config.etcdPrefix);
    let role: ElectedRole | undefined;
    let election: ControllerElection | undefined;
    let stopping = false;
    locateActive = () => {
      if (term !== undefined) return term.locate();
      const leader = election?.leader();
      // The key names this controller while it is not serving as active only when it is still
      // loading the metadata, or lost its lease and cannot see the key go (etcd unreachable):
      // naming itself would send callers round in a circle ("controller 1 ...; controller 1 is").
      return leader === undefined || leader.controllerId === config.controllerId ? undefined : controllerToProto(leader);
    };
    serve(undefined);
    logger.info({ event: 'metadata-store', store: 'etcd', endpoints: config.etcdEndpoints, prefix: config.etcdPrefix, leaseTtlMs: config.controllerLeaseTtlMs }, 'metadata in etcd; campaigning once listening');
    return {
      services,
      listening({ grpcPort }) {
        if (boundPort === 0) boundPort = grpcPort;
        // Candidates register and campaign with their advertised address, known from here on.
        const endpoint = { controllerId: config.controllerId, host: advertisedHost, port: boundPort };
        const held = new ControllerRegistration({ namespace, endpoint, incarnationId: randomUUID(), leaseTtlMs: config.controllerLeaseTtlMs, logger });
        registration = held;
        election = new ControllerElection({ namespace, candidate: endpoint, leaseTtlMs: config.controllerLeaseTtlMs, logger });
        election.onLeaderChange((leader) => {
          logger.info({ event: 'controller-leader', leader }, leader === undefined ? 'no active controller' : `controller ${leader.controllerId} at ${leader.host}:${leader.port} is active`);
        });
        election.start();
        role = new ElectedRole({
          election,
          namespace,
          open: (store, recovery) => openActiveTerm({ ...termOptions, store: controllerMetrics.timed(store, 'etcd'), recovery, initialClusterId: async () => newClusterId() }),
          serve,
          streams,
          logger,
        });
        // Campaign only once this process holds its controller id: a second process started
        // with the same id must never become active. Refused (a live process holds the id, now
        // or after an etcd outage), the process exits 2 as for any configuration error.
        const elected = role;
        void held.claim().then(
          () => elected.start(),
          (error: unknown) => {
            if (!stopping) throw error;
          },
        );
        void held.displaced.then((error) => {
          if (!stopping) throw error;
        });
      },
      async stop() {
        stopping = true;
        forgetSignals();
        endStreams();
        // Stopping the role also closes the election; the registration goes last.
        await role?.stop();
        await registration?.close();
        client.close();
      },
    };
  },
};
