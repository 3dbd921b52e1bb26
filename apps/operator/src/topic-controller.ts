/**
 * Wiring of libs/reconcile's `TopicController` (the work queue, workers and passes) to this
 * process: the Topic and Cluster informers as its cache, the Kubernetes writer for finalizers,
 * status and Events, the admin API for observations and actions, the logger and the metrics.
 * Translation only: what to do and when is decided in libs/reconcile.
 */
import type { Clock, Scheduler } from '@starlane/io-ports';
import { TopicController, effectiveTopicName, type AdminAction, type AdminOutcome, type ClusterObservation, type TopicControllerPorts, type TopicResource, type TopicSpec, type TopicStatus, type WorkQueueBounds } from '@starlane/reconcile';
import type { Logger } from '@starlane/service-host';
import type { ResourceInformer } from './informer';
import { kubeErrorText, objectKey, splitKey, type KubeObject } from './kube';
import type { KubeWriter } from './kube-writer';
import type { OperatorMetrics } from './metrics';
import { AdminFailure, type ClusterView, type StarlaneAdmin } from './starlane-admin';

export interface TopicControllerWiring {
  readonly topics: ResourceInformer;
  readonly clusters: ResourceInformer;
  readonly writer: KubeWriter;
  readonly admin: StarlaneAdmin;
  readonly metrics: OperatorMetrics;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly bounds: WorkQueueBounds;
  readonly workers: number;
  readonly clusterUnreachableReleaseMs: number;
}

/** Where admin calls for a Topic go: the Cluster's address, and the view its observation returned (for a reassignment plan). */
export interface AdminHandle {
  readonly address: string;
  readonly view?: ClusterView;
}

export type OperatorTopicController = TopicController<KubeObject, AdminHandle>;

export function topicController(wiring: TopicControllerWiring): OperatorTopicController {
  return new TopicController<KubeObject, AdminHandle>({
    ports: topicControllerPorts(wiring),
    clock: wiring.clock,
    scheduler: wiring.scheduler,
    bounds: wiring.bounds,
    workers: wiring.workers,
    clusterUnreachableReleaseMs: wiring.clusterUnreachableReleaseMs,
  });
}

function topicControllerPorts(wiring: TopicControllerWiring): TopicControllerPorts<KubeObject, AdminHandle> {
  const { topics, writer, logger, metrics } = wiring;
  return {
    topics: {
      get: (key) => {
        const { namespace, name } = splitKey(key);
        return topics.get(namespace, name);
      },
      list: () => topics.list(),
    },
    keyOf: (object) => (object.metadata?.name === undefined ? undefined : objectKey(object.metadata.namespace, object.metadata.name)),
    read: topicFromObject,
    resourceVersion: (object) => object.metadata?.resourceVersion,
    observe: (resource) => observeCluster(wiring, resource),
    perform: (handle, action) => performAdmin(wiring, handle, action),
    applyFinalizers: (object, finalizers) => writer.applyTopicFinalizers(object, finalizers),
    writeStatus: (object, status: TopicStatus) => writer.writeTopicStatus(object, status),
    recordEvent: async (object, event) => {
      try {
        await writer.recordEvent(object, event);
      } catch (error) {
        logger.warn({ event: 'event-failed', reason: event.reason, err: kubeErrorText(error) }, `could not record event ${event.reason}: ${kubeErrorText(error)}`);
      }
    },
    describeError: (error) => (error instanceof AdminFailure ? `${error.code ?? 'no answer'}: ${error.message}` : kubeErrorText(error)),
    log: (level, fields, message) => logger[level](fields, message),
    passEnded: (result, durationMs) => {
      if (result === 'error') metrics.errors.inc();
      metrics.reconciles.inc({ result });
      metrics.duration.observe(durationMs / 1000);
    },
    resynced: () => metrics.resyncs.inc(),
  };
}

async function observeCluster(wiring: TopicControllerWiring, resource: TopicResource): Promise<ClusterObservation<AdminHandle>> {
  const ref = resource.spec.clusterRef;
  const namespace = ref.namespace ?? resource.metadata.namespace ?? '';
  const clusterKey = objectKey(namespace, ref.name);
  const cluster = wiring.clusters.get(namespace, ref.name);
  if (cluster === undefined) return { kind: 'gone', message: `Cluster ${clusterKey} does not exist` };
  const status = (cluster.status ?? {}) as { gatewayAddress?: string; controllerAddresses?: string[] };
  const address = status.gatewayAddress ?? status.controllerAddresses?.[0];
  if (address === undefined || address === '') return { kind: 'unreachable', message: `Cluster ${clusterKey} has no gatewayAddress or controllerAddresses in its status yet` };
  try {
    const view = await wiring.admin.observe(address, effectiveTopicName(resource));
    const nodeCount = view.nodeIds.length;
    return { kind: 'reachable', cluster: view.topic === undefined ? { kind: 'reachable', nodeCount } : { kind: 'reachable', nodeCount, topic: view.topic }, handle: { address, view } };
  } catch (error) {
    if (!(error instanceof AdminFailure)) throw error;
    return { kind: 'unreachable', message: `${address}: ${error.code ?? 'no answer'}: ${error.message}`, handle: { address } };
  }
}

async function performAdmin(wiring: TopicControllerWiring, handle: AdminHandle | undefined, action: AdminAction): Promise<AdminOutcome> {
  if (handle === undefined) return { ok: false, message: 'no address for the Starlane cluster' };
  try {
    await wiring.admin.perform(handle.address, action, handle.view);
    return { ok: true };
  } catch (error) {
    if (!(error instanceof AdminFailure)) throw error;
    return { ok: false, ...(error.code === undefined ? {} : { code: error.code }), message: error.message };
  }
}

/** The Kubernetes object as the reconciler reads it. */
export function topicFromObject(object: KubeObject): TopicResource {
  const metadata = object.metadata ?? {};
  const deletion = metadata.deletionTimestamp;
  const created = metadata.creationTimestamp;
  const spec = (object.spec ?? {}) as Partial<TopicSpec>;
  return {
    metadata: {
      name: metadata.name ?? '',
      ...(metadata.namespace === undefined ? {} : { namespace: metadata.namespace }),
      ...(metadata.generation === undefined ? {} : { generation: metadata.generation }),
      ...(created === undefined ? {} : { creationTimestamp: created instanceof Date ? created.toISOString() : created }),
      ...(deletion === undefined ? {} : { deletionTimestamp: deletion instanceof Date ? deletion.toISOString() : deletion }),
      ...(metadata.finalizers === undefined ? {} : { finalizers: metadata.finalizers }),
      ...(metadata.annotations === undefined ? {} : { annotations: metadata.annotations }),
    },
    spec: { ...spec, clusterRef: spec.clusterRef ?? { name: '' }, partitions: spec.partitions ?? 0 } as TopicSpec,
    ...(object.status === undefined ? {} : { status: object.status as TopicStatus }),
  };
}
