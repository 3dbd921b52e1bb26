/**
 * The contract every Starlane app process keeps, as a Jest suite each app runs against its own
 * built bundle: it serves health, reflection and metrics; it stops cleanly on SIGTERM; and it
 * refuses bad configuration with one line and a non-zero exit.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { healthStatus, reflectionServices, watchHealth } from './grpc-probes';
import { appBundle, killAll, startApp, type AppProcess } from '@starlane/launcher';

/** Graceful stop must finish within this, so Kubernetes' default 30 s grace is never near. */
export const stopDeadlineMs = 5000;

export interface AppContractSpec {
  /** App name: the folder under apps/ and the prefix of its error lines. */
  readonly app: string;
  /** Services reflection must list, besides grpc.health.v1.Health. */
  readonly services: readonly string[];
  /** Flag naming the app's data directory, if it has one. */
  readonly dataDirFlag?: string;
  /**
   * Whether the app is ready on its own. One that needs a cluster first (the gateway: cluster
   * metadata) must still listen and stop cleanly alone, but report NOT_SERVING and `/readyz`
   * 503 until it has what it needs. Default true.
   */
  readonly readyAlone?: boolean;
}

export function launchApp(app: string, args: readonly string[]): AppProcess {
  return startApp({ name: app, command: process.execPath, args: [appBundle(app), '--grpc-port=0', '--metrics-port=0', ...args] });
}

