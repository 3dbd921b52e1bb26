/**
 * `npm run kube` as one object: a local Kubernetes API, the Starlane CRDs, a Starlane cluster
 * with the Cluster resource that stands for it, and the operator, started in that order and
 * stopped in the reverse one.
 *
 * - start: the API (in this process) with the CRDs and the Cluster `local`; the cluster's
 *   processes under the supervisor of `npm start` (restarted if they exit); once every one
 *   serves, the Cluster's status says where; then the operator under a supervisor of its own,
 *   with KUBECONFIG pointing at the API. A process that exits before it is first up ends the
 *   start (restarting it would only fail again, as in `npm start`).
 * - stop (Ctrl-C): the operator first (it still reaches Kubernetes and Starlane while it
 *   stops), then the cluster (the controller last), then the API. A second stop kills what is
 *   still running.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KubeApiServer } from '@starlane/kube-api';
import {
  Supervisor,
  createClusterResource,
  createCrds,
  keepAliveScheduler,
  nodeLauncher,
  operatorProcess,
  writeClusterStatus,
  type ProcessSpec,
  type SupervisorEvent,
} from '@starlane/local-cluster';
import { systemClock } from '@starlane/node-io';
import { localClusterManifest, localClusterName, localClusterNamespace, localClusterStatus } from './cluster-resource';
import type { KubeSettings } from './settings';

export interface LocalKubeOptions {
  /** The workspace root: bundles are at dist/apps/<app>/main.js under it. */
  readonly root: string;
  readonly settings: KubeSettings;
  /** The environment of every process (the tool's own variables removed). */
  readonly environment: NodeJS.ProcessEnv;
  /** Prints one line under a process's name (or the tool's, `kube`). */
  readonly print: (name: string, text: string) => void;
  /** Prints a supervisor's event (the processes' starts, exits, restarts and stops). */
  readonly report: (event: SupervisorEvent) => void;
}

export class LocalKube {
  private api: KubeApiServer | undefined;
  private cluster: Supervisor | undefined;
  private operator: Supervisor | undefined;
  private stopping = false;
  private starting: Promise<boolean> = Promise.resolve(false);

  constructor(private readonly options: LocalKubeOptions) {}

  get apiUrl(): string {
    return this.api?.url ?? '';
  }

  /**
   * Starts everything; true once all of it runs, false when a stop came first or a process
   * exited before it was up. Throws when the API cannot start (a port in use) or refuses a write.
   */
  start(): Promise<boolean> {
    this.starting = this.startInOrder();
    return this.starting;
  }

  /** Stops everything in order; resolves with the exit code (0 when every process stopped cleanly after a full start). */
  async stop(): Promise<0 | 1> {
    this.stopping = true;
    let exitCode: 0 | 1 = 0;
    for (const supervisor of [this.operator, this.cluster]) {
      if (supervisor === undefined) continue;
      supervisor.stop();
      if ((await supervisor.done) !== 0) exitCode = 1;
    }
    const started = await this.starting.catch(() => false);
    await this.api?.close();
    return started ? exitCode : 1;
  }

  /** A second stop request: kills every process still running. */
  kill(): void {
    this.operator?.stop();
    this.cluster?.stop();
  }

  private async startInOrder(): Promise<boolean> {
    const { settings, print } = this.options;
    rmSync(settings.clusterDataDir, { recursive: true, force: true });
    mkdirSync(settings.clusterDataDir, { recursive: true });
    this.api = await KubeApiServer.start({ port: settings.kubePort });
    mkdirSync(dirname(settings.kubeconfigPath), { recursive: true });
    // Owner-only, as kubectl writes its own (a kubeconfig carries credentials).
    writeFileSync(settings.kubeconfigPath, this.api.kubeconfig(), { mode: 0o600 });
    chmodSync(settings.kubeconfigPath, 0o600); // the mode above applies only to a new file
    print('kube', `Kubernetes API serving at ${this.api.url}; kubeconfig written to ${settings.kubeconfigPath}`);
    await createCrds(this.api.url);
    const generation = await createClusterResource(this.api.url, localClusterNamespace, localClusterManifest(settings.layout));
    print('kube', 'CRDs topics.starlane.dev and clusters.starlane.dev created, and Cluster default/local');
    if (this.stopping) return false;

    const cluster = this.supervise(settings.layout.processes, {});
    this.cluster = cluster.supervisor;
    if (!(await cluster.ready) || this.stopping) return false;
    await writeClusterStatus(this.api.url, localClusterNamespace, localClusterName, localClusterStatus(settings.layout, generation, new Date(systemClock.nowMs())));
    print('kube', 'Cluster default/local status written: Ready, with the gateway and controller addresses');
    if (this.stopping) return false;

    const operator = this.supervise([operatorProcess(settings.layout)], { KUBECONFIG: settings.kubeconfigPath });
    this.operator = operator.supervisor;
    return (await operator.ready) && !this.stopping;
  }

  /**
   * Starts a supervisor over `processes`, whose events go to the report; `ready` is true once
   * every process is up, false when the supervisor is done first (a start failure or a stop).
   */
  private supervise(processes: readonly ProcessSpec[], extraEnvironment: NodeJS.ProcessEnv): { supervisor: Supervisor; ready: Promise<boolean> } {
    const { root, environment, print, report } = this.options;
    let settle: (ready: boolean) => void = () => undefined;
    const ready = new Promise<boolean>((resolve) => (settle = resolve));
    const supervisor = new Supervisor({
      processes,
      launcher: nodeLauncher({ root, environment: { ...environment, ...extraEnvironment }, print }),
      clock: systemClock,
      scheduler: keepAliveScheduler,
      report(event) {
        report(event);
        if (event.kind === 'cluster-ready' || event.kind === 'done') settle(event.kind === 'cluster-ready');
      },
    });
    supervisor.start();
    return { supervisor, ready };
  }
}
