/**
 * Every write the operator makes to Kubernetes, in one place: a Topic's status (through the
 * /status subresource, and only when it changed: the caller checks `statusChanged`), its
 * finalizers, core/v1 Events, and the leader-election Lease. Writes go by merge patch; a
 * finalizer change carries the resourceVersion it was decided on, so a concurrent change makes
 * it fail with 409 and the Topic is looked at again (a merge patch replaces the whole list).
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
  private readonly mergePatch;

  constructor(
    private readonly k8s: KubeModule,
    kc: KubeConfig,
    private readonly identity: { readonly component: string; readonly instance: string },
    private readonly nowMs: () => number,
  ) {
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  }

  /** Writes `status` of the Topic through /status; keys of the old status missing from the new one are removed. Returns the object as written. */
  async writeTopicStatus(topic: KubeObject, status: TopicStatus): Promise<KubeObject> {
    const { namespace, name } = identify(topic);
    const previous = (topic.status ?? {}) as Record<string, unknown>;
    const body: Record<string, unknown> = { ...status };
    for (const key of Object.keys(previous)) if (!(key in body)) body[key] = null;
    return (await this.custom.patchNamespacedCustomObjectStatus(
      { ...topicPath, namespace, name, body: { status: body }, fieldManager },
      this.mergePatch,
    )) as KubeObject;
  }

  /** Sets the Topic's finalizers, conditional on the resourceVersion they were decided on. */
  async setTopicFinalizers(topic: KubeObject, finalizers: readonly string[]): Promise<KubeObject> {
    const { namespace, name } = identify(topic);
    const metadata = { finalizers: [...finalizers], resourceVersion: topic.metadata?.resourceVersion };
    return (await this.custom.patchNamespacedCustomObject({ ...topicPath, namespace, name, body: { metadata }, fieldManager }, this.mergePatch)) as KubeObject;
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

function identify(object: KubeObject): { namespace: string; name: string } {
  return { namespace: object.metadata?.namespace ?? 'default', name: object.metadata?.name ?? '' };
}
