import { systemClock, timerScheduler } from '@starlane/node-io';
import { StarlaneError } from '@starlane/model';
import { workQueueBoundsDefault } from '@starlane/reconcile';
import { type ConfigOf, type Logger, type ServiceDescription } from '@starlane/service-host';
import { version } from '../package.json';
import { ResourceInformer } from './informer';
import { clusterResource, kubeErrorText, loadKubeConfig, loadKubeModule, topicResource, type KubeConfig, type KubeModule } from './kube';
import { KubeWriter, fieldManager } from './kube-writer';
import { LeaseElector } from './lease-elector';
import { registerOperatorMetrics, type OperatorMetrics } from './metrics';
import { operatorOptions } from './options';
import { StarlaneAdmin, adminClientIdleMs } from './starlane-admin';
import { topicController, type OperatorTopicController } from './topic-controller';

type OperatorConfig = ConfigOf<typeof operatorOptions>;

export { operatorOptions };

/**
 * How long a stop waits for the passes in flight before it releases the Lease: well inside the
 * service host's shutdown grace (3 s by default, then 1 s more) and the pod's termination grace.
 */
export const shutdownDrainMsMax = 1_500;

/**
 * The operator: reconciles Topic custom resources into Starlane topics through the public admin
 * API. Every replica keeps informers on Topics and Clusters; only the one that holds the Lease
 * runs the work queue. It serves health (for its pod's probes; `/readyz` once its caches are
 * filled) and metrics; it is a client of the cluster, not a server.
 */
export const operatorApp: ServiceDescription<typeof operatorOptions> = {
  name: 'operator',
  version,
  options: operatorOptions,
  async start({ config, logger, metrics: registry }) {
    checkElectionDurations(config);
    const { k8s, kc } = await connect();
    const namespaces = config.watchNamespaces.split(',').map((namespace) => namespace.trim()).filter((namespace) => namespace !== '');
    // The informers and the metrics are made before the controller that reads them, so they reach it through this.
    const wired: { controller?: OperatorTopicController } = {};
    const metrics = registerOperatorMetrics(registry, () => wired.controller?.queueDepth() ?? 0);
    const informer = (resource: typeof topicResource | typeof clusterResource, onEvent: ConstructorParameters<typeof ResourceInformer>[0]['onEvent']): ResourceInformer =>
      new ResourceInformer({ k8s, kc, resource, namespaces, scheduler: timerScheduler, logger, onEvent, onRestart: () => metrics.informerRestarts.inc({ resource: resource.plural }) });
    const topics = informer(topicResource, (_event, object) => wired.controller?.topicChanged(object));
    const clusters = informer(clusterResource, (_event, object) => wired.controller?.clusterChanged(`${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`));
    const admin = new StarlaneAdmin(config.adminCallTimeoutMs, systemClock.nowMs);
    const writer = new KubeWriter(k8s, kc, { component: fieldManager, instance: config.leaseHolder }, systemClock.nowMs);
    const running = topicController({
      topics,
      clusters,
      writer,
      admin,
      metrics,
      clock: systemClock,
      scheduler: timerScheduler,
      logger,
      bounds: { ...workQueueBoundsDefault, retryBackoff: { initialMs: config.retryBackoffMsInitial, maxMs: config.retryBackoffMsMax }, resyncPeriodMs: config.resyncPeriodMs },
      workers: config.workers,
      clusterUnreachableReleaseMs: config.clusterUnreachableReleaseMs,
    });
    wired.controller = running;
    const elector = leaseElector(k8s, kc, config, logger, metrics, running);
    let stopped = false;
    const sweep = (): void => {
      if (stopped) return;
      admin.sweep();
      timerScheduler.schedule(adminClientIdleMs, sweep);
    };
    timerScheduler.schedule(adminClientIdleMs, sweep);
    topics.start();
    clusters.start();
    // Campaign only with full caches: a leader with an empty cache would see every Topic as gone.
    const ready = Promise.all([topics.synced(), clusters.synced()]).then(() => {
      logger.info({ event: 'caches-synced', namespaces: namespaces.length === 0 ? 'all' : namespaces }, 'Topic and Cluster caches filled; campaigning for the lease');
      if (!stopped) elector.start();
    });
    return {
      services: [],
      ready,
      async stop() {
        stopped = true;
        // Passes in flight run no further action once the queue stops; wait for the call each may be in, but only so
        // long that the Lease is still released before the host gives up on the stop.
        await elector.stop(() => Promise.race([running.drain(), new Promise<void>((resolve) => timerScheduler.schedule(shutdownDrainMsMax, resolve))]));
        await Promise.all([topics.stop(), clusters.stop()]);
        admin.close();
      },
    };
  },
};

/** client-go's rules for the three durations: a leader stops before its lease can be taken over, with more than one try to renew. */
function checkElectionDurations(config: OperatorConfig): void {
  if (config.renewDeadlineMs >= config.leaseDurationMs) {
    throw new StarlaneError('CONFIG_INVALID', `--renew-deadline-ms (${config.renewDeadlineMs}) must be below --lease-duration-ms (${config.leaseDurationMs}), so a leader stops before its lease can be taken over`);
  }
  if (config.retryPeriodMs >= config.renewDeadlineMs) {
    throw new StarlaneError('CONFIG_INVALID', `--retry-period-ms (${config.retryPeriodMs}) must be below --renew-deadline-ms (${config.renewDeadlineMs}), so a leader gets more than one try to renew`);
  }
}

/** The Kubernetes client and its configuration (KUBECONFIG, else in-cluster). */
async function connect(): Promise<{ k8s: KubeModule; kc: KubeConfig }> {
  const k8s = await loadKubeModule();
  try {
    return { k8s, kc: loadKubeConfig(k8s, process.env) };
  } catch (error) {
    throw new StarlaneError('CONFIG_INVALID', `cannot load the Kubernetes configuration (KUBECONFIG, else in-cluster): ${kubeErrorText(error)}`);
  }
}

/** The Lease election that starts and stops the controller's queue (and the is-leader gauge). */
function leaseElector(k8s: KubeModule, kc: KubeConfig, config: OperatorConfig, logger: Logger, metrics: OperatorMetrics, controller: OperatorTopicController): LeaseElector {
  return new LeaseElector({
    k8s,
    kc,
    namespace: config.leaseNamespace,
    name: config.leaseName,
    identity: config.leaseHolder,
    durations: { leaseDurationMs: config.leaseDurationMs, renewDeadlineMs: config.renewDeadlineMs, retryPeriodMs: config.retryPeriodMs },
    scheduler: timerScheduler,
    nowMs: systemClock.nowMs,
    logger,
    onStartedLeading: () => {
      metrics.leader.set(1);
      controller.startLeading();
    },
    onStoppedLeading: () => {
      metrics.leader.set(0);
      controller.stopLeading();
    },
  });
}
