/**
 * Keeps the local cluster's processes running, as a process supervisor does (systemd with
 * `Restart=always`, Kubernetes with `restartPolicy: Always`): a process that exits while the
 * cluster runs is reported and started again after a back-off (RestartBackoff), the others
 * serve on, and a stop request stops everything in order.
 *
 * Sans I/O: processes are started through an injected Launcher and time comes from an
 * injected clock and scheduler, so the rules below are tested with fake processes and
 * manual time; main.ts wires it to node:child_process and real timers.
 *
 * - Starting: every process is launched at once; the cluster is up when each has logged its
 *   ready event (for storage nodes: active at the controller). A process that exits before then is a set-up problem (a port in use, a data
 *   directory that cannot be written, a stale build) that restarting would only repeat: the
 *   cluster is stopped and the supervisor exits 1, as it did before it restarted anything.
 * - Running: a process that exits, however (kill -9, kill, a crash, exit 0), is restarted
 *   with the same arguments, so the same ports and data directory.
 * - Stopping (the first SIGINT or SIGTERM): pending restarts are cancelled; the gateway and
 *   storage nodes get SIGTERM first (storage nodes hand their leaderships back to the
 *   controller as they stop, which needs it running), the controller once they are gone.
 *   The exit code is 0 when every process stopped cleanly, else 1. A process still running
 *   stopDeadlineMs after the stop began is killed (SIGKILL); so is every process at a second
 *   stop request.
 */
import type { Clock, Scheduler } from '@starlane/io-ports';
import type { ProcessSpec } from './layout';
import { RestartBackoff, type RestartDecision } from './restart-backoff';

/**
 * How long a stop may take before what is left is killed. Each process bounds its own stop
 * (its shutdown grace, 3 s by default, plus 1 s; docs/operations.md, "Exit codes") and the
 * controller stops after the others, so a clean stop takes under 10 s.
 */
export const stopDeadlineMs = 20_000;

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A launched process, as the supervisor sees it. */
export interface ChildHandle {
  /** The process id; undefined if the process could not be spawned (its exit follows). */
  readonly pid: number | undefined;
  /** Sends `signal`; does nothing once the process has exited. */
  signal(signal: NodeJS.Signals): void;
}

/** What a launched process tells the supervisor; each is called at most once. */
export interface ChildEvents {
  /** The process logged its ready event (ProcessSpec.readyEvent): it does its part. */
  ready(): void;
  exited(status: ExitStatus): void;
}

/** Starts a process: node:child_process in main.ts, a fake in tests. */
export interface Launcher {
  launch(spec: ProcessSpec, events: ChildEvents): ChildHandle;
}

export type SupervisorEvent =
  | { readonly kind: 'started'; readonly name: string; readonly pid: number | undefined; readonly restarts: number }
  | { readonly kind: 'ready'; readonly name: string; readonly restarts: number }
  | { readonly kind: 'cluster-ready' }
  /** A process exited while the cluster was running; `restart` says when it starts again. */
  | { readonly kind: 'exited'; readonly name: string; readonly status: ExitStatus; readonly uptimeMs: number; readonly restart: RestartDecision }
  /** A process exited before the cluster was first up; the cluster stops. */
  | { readonly kind: 'start-failed'; readonly name: string; readonly status: ExitStatus }
  | { readonly kind: 'stopping'; readonly running: readonly string[] }
  /** A process exited during the stop. */
  | { readonly kind: 'stopped'; readonly name: string; readonly status: ExitStatus; readonly clean: boolean }
  /** Processes killed with SIGKILL: the stop deadline passed, or a second stop request came. */
  | { readonly kind: 'killed'; readonly names: readonly string[]; readonly reason: 'deadline' | 'second-stop' }
  | { readonly kind: 'done'; readonly exitCode: 0 | 1 };

export interface SupervisorOptions {
  /** In start order; names are unique. */
  readonly processes: readonly ProcessSpec[];
  readonly launcher: Launcher;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly report: (event: SupervisorEvent) => void;
}

interface Member {
  readonly spec: ProcessSpec;
  readonly backoff: RestartBackoff;
  child: ChildHandle | undefined;
  startedAtMs: number;
  /** Restarts so far (0 for the first run). */
  restarts: number;
  cancelRestart: (() => void) | undefined;
}

type Phase = 'starting' | 'running' | 'stopping' | 'done';

