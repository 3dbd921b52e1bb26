/**
 * The operator's writes to Topics, in one place: the status (through the /status subresource,
 * and only when it changed: the caller checks `statusChanged`), the finalizer, and core/v1
 * Events. Topic writes are server-side applies under the field manager `starlane-operator`
 * (as controller-runtime operators do): the operator owns exactly the status fields and the
 * finalizer it applies, so a field it stops applying is removed, and other managers' fields
 * (kubectl's spec, another controller's finalizer) are never touched. Status applies are
 * forced (the status is the operator's alone); a finalizer apply carries the resourceVersion it
 * was decided on, so a concurrent change fails it with 409 and the Topic is looked at again.
 */
import type { TopicStatus } from '@starlane/reconcile';
import { topicResource, type KubeConfig, type KubeModule, type KubeObject } from './kube';

/** The field manager every write of the operator is recorded under. */
export const fieldManager = 'starlane-operator';

export interface EventInput {
  readonly eventType: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export class KubeWriter {
  private readonly custom;
  private readonly core;
  private readonly apply;

  constructor(
    private readonly k8s: KubeModule,
    kc: KubeConfig,
    private readonly identity: { readonly component: string; readonly instance: string },
    private readonly nowMs: () => number,
  ) {
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.apply = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
  }

  /** Applies `status` to the Topic through /status (fields left out are removed); returns the object as written. */
  async writeTopicStatus(topic: KubeObject, status: TopicStatus): Promise<KubeObject> {
    const { namespace, name } = identify(topic);
    const body = { ...applyHeader(topic), status };
    return (await this.custom.patchNamespacedCustomObjectStatus({ ...topicPath, namespace, name, body, fieldManager, force: true }, this.apply)) as KubeObject;
  }

  /** Applies the operator's finalizers of the Topic (`[]` gives ours up), conditional on the resourceVersion they were decided on. */
  async applyTopicFinalizers(topic: KubeObject, finalizers: readonly string[]): Promise<KubeObject> {
    const { namespace, name } = identify(topic);
    const header = applyHeader(topic);
    const body = { ...header, metadata: { ...header.metadata, resourceVersion: topic.metadata?.resourceVersion, finalizers: [...finalizers] } };
    return (await this.custom.patchNamespacedCustomObject({ ...topicPath, namespace, name, body, fieldManager, force: true }, this.apply)) as KubeObject;
  }

  /** Records a core/v1 Event about `object` (kubectl describe shows it). */
  async recordEvent(object: KubeObject, event: EventInput): Promise<void> {
    const { namespace, name } = identify(object);
    const now = new Date(this.nowMs());
    await this.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${name}.`, namespace },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name,
          namespace,
          uid: object.metadata?.uid,
          resourceVersion: object.metadata?.resourceVersion,
        },
        reason: event.reason,
        message: event.message,
        type: event.eventType,
        source: { component: this.identity.component },
        reportingComponent: this.identity.component,
        reportingInstance: this.identity.instance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }
}

const topicPath = { group: topicResource.group, version: topicResource.version, plural: topicResource.plural };

function applyHeader(object: KubeObject): { apiVersion: string; kind: string; metadata: { name: string; namespace: string } } {
  const { namespace, name } = identify(object);
  return { apiVersion: `${topicResource.group}/${topicResource.version}`, kind: topicResource.kind, metadata: { name, namespace } };
}

function identify(object: KubeObject): { namespace: string; name: string } {
  return { namespace: object.metadata?.namespace ?? 'default', name: object.metadata?.name ?? '' };
}
