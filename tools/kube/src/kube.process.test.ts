/**
 * `npm run kube` as a user runs it: the tool's bundle in a temporary working directory with its
 * data there, the Kubernetes API and the Starlane cluster on ports chosen free at run time. It
 * waits for the ready line, then uses the kubeconfig the tool wrote with the real
 * @kubernetes/client-node: the Starlane CRDs are served as helm/starlane/crds defines them, the
 * Cluster `local` carries a Ready status naming a gateway that answers the admin API, the
 * example Topic of deploy/examples/topic.yaml becomes Ready and exists in Starlane as it
 * declares, the kubectl commands the tool prints work as printed with the real kubectl 1.34,
 * and Ctrl-C (SIGINT) stops every process the tool started, leaving none behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import type * as K8s from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { freePortBase, processAlive } from '@starlane/local-cluster';
import { v1 } from '@starlane/proto';
import { freePort, kubeBinaries, unaryCall, waitUntil, workspaceRoot } from '@starlane/testing';
import { parse } from 'yaml';
import { readyLine } from './banner';

// client-node is an ES module; jest.config.cjs compiles it to CommonJS, so it is required here.
const k8s = require('@kubernetes/client-node') as typeof K8s;

jest.setTimeout(300_000);

const root = workspaceRoot();
const toolBundle = join(root, 'dist', 'tools', 'kube', 'main.js');
const kubectlBundle = join(root, 'dist', 'tools', 'kube', 'kubectl.js');
/** Longest one kubectl run may take before the test kills it. */
const kubectlRunMsMax = 60_000;
/** How long the tool may take to start everything, or to stop (shared CPU: generous). */
const startMsMax = 120_000;
const stopMsMax = 60_000;
/** Lines of the tool's output kept for failure messages. */
const outputLinesMax = 3_000;
const processNames = ['controller', 'storage-node-1', 'storage-node-2', 'storage-node-3', 'gateway', 'operator'];

interface RunningTool {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly lines: string[];
}

let workDir: string;
let dataDir: string;
let kubePort: number;
let portBase: number;
let tool: RunningTool;