export function describeAppContract(spec: AppContractSpec): void {
  const aloneStatus = spec.readyAlone === false ? 'NOT_SERVING' : 'SERVING';
  describe(`${spec.app} process`, () => {
    let scratch: string;
    beforeAll(() => {
      scratch = mkdtempSync(join(tmpdir(), `starlane-${spec.app}-`));
    });
    afterAll(async () => {
      await killAll();
      rmSync(scratch, { recursive: true, force: true });
    });
    const dataArgs = (name: string): string[] => (spec.dataDirFlag ? [`${spec.dataDirFlag}=${join(scratch, name)}`] : []);

    it(`serves health, reflection and /metrics, and exits 0 within ${stopDeadlineMs} ms of SIGTERM`, async () => {
      const app = launchApp(spec.app, dataArgs('serve'));
      const ready = await app.ready;

      await expect(healthStatus(ready.grpcAddress)).resolves.toBe(aloneStatus);
      for (const service of spec.services) await expect(healthStatus(ready.grpcAddress, service)).resolves.toBe(aloneStatus);
      expect((await fetch(`http://${ready.metricsAddress}/readyz`)).status).toBe(aloneStatus === 'SERVING' ? 200 : 503);
      await expect(reflectionServices(ready.grpcAddress)).resolves.toEqual([...spec.services, 'grpc.health.v1.Health'].sort());

      const metrics = await fetch(`http://${ready.metricsAddress}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await metrics.text();
      expect(text).toMatch(/^# TYPE process_cpu_user_seconds_total counter$/m);
      expect(text).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
      expect(text).toMatch(new RegExp(`^starlane_build_info\\{service="${spec.app}",version="[^"]+"\\} 1$`, 'm'));

      const stopped = await app.stop('SIGTERM');
      expect({ code: stopped.code, signal: stopped.signal }).toEqual({ code: 0, signal: null });
      expect(stopped.elapsedMs).toBeLessThan(stopDeadlineMs);
      const events = app.stdoutLines().map((line) => (JSON.parse(line) as { event?: string }).event);
      expect(events).toEqual(expect.arrayContaining(['ready', 'stopping', 'stopped']));
    });

    it(`exits 0 within ${stopDeadlineMs} ms of SIGTERM while a client holds a stream open`, async () => {
      const app = launchApp(spec.app, dataArgs('stream'));
      const ready = await app.ready;
      const watch = watchHealth(ready.grpcAddress);
      await expect(watch.first).resolves.toBe(aloneStatus);
      const stopped = await app.stop('SIGTERM');
      expect({ code: stopped.code, signal: stopped.signal }).toEqual({ code: 0, signal: null });
      expect(stopped.elapsedMs).toBeLessThan(stopDeadlineMs);
      await watch.ended;
      // Watchers hear the server go NOT_SERVING before the stream is cut.
      if (aloneStatus === 'SERVING') expect(watch.statuses).toEqual(['SERVING', 'NOT_SERVING']);
      else expect([...new Set(watch.statuses)]).toEqual(['NOT_SERVING']);
    });

    it(`exits within ${stopDeadlineMs} ms of SIGTERM after whatever read its logs has gone`, async () => {
      // A parent that starts the app with piped output, never reads it and is then SIGKILLed
      // leaves the app writing into a dead socket with unread data in it (ECONNRESET, EPIPE);
      // its stop must not hang on flushing logs nobody will read.
      const script = [
        "const { spawn } = require('node:child_process');",
        `const child = spawn(process.execPath, ${JSON.stringify([appBundle(spec.app), '--grpc-port=0', '--metrics-port=0', ...dataArgs('orphan')])}, { stdio: ['ignore', 'pipe', 'pipe'] });`,
        "process.stdout.write(child.pid + '\\n');",
        "setTimeout(() => process.kill(process.pid, 'SIGKILL'), 1500);",
      ].join('\n');
      const parent = startApp({ name: `${spec.app}-parent`, command: process.execPath, args: ['-e', script] });
      const lines = await new Promise<readonly string[]>((resolve) => void parent.exited.then(() => resolve(parent.stdoutLines())));
      const pid = Number(lines[0]);
      expect(pid).toBeGreaterThan(0);
      const alive = (): boolean => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      expect(alive()).toBe(true);
      process.kill(pid, 'SIGTERM');
      const startedAt = performance.now();
      // Not our child, so no exit event: check its liveness until the deadline.
      while (alive() && performance.now() - startedAt < stopDeadlineMs) await new Promise((resolve) => setTimeout(resolve, 50));
      const stillAlive = alive();
      if (stillAlive) process.kill(pid, 'SIGKILL');
      expect(stillAlive).toBe(false);
    });

    it('stops cleanly on SIGINT too', async () => {
      const app = launchApp(spec.app, dataArgs('sigint'));
      await app.ready;
      const stopped = await app.stop('SIGINT');
      expect({ code: stopped.code, signal: stopped.signal }).toEqual({ code: 0, signal: null });
    });

    it('prints its flags for --help and exits 0', async () => {
      const app = startApp({ name: spec.app, command: process.execPath, args: [appBundle(spec.app), '--help'] });
      expect(await app.exited).toEqual({ code: 0, signal: null });
      const help = app.stdoutLines().join('\n');
      expect(help).toContain(`Usage: ${spec.app} [flags]`);
      expect(help).toContain('--grpc-port=PORT');
      if (spec.dataDirFlag) expect(help).toContain(spec.dataDirFlag);
    });

    const refusals: [string, () => string[], RegExp][] = [
      ['an unknown flag', () => ['--bogus=1'], /^unknown flag --bogus \(see --help\)$/],
      ['an invalid port', () => ['--grpc-port=70000'], /^invalid --grpc-port: expected a port from 0 to 65535, got "70000"$/],
      ['a port that is not a number', () => ['--metrics-port=http'], /^invalid --metrics-port: expected a port from 0 to 65535, got "http"$/],
    ];
    if (spec.dataDirFlag) {
      const flag = spec.dataDirFlag;
      refusals.push([
        'an unwritable data directory',
        () => {
          const file = join(scratch, 'not-a-directory');
          writeFileSync(file, 'x');
          return [`${flag}=${join(file, 'data')}`];
        },
        /is not writable \(ENOTDIR: /,
      ]);
      refusals.push(['a data directory on a read-only file system', () => [`${flag}=/proc/starlane-data`], /^.* \/proc\/starlane-data is not writable \(/]);
    }

    it.each(refusals)('refuses %s with exit code 2 and one line on stderr', async (_what, args, reason) => {
      const app = launchApp(spec.app, [...dataArgs('refuse'), ...args()]);
      expect(await app.exited).toEqual({ code: 2, signal: null });
      const lines = app.stderrText().trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      const [line = ''] = lines;
      expect(line.startsWith(`${spec.app}: `)).toBe(true);
      expect(line.slice(spec.app.length + 2)).toMatch(reason);
    });
  });
}
