/**
 * Runs a real single-member etcd (`/usr/bin/etcd`, or STARLANE_ETCD_BINARY) on 127.0.0.1 with
 * client and peer ports chosen free at run time, for tests and local clusters that keep
 * metadata in etcd.
 *
 * The member runs with a 10 ms heartbeat and a 100 ms election timeout: with a single member
 * these only matter for etcd's minimum lease TTL (1.5 election timeouts, rounded up to whole
 * seconds), which drops from 2 s to 1 s, so failover tests can use 1 s controller leases.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Etcd3 } from 'etcd3';
import { freePort } from './ports';
import { stderrBytesMax, type ExitStatus } from './process';

/** The etcd binary: Debian's `etcd-server` package installs it here. */
export const etcdBinaryVariable = 'STARLANE_ETCD_BINARY';
const etcdBinaryDefault = '/usr/bin/etcd';
/** How long to wait between readiness probes while etcd starts. */
const readyProbeIntervalMs = 50;

export interface EtcdOptions {
  /** Data directory; default a fresh temporary directory, removed by stop() and kill(). */
  readonly dataDir?: string;
  /** Ports to listen on (e.g. to restart on the same ones); default free ports. */
  readonly clientPort?: number;
  readonly peerPort?: number;
  /** How long to wait until etcd answers; default 15 s. */
  readonly readyTimeoutMs?: number;
}

export interface EtcdProcess {
  /** The client endpoint, host:port. */
  readonly endpoint: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly child: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  /** The tail of etcd's log (it logs JSON lines to stderr). */
  stderrText(): string;
  /** SIGTERM, waits for the exit, and removes a temporary data directory. */
  stop(): Promise<ExitStatus>;
  /** SIGKILL (a crash), waits for the exit, and removes a temporary data directory. */
  kill(): Promise<ExitStatus>;
  /** SIGSTOP: etcd stops answering (a hung or partitioned etcd) until resume(). */
  pause(): void;
  resume(): void;
}

/** Starts etcd and resolves once it answers a read. */
export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdProcess> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'starlane-etcd-')));
  const clientPort = options.clientPort ?? (await freePort());
  const peerPort = options.peerPort ?? (await freePort());
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    process.env[etcdBinaryVariable] ?? etcdBinaryDefault,
    [
      '--name=starlane-test',
      `--data-dir=${join(dataDir, 'member-data')}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=starlane-test=${peerUrl}`,
      '--initial-cluster-state=new',
      '--heartbeat-interval=10',
      '--election-timeout=100',
      '--logger=zap',
      '--log-outputs=stderr',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // An etcd must not outlive the process that started it, however that process ends.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  let stderr = '';
  let serving: () => void = () => undefined;
  const servingLine = new Promise<void>((resolve) => (serving = resolve));
  if (child.stderr) {
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr = (stderr + line + '\n').slice(-stderrBytesMax);
      // etcd 3.4 and 3.5 say one of these once the client listener serves.
      if (line.includes('serving client traffic') || line.includes('serving insecure client requests') || line.includes('ready to serve client requests')) serving();
    });
  }
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('error', (error) => {
      stderr += `${String(error)}\n`;
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  void exited.then(() => process.off('exit', killOnExit));

  const end = async (signal: NodeJS.Signals): Promise<ExitStatus> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill(signal);
    }
    const status = await exited;
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    return status;
  };
  const etcd: EtcdProcess = {
    endpoint: `127.0.0.1:${clientPort}`,
    clientPort,
    peerPort,
    dataDir,
    child,
    exited,
    stderrText: () => stderr,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
  };

  const timeoutMs = options.readyTimeoutMs ?? 15_000;
  try {
    await untilAnswering(etcd, servingLine, timeoutMs);
  } catch (error) {
    await etcd.kill();
    throw error;
  }
  return etcd;
}

/** Waits for etcd's serving log line, then for a read to succeed (or exit, or the timeout). */
async function untilAnswering(etcd: EtcdProcess, servingLine: Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`etcd did not answer within ${timeoutMs} ms\n${etcd.stderrText()}`)), timeoutMs);
    void etcd.exited.then((status) => reject(new Error(`etcd exited (${status.code ?? status.signal}) before it answered\n${etcd.stderrText()}`)));
  });
  failed.catch(() => undefined);
  const client = new Etcd3({ hosts: etcd.endpoint, dialTimeout: 1000 });
  try {
    await Promise.race([servingLine, failed]);
    for (;;) {
      try {
        await Promise.race([client.get('starlane-readiness-probe').options({ deadline: Math.min(deadline, Date.now() + 1000) }).exec(), failed]);
        return;
      } catch (error) {
        if (Date.now() >= deadline || etcd.child.exitCode !== null) throw error;
        await Promise.race([new Promise((resolve) => setTimeout(resolve, readyProbeIntervalMs)), failed]);
      }
    }
  } finally {
    clearTimeout(timer);
    client.close();
  }
}
