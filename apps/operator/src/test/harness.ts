/**
 * What the operator's process tests share: a local Kubernetes API (libs/kube-api) with the
 * Starlane CRDs from libs/crds, a real Starlane cluster with a Cluster object whose status
 * carries its addresses, operators started as real processes from dist/apps/operator/main.js,
 * and small JSON helpers over the Kubernetes REST API (what kubectl sends).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { crdApiVersion, starlaneCrds, type CrdDefinition } from '@starlane/crds';
import { KubeApiServer } from '@starlane/kube-api';
import { clusterResourcePath, createClusterResource, createCrds, writeClusterStatus } from '@starlane/local-cluster';
import { v1 } from '@starlane/proto';
import { appBundle, metricValue, scrapeMetrics, startApp, unaryCall, waitUntil, type AppProcess, type TestCluster } from '@starlane/testing';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; generation?: number; finalizers?: string[]; annotations?: Record<string, string>; deletionTimestamp?: string; uid?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & { conditions?: { type: string; status: string; reason: string; message: string; observedGeneration?: number }[] };
}

/** The tunables the tests shorten: seconds, not minutes. */
export const fastOperatorEnv: Record<string, string> = {
  STARLANE_RESYNC_PERIOD_MS: '2000',
  STARLANE_LEASE_DURATION_MS: '3000',
  STARLANE_RENEW_DEADLINE_MS: '2000',
  STARLANE_RETRY_PERIOD_MS: '300',
  STARLANE_RETRY_BACKOFF_MS_INITIAL: '200',
  STARLANE_RETRY_BACKOFF_MS_MAX: '2000',
  STARLANE_CLUSTER_UNREACHABLE_RELEASE_MS: '5000',
  STARLANE_ADMIN_CALL_TIMEOUT_MS: '3000',
};

export class KubeHarness {
  private constructor(
    readonly server: KubeApiServer,
    readonly dir: string,
    readonly kubeconfigPath: string,
  ) {}

