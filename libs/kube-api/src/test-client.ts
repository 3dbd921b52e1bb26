// The real @kubernetes/client-node for tests. It is an ES module; Jest loads it compiled to CommonJS
// (jest.config.cjs), so it is required at run time and typed through an import-mode type import.
import type * as K8s from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import type { KubeApiServer } from './server';

export const k8s = require('@kubernetes/client-node') as typeof K8s;

export function kubeConfigFor(server: KubeApiServer): K8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(server.kubeconfig());
  return kc;
}
