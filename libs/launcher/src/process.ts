/**
 * Runs a Starlane app as a real child process and follows its JSON log lines, so tests wait
 * on what the process says (its `ready` event, its exit), never on sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How many log lines a test keeps per process; older lines are dropped. */
export const logLinesMax = 2000;
/** How much of a process's stderr a test keeps (the tail). */
export const stderrBytesMax = 64 * 1024;

export interface ReadyEvent {
  readonly grpcAddress: string;
  readonly metricsAddress: string;
  readonly services: readonly string[];
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface AppProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves on the `ready` log event; rejects if the process exits first. */
  readonly ready: Promise<ReadyEvent>;
  readonly exited: Promise<ExitStatus>;
  stdoutLines(): readonly string[];
  stderrText(): string;
  /** Sends `signal` and waits for exit, killing with SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitStatus & { elapsedMs: number }>;
}

const live = new Set<AppProcess>();

/** Kills every process still running; call from afterAll so a failed test leaks nothing. */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((app) => app.stop('SIGKILL', 5000)));
}

export function startApp(options: {
  name: string;
  command: string;
  args: readonly string[];
  env?: Record<string, string>;
  cwd?: string;
  readyTimeoutMs?: number;
}): AppProcess {
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-stderrBytesMax);
  });

  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  const ready = new Promise<ReadyEvent>((resolve, reject) => {
    const timeoutMs = options.readyTimeoutMs ?? 15_000;
    const timer = setTimeout(() => reject(new Error(`${options.name} was not ready within ${timeoutMs} ms\nstderr:\n${stderr}`)), timeoutMs);
    void exited.then((status) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${status.code ?? status.signal}) before it was ready\nstderr:\n${stderr}`));
    });
    if (!child.stdout) return;
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (lines.length > logLinesMax) lines.shift();
      let event: { event?: string } & Partial<ReadyEvent>;
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        return;
      }
      if (event.event === 'ready' && event.grpcAddress && event.metricsAddress) {
        clearTimeout(timer);
        resolve({ grpcAddress: event.grpcAddress, metricsAddress: event.metricsAddress, services: event.services ?? [] });
      }
    });
  });
  // A test that only awaits `exited` must not see an unhandled rejection from `ready`.
  ready.catch(() => undefined);

  const app: AppProcess = {
    name: options.name,
    child,
    ready,
    exited,
    stdoutLines: () => lines,
    stderrText: () => stderr,
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      const startedAt = performance.now();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      live.delete(app);
      return { ...(await exited), elapsedMs: performance.now() - startedAt };
    },
  };
  live.add(app);
  void exited.then(() => live.delete(app));
  return app;
}
