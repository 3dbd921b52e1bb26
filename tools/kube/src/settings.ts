/**
 * Where `npm run kube` puts things: the Kubernetes API's port, the Starlane cluster's layout
 * (the same ports as `npm start`, so the `starlane` CLI's defaults reach it) and its files
 * under the dev cluster's data root, beside and apart from `npm start`'s own data.
 */
import { join } from 'node:path';
import { devClusterLayout, type Layout } from '@starlane/local-cluster';
import { StarlaneError } from '@starlane/model';

/** The Kubernetes API's port: the API server's customary secure port (kube-apiserver, kind, k3s). */
export const kubePortDefault = 6443;
export const kubePortVariable = 'STARLANE_KUBE_PORT';
/** The folder under the data root holding the cluster's data (npm start uses the data root itself). */
export const kubeDataFolder = 'kube';
export const kubeconfigFile = 'kubeconfig';

export interface KubeSettings {
  readonly kubePort: number;
  /** The Starlane cluster's processes, their ports and data directories. */
  readonly layout: Layout;
  /** The cluster's data: cleared at every start, as the in-memory API keeps nothing either. */
  readonly clusterDataDir: string;
  readonly kubeconfigPath: string;
}

export function kubeSettings(options: { dataRoot: string; portBase: number; kubePort: number }): KubeSettings {
  const clusterDataDir = join(options.dataRoot, kubeDataFolder);
  return {
    kubePort: options.kubePort,
    layout: devClusterLayout({ portBase: options.portBase, dataRoot: clusterDataDir }),
    clusterDataDir,
    kubeconfigPath: join(options.dataRoot, kubeconfigFile),
  };
}

/**
 * The Kubernetes API port from `STARLANE_KUBE_PORT` (the default when unset or empty; 0 asks
 * the system for a free one). Throws INVALID_CONFIG naming the variable for anything else.
 */
export function kubePortFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return kubePortDefault;
  const port = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(port) || port > 65535) {
    throw new StarlaneError('INVALID_CONFIG', `invalid ${kubePortVariable}: expected a port from 0 to 65535, got "${value}"`);
  }
  return port;
}
