import { ManualClock, ManualScheduler, settle } from '@starlane/testing';
import { devClusterLayout } from './layout';
import { restartBackoffMsMax, restartBackoffMsMin } from './restart-backoff';
import { stopDeadlineMs, Supervisor, type ChildEvents, type ChildHandle, type ExitStatus, type Launcher, type SupervisorEvent } from './supervisor';

/** A process that does only what the test says: it becomes ready, exits, and records the signals it was sent. */
class FakeChild implements ChildHandle {
  readonly signals: NodeJS.Signals[] = [];
  exited = false;
  constructor(
    readonly name: string,
    readonly pid: number,
    private readonly events: ChildEvents,
  ) {}
  signal(signal: NodeJS.Signals): void {
    if (!this.exited) this.signals.push(signal);
  }
  becomeReady(): void {
    this.events.ready();
  }
  exit(status: ExitStatus): void {
    this.exited = true;
    this.events.exited(status);
  }
}

class FakeLauncher implements Launcher {
  readonly launched: FakeChild[] = [];
  private nextPid = 1000;
  launch(spec: { name: string }, events: ChildEvents): ChildHandle {
    const child = new FakeChild(spec.name, this.nextPid++, events);
    this.launched.push(child);
    return child;
  }
  /** The latest process launched under `name`. */
  latest(name: string): FakeChild {
    const child = this.launched.filter((candidate) => candidate.name === name).at(-1);
    if (child === undefined) throw new Error(`${name} was never launched`);
    return child;
  }
  running(): FakeChild[] {
    return this.launched.filter((child) => !child.exited);
  }
}

const killed: ExitStatus = { code: null, signal: 'SIGKILL' };
const clean: ExitStatus = { code: 0, signal: null };

function harness() {
  const clock = new ManualClock();
  const scheduler = new ManualScheduler(clock);
  const launcher = new FakeLauncher();
  const events: SupervisorEvent[] = [];
  const supervisor = new Supervisor({
    processes: devClusterLayout({ portBase: 9090, dataRoot: '/data' }).processes,
    launcher,
    clock,
    scheduler,
    report: (event) => events.push(event),
  });
  let exitCode: number | undefined;
  void supervisor.done.then((code) => (exitCode = code));
  const started = (): void => {
    supervisor.start();
    for (const child of launcher.launched) child.becomeReady();
  };
  return { clock, scheduler, launcher, events, supervisor, started, exitCode: () => exitCode };
}

/** Answers every SIGTERM the fakes received with a clean exit, as the real processes do. */
function exitOnSigterm(launcher: FakeLauncher): void {
  for (const child of launcher.running()) if (child.signals.includes('SIGTERM')) child.exit(clean);
}

