/**
 * What the dev cluster prints: each process's JSON log lines made readable, and the
 * supervisor's own events, each under the name of the process it is about.
 */
import { stableUptimeMs } from './restart-backoff';
import type { ExitStatus, SupervisorEvent } from './supervisor';

/** One readable line from a JSON log line: level (unless info), message and the fields that matter. */
export function prettyLogLine(line: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return line;
  const { level, msg, time: _time, pid: _pid, service: _service, hostname: _hostname, ...rest } = parsed as Record<string, unknown>;
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  const prefix = level === undefined || level === 'info' ? '' : `${String(level).toUpperCase()} `;
  return `${prefix}${String(msg ?? '')}${extra}`;
}

/**
 * A supervisor event as [process name, text], or undefined for events the banner covers.
 * `self` names the supervisor in its own lines (the tool that runs it).
 */
export function describeEvent(event: SupervisorEvent, self = 'dev-cluster'): { name: string; text: string } | undefined {
  switch (event.kind) {
    case 'started':
      return { name: event.name, text: `started (pid ${event.pid ?? 'none'}${event.restarts > 0 ? `, restart ${event.restarts}` : ''})` };
    case 'ready':
      // A first start's readiness shows in the process's own `ready` line and then the banner.
      return event.restarts > 0 ? { name: event.name, text: `serving again (restart ${event.restarts})` } : undefined;
    case 'cluster-ready':
      return undefined;
    case 'exited': {
      const { restart } = event;
      const looping = restart.crashLooping ? `; crash-looping (${restart.failuresInARow} failures in a row), retrying every ${seconds(restart.delayMs)} until a run lasts ${seconds(stableUptimeMs)}` : '';
      return { name: event.name, text: `exited unexpectedly (${exitText(event.status)}) after ${seconds(event.uptimeMs)}; restarting in ${seconds(restart.delayMs)}${looping}` };
    }
    case 'start-failed':
      return { name: event.name, text: `exited (${exitText(event.status)}) before the cluster was up; stopping the cluster (see its last lines above)` };
    case 'stopping':
      return { name: self, text: `stopping the cluster (${event.running.join(', ') || 'nothing running'})` };
    case 'stopped':
      return { name: event.name, text: `stopped (${exitText(event.status)})${event.clean ? '' : ', not cleanly'}` };
    case 'killed':
      return { name: self, text: `${event.reason === 'deadline' ? 'the stop is taking too long' : 'second stop request'}: killing ${event.names.join(', ')} (SIGKILL)` };
    case 'done':
      return { name: self, text: `stopped; exit code ${event.exitCode}` };
  }
}

export function exitText(status: ExitStatus): string {
  if (status.signal !== null) return `signal ${status.signal}`;
  if (status.code !== null) return `exit code ${status.code}`;
  return 'could not be started';
}

function seconds(ms: number): string {
  return ms <= 60_000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}