export class Supervisor {
  private readonly members: Member[];
  private phase: Phase = 'starting';
  private readonly ready = new Set<string>();
  private exitCode: 0 | 1 = 0;
  private cancelDeadline: (() => void) | undefined;
  private controllerSignalled = false;
  private resolveDone: (exitCode: 0 | 1) => void = () => undefined;
  /** Resolves with the exit code once every process has exited after a stop. */
  readonly done: Promise<0 | 1> = new Promise((resolve) => (this.resolveDone = resolve));

  constructor(private readonly options: SupervisorOptions) {
    this.members = options.processes.map((spec) => ({ spec, backoff: new RestartBackoff(), child: undefined, startedAtMs: 0, restarts: 0, cancelRestart: undefined }));
  }

  start(): void {
    for (const member of this.members) this.launch(member);
  }

  /** The first call stops the cluster in order; a later one kills what is still running. */
  stop(): void {
    if (this.phase === 'done') return;
    if (this.phase === 'stopping') {
      this.killRunning('second-stop');
      return;
    }
    this.phase = 'stopping';
    for (const member of this.members) {
      member.cancelRestart?.();
      member.cancelRestart = undefined;
    }
    this.options.report({ kind: 'stopping', running: this.running().map((member) => member.spec.name) });
    this.cancelDeadline = this.options.scheduler.schedule(stopDeadlineMs, () => this.killRunning('deadline'));
    for (const member of this.running()) if (member.spec.app !== 'controller') member.child?.signal('SIGTERM');
    this.continueStop();
  }

  private launch(member: Member): void {
    member.startedAtMs = this.options.clock.nowMs();
    const child: ChildHandle = this.options.launcher.launch(member.spec, {
      ready: () => {
        if (member.child === child) this.onReady(member);
      },
      exited: (status) => {
        if (member.child === child) this.onExit(member, status);
      },
    });
    member.child = child;
    this.options.report({ kind: 'started', name: member.spec.name, pid: child.pid, restarts: member.restarts });
  }

  private onReady(member: Member): void {
    this.options.report({ kind: 'ready', name: member.spec.name, restarts: member.restarts });
    if (this.phase !== 'starting') return;
    this.ready.add(member.spec.name);
    if (this.ready.size < this.members.length) return;
    this.phase = 'running';
    this.options.report({ kind: 'cluster-ready' });
  }

  private onExit(member: Member, status: ExitStatus): void {
    member.child = undefined;
    const name = member.spec.name;
    switch (this.phase) {
      case 'starting':
        this.options.report({ kind: 'start-failed', name, status });
        this.exitCode = 1;
        this.stop();
        return;
      case 'running': {
        const uptimeMs = this.options.clock.nowMs() - member.startedAtMs;
        const restart = member.backoff.onExit(uptimeMs);
        this.options.report({ kind: 'exited', name, status, uptimeMs, restart });
        member.cancelRestart = this.options.scheduler.schedule(restart.delayMs, () => {
          member.cancelRestart = undefined;
          member.restarts += 1;
          this.launch(member);
        });
        return;
      }
      case 'stopping': {
        // A process still loading its code when SIGTERM came ends by the signal itself, before
        // anything started: stopped as asked.
        const clean = status.code === 0 || status.signal === 'SIGTERM';
        if (!clean) this.exitCode = 1;
        this.options.report({ kind: 'stopped', name, status, clean });
        this.continueStop();
        return;
      }
      case 'done':
        return;
    }
  }

  /** Signals the controller once the others are gone; finishes once it is gone too. */
  private continueStop(): void {
    const running = this.running();
    if (running.some((member) => member.spec.app !== 'controller')) return;
    if (running.length > 0) {
      if (!this.controllerSignalled) for (const member of running) member.child?.signal('SIGTERM');
      this.controllerSignalled = true;
      return;
    }
    this.cancelDeadline?.();
    this.phase = 'done';
    this.options.report({ kind: 'done', exitCode: this.exitCode });
    this.resolveDone(this.exitCode);
  }

  private killRunning(reason: 'deadline' | 'second-stop'): void {
    const running = this.running();
    if (running.length === 0) return;
    this.exitCode = 1;
    this.options.report({ kind: 'killed', names: running.map((member) => member.spec.name), reason });
    for (const member of running) member.child?.signal('SIGKILL');
  }

  private running(): Member[] {
    return this.members.filter((member) => member.child !== undefined);
  }
}
