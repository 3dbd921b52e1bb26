/**
 * The writes that set Starlane up in a Kubernetes API, over HTTP as any client makes them (so
 * what kubectl then shows is what a real server would hold): the CRDs, a Cluster resource, and
 * that Cluster's status through the status subresource (nothing reconciles Clusters yet, so
 * whoever started the cluster writes its addresses there). `npm run kube` and the operator's
 * tests both use them.
 */
import { crdApiVersion, crdManifest, starlaneCrds, type ClusterStatus, type CrdDefinition } from '@starlane/crds';
import { StarlaneError } from '@starlane/model';

const crdsPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

interface KubeResponse {
  readonly metadata?: { readonly generation?: number; readonly resourceVersion?: string };
}

/** The REST path of a namespace's Clusters, or of one. */
export function clusterResourcePath(namespace: string, name?: string): string {
  return `/apis/${crdApiVersion}/namespaces/${namespace}/clusters${name === undefined ? '' : `/${name}`}`;
}

async function kubeRequest(apiUrl: string, method: 'POST' | 'PATCH', path: string, body: unknown, contentType = 'application/json'): Promise<KubeResponse> {
  const response = await fetch(`${apiUrl}${path}`, { method, headers: { 'content-type': contentType, accept: 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) {
    // A Status object's message says what the server refused (docs: kubernetes API conventions).
    let message = text;
    try {
      message = String((JSON.parse(text) as { message?: unknown }).message ?? text);
    } catch {
      // not JSON: the body as it came
    }
    throw new StarlaneError('UNKNOWN_SERVER_ERROR', `${method} ${path}: ${response.status} ${message}`);
  }
  return JSON.parse(text) as KubeResponse;
}

/** Creates the CRDs (by default every Starlane CRD: the objects helm/starlane/crds and deploy/crds hold). */
export async function createCrds(apiUrl: string, crds: readonly CrdDefinition[] = starlaneCrds): Promise<void> {
  for (const definition of crds) await kubeRequest(apiUrl, 'POST', crdsPath, crdManifest(definition));
}

/** Creates a Cluster resource from its manifest; returns its metadata.generation, which its status then observes. */
export async function createClusterResource(apiUrl: string, namespace: string, manifest: Record<string, unknown>): Promise<number> {
  const created = await kubeRequest(apiUrl, 'POST', clusterResourcePath(namespace), manifest);
  return created.metadata?.generation ?? 1;
}

/** Writes a Cluster's status through its status subresource (a merge patch, as a controller's status write). */
export async function writeClusterStatus(apiUrl: string, namespace: string, name: string, status: Partial<ClusterStatus>): Promise<void> {
  await kubeRequest(apiUrl, 'PATCH', `${clusterResourcePath(namespace, name)}/status`, { status }, 'application/merge-patch+json');
}
