/**
 * When to restart a process that exited on its own: after a delay that doubles with each
 * failure in a row, up to a ceiling, and starts over once the process has stayed up a while.
 * This is Kubernetes' CrashLoopBackOff for a container with `restartPolicy: Always` (10 s
 * doubling to 5 min, reset after 10 min up), scaled down for a cluster on one machine: a
 * storage node killed to watch a failover is back within seconds, and one that cannot start
 * is retried every half minute instead of filling the screen.
 *
 * Worked example: a process killed after an hour up is restarted 1 s later; if it then dies
 * within a minute each time, the next restarts wait 2, 4, 8, 16, 30, 30, ... s; once one run
 * lasts a minute, the next failure waits 1 s again.
 */
import { backoffMs, type BackoffBounds } from '@starlane/model';

/** Delay before the first restart after a run that lasted (or a process that had not failed before). */
export const restartBackoffMsMin = 1_000;
/** The longest delay between restarts: a crash-looping process is retried this often, forever. */
export const restartBackoffMsMax = 30_000;
/** A run at least this long ends the failure streak: the next failure waits restartBackoffMsMin again. */
export const stableUptimeMs = 60_000;

/** The bounds of the back-off rule (`backoffMs`): the first failure in a row waits the least. */
const restartBackoff: BackoffBounds = { initialMs: restartBackoffMsMin, maxMs: restartBackoffMsMax };

export interface RestartDecision {
  /** How long to wait before starting the process again. */
  readonly delayMs: number;
  /** Exits in a row, this one included, with no run of stableUptimeMs between them (1 after a long run). */
  readonly failuresInARow: number;
  /** True once the delay has reached restartBackoffMsMax: the process keeps failing soon after it starts. */
  readonly crashLooping: boolean;
}

export class RestartBackoff {
  private failuresInARow = 0;

  /** Records an exit after `uptimeMs` up and says when to restart. */
  onExit(uptimeMs: number): RestartDecision {
    if (uptimeMs >= stableUptimeMs) this.failuresInARow = 0;
    this.failuresInARow += 1;
    const delayMs = backoffMs(this.failuresInARow - 1, restartBackoff);
    return { delayMs, failuresInARow: this.failuresInARow, crashLooping: delayMs >= restartBackoffMsMax };
  }
}