describe('Supervisor', () => {
  it('restarts a process that exits while the cluster runs, after the back-off, and leaves the others alone', async () => {
    const { scheduler, launcher, events, started } = harness();
    started();
    expect(events.some((event) => event.kind === 'cluster-ready')).toBe(true);
    const victim = launcher.latest('storage-node-2');
    await scheduler.advance(5_000);
    victim.exit(killed);

    expect(events.at(-1)).toMatchObject({ kind: 'exited', name: 'storage-node-2', status: killed, uptimeMs: 5_000, restart: { delayMs: restartBackoffMsMin, failuresInARow: 1 } });
    await scheduler.advance(restartBackoffMsMin - 1);
    expect(launcher.latest('storage-node-2')).toBe(victim);
    await scheduler.advance(1);
    const replacement = launcher.latest('storage-node-2');
    expect(replacement).not.toBe(victim);
    expect(events.at(-1)).toEqual({ kind: 'started', name: 'storage-node-2', pid: replacement.pid, restarts: 1 });
    replacement.becomeReady();
    expect(events.at(-1)).toEqual({ kind: 'ready', name: 'storage-node-2', restarts: 1 });
    // Nobody else was signalled or started again.
    expect(launcher.launched).toHaveLength(6);
    for (const child of launcher.launched) expect(child.signals).toEqual([]);
  });

  it('backs off a crash-looping process up to the ceiling and keeps retrying it', async () => {
    const { scheduler, launcher, events, started } = harness();
    started();
    const delays: number[] = [];
    for (let failure = 0; failure < 8; failure++) {
      launcher.latest('gateway').exit({ code: 1, signal: null });
      const event = events.at(-1);
      if (event?.kind !== 'exited') throw new Error(`expected an exit report, got ${JSON.stringify(event)}`);
      delays.push(event.restart.delayMs);
      await scheduler.advance(event.restart.delayMs);
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(events.filter((event) => event.kind === 'exited' && event.restart.crashLooping)).toHaveLength(3);
    expect(launcher.latest('gateway').exited).toBe(false);
    expect(delays.at(-1)).toBe(restartBackoffMsMax);
  });

  it('stops in order on a stop request: gateway and storage nodes first, the controller once they are gone, exit 0 when all stop cleanly', async () => {
    const { launcher, events, supervisor, started, exitCode } = harness();
    started();
    supervisor.stop();
    const controller = launcher.latest('controller');
    expect(controller.signals).toEqual([]);
    for (const child of launcher.running()) if (child !== controller) expect(child.signals).toEqual(['SIGTERM']);

    exitOnSigterm(launcher);
    expect(controller.signals).toEqual(['SIGTERM']);
    controller.exit(clean);
    await settle();
    expect(exitCode()).toBe(0);
    expect(events.filter((event) => event.kind === 'stopped').map((event) => event.kind === 'stopped' && event.clean)).toEqual([true, true, true, true, true]);
    expect(events.at(-1)).toEqual({ kind: 'done', exitCode: 0 });
  });

  it('does not restart a process waiting for its restart once a stop is requested', async () => {
    const { scheduler, launcher, supervisor, started, exitCode } = harness();
    started();
    launcher.latest('storage-node-1').exit(killed);
    supervisor.stop();
    exitOnSigterm(launcher);
    launcher.latest('controller').exit(clean);
    await scheduler.advance(restartBackoffMsMax);
    await settle();
    expect(launcher.launched).toHaveLength(5);
    expect(exitCode()).toBe(0);
  });

  it('exits 1 when a process does not stop cleanly', async () => {
    const { launcher, supervisor, started, exitCode } = harness();
    started();
    supervisor.stop();
    launcher.latest('storage-node-3').exit({ code: 1, signal: null });
    exitOnSigterm(launcher);
    launcher.latest('controller').exit(clean);
    await settle();
    expect(exitCode()).toBe(1);
  });

  it('stops the cluster and exits 1 when a process exits before the cluster is up', async () => {
    const { launcher, events, supervisor, exitCode } = harness();
    supervisor.start();
    launcher.latest('controller').becomeReady();
    launcher.latest('gateway').exit({ code: 1, signal: null });
    expect(events).toContainEqual({ kind: 'start-failed', name: 'gateway', status: { code: 1, signal: null } });
    exitOnSigterm(launcher);
    launcher.latest('controller').exit(clean);
    await settle();
    expect(exitCode()).toBe(1);
    expect(launcher.launched).toHaveLength(5);
  });

  it('kills what is left when the stop outlasts its deadline, and at a second stop request', async () => {
    const slow = harness();
    slow.started();
    slow.supervisor.stop();
    await slow.scheduler.advance(stopDeadlineMs);
    expect(slow.events).toContainEqual({ kind: 'killed', names: ['controller', 'storage-node-1', 'storage-node-2', 'storage-node-3', 'gateway'], reason: 'deadline' });
    for (const child of slow.launcher.running()) child.exit(killed);
    await settle();
    expect(slow.exitCode()).toBe(1);

    const impatient = harness();
    impatient.started();
    impatient.supervisor.stop();
    impatient.supervisor.stop();
    for (const child of impatient.launcher.launched) expect(child.signals.at(-1)).toBe('SIGKILL');
    expect(impatient.events.at(-1)).toMatchObject({ kind: 'killed', reason: 'second-stop' });
  });
});
