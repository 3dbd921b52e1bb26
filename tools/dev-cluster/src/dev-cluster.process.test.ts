/**
 * `npm start` as a newcomer uses it to watch a failover: the dev cluster's bundle against a
 * temporary data directory and free ports, a topic with three replicas, its leader's process
 * killed with SIGKILL. The supervisor reports the death and restarts that node alone, the
 * gateway keeps taking writes and reads, the node rejoins the ISR, and Ctrl-C (SIGINT) then
 * stops every process cleanly with exit code 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitUntil, workspaceRoot } from '@starlane/testing';
import { freePortBase } from '@starlane/local-cluster';

jest.setTimeout(300_000);

const root = workspaceRoot();
const supervisorBundle = join(root, 'dist', 'tools', 'dev-cluster', 'main.js');
const cliBin = join(root, 'tools', 'cli', 'bin', 'starlane.mjs');
const topic = 'failover';
/** Longest a single CLI run may take before the test kills it. */
const cliRunMsMax = 30_000;
/** Lines of the supervisor's output kept for the failure message (its own reports are kept apart, all of them). */
const outputLinesMax = 2_000;
/** How long the cluster may take to reach a state the test waits for (shared CPU: generous). */
const stateWaitMs = 90_000;
/** Pause between two looks at the cluster's state (each may run the CLI). */
const probeIntervalMs = 200;

interface Supervised {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The supervisor's own reports, as [process name, text]. */
  readonly reports: { name: string; text: string }[];
  readonly tail: string[];
}

let dataDir: string;
let gateway: string;
let cluster: Supervised | undefined;

