import pino, { type Logger } from 'pino';

export type { Logger };

export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/**
 * Structured JSON logs on stdout, one object a line, so that Kubernetes log collectors and
 * our own process tests read the same thing. `service` names the app in every line.
 *
 * Lines are written synchronously. pino's default asynchronous destination flushes on exit
 * with a loop that retries every error, and a reader that has gone away (EPIPE) makes it
 * retry forever: the process then never exits. A synchronous write meets EPIPE at once, and
 * pino then stops logging instead. Log volume is per event, never per record, so the
 * synchronous write costs nothing that matters.
 */
export function createLogger(service: string, level: LogLevel): Logger {
  return pino(
    {
      level,
      base: { service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: 1, sync: true }),
  );
}