  /** A local API with `crds` installed (by default the ones libs/crds renders). */
  static async start(crds: readonly CrdDefinition[] = starlaneCrds): Promise<KubeHarness> {
    const server = await KubeApiServer.start();
    const dir = await mkdtemp(join(tmpdir(), 'starlane-operator-test-'));
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, server.kubeconfig());
    const harness = new KubeHarness(server, dir, kubeconfigPath);
    await createCrds(server.url, crds);
    return harness;
  }

  async close(): Promise<void> {
    await this.server.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** One REST call; returns status and parsed body. */
  async call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${this.server.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': contentType },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  }

  /** A call that must succeed (2xx). */
  async request(method: string, path: string, body?: unknown, contentType?: string): Promise<Record<string, unknown>> {
    const answer = await this.call(method, path, body, contentType);
    if (answer.status < 200 || answer.status > 299) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  }

  topicPath(namespace: string, name?: string): string {
    return `/apis/starlane.dev/v1alpha1/namespaces/${namespace}/topics${name === undefined ? '' : `/${name}`}`;
  }

  clusterPath(namespace: string, name?: string): string {
    return clusterResourcePath(namespace, name);
  }

  async createNamespace(name: string): Promise<void> {
    await this.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }

  /** A Cluster resource whose status points at `cluster` (nobody reconciles Clusters yet, so the test writes the status). */
  async createCluster(namespace: string, name: string, cluster: TestCluster, storageNodes: number): Promise<void> {
    await createClusterResource(this.server.url, namespace, { apiVersion: crdApiVersion, kind: 'Cluster', metadata: { name, namespace }, spec: { storageNodes: { replicas: storageNodes } } });
    await writeClusterStatus(this.server.url, namespace, name, { gatewayAddress: cluster.gatewayAddress, controllerAddresses: [...cluster.controllerAddresses], storageNodes, phase: 'Running' });
  }

  async applyTopic(namespace: string, name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): Promise<KubeObject> {
    const body = { apiVersion: crdApiVersion, kind: 'Topic', metadata: { name, namespace, ...(annotations === undefined ? {} : { annotations }) }, spec };
    return (await this.request('POST', this.topicPath(namespace), body)) as unknown as KubeObject;
  }

  async patchTopic(namespace: string, name: string, patch: Record<string, unknown>): Promise<KubeObject> {
    return (await this.request('PATCH', this.topicPath(namespace, name), patch, 'application/merge-patch+json')) as unknown as KubeObject;
  }

  async getTopic(namespace: string, name: string): Promise<KubeObject | undefined> {
    const answer = await this.call('GET', this.topicPath(namespace, name));
    return answer.status === 404 ? undefined : (answer.body as unknown as KubeObject);
  }

  async deleteTopic(namespace: string, name: string): Promise<void> {
    await this.request('DELETE', this.topicPath(namespace, name));
  }

  /** Waits until the Topic's Ready condition matches and its status describes its current generation. */
  async waitForReady(namespace: string, name: string, status: 'True' | 'False', reason: string | undefined, timeoutMs = 60_000): Promise<KubeObject> {
    return waitUntil(
      `Topic ${namespace}/${name} Ready=${status}${reason === undefined ? '' : ` ${reason}`}`,
      async () => {
        const topic = await this.getTopic(namespace, name);
        const ready = readyOf(topic);
        if (topic === undefined || ready === undefined) return undefined;
        if (ready.status !== status || (reason !== undefined && ready.reason !== reason)) return undefined;
        return topic.status?.['observedGeneration'] === topic.metadata.generation ? topic : undefined;
      },
      timeoutMs,
    );
  }

  async waitForGone(namespace: string, name: string, timeoutMs = 60_000): Promise<void> {
    await waitUntil(`Topic ${namespace}/${name} deleted`, async () => (await this.getTopic(namespace, name)) === undefined, timeoutMs);
  }

  async events(namespace: string, involvedName?: string): Promise<{ reason: string; message: string; type: string; involvedObject: { name: string; kind: string } }[]> {
    const list = (await this.request('GET', `/api/v1/namespaces/${namespace}/events`)) as { items: { reason: string; message: string; type: string; involvedObject: { name: string; kind: string } }[] };
    return list.items.filter((event) => involvedName === undefined || event.involvedObject.name === involvedName);
  }

  /** Requests that wrote to Topics (status, finalizers), per the server's request log. */
  topicWrites(namespace?: string): number {
    return this.server.requests((r) => r.method !== 'GET' && r.path.includes('/topics') && (namespace === undefined || r.path.includes(`/namespaces/${namespace}/`))).length;
  }
}

export function readyOf(topic: KubeObject | undefined): { status: string; reason: string; message: string; observedGeneration?: number } | undefined {
  return topic?.status?.conditions?.find((condition) => condition.type === 'Ready');
}

/** The Starlane admin API of a cluster, as the `starlane` CLI reaches it. */
export class Admin {
  readonly client: v1.AdminServiceClient;

  constructor(address: string) {
    this.client = new v1.AdminServiceClient(address, grpc.credentials.createInsecure());
  }

  async describe(name: string): Promise<v1.TopicDescription | undefined> {
    const response = await unaryCall(this.client, this.client.describeTopics, { topics: [name], topicIds: [], includeConfigs: true });
    const topic = response.topics[0];
    return topic === undefined || topic.errorCode !== v1.ErrorCode.NONE ? undefined : topic;
  }

  /** The topic's own config overrides. */
  async overrides(name: string): Promise<Record<string, string>> {
    const topic = await this.describe(name);
    const configs: Record<string, string> = {};
    for (const [key, value] of Object.entries(topic?.configs ?? {})) if (value.source === v1.ConfigSource.TOPIC) configs[key] = value.value;
    return configs;
  }

  async setConfig(topic: string, name: string, value: string): Promise<void> {
    const response = await unaryCall(this.client, this.client.alterTopicConfigs, { topics: [{ topic, changes: [{ name, operation: v1.ConfigOperation.SET, value }] }], validateOnly: false });
    if (response.results[0]?.errorCode !== v1.ErrorCode.NONE) throw new Error(`alter ${topic}: ${JSON.stringify(response.results[0])}`);
  }

  close(): void {
    this.client.close();
  }
}

let operatorCount = 0;

/** Starts dist/apps/operator/main.js against the harness's API with the short tunables (and `env` over them). */
export function startOperator(harness: KubeHarness, env: Record<string, string> = {}): AppProcess {
  operatorCount += 1;
  const name = `operator-${operatorCount}`;
  return startApp({
    name,
    command: process.execPath,
    args: [appBundle('operator')],
    env: {
      KUBECONFIG: harness.kubeconfigPath,
      STARLANE_GRPC_PORT: '0',
      STARLANE_METRICS_PORT: '0',
      STARLANE_LISTEN_HOST: '127.0.0.1',
      STARLANE_LEASE_HOLDER: name,
      // Debug: one line per reconcile pass, which the tests count (`passesSince`).
      STARLANE_LOG_LEVEL: 'debug',
      ...fastOperatorEnv,
      ...env,
    },
    readyTimeoutMs: 30_000,
  });
}

/** One series of the operator's metrics (summed over matching labels). */
export async function operatorMetric(operator: AppProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  const { metricsAddress } = await operator.ready;
  return metricValue(await scrapeMetrics(metricsAddress), name, labels) ?? 0;
}

/** Whether the operator leads, by its is-leader gauge. */
export async function isLeader(operator: AppProcess): Promise<boolean> {
  return (await operatorMetric(operator, 'starlane_operator_leader')) === 1;
}

/** A place in an operator's log: passes counted from it are passes that began after it. */
export interface LogMark {
  readonly line: string | undefined;
}

export function logMark(operator: AppProcess): LogMark {
  const lines = operator.stdoutLines();
  return { line: lines[lines.length - 1] };
}

/**
 * Reconcile passes of Topic `namespace/name` since `mark`, by the operator's debug line for each
 * pass (`"event":"reconcile"`; the reconcile metric has no per-Topic label, which would grow
 * without bound). The log keeps its last lines only; a mark that fell off counts every line kept.
 */
export function passesSince(operator: AppProcess, mark: LogMark, namespace: string, name: string): number {
  const lines = operator.stdoutLines();
  const from = mark.line === undefined ? 0 : lines.lastIndexOf(mark.line) + 1;
  const topic = `"topic":${JSON.stringify(`${namespace}/${name}`)}`;
  return lines.slice(from).filter((line) => line.includes('"event":"reconcile"') && line.includes(topic)).length;
}

/** Waits until each named Topic has been through at least `passes` reconcile passes since `mark` (resyncs bring them). */
export async function waitForPasses(operator: AppProcess, mark: LogMark, namespace: string, names: readonly string[], passes: number, timeoutMs = 60_000): Promise<void> {
  await waitUntil(`${passes} reconcile pass(es) of ${names.join(', ')} in ${namespace}`, () => names.every((name) => passesSince(operator, mark, namespace, name) >= passes), timeoutMs);
}