/** A report line: a process name padded to 14 columns, then the supervisor's text about it. */
const reportPattern = /^(\S+)\s+((?:started \(pid|exited unexpectedly|serving again|stopped \(|exited \(|stopping the cluster|stopped;).*)$/;

function startSupervisor(portBase: number): Supervised {
  if (!existsSync(supervisorBundle)) throw new Error(`${supervisorBundle} is missing: run \`npx nx build dev-cluster\` first`);
  const child = spawn(process.execPath, [supervisorBundle], {
    env: { ...process.env, STARLANE_DEV_DIR: dataDir, STARLANE_DEV_PORT_BASE: String(portBase) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const reports: Supervised['reports'] = [];
  const tail: string[] = [];
  const keep = (line: string): void => {
    tail.push(line);
    if (tail.length > outputLinesMax) tail.shift();
    const match = reportPattern.exec(line);
    if (match) reports.push({ name: match[1] ?? '', text: match[2] ?? '' });
  };
  createInterface({ input: child.stdout! }).on('line', keep);
  createInterface({ input: child.stderr! }).on('line', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, reports, tail };
}

/** The supervisor's last lines, for a failure message. */
function lastOutput(): string {
  return `last output:\n${cluster?.tail.slice(-60).join('\n')}`;
}

/** The supervisor's exit code or signal once it has exited; undefined while it runs. */
function supervisorExit(): number | NodeJS.Signals | undefined {
  return cluster?.child.exitCode ?? cluster?.child.signalCode ?? undefined;
}

/** Waits until `probe` gives a value (not undefined); a supervisor that exits ends the wait, as everything waited for here needs the cluster. */
async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = stateWaitMs): Promise<T> {
  const outcome = await waitUntil(
    what,
    async () => {
      const exit = supervisorExit();
      if (exit !== undefined) return { exit };
      const value = await probe();
      return value === undefined ? undefined : { value };
    },
    timeoutMs,
    probeIntervalMs,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${lastOutput()}`, { cause: error });
  });
  if ('exit' in outcome) throw new Error(`${what}: the supervisor exited (${outcome.exit})\n${lastOutput()}`);
  return outcome.value;
}

async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms\n${lastOutput()}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function cli(args: readonly string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cliBin, ...args], { env: { ...process.env, STARLANE_GATEWAY: gateway }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(stdin);
  const timer = setTimeout(() => child.kill('SIGKILL'), cliRunMsMax);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

interface PartitionState {
  leader: number;
  leaderEpoch: number;
  isr: number[];
}

async function describePartition(): Promise<PartitionState | undefined> {
  const run = await cli(['topics', 'describe', topic, '--json']);
  if (run.code !== 0) return undefined;
  return (JSON.parse(run.stdout) as { partitions: PartitionState[] }).partitions[0];
}

/**
 * Writes `values` at acks=all, trying again after a failed run as any producer retries a
 * retriable error (during the failover the gateway answers writes to the dead leader with
 * BROKER_NOT_AVAILABLE until the controller moves leadership). Returns the failed runs.
 */
async function produce(values: readonly string[]): Promise<string[]> {
  const failures: string[] = [];
  await until(async () => {
    const run = await cli(['produce', topic, '-p', '0', '--acks', 'all', '-q'], values.map((value) => `${value}\n`).join(''));
    if (run.code === 0) return true;
    failures.push(run.stderr.trim());
    return undefined;
  }, `producing ${values[0]}..${values.at(-1)}`);
  return failures;
}

async function consumeAll(): Promise<string[]> {
  return until(async () => {
    const run = await cli(['consume', topic, '-p', '0', '--from', 'earliest', '-q']);
    return run.code === 0 ? run.stdout.split('\n').filter((line) => line !== '') : undefined;
  }, 'consuming everything');
}

function values(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `value-${from + index}`);
}

/** The pid of `name`'s current process, from the supervisor's `started (pid N...)` reports. */
function currentPid(name: string): number {
  const report = cluster?.reports.filter((candidate) => candidate.name === name && candidate.text.startsWith('started (pid')).at(-1);
  const pid = Number(/pid (\d+)/.exec(report?.text ?? '')?.[1]);
  if (!Number.isInteger(pid)) throw new Error(`no pid reported for ${name}`);
  return pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when `pid` is still one of this test's cluster processes (its command line names the test's data directory). */
function ours(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir);
  } catch {
    return false;
  }
}

const names = ['controller', 'storage-node-1', 'storage-node-2', 'storage-node-3', 'gateway'];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'starlane-dev-cluster-'));
  const portBase = await freePortBase();
  gateway = `127.0.0.1:${portBase}`;
  cluster = startSupervisor(portBase);
  await until(() => (cluster?.tail.some((line) => line.startsWith('Starlane is running')) ? true : undefined), 'the cluster coming up');
});

afterAll(async () => {
  // Whatever a failed test left behind: the supervisor, then every process it reported starting.
  if (cluster !== undefined && cluster.child.exitCode === null && cluster.child.signalCode === null) cluster.child.kill('SIGKILL');
  for (const report of cluster?.reports ?? []) {
    const pid = Number(/started \(pid (\d+)/.exec(report.text)?.[1]);
    if (Number.isInteger(pid) && ours(pid)) process.kill(pid, 'SIGKILL');
  }
  await rm(dataDir, { recursive: true, force: true });
});

it('restarts a SIGKILLed storage node, which rejoins the ISR while the others keep serving, and stops everything cleanly on SIGINT', async () => {
  const created = await cli(['topics', 'create', topic, '-p', '1', '-r', '3', '-c', 'min.insync.replicas=2']);
  expect(created.stderr).toBe('');
  expect(created.code).toBe(0);
  await until(async () => ((await describePartition())?.isr.length === 3 ? true : undefined), 'the topic with three in-sync replicas');
  const acknowledged = values(0, 100);
  await produce(acknowledged);
  const before = await until(describePartition, 'the partition described');
  const victim = `storage-node-${before.leader}`;
  const victimPid = currentPid(victim);
  expect(readFileSync(`/proc/${victimPid}/cmdline`, 'utf8')).toContain(`--node-id=${before.leader}`);
  const othersBefore = new Map(names.filter((name) => name !== victim).map((name) => [name, currentPid(name)]));

  process.kill(victimPid, 'SIGKILL');

  // The supervisor says which process died and how, and starts it again.
  const death = await until(() => cluster?.reports.find((report) => report.name === victim && report.text.startsWith('exited unexpectedly')), 'the death reported');
  expect(death.text).toMatch(/^exited unexpectedly \(signal SIGKILL\) after [\d.]+ s; restarting in 1 s$/);
  // Meanwhile the gateway keeps taking writes (once leadership has moved) and serving reads.
  const during = values(100, 100);
  await produce(during);
  acknowledged.push(...during);
  await until(() => cluster?.reports.find((report) => report.name === victim && report.text === 'serving again (restart 1)'), 'the restarted node serving');
  const restartedPid = currentPid(victim);
  expect(restartedPid).not.toBe(victimPid);
  expect(alive(victimPid)).toBe(false);

  // Leadership moved away from the killed leader, and the restarted node is back in the ISR.
  const after = await until(async () => {
    const state = await describePartition();
    return state !== undefined && [...state.isr].sort().join(',') === '1,2,3' && state.leaderEpoch > before.leaderEpoch ? state : undefined;
  }, 'the ISR back to three replicas after a leader election');
  expect(after.leader).toBeGreaterThan(0);

  const afterwards = values(200, 100);
  expect(await produce(afterwards)).toEqual([]);
  acknowledged.push(...afterwards);
  const stored = await consumeAll();
  expect(new Set(stored)).toEqual(new Set(acknowledged));

  // Only the killed process died: no other was reported or started again, all still run.
  expect(cluster!.reports.filter((report) => report.text.startsWith('exited'))).toHaveLength(1);
  for (const [name, pid] of othersBefore) {
    expect(currentPid(name)).toBe(pid);
    expect(alive(pid)).toBe(true);
  }

  // Ctrl-C: every process stops cleanly and the supervisor exits 0.
  const finalPids = names.map(currentPid);
  cluster!.child.kill('SIGINT');
  const exit = await within(cluster!.exited, 60_000, 'the supervisor exiting');
  expect(exit).toEqual({ code: 0, signal: null });
  expect(cluster!.reports.filter((report) => report.text.startsWith('stopped (')).map((report) => `${report.name} ${report.text}`).sort()).toEqual(
    names.map((name) => `${name} stopped (exit code 0)`).sort(),
  );
  for (const pid of finalPids) expect(alive(pid)).toBe(false);
});
