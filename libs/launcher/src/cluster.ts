/**
 * Starts a whole Starlane cluster as real processes from the built bundles: one controller (or
 * several over etcd), N storage nodes (node ids 1..N) and one gateway, each with its own data
 * directory under one temporary root, talking real gRPC over loopback.
 *
 * Every process keeps the port it was first given across restarts (as a deployment would), so
 * a restarted controller is found again at the address the others were started with.
 *
 * With `metadataStore: 'etcd'` the cluster starts its own etcd (under the same root) and every
 * controller keeps metadata there and campaigns for the controller lease; storage nodes and
 * the gateway get every controller's address.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetadataWatcher } from '@starlane/metadata-rpc';
import type { MetadataImage } from '@starlane/metadata';
import { startEtcd, type EtcdProcess } from './etcd';
import { freePort } from './ports';
import { startApp, type AppProcess, type ExitStatus } from './process';
import { appBundle } from './workspace';

/**
 * Wall-clock time for the cluster's metadata watcher. (The launcher runs processes for tests
 * and tools; `systemClock` of `@starlane/node-io` is out of reach, since node-io's tests use
 * the launcher through `@starlane/testing`.)
 */
const wallClock = { nowMs: (): number => Date.now() };

export interface ClusterOptions {
  /** Storage nodes to start (ids 1..n); default 1. */
  readonly storageNodes?: number;
  /**
   * Controllers to start; default 1, named `controller`. Several (which needs the etcd store)
   * are named `controller-0`, `controller-1`, ... after their controller ids.
   */
  readonly controllers?: number;
  /** Where controllers keep metadata: their own files (default) or an etcd the cluster starts. */
  readonly metadataStore?: 'file' | 'etcd';
  /** Root directory for all data; default a fresh temporary directory, removed by stop(). */
  readonly dataDir?: string;
  readonly controllerArgs?: readonly string[];
  readonly storageNodeArgs?: readonly string[];
  readonly gatewayArgs?: readonly string[];
  /** Log level of every process; default 'info' (the launcher waits for the info-level `ready` line, so quieter levels cannot be used). */
  readonly logLevel?: 'info' | 'debug' | 'trace';
  /** How long to wait for the cluster to form; default 30 s. */
  readonly readyTimeoutMs?: number;
}

interface Member {
  readonly name: string;
  readonly app: string;
  readonly args: readonly string[];
  process: AppProcess;
}

export class TestCluster {
  private watcher: MetadataWatcher | undefined;

  private constructor(
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
    /** Every controller's address, in controller id order. */
    readonly controllerAddresses: readonly string[],
    readonly gatewayAddress: string,
    private readonly members: Member[],
    private readonly readyTimeoutMs: number,
    /** The cluster's etcd, when controllers keep metadata there. */
    readonly etcd: EtcdProcess | undefined,
  ) {}

