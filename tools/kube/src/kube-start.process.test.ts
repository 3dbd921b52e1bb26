/**
 * `npm run kube` when it cannot finish starting: a Kubernetes API port already in use is a
 * configuration error (exit 2, naming STARLANE_KUBE_PORT, nothing started), and a Ctrl-C while
 * the cluster is still starting stops every process already started, leaving none behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePortBase, processAlive } from '@starlane/local-cluster';
import { freePort, waitUntil, workspaceRoot } from '@starlane/testing';
import { readyLine } from './banner';

jest.setTimeout(180_000);

const toolBundle = join(workspaceRoot(), 'dist', 'tools', 'kube', 'main.js');
/** How long the tool may take to reach a state the test waits for (shared CPU: generous). */
const stateWaitMs = 90_000;

interface Run {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly lines: string[];
}

let workDir: string;

function run(env: Record<string, string>): Run {
  if (!existsSync(toolBundle)) throw new Error(`${toolBundle} is missing: run \`npx nx build kube\` first`);
  const child = spawn(process.execPath, [toolBundle], { cwd: workDir, env: { ...process.env, STARLANE_DEV_DIR: join(workDir, 'data'), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, lines };
}

function startedPids(lines: readonly string[]): number[] {
  return lines.map((line) => Number(/^\S+\s+started \(pid (\d+)/.exec(line)?.[1])).filter((pid) => Number.isInteger(pid));
}


let runs: Run[] = [];

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'starlane-kube-start-'));
  runs = [];
});

afterEach(async () => {
  for (const { child, lines } of runs) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const pid of startedPids(lines)) {
      if (processAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(workDir)) process.kill(pid, 'SIGKILL');
    }
  }
  await rm(workDir, { recursive: true, force: true });
});

it('exits 2 naming STARLANE_KUBE_PORT when the Kubernetes API port is in use, having started nothing', async () => {
  const taken: Server = createServer();
  const port = await freePort();
  await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
  try {
    const tool = run({ STARLANE_KUBE_PORT: String(port), STARLANE_DEV_PORT_BASE: String(await freePortBase({ operator: true })) });
    runs.push(tool);
    expect(await tool.exited).toEqual({ code: 2, signal: null });
    expect(tool.lines).toContain(`kube: port ${port} is in use: set STARLANE_KUBE_PORT to another port (0: any free one)`);
    expect(startedPids(tool.lines)).toEqual([]);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});

it('stops every process already started when Ctrl-C comes before the cluster is up, and exits 1', async () => {
  // Port 0: the API anywhere free.
  const tool = run({ STARLANE_KUBE_PORT: '0', STARLANE_DEV_PORT_BASE: String(await freePortBase({ operator: true })) });
  runs.push(tool);
  await waitUntil('every cluster process started', () => startedPids(tool.lines).length === 5, stateWaitMs);
  // A paused controller keeps the cluster from coming up (no storage node can register), so the
  // stop surely comes while it is starting; it runs on again once the stop has begun.
  const controllerPid = startedPids(tool.lines.filter((line) => line.startsWith('controller ')))[0] ?? 0;
  process.kill(controllerPid, 'SIGSTOP');
  const pids = startedPids(tool.lines);

  tool.child.kill('SIGINT');
  await waitUntil('the stop begun', () => tool.lines.some((line) => line.startsWith('kube') && line.includes('stopping:')), stateWaitMs);
  process.kill(controllerPid, 'SIGCONT');
  expect(await tool.exited).toEqual({ code: 1, signal: null });
  for (const pid of pids) expect(processAlive(pid)).toBe(false);
  // The operator never started: the cluster was not up.
  expect(tool.lines.some((line) => /^operator\s+started/.test(line))).toBe(false);
  expect(tool.lines.includes(readyLine)).toBe(false);
});
