import pino, { type Logger } from 'pino';

export type { Logger };

export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/**
 * Structured JSON logs on stdout, one object a line, so that Kubernetes log collectors and
 * our own process tests read the same thing. `service` names the app in every line.
 */
export function createLogger(service: string, level: LogLevel): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