function startTool(): RunningTool {
  if (!existsSync(toolBundle)) throw new Error(`${toolBundle} is missing: run \`npx nx build kube\` first`);
  const child = spawn(process.execPath, [toolBundle], {
    cwd: workDir,
    env: { ...process.env, STARLANE_DEV_DIR: dataDir, STARLANE_DEV_PORT_BASE: String(portBase), STARLANE_KUBE_PORT: String(kubePort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (line: string): void => {
    lines.push(line);
    if (lines.length > outputLinesMax) lines.shift();
  };
  createInterface({ input: child.stdout! }).on('line', keep);
  createInterface({ input: child.stderr! }).on('line', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, lines };
}

function lastOutput(): string {
  return `last output:\n${tool.lines.slice(-80).join('\n')}`;
}

/** Waits for `probe`; the tool exiting ends the wait, as everything waited for here needs it. */
async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  return waitUntil(
    what,
    async () => {
      if (tool.child.exitCode !== null || tool.child.signalCode !== null) throw new Error(`the tool exited (${tool.child.exitCode ?? tool.child.signalCode})`);
      return probe();
    },
    timeoutMs,
    200,
  ).catch((error: Error) => {
    throw new Error(`${error.message} (${String((error.cause as Error | undefined)?.message)})\n${lastOutput()}`, { cause: error });
  });
}

/** The pid the tool reported for `name` (`<name> started (pid N)`). */
function pidOf(name: string): number {
  const line = tool.lines.find((candidate) => new RegExp(`^${name}\\s+started \\(pid \\d+`).test(candidate));
  const pid = Number(/pid (\d+)/.exec(line ?? '')?.[1]);
  if (!Number.isInteger(pid)) throw new Error(`no pid reported for ${name}\n${lastOutput()}`);
  return pid;
}


/** True when `pid` is still one of this test's processes: its command line or environment names the test's data directory or gateway port. */
function ours(pid: number): boolean {
  try {
    const identity = readFileSync(`/proc/${pid}/cmdline`, 'utf8') + readFileSync(`/proc/${pid}/environ`, 'utf8');
    return identity.includes(dataDir) || identity.includes(`--grpc-port=${portBase}\0`);
  } catch {
    return false;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Runs `file` (a binary, or a script under node) in the working directory, bounded in time. */
function runCommand(file: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, commandArgs] = file.endsWith('.js') ? [process.execPath, [file, ...args]] : [file, args];
  const child = spawn(command, commandArgs, { cwd: workDir, env: { ...process.env, STARLANE_DEV_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), kubectlRunMsMax);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

function kubeConfig(): K8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(join(dataDir, 'kubeconfig'));
  return kc;
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'starlane-kube-'));
  dataDir = join(workDir, 'data');
  kubePort = await freePort();
  portBase = await freePortBase({ operator: true });
  tool = startTool();
  await until('the ready line', () => tool.lines.includes(readyLine), startMsMax);
});

afterAll(async () => {
  // Whatever a failed test left behind: the tool, then every process it reported starting.
  if (tool !== undefined && tool.child.exitCode === null && tool.child.signalCode === null) tool.child.kill('SIGKILL');
  for (const line of tool?.lines ?? []) {
    const pid = Number(/^\S+\s+started \(pid (\d+)/.exec(line)?.[1]);
    if (Number.isInteger(pid) && ours(pid)) process.kill(pid, 'SIGKILL');
  }
  await rm(workDir, { recursive: true, force: true });
});

it('writes a kubeconfig for the API on the chosen port, and client-node finds the Starlane CRDs as helm/starlane/crds defines them', async () => {
  // Owner-only, as kubectl keeps its own.
  expect(statSync(join(dataDir, 'kubeconfig')).mode & 0o777).toBe(0o600);
  const kc = kubeConfig();
  expect(kc.getCurrentCluster()?.server).toBe(`http://127.0.0.1:${kubePort}`);
  expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('default');
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  for (const file of ['topics.starlane.dev.yaml', 'clusters.starlane.dev.yaml']) {
    const committed = parse(readFileSync(join(root, 'helm', 'starlane', 'crds', file), 'utf8')) as { metadata: { name: string }; spec: unknown };
    // Read as plain JSON (client-node's typed CRD model renames `default` and the x-kubernetes-* keys).
    const served = (await custom.getClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', name: committed.metadata.name })) as {
      spec: unknown;
      status: { conditions: { type: string; status: string }[] };
    };
    expect(served.spec).toEqual(committed.spec);
    expect(served.status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Established', status: 'True' })]));
  }
});

it('creates the Cluster local with a Ready status (written through the status subresource) naming a gateway that answers the admin API', async () => {
  const custom = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  const cluster = (await custom.getNamespacedCustomObject({ group: 'starlane.dev', version: 'v1alpha1', namespace: 'default', plural: 'clusters', name: 'local' })) as {
    metadata: { generation: number };
    spec: { storageNodes: { replicas: number } };
    status: { gatewayAddress: string; controllerAddresses: string[]; observedGeneration: number; conditions: { type: string; status: string; reason: string }[] };
  };
  expect(cluster.spec.storageNodes.replicas).toBe(3);
  expect(cluster.status.gatewayAddress).toBe(`127.0.0.1:${portBase}`);
  expect(cluster.status.controllerAddresses).toEqual([`127.0.0.1:${portBase + 1}`]);
  expect(cluster.status.observedGeneration).toBe(cluster.metadata.generation);
  expect(cluster.status.conditions).toEqual([expect.objectContaining({ type: 'Ready', status: 'True', reason: 'Reconciled' })]);

  const admin = new v1.AdminServiceClient(cluster.status.gatewayAddress, grpc.credentials.createInsecure());
  try {
    const described = await unaryCall(admin, admin.describeCluster, {});
    expect(described.nodes.map((node) => node.nodeId).sort()).toEqual([1, 2, 3]);
  } finally {
    admin.close();
  }
});

it('reconciles the example Topic of deploy/examples/topic.yaml, applied with client-node, to Ready and a Starlane topic as it declares', async () => {
  const example = parse(readFileSync(join(root, 'deploy', 'examples', 'topic.yaml'), 'utf8')) as {
    metadata: { name: string };
    spec: { clusterRef: { name: string }; topicName: string; partitions: number; config: Record<string, string> };
  };
  expect(example.spec.clusterRef.name).toBe('local');
  const custom = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  const topicPath = { group: 'starlane.dev', version: 'v1alpha1', namespace: 'default', plural: 'topics' };
  await custom.createNamespacedCustomObject({ ...topicPath, body: example });

  interface TopicObject {
    metadata: { generation: number };
    status?: { observedGeneration?: number; topicName?: string; partitions?: number; replicationFactor?: number; conditions?: { type: string; status: string; reason: string; message: string }[] };
  }
  const ready = await until(
    'the example Topic Ready=True for its generation',
    async () => {
      const topic = (await custom.getNamespacedCustomObject({ ...topicPath, name: example.metadata.name })) as TopicObject;
      const condition = topic.status?.conditions?.find((candidate) => candidate.type === 'Ready');
      return condition?.status === 'True' && topic.status?.observedGeneration === topic.metadata.generation ? topic : undefined;
    },
    startMsMax,
  );
  expect(ready.status?.topicName).toBe(example.spec.topicName);
  expect(ready.status?.partitions).toBe(example.spec.partitions);

  const admin = new v1.AdminServiceClient(`127.0.0.1:${portBase}`, grpc.credentials.createInsecure());
  try {
    const described = await unaryCall(admin, admin.describeTopics, { topics: [example.spec.topicName], topicIds: [], includeConfigs: true });
    const topic = described.topics[0];
    expect(topic?.errorCode).toBe(v1.ErrorCode.NONE);
    expect(topic?.partitions).toHaveLength(example.spec.partitions);
    // The example leaves the replication factor to the cluster; the status reports what it got.
    expect(ready.status?.replicationFactor).toBeGreaterThanOrEqual(1);
    expect(topic?.partitions.map((partition) => partition.replicas.length)).toEqual(Array(example.spec.partitions).fill(ready.status?.replicationFactor));
    for (const [name, value] of Object.entries(example.spec.config)) expect(`${name}=${topic?.configs[name]?.value}`).toBe(`${name}=${value}`);
  } finally {
    admin.close();
  }

  // `npm run kubectl`: the bundled kubectl with the tool's kubeconfig sees the same Topic.
  const kubectl = await runCommand(kubectlBundle, ['get', 'topic', example.metadata.name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.topicName}']);
  expect(kubectl).toEqual({ code: 0, stdout: `True ${example.spec.topicName}`, stderr: '' });
});

it('prints kubectl commands that work as printed with the real kubectl 1.34', async () => {
  // As in a checkout: the example where the printed command names it, relative to where the tool ran.
  await mkdir(join(workDir, 'deploy', 'examples'), { recursive: true });
  await copyFile(join(root, 'deploy', 'examples', 'topic.yaml'), join(workDir, 'deploy', 'examples', 'topic.yaml'));
  const printed = tool.lines.map((line) => line.trim()).filter((line) => line.startsWith('kubectl --kubeconfig '));
  expect(printed.map((line) => line.split(' ').slice(3).join(' '))).toEqual(['apply -f deploy/examples/topic.yaml', 'get topics', 'describe topic demo']);
  const kubectl = kubeBinaries().kubectl;
  const results: { code: number | null; stdout: string; stderr: string }[] = [];
  for (const line of printed) results.push(await runCommand(kubectl, line.split(' ').slice(1)));
  // The Topic exists already (the test before applied it with client-node): apply updates it in place.
  expect(results[0]).toMatchObject({ code: 0, stdout: expect.stringMatching(/^topic\.starlane\.dev\/demo (configured|unchanged)\n$/) });
  expect(results[1]?.code).toBe(0);
  expect(results[1]?.stdout).toMatch(/^NAME\s+CLUSTER\s+TOPIC\s+PARTITIONS\s+RF\s+READY\s+AGE\ndemo\s+local\s+Demo_Events\s+3\s+\d+\s+True\s+\S+\n$/);
  expect(results[2]?.code).toBe(0);
  expect(results[2]?.stdout).toMatch(/Reason:\s+Reconciled\n\s+Status:\s+True\n\s+Type:\s+Ready/);
});

it('stops every process it started on SIGINT, the operator first and the controller last, and exits 0', async () => {
  const pids = new Map(processNames.map((name) => [name, pidOf(name)]));
  for (const pid of pids.values()) expect(processAlive(pid)).toBe(true);
  const stoppedAt = tool.lines.length;

  tool.child.kill('SIGINT');
  const exit = await Promise.race([tool.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), stopMsMax).unref())]);
  expect(exit === 'timeout' ? lastOutput() : exit).toEqual({ code: 0, signal: null });

  for (const [name, pid] of pids) expect(`${name} ${processAlive(pid) ? 'alive' : 'gone'}`).toBe(`${name} gone`);
  const stops = tool.lines
    .slice(stoppedAt)
    .map((line) => /^(\S+)\s+stopped \((.*)\)$/.exec(line))
    .filter((match) => match !== null)
    .map((match) => `${match[1]} ${match[2]}`);
  expect([...stops].sort()).toEqual(processNames.map((name) => `${name} exit code 0`).sort());
  expect(stops[0]).toBe('operator exit code 0');
  expect(stops.at(-1)).toBe('controller exit code 0');
  expect(await accepts(kubePort)).toBe(false);
});
