/**
 * The supervisor's Launcher over node:child_process: runs an app's bundle with the settings
 * the launcher gives processes that share one machine, forwards its output line by line, and
 * tells the supervisor when it logs its ready event (ProcessSpec.readyEvent) and when it exits.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { allocatorEnvironment, colocatedNodeFlags } from '@starlane/launcher';
import type { ProcessSpec } from './layout';
import type { ChildEvents, ChildHandle, Launcher } from './supervisor';

export interface NodeLauncherOptions {
  /** The workspace root: bundles are at dist/apps/<app>/main.js under it. */
  readonly root: string;
  /** The environment of every process (the dev cluster's own variables removed). */
  readonly environment: NodeJS.ProcessEnv;
  /** Prints one line of a process's output (stdout or stderr). */
  readonly print: (name: string, line: string) => void;
}

export function bundlePath(root: string, app: string): string {
  return join(root, 'dist', 'apps', app, 'main.js');
}

export function nodeLauncher(options: NodeLauncherOptions): Launcher {
  const environment = { ...options.environment, ...allocatorEnvironment(options.environment) };
  return {
    launch(spec: ProcessSpec, events: ChildEvents): ChildHandle {
      // Each process in its own process group: Ctrl-C reaches only the supervisor, which then
      // stops every process in order, exactly once.
      const child = spawn(process.execPath, [...colocatedNodeFlags, bundlePath(options.root, spec.app), ...spec.args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        env: environment,
      });
      let exited = false;
      let ready = false;
      const exit = (status: { code: number | null; signal: NodeJS.Signals | null }): void => {
        if (exited) return;
        exited = true;
        events.exited(status);
      };
      createInterface({ input: child.stdout }).on('line', (line) => {
        options.print(spec.name, line);
        if (!ready && logEvent(line) === spec.readyEvent) {
          ready = true;
          events.ready();
        }
      });
      createInterface({ input: child.stderr }).on('line', (line) => options.print(spec.name, line));
      child.once('exit', (code, signal) => exit({ code, signal }));
      // Spawning itself failed (no 'exit' follows): report it as an exit without a status.
      child.once('error', (error) => {
        if (child.pid !== undefined) return;
        options.print(spec.name, `could not be started: ${error.message}`);
        exit({ code: null, signal: null });
      });
      return {
        pid: child.pid,
        signal(signal) {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        },
      };
    },
  };
}

/** The `event` field of a JSON log line (docs/operations.md, "Logs"), if it has one. */
function logEvent(line: string): string | undefined {
  if (!line.includes('"event"')) return undefined;
  try {
    const event = (JSON.parse(line) as { event?: unknown }).event;
    return typeof event === 'string' ? event : undefined;
  } catch {
    return undefined;
  }
}
