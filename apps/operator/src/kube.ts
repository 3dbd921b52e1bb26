/**
 * The connection to the Kubernetes API through @kubernetes/client-node 1.4.0. client-node is an
 * ES module and the operator is bundled as CommonJS, so it is loaded with a dynamic import (kept
 * as `import()` by the bundler) and passed on as a value; tests hand in the copy Jest compiled.
 */
import type * as K8s from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { crdGroup, crdVersion } from '@starlane/crds';

export type KubeModule = typeof K8s;
export type KubeConfig = K8s.KubeConfig;

/** The Starlane custom resources and the built-ins the operator reads and writes. */
export const topicResource = { group: crdGroup, version: crdVersion, plural: 'topics', kind: 'Topic' } as const;
export const clusterResource = { group: crdGroup, version: crdVersion, plural: 'clusters', kind: 'Cluster' } as const;
export const leaseResource = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease' } as const;

export type ResourceRef = { readonly group: string; readonly version: string; readonly plural: string; readonly kind: string };

/** A Kubernetes object as JSON: the operator reads only the fields it knows. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string | Date;
    deletionTimestamp?: string | Date;
    finalizers?: string[];
    annotations?: Record<string, string>;
  };
  spec?: unknown;
  status?: unknown;
}

export async function loadKubeModule(): Promise<KubeModule> {
  return await import('@kubernetes/client-node');
}

/** KUBECONFIG when set (kubectl's rule), else the pod's service account. */
export function loadKubeConfig(k8s: KubeModule, env: NodeJS.ProcessEnv): K8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (env['KUBECONFIG'] !== undefined && env['KUBECONFIG'] !== '') kc.loadFromFile(env['KUBECONFIG']);
  else kc.loadFromCluster();
  return kc;
}

/** The HTTP status of a failed client-node call (ApiException.code, or a watch error's statusCode); undefined for a transport failure. */
export function httpStatusOf(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}

/** One line about a failed client-node call, without its response headers. */
export function kubeErrorText(error: unknown): string {
  const status = httpStatusOf(error);
  const body = (error as { body?: unknown } | null)?.body;
  let detail = error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error);
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) detail = parsed.message;
    } catch {
      // not JSON: keep the message
    }
  } else if (body !== null && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    detail = (body as { message: string }).message;
  }
  return status === undefined ? detail : `HTTP ${status}: ${detail}`;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
