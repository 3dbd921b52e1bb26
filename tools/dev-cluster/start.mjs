#!/usr/bin/env node
// Runs a local Starlane cluster from the built bundles: 1 controller, 3 storage nodes and
// 1 gateway as separate processes, data under one directory, logs prefixed by process.
// Ctrl-C (or SIGTERM) stops every process cleanly.
//
//   npm start                          (builds, then runs this)
//   STARLANE_DEV_DIR=/tmp/sl npm start  data somewhere else (default ./.starlane)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataRoot = resolve(process.env.STARLANE_DEV_DIR ?? join(root, '.starlane'));
const host = '127.0.0.1';

const processes = [
  { name: 'controller', app: 'controller', grpcPort: 9091, metricsPort: 9191, args: [`--data-dir=${join(dataRoot, 'controller')}`] },
  ...[1, 2, 3].map((n) => ({
    name: `storage-node-${n}`,
    app: 'storage-node',
    grpcPort: 9100 + n,
    metricsPort: 9200 + n,
    args: [`--node-id=${n}`, `--controllers=${host}:9091`, `--data-dir=${join(dataRoot, `storage-node-${n}`)}`],
  })),
  { name: 'gateway', app: 'gateway', grpcPort: 9090, metricsPort: 9190, args: [`--controllers=${host}:9091`] },
];

for (const { app } of processes) {
  const bundle = join(root, 'dist', 'apps', app, 'main.js');
  if (!existsSync(bundle)) {
    console.error(`dev-cluster: ${bundle} is missing; run \`npm start\` (it builds first)`);
    process.exit(2);
  }
}

// The launcher's own setting is not the processes' (they would warn about an unknown STARLANE_ variable).
// The glibc malloc settings are the launcher's allocatorEnvironment (docs/operations.md,
// "Memory"): record-batch buffers come from a heap that keeps freed memory instead of fresh
// page-faulted mappings.
const { STARLANE_DEV_DIR: _devDir, ...inherited } = process.env;
const childEnvironment = {
  ...inherited,
  MALLOC_MMAP_THRESHOLD_: inherited.MALLOC_MMAP_THRESHOLD_ ?? String(32 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: inherited.MALLOC_TRIM_THRESHOLD_ ?? String(256 * 1024 * 1024),
};

const colors = [36, 33, 32, 35, 34];
const children = new Map();
let stopping = false;

function log(name, color, text) {
  const label = name.padEnd(14);
  process.stdout.write(`${process.stdout.isTTY ? `\x1b[${color}m${label}\x1b[0m` : label} ${text}\n`);
}

/** One readable line from a JSON log line: level, message and the interesting fields. */
function pretty(line) {
  try {
    const { level, msg, ...rest } = JSON.parse(line);
    for (const routine of ['time', 'pid', 'service', 'hostname']) delete rest[routine];
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    return `${level === 'info' ? '' : `${String(level).toUpperCase()} `}${msg}${extra}`;
  } catch {
    return line;
  }
}

const ready = processes.map(
  (spec, index) =>
    new Promise((resolvePromise, reject) => {
      const color = colors[index % colors.length];
      // --single-threaded-gc: the launcher's colocatedNodeFlags (docs/operations.md, "Memory").
      const args = ['--single-threaded-gc', join(root, 'dist', 'apps', spec.app, 'main.js'), `--listen-host=${host}`, `--grpc-port=${spec.grpcPort}`, `--metrics-port=${spec.metricsPort}`, ...spec.args];
      // Each child in its own process group: Ctrl-C reaches only this script, which then asks
      // every process to stop exactly once.
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: childEnvironment });
      children.set(spec.name, child);
      createInterface({ input: child.stdout }).on('line', (line) => {
        log(spec.name, color, pretty(line));
        if (line.includes('"event":"ready"')) resolvePromise();
      });
      createInterface({ input: child.stderr }).on('line', (line) => log(spec.name, color, line));
      child.on('exit', (code, signal) => {
        children.delete(spec.name);
        log(spec.name, color, `exited (${code ?? signal})`);
        if (code !== 0) process.exitCode = 1;
        reject(new Error(`${spec.name} exited`));
        if (!stopping) stop(1);
        else if (children.size === 0) process.exit(process.exitCode ?? 0);
      });
    }),
);

function stop(exitCode) {
  if (stopping) return;
  stopping = true;
  process.exitCode = Math.max(process.exitCode ?? 0, exitCode);
  console.log('\nstopping the cluster...');
  if (children.size === 0) process.exit(exitCode);
  // The gateway and storage nodes first (storage nodes hand their leaderships back to the
  // controller as they stop), the controller once they are gone.
  const controller = children.get('controller');
  for (const [name, child] of children) if (name !== 'controller') child.kill('SIGTERM');
  const waitForOthers = setInterval(() => {
    if ([...children.keys()].some((name) => name !== 'controller')) return;
    clearInterval(waitForOthers);
    controller?.kill('SIGTERM');
  }, 50);
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

Promise.all(ready).then(
  () => {
    const gateway = processes.at(-1);
    console.log(`
Starlane is running (data in ${dataRoot}).

  gateway     grpc ${host}:${gateway.grpcPort}   metrics http://${host}:${gateway.metricsPort}/metrics
  controller  grpc ${host}:9091   storage nodes grpc ${host}:9101-9103

Try:  npx starlane topics create demo --partitions 3
      echo "hello, starlane" | npx starlane produce demo
      npx starlane consume demo --from earliest --follow
      npx starlane cluster describe

      grpcurl -plaintext ${host}:9090 list        (any gRPC reflection client works)
      curl -s http://${host}:9190/metrics | head

Press Ctrl-C to stop.
`);
  },
  () => undefined,
);
