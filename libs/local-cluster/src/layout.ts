/**
 * The processes of the local cluster and where they listen: one controller, three storage
 * nodes and one gateway on loopback, every port an offset from one base so a second cluster
 * (or a test) can run beside the first by moving the base alone.
 *
 * With the default base (9090) the ports are the ones docs/operations.md lists: gateway
 * 9090/9190, controller 9091/9191, storage nodes 9101-9103 (metrics 9201-9203).
 */
import { join } from 'node:path';
import { StarlaneError } from '@starlane/model';

/** The default base port: the gateway's gRPC port, as for a gateway started by hand. */
export const portBaseDefault = 9090;
/** Added to a process's gRPC port to give its metrics port (9090 → 9190). */
export const metricsPortOffset = 100;
/** Storage node n listens at base + storageNodePortOffset + n (9101 for node 1). */
export const storageNodePortOffset = 10;
export const storageNodeCount = 3;
/**
 * The operator (run by `npm run kube` only) listens at base + operatorPortOffset: 9095 with the
 * default base, the operator's own default port.
 */
export const operatorPortOffset = 5;
/** The highest port the layout uses is the base plus this. */
export const portSpanMax = metricsPortOffset + storageNodePortOffset + storageNodeCount;

/** Environment variables read by the dev cluster itself and not passed on to the processes. */
export const dataDirVariable = 'STARLANE_DEV_DIR';
export const portBaseVariable = 'STARLANE_DEV_PORT_BASE';

export type Role = 'controller' | 'storage-node' | 'gateway' | 'operator';

export interface ProcessSpec {
  /** Unique in the cluster: `controller`, `storage-node-1` .. `storage-node-3`, `gateway`. */
  readonly name: string;
  /** The app whose bundle runs (dist/apps/<app>/main.js); also decides the stop order (the controller last). */
  readonly app: Role;
  readonly grpcPort: number;
  readonly metricsPort: number;
  /** The app's arguments: listen host, ports, data directory, controller address, ... */
  readonly args: readonly string[];
  /**
   * The log event after which the process does its part: the service host's `ready`; for a
   * storage node, the controller unfencing it (registered and active, so it can be given
   * replicas: a topic with three replicas can be created once all three have said it).
   */
  readonly readyEvent: string;
}

export interface Layout {
  readonly host: string;
  readonly portBase: number;
  readonly dataRoot: string;
  /** In start order: controller, storage nodes, gateway. */
  readonly processes: readonly ProcessSpec[];
}

/**
 * Every port the layout of `portBase` uses (with `operator`, the operator's too), for a caller
 * that checks they are free.
 */
export function layoutPorts(portBase: number, options: { operator?: boolean } = {}): number[] {
  const grpcPorts = [portBase, portBase + 1, ...nodeIds().map((id) => portBase + storageNodePortOffset + id)];
  if (options.operator === true) grpcPorts.push(portBase + operatorPortOffset);
  return [...grpcPorts, ...grpcPorts.map((port) => port + metricsPortOffset)];
}

function processSpec(host: string, name: string, app: Role, grpcPort: number, args: readonly string[]): ProcessSpec {
  return {
    name,
    app,
    grpcPort,
    metricsPort: grpcPort + metricsPortOffset,
    args: [`--listen-host=${host}`, `--grpc-port=${grpcPort}`, `--metrics-port=${grpcPort + metricsPortOffset}`, ...args],
    readyEvent: app === 'storage-node' ? 'node-unfenced' : 'ready',
  };
}

export function devClusterLayout(options: { portBase: number; dataRoot: string; host?: string }): Layout {
  const host = options.host ?? '127.0.0.1';
  const { portBase, dataRoot } = options;
  const controllerPort = portBase + 1;
  const spec = (name: string, app: Role, grpcPort: number, args: string[]): ProcessSpec => processSpec(host, name, app, grpcPort, args);
  const controllers = `--controllers=${host}:${controllerPort}`;
  return {
    host,
    portBase,
    dataRoot,
    processes: [
      spec('controller', 'controller', controllerPort, [`--data-dir=${join(dataRoot, 'controller')}`]),
      ...nodeIds().map((id) =>
        spec(`storage-node-${id}`, 'storage-node', portBase + storageNodePortOffset + id, [`--node-id=${id}`, controllers, `--data-dir=${join(dataRoot, `storage-node-${id}`)}`]),
      ),
      spec('gateway', 'gateway', portBase, [controllers]),
    ],
  };
}

/**
 * The operator beside the cluster of `layout` (`npm run kube`). It finds the cluster through
 * the Cluster resource's status, not through arguments, and Kubernetes through the KUBECONFIG
 * its launcher gives it.
 */
export function operatorProcess(layout: Layout): ProcessSpec {
  return processSpec(layout.host, 'operator', 'operator', layout.portBase + operatorPortOffset, []);
}

/**
 * The base port from `STARLANE_DEV_PORT_BASE` (the default when unset or empty). Throws
 * INVALID_CONFIG naming the variable when the value is not a whole number that leaves room
 * for every port of the layout.
 */
export function portBaseFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return portBaseDefault;
  const highest = 65535 - portSpanMax;
  const base = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(base) || base < 1 || base > highest) {
    throw new StarlaneError('INVALID_CONFIG', `invalid ${portBaseVariable}: expected a port from 1 to ${highest} (the layout uses the base to base+${portSpanMax}), got "${value}"`);
  }
  return base;
}

function nodeIds(): number[] {
  return Array.from({ length: storageNodeCount }, (_, index) => index + 1);
}