  static async start(options: ClusterOptions = {}): Promise<TestCluster> {
    const nodeCount = options.storageNodes ?? 1;
    const controllerCount = options.controllers ?? 1;
    const metadataStore = options.metadataStore ?? 'file';
    if (!Number.isInteger(controllerCount) || controllerCount < 1) throw new RangeError(`controllers must be a positive integer, got ${controllerCount}`);
    // Controllers with files of their own would each be a cluster of its own.
    if (controllerCount > 1 && metadataStore !== 'etcd') throw new RangeError('several controllers need the etcd metadata store');
    const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'starlane-cluster-')));
    const logLevel = options.logLevel ?? 'info';
    const common = (grpcPort: number): string[] => [`--grpc-port=${grpcPort}`, '--metrics-port=0', '--listen-host=127.0.0.1', `--log-level=${logLevel}`];
    const etcd = metadataStore === 'etcd' ? await startEtcd({ dataDir: join(dataDir, 'etcd') }) : undefined;
    const controllerPorts: number[] = [];
    for (let id = 0; id < controllerCount; id += 1) controllerPorts.push(await freePort());
    const controllerAddresses = controllerPorts.map((port) => `127.0.0.1:${port}`);
    const controllersFlag = `--controllers=${controllerAddresses.join(',')}`;
    const gatewayPort = await freePort();
    const members: Member[] = [];
    const add = (name: string, app: string, args: string[]): void => {
      members.push({ name, app, args, process: launch(name, app, args) });
    };
    controllerPorts.forEach((port, id) => {
      const name = controllerCount === 1 ? 'controller' : `controller-${id}`;
      const storeArgs = etcd === undefined ? [`--data-dir=${join(dataDir, name)}`] : ['--metadata-store=etcd', `--etcd-endpoints=${etcd.endpoint}`, `--controller-id=${id}`];
      add(name, 'controller', [...common(port), ...storeArgs, ...(options.controllerArgs ?? [])]);
    });
    for (let id = 1; id <= nodeCount; id += 1) {
      const port = await freePort();
      add(`storage-node-${id}`, 'storage-node', [...common(port), `--node-id=${id}`, controllersFlag, `--data-dir=${join(dataDir, `storage-node-${id}`)}`, ...(options.storageNodeArgs ?? [])]);
    }
    add('gateway', 'gateway', [...common(gatewayPort), controllersFlag, ...(options.gatewayArgs ?? [])]);
    const cluster = new TestCluster(dataDir, options.dataDir === undefined, controllerAddresses, `127.0.0.1:${gatewayPort}`, members, options.readyTimeoutMs ?? 30_000, etcd);
    try {
      await Promise.all(members.map((member) => member.process.ready));
      await cluster.waitForActiveNodes(nodeCount);
      await cluster.waitForGatewayReady();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** The first controller's address (the only one's, unless several were started). */
  get controllerAddress(): string {
    return this.controllerAddresses[0] ?? '';
  }

  /** The first controller (the only one, unless several were started). */
  get controller(): AppProcess {
    return this.member(this.controllerNames[0] ?? 'controller').process;
  }

  /** Controller member names, in controller id order. */
  get controllerNames(): string[] {
    return this.members.filter((member) => member.app === 'controller').map((member) => member.name);
  }

  /** The controller member the followed metadata names as active, if any. */
  activeControllerName(image: MetadataImage = this.metadata().current()): string | undefined {
    const active = image.controller;
    if (active === undefined) return undefined;
    const index = this.controllerAddresses.indexOf(`${active.host}:${active.port}`);
    return index < 0 ? undefined : this.controllerNames[index];
  }

  /** Waits until the followed metadata names an active controller that `accept` takes (any, by default); returns its name. */
  async waitForActiveController(accept: (name: string) => boolean = () => true, timeoutMs = this.readyTimeoutMs): Promise<string> {
    const image = await this.metadata().waitFor((image) => {
      const name = this.activeControllerName(image);
      return name !== undefined && accept(name);
    }, timeoutMs);
    const name = image === undefined ? undefined : this.activeControllerName(image);
    if (name === undefined) throw new Error(`no accepted controller became active within ${timeoutMs} ms`);
    return name;
  }

  get gateway(): AppProcess {
    return this.member('gateway').process;
  }

  /** Every member's name: controllers, storage nodes and the gateway. */
  get memberNames(): string[] {
    return this.members.map((member) => member.name);
  }

  /** The process now running (or last run) as member `name`. */
  process(name: string): AppProcess {
    return this.member(name).process;
  }

  /** The storage node with this id (1-based). */
  storageNode(id: number): AppProcess {
    return this.member(`storage-node-${id}`).process;
  }

  get storageNodeIds(): number[] {
    return this.members.filter((member) => member.app === 'storage-node').map((member) => Number(member.name.slice('storage-node-'.length)));
  }

  /** Metadata as the controller publishes it (a watcher started on first use). */
  metadata(): MetadataWatcher {
    if (this.watcher === undefined) {
      this.watcher = new MetadataWatcher({ controllers: this.controllerAddresses, nodeId: -1, logger: { info: () => undefined, warn: () => undefined }, clock: wallClock });
      this.watcher.start();
    }
    return this.watcher;
  }

  /** Waits until the controller shows `count` active storage nodes. */
  async waitForActiveNodes(count: number, timeoutMs = this.readyTimeoutMs): Promise<MetadataImage> {
    const image = await this.metadata().waitFor((image) => [...image.nodes.values()].filter((node) => node.state === 'active').length >= count, timeoutMs);
    if (image === undefined) throw new Error(`the cluster did not show ${count} active storage nodes within ${timeoutMs} ms`);
    return image;
  }

  /**
   * Waits until the gateway reports ready (`/readyz` 200: it has cluster metadata), so a test's
   * first request is not refused for want of it.
   */
  async waitForGatewayReady(timeoutMs = this.readyTimeoutMs): Promise<void> {
    const { metricsAddress } = await this.gateway.ready;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const status = await fetch(`http://${metricsAddress}/readyz`).then(
        (response) => response.status,
        () => 0,
      );
      if (status === 200) return;
      if (performance.now() >= deadline) throw new Error(`the gateway was not ready within ${timeoutMs} ms (last /readyz status ${status})`);
      await new Promise((resolve) => setTimeout(resolve, gatewayReadyProbeIntervalMs));
    }
  }

  /** Waits until every partition of `topic` has a leader on an active node. */
  async waitForLeaders(topic: string, timeoutMs = this.readyTimeoutMs): Promise<MetadataImage> {
    const image = await this.metadata().waitFor((image) => {
      const state = image.topics.get(topic);
      return state !== undefined && state.partitions.every((partition) => image.nodes.get(partition.leader)?.state === 'active');
    }, timeoutMs);
    if (image === undefined) throw new Error(`topic ${topic} did not get leaders within ${timeoutMs} ms`);
    return image;
  }

  /** Stops a member with `signal` (SIGKILL for a crash) and waits for its exit. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus> {
    return this.member(name).process.stop(signal, 15_000);
  }

  /** Starts a stopped member again with the same arguments (same ports, same data) and waits until it is ready (a gateway: until it has metadata). */
  async start(name: string): Promise<AppProcess> {
    const member = this.member(name);
    member.process = launch(member.name, member.app, member.args);
    await member.process.ready;
    if (member.app === 'gateway') await this.waitForGatewayReady();
    return member.process;
  }

  /** kill() then start(). */
  async restart(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ exit: ExitStatus; process: AppProcess }> {
    const exit = await this.kill(name, signal);
    return { exit, process: await this.start(name) };
  }

  /** Stops every process (gateway first, controllers last, then etcd) and removes a temporary data root. */
  async stop(): Promise<ExitStatus[]> {
    this.watcher?.close();
    this.watcher = undefined;
    const order = [...this.members].sort((a, b) => rank(a.app) - rank(b.app));
    const statuses: ExitStatus[] = [];
    for (const member of order) statuses.push(await member.process.stop('SIGTERM', 15_000));
    await this.etcd?.stop();
    if (this.ownsDataDir) await rm(this.dataDir, { recursive: true, force: true });
    return statuses;
  }

  private member(name: string): Member {
    const member = this.members.find((candidate) => candidate.name === name);
    if (member === undefined) throw new Error(`no cluster member named ${name}`);
    return member;
  }
}

