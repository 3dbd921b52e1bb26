/**
 * An informer (client-node's ListWatch: list, then watch from the list's resourceVersion) per
 * watched namespace, or one over all namespaces, kept running. ListWatch 1.4.0 re-watches
 * after a clean close and relists after 410 Gone by itself, but stops after any other error
 * (a failed list, a refused watch, a broken stream); here it is started again after a back-off
 * (`backoffMs`, the one rule of every retry), reset once a start gets its list and watch
 * through, so an API server that keeps failing is not hammered (client-node #1933).
 */
import type { Scheduler } from '@starlane/io-ports';
import { backoffMs, type BackoffBounds } from '@starlane/model';
import type { Logger } from '@starlane/service-host';
import { kubeErrorText, type KubeConfig, type KubeModule, type KubeObject, type ResourceRef } from './kube';

/** From 200 ms doubling to 30 s: client-go's reflector backs off 800 ms → 30 s; a local API answers fast, so begin lower. */
export const informerRestartBackoff: BackoffBounds = { initialMs: 200, maxMs: 30_000 };

export type InformerEvent = 'add' | 'update' | 'delete';

interface Member {
  readonly namespace: string | undefined;
  readonly listWatch: ReturnType<KubeModule['makeInformer']>;
  failures: number;
  restartPending: boolean;
  synced: boolean;
}

export interface InformerOptions {
  readonly k8s: KubeModule;
  readonly kc: KubeConfig;
  readonly resource: ResourceRef;
  /** Namespaces to watch; empty for all. */
  readonly namespaces: readonly string[];
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly onEvent: (event: InformerEvent, object: KubeObject) => void;
  /** Counts restarts after errors (a metric). */
  readonly onRestart?: () => void;
  readonly restartBackoff?: BackoffBounds;
}

export class ResourceInformer {
  private readonly members: Member[];
  private stopped = false;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(private readonly options: InformerOptions) {
    const { k8s, kc, resource } = options;
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    const prefix = `/apis/${resource.group}/${resource.version}`;
    const scopes: (string | undefined)[] = options.namespaces.length === 0 ? [undefined] : [...options.namespaces];
    this.members = scopes.map((namespace) => {
      const path = namespace === undefined ? `${prefix}/${resource.plural}` : `${prefix}/namespaces/${namespace}/${resource.plural}`;
      const list = (): Promise<K8sList> =>
        (namespace === undefined
          ? api.listClusterCustomObject({ group: resource.group, version: resource.version, plural: resource.plural })
          : api.listNamespacedCustomObject({ group: resource.group, version: resource.version, namespace, plural: resource.plural })) as Promise<K8sList>;
      const listWatch = k8s.makeInformer<K8sObject>(kc, path, list);
      const member: Member = { namespace, listWatch, failures: 0, restartPending: false, synced: false };
      listWatch.on('add', (object) => options.onEvent('add', object as KubeObject));
      listWatch.on('update', (object) => options.onEvent('update', object as KubeObject));
      listWatch.on('delete', (object) => options.onEvent('delete', object as KubeObject));
      listWatch.on('error', (error: unknown) => this.failed(member, error));
      return member;
    });
  }

  start(): void {
    for (const member of this.members) void this.run(member);
  }

  /** Resolves once every member has listed once (the cache is then complete). */
  synced(): Promise<void> {
    if (this.isSynced()) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  isSynced(): boolean {
    return this.members.every((member) => member.synced);
  }

  get(namespace: string, name: string): KubeObject | undefined {
    const member = this.members.find((candidate) => candidate.namespace === undefined || candidate.namespace === namespace);
    return member?.listWatch.get(name, namespace) as KubeObject | undefined;
  }

  list(): KubeObject[] {
    return this.members.flatMap((member) => member.listWatch.list() as KubeObject[]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.members.map((member) => member.listWatch.stop()));
  }

  private async run(member: Member): Promise<void> {
    if (this.stopped) return;
    const failuresBefore = member.failures;
    try {
      await member.listWatch.start();
    } catch (error) {
      this.failed(member, error);
      return;
    }
    // start() settles after the list and the watch request; an error on the way was reported through 'error'.
    if (member.failures === failuresBefore && !member.restartPending) {
      member.failures = 0;
      if (!member.synced) {
        member.synced = true;
        if (this.isSynced()) for (const resolve of this.syncWaiters.splice(0)) resolve();
      }
    }
  }

  private failed(member: Member, error: unknown): void {
    if (this.stopped || member.restartPending) return;
    const delayMs = backoffMs(member.failures, this.options.restartBackoff ?? informerRestartBackoff);
    member.failures += 1;
    member.restartPending = true;
    const scope = member.namespace ?? 'all namespaces';
    this.options.logger.warn(
      { event: 'informer-restart', resource: this.options.resource.plural, namespace: scope, delayMs, err: kubeErrorText(error) },
      `watch of ${this.options.resource.plural} in ${scope} stopped (${kubeErrorText(error)}); starting it again in ${delayMs} ms`,
    );
    this.options.onRestart?.();
    this.options.scheduler.schedule(delayMs, () => {
      member.restartPending = false;
      void this.run(member);
    });
  }
}

type K8sObject = { metadata?: { name?: string; namespace?: string; resourceVersion?: string } };
type K8sList = { items: K8sObject[]; metadata?: { resourceVersion?: string } };
