/**
 * `npm start`: a local Starlane cluster from the built bundles (1 controller, 3 storage nodes,
 * 1 gateway as separate processes, data under one directory, output prefixed by process),
 * kept running by the Supervisor: a process that exits is reported and restarted, Ctrl-C (or
 * SIGTERM, SIGHUP) stops every process cleanly.
 *
 *   npm start                                  builds, then runs this
 *   STARLANE_DEV_DIR=/tmp/sl npm start         data somewhere else (default ./.starlane)
 *   STARLANE_DEV_PORT_BASE=19090 npm start     every port moved by the same amount (default 9090)
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StarlaneError } from '@starlane/model';
import { systemClock } from '@starlane/node-io';
import {
  Supervisor,
  bundlePath,
  dataDirVariable,
  describeEvent,
  devClusterLayout,
  keepAliveScheduler,
  nodeLauncher,
  portBaseDefault,
  portBaseFrom,
  portBaseVariable,
  prettyLogLine,
  type Layout,
  type ProcessSpec,
  type Role,
} from '@starlane/local-cluster';

/** The dev cluster's exit codes, those of every Starlane process (docs/operations.md). */
const exitCodes = { ok: 0, failure: 1, config: 2 } as const;

const labelColors = [36, 33, 32, 35, 34];

function main(): void {
  // The bundle is dist/tools/dev-cluster/main.js.
  const root = resolve(__dirname, '..', '..', '..');
  let layout: Layout;
  try {
    layout = devClusterLayout({ portBase: portBaseFrom(process.env[portBaseVariable]), dataRoot: resolve(process.env[dataDirVariable] ?? join(root, '.starlane')) });
  } catch (error) {
    if (!(error instanceof StarlaneError)) throw error;
    process.stderr.write(`dev-cluster: ${error.message}\n`);
    process.exit(exitCodes.config);
  }
  for (const { app } of layout.processes) {
    if (!existsSync(bundlePath(root, app))) {
      process.stderr.write(`dev-cluster: ${bundlePath(root, app)} is missing; run \`npm start\` (it builds first)\n`);
      process.exit(exitCodes.config);
    }
  }

  const colors = new Map(layout.processes.map((spec, index) => [spec.name, labelColors[index % labelColors.length] ?? 0]));
  const print = (name: string, text: string): void => {
    const label = name.padEnd(14);
    process.stdout.write(`${process.stdout.isTTY ? `\x1b[${colors.get(name) ?? 1}m${label}\x1b[0m` : label} ${text}\n`);
  };
  // The dev cluster's own variables are not the processes' (they warn about unknown STARLANE_ variables).
  const { [dataDirVariable]: _dataDir, [portBaseVariable]: _portBase, ...environment } = process.env;
  const supervisor = new Supervisor({
    processes: layout.processes,
    launcher: nodeLauncher({ root, environment, print: (name, line) => print(name, prettyLogLine(line)) }),
    clock: systemClock,
    scheduler: keepAliveScheduler,
    report(event) {
      if (event.kind === 'cluster-ready') process.stdout.write(banner(layout));
      const line = describeEvent(event);
      if (line !== undefined) print(line.name, line.text);
    },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => supervisor.stop());
  supervisor.start();
  void supervisor.done.then((exitCode) => process.exit(exitCode === 0 ? exitCodes.ok : exitCodes.failure));
}

function banner(layout: Layout): string {
  const ports = (app: Role): ProcessSpec[] => layout.processes.filter((spec) => spec.app === app);
  const { host } = layout;
  const gatewaySpec = ports('gateway')[0];
  const gateway = `${host}:${gatewaySpec?.grpcPort ?? 0}`;
  const gatewayMetrics = gatewaySpec?.metricsPort ?? 0;
  const nodePorts = ports('storage-node').map((spec) => spec.grpcPort);
  const nodes = `${Math.min(...nodePorts)}-${Math.max(...nodePorts)}`;
  // The CLI's default gateway is 127.0.0.1:9090; elsewhere it is told where to go.
  const gatewayHint = layout.portBase === portBaseDefault ? '' : `      export STARLANE_GATEWAY=${gateway}     (the CLI's default is ${host}:${portBaseDefault})\n`;
  return `
Starlane is running (data in ${layout.dataRoot}).

  gateway     grpc ${gateway}   metrics http://${host}:${gatewayMetrics}/metrics
  controller  grpc ${host}:${ports('controller')[0]?.grpcPort ?? 0}   storage nodes grpc ${host}:${nodes}

Try:
${gatewayHint}      npx starlane topics create demo --partitions 3 --replication-factor 3
      echo "hello, starlane" | npx starlane produce demo
      npx starlane consume demo --from earliest --follow
      npx starlane cluster describe

      grpcurl -plaintext ${gateway} list        (any gRPC reflection client works)
      curl -s http://${host}:${gatewayMetrics}/metrics | head

A process that exits is restarted (kill -9 a storage node's pid to watch a failover;
docs/operations.md). Press Ctrl-C to stop.

`;
}

main();