/** How often `waitForGatewayReady` asks `/readyz`. */
const gatewayReadyProbeIntervalMs = 20;

function rank(app: string): number {
  return app === 'gateway' ? 0 : app === 'storage-node' ? 1 : 2;
}

/**
 * Extra Node.js flags for every launched process, split on spaces (e.g.
 * `STARLANE_LAUNCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` to profile a benchmark's cluster;
 * Node refuses profiler flags in NODE_OPTIONS).
 */
export const launchNodeFlagsVariable = 'STARLANE_LAUNCH_NODE_FLAGS';

/**
 * Node flags for processes that share one machine's cores with each other (a launched cluster,
 * `npm start`): V8's collector helper threads, one set per process, would otherwise compete for
 * the same cores as the processes themselves. On the 2-core test machine this lowered the
 * end-to-end latency tail and raised acks=all RF=3 throughput slightly. A process with cores
 * of its own (one per pod) is better off with V8's default parallel collector.
 */
export const colocatedNodeFlags: readonly string[] = ['--single-threaded-gc'];

function launch(name: string, app: string, args: readonly string[]): AppProcess {
  const nodeFlags = (process.env[launchNodeFlagsVariable] ?? '').split(' ').filter((flag) => flag !== '');
  return startApp({
    name,
    command: process.execPath,
    args: [...colocatedNodeFlags, ...nodeFlags, appBundle(app), ...args],
    env: allocatorEnvironment(process.env),
    readyTimeoutMs: 20_000,
  });
}

/**
 * glibc malloc settings for every launched process (docs/operations.md, "Memory").
 * By default glibc maps each allocation over 128 KiB freshly from the kernel and returns it
 * on free, so every record-batch buffer (gRPC messages, reads, encodes) pays a page fault per
 * 4 KiB on first touch: Buffer.concat of 1 MiB runs near 1.7 GB/s that way and near 9 GB/s
 * from a heap that keeps freed memory. Settings already in the environment win.
 */
export function allocatorEnvironment(environment: NodeJS.ProcessEnv): Record<string, string> {
  return {
    MALLOC_MMAP_THRESHOLD_: environment['MALLOC_MMAP_THRESHOLD_'] ?? String(32 * 1024 * 1024),
    MALLOC_TRIM_THRESHOLD_: environment['MALLOC_TRIM_THRESHOLD_'] ?? String(256 * 1024 * 1024),
  };
}

/** Starts a cluster; see TestCluster. */
export function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  return TestCluster.start(options);
}
