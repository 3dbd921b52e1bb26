/**
 * Timers that keep the process alive (a real `setTimeout`, not unref'd): while every supervised
 * process is down and waits for its restart, the pending restart is all there is to wait for.
 */
import type { Scheduler } from '@starlane/io-ports';

export const keepAliveScheduler: Scheduler = {
  schedule(delayMs, task) {
    const timer = setTimeout(task, delayMs);
    return () => clearTimeout(timer);
  },
};

/** Whether a process of that id is running (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
